"""The same network without the bottleneck, as a companion of a run: the config of that twin, and its result.

A learner judges OMIB against the simplest strong baselines. The linear model is fitted inside every run
(``reference["linear_test_<metric>"]``); the same network without the bottleneck is a run of its own (it trains as
long as OMIB), so the Train page looks for a finished twin on the server and offers to queue one when there is none.
A twin is a run with the same data (dataset, parameters, split seed), the same model except ``bottleneck=False``, and
the same training seed and schedule settings.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from omib_core.config import RunConfig

# training fields that make two runs comparable (beta and r do nothing without the bottleneck)
SAME_TRAIN = (
    "seed",
    "epochs",
    "warmup_epochs",
    "lr",
    "batch_size",
    "weight_decay",
    "schedule",
    "batch_fraction",
    "min_warmup_steps",
    "min_steps",
    "max_steps",
    "patience",
    "select",
)


def twin_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config of the same network without the bottleneck (a plain dict, validated by RunConfig)."""
    d = copy.deepcopy(RunConfig.from_dict(dict(config)).to_dict())
    d["model"]["bottleneck"] = False
    return RunConfig.from_dict(d).to_dict()


def _key(config: Mapping[str, Any]) -> tuple:
    cfg = RunConfig.from_dict(dict(config)).to_dict()
    model = {k: v for k, v in cfg["model"].items() if k != "bottleneck"}
    train = {k: cfg["train"][k] for k in SAME_TRAIN}
    return repr(cfg["data"]), repr(sorted(model.items())), repr(sorted(train.items()))


def find_twin(config: Mapping[str, Any], runs: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The newest run among ``runs`` (newest first) that is this config's no-bottleneck twin, or None.

    Runs whose stored config no longer validates are skipped.
    """
    try:
        want = _key(config)
    except Exception:  # noqa: BLE001 - a damaged config has no twin
        return None
    for run in runs:
        cfg = run.get("config") or {}
        if (cfg.get("model") or {}).get("bottleneck", True):
            continue
        try:
            if _key(cfg) == want:
                return run
        except Exception:  # noqa: BLE001
            continue
    return None


def twin_reference(twin: Mapping[str, Any] | None) -> dict[str, float]:
    """``nobottleneck_test_<metric>`` of a finished twin (empty when there is none or it has no result)."""
    tests = ((twin or {}).get("result") or {}).get("test_metrics") or {}
    return {f"nobottleneck_test_{k}": float(v) for k, v in tests.items() if isinstance(v, (int, float))}
