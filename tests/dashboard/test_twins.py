"""The no-bottleneck twin of a run: its config, how it is found among the server's runs, its reference line."""

from __future__ import annotations

from dashboard import twins
from dashboard.charts.training import reference_lines
from omib_core.config import RunConfig

BASE = RunConfig.from_dict({"data": {"dataset": "sim-teach", "seed": 3}, "train": {"seed": 3, "beta_scale": 30.0}})


def _run(cfg: dict, acc: float) -> dict:
    return {"config": cfg, "result": {"test_metrics": {"accuracy": acc}}}


def test_twin_config_turns_the_bottleneck_off_and_keeps_everything_else() -> None:
    twin = twins.twin_config(BASE.to_dict())
    assert twin["model"]["bottleneck"] is False and BASE.model.bottleneck is True
    assert twin["data"] == BASE.to_dict()["data"] and twin["train"]["seed"] == 3


def test_find_twin_matches_data_model_and_seed_but_not_beta() -> None:
    twin = twins.twin_config(BASE.to_dict())
    other_seed = twins.twin_config(BASE.replace(train=BASE.train.replace(seed=4)).to_dict())
    other_beta = twins.twin_config(BASE.replace(train=BASE.train.replace(beta_scale=1.0)).to_dict())
    damaged = {"model": {"bottleneck": False}, "train": {"epochs": -1}}
    runs = [
        _run(damaged, 0.1),
        _run(other_seed, 0.2),
        _run(BASE.to_dict(), 0.3),
        _run(other_beta, 0.4),
        _run(twin, 0.5),
    ]
    found = twins.find_twin(BASE.to_dict(), runs)
    assert found is not None and found["result"]["test_metrics"]["accuracy"] == 0.4  # newest match; beta is irrelevant
    assert twins.find_twin(BASE.to_dict(), runs[:3]) is None  # a run with the bottleneck on is never its own twin


def test_twin_reference_draws_a_line_on_the_metric_chart() -> None:
    ref = twins.twin_reference(_run({}, 0.812))
    assert ref == {"nobottleneck_test_accuracy": 0.812} and twins.twin_reference(None) == {}
    labels = [label for _, label, _, _ in reference_lines("accuracy", ref)]
    assert labels == ["same network, no bottleneck 0.812"]
