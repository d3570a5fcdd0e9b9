"""The schedule in optimizer steps: batch capped by the training rows, minimum and maximum steps, patience, and the
sentences that refuse a schedule that cannot be honoured. Plus linear encoders, AdamW and both selections."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from omib_core.config import ModelConfig, RunConfig, TrainConfig
from omib_core.data.dataset import MultimodalDataset, make_split
from omib_core.errors import ConfigError
from omib_core.model import OMIB
from omib_core.train import RunFailed, RunFinished, RunStarted, train
from omib_core.train.schedule import resolve_schedule
from tests.core.test_train import BOUND, TINY


def test_small_table_gets_a_small_batch_and_at_least_min_steps() -> None:
    s = resolve_schedule(TrainConfig(), 124)  # the 178-row table's training split
    assert s.batch_size <= 0.1 * 124 + 1e-9 and s.batch_size >= 8
    assert s.main_steps >= TrainConfig().min_steps and s.warmup_steps >= TrainConfig().min_warmup_steps
    assert s.steps_per_epoch == -(-124 // s.batch_size)
    assert any(c.startswith("batch_size 256 ->") for c in s.changes)


def test_a_million_rows_are_cut_at_the_step_budget() -> None:
    t = TrainConfig()
    s = resolve_schedule(t, 1_000_000)
    assert s.batch_size == 256 and s.main_steps <= t.max_steps and s.epochs >= 1
    assert s.epochs < t.epochs and any("at most" in c for c in s.changes)


def test_mid_size_keeps_what_the_user_asked_for() -> None:
    s = resolve_schedule(TrainConfig(epochs=50, warmup_epochs=10), 7000)
    assert (s.batch_size, s.epochs) == (256, 50) and s.changes == ()


def test_fixed_schedule_refuses_a_batch_larger_than_the_training_rows() -> None:
    with pytest.raises(
        ConfigError, match=r"batch_size = 512 is larger than the 124 training rows\. Use batch_size <= 124"
    ):
        resolve_schedule(TrainConfig(schedule="fixed", batch_size=512), 124)


def test_fixed_schedule_refuses_more_steps_than_the_budget() -> None:
    with pytest.raises(ConfigError, match=r"epochs = 100 gives .* more than max_steps = 500\. Use epochs <= 50"):
        resolve_schedule(TrainConfig(schedule="fixed", epochs=100, batch_size=10, max_steps=500), 100)


def test_patience_not_shorter_than_the_main_stage_is_refused_or_fitted() -> None:
    with pytest.raises(ConfigError, match=r"patience = 60 main epochs is not shorter .* Use patience <= 25"):
        resolve_schedule(TrainConfig(schedule="fixed", epochs=50, patience=60), 7000)
    s = resolve_schedule(TrainConfig(patience=60), 7000)  # auto: halved to fit, and said so
    assert s.patience == 25 and any(c.startswith("patience 60 -> 25") for c in s.changes)


def test_patience_with_a_one_epoch_main_stage() -> None:
    """One main epoch cannot stop early: auto turns early stopping off (and says so), fixed names the value that works."""
    big = TrainConfig(patience=5, batch_size=256, min_steps=50, max_steps=100)  # 100,000 rows: 391 steps per epoch
    s = resolve_schedule(big, 100_000)
    assert (s.epochs, s.patience) == (
        1,
        0,
    ) and "patience 5 -> 0 (a one-epoch main stage cannot stop early)" in s.changes
    with pytest.raises(
        ConfigError, match=r"\(1 epochs\), so it could never stop a run early\. Use patience = 0, or more"
    ):
        resolve_schedule(TrainConfig(schedule="fixed", epochs=1, patience=1), 1000)
    with pytest.raises(ConfigError, match=r"Use patience <= 1, or 0"):
        resolve_schedule(TrainConfig(schedule="fixed", epochs=2, patience=2), 1000)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"min_steps": 5000, "max_steps": 100}, "min_steps"),
        ({"patience": -1}, "patience"),
        ({"batch_fraction": 1.5}, "batch_fraction"),
        ({"schedule": "adaptive"}, "schedule"),
    ],
)
def test_bad_schedule_fields_name_the_parameter(kw: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        TrainConfig(**kw)


def test_negative_enc_layers_is_refused_and_zero_is_a_linear_encoder() -> None:
    with pytest.raises(ConfigError, match="enc_layers"):
        ModelConfig(enc_layers=-1)
    model = OMIB({"a": 5, "b": 3}, 2, ModelConfig(enc_layers=0, z_dim=4, latent_dim=8, xi_dim=8, tokens=2, heads=2))
    layers = list(model.encoders["a"].net)
    assert len(layers) == 1 and isinstance(layers[0], torch.nn.Linear)


def _data(n: int = 300, seed: int = 0) -> MultimodalDataset:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, 3)).astype(np.float32)
    y = (a[:, 0] > 0).astype(np.int64)
    mods = {
        "v1": np.hstack([a, rng.normal(size=(n, 20))]).astype(np.float32),
        "v2": rng.normal(size=(n, 6)).astype(np.float32),
    }
    return MultimodalDataset("toy", mods, y, "classification", make_split(n, 0.2, 0.2, seed))


def _cfg(**kw) -> RunConfig:
    base = dict(schedule="fixed", epochs=12, warmup_epochs=1, batch_size=32, lr=3e-3, device="cpu", snapshot_every=0)
    return RunConfig(model=TINY, train=TrainConfig(**{**base, **kw}))


def test_early_stopping_stops_restores_the_best_and_reports_both_selections() -> None:
    events = list(train(_cfg(epochs=40, patience=3, lr=3e-2), _data(), bound=BOUND))
    start, fin = events[0], events[-1]
    assert isinstance(start, RunStarted) and start.schedule["patience"] == 3
    assert isinstance(fin, RunFinished) and fin.stopped_early
    assert fin.last_epoch - fin.best_val_epoch == 3 and fin.last_epoch < 40
    assert fin.best_epoch == fin.best_val_epoch and fin.test_metrics == fin.best_val_test_metrics
    assert fin.last_test_metrics and fin.best_val_test_metrics  # both selections are always there


def test_select_last_reports_the_last_epoch_and_still_carries_the_best() -> None:
    fin = list(train(_cfg(select="last"), _data(), bound=BOUND))[-1]
    assert fin.best_epoch == fin.last_epoch == 12 and fin.test_metrics == fin.last_test_metrics
    assert fin.best_val_epoch is not None and fin.best_val_test_metrics


def test_a_schedule_that_cannot_be_honoured_fails_before_any_step() -> None:
    events = list(train(_cfg(batch_size=10_000), _data(), bound=BOUND))
    assert len(events) == 1 and isinstance(events[0], RunFailed)
    assert "batch_size = 10000 is larger than the 180 training rows" in events[0].message


def test_weight_decay_is_decoupled_adamw() -> None:
    from omib_core.train.loop import _adamw

    opt = _adamw(torch.nn.Linear(2, 2), 1e-3, 0.01)
    assert isinstance(opt, torch.optim.AdamW) and opt.defaults["weight_decay"] == 0.01


def test_a_tie_of_the_validation_metric_goes_to_the_lower_validation_loss() -> None:
    from omib_core.train.loop import _Trainer

    t = _Trainer(_cfg(select="last"), None, None, BOUND, None)
    t.task, t.best = "classification", None
    for epoch, acc, loss in ((3, 0.9, 0.50), (4, 0.9, 0.30), (5, 0.9, 0.40), (6, 0.8, 0.10)):
        t.epoch, t.val_loss = epoch, loss
        t._track_best({"val": {"accuracy": acc}, "test": {"accuracy": acc}})
    assert t.best["epoch"] == 4 and t.best["loss"] == 0.30  # not the earliest of the tied epochs, nor a worse metric
