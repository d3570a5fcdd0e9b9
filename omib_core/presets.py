"""Named experiment presets: a dataset with the settings it needs, as a plain RunConfig dict.

``teaching``: SIM-TEACH, where beta and r visibly matter. All task information is in v1, v2 is pure nuisance
(a0 = a2 = 0), and 4,000 rows are split 25 / 25 / 50 so that only 1,000 rows train (the superfluous dimensions are
then worth overfitting) while 2,000 test rows keep the test accuracy precise (standard error about 0.01). Dropout is
off so that beta is the only regulariser, and lr is 3e-4: at 1e-3 a large beta sometimes collapsed a seed's v1 code
late in training (last-epoch test 0.715 against 0.77-0.79 for the other seeds), which hid the inverted U in the
spread (paired gain of the best beta +0.016 ± 0.036, measured with 5 seeds). The sweep over beta / M_u in ``TEACHING_SCALES`` shows the inverted U:
bench/teach_sweep.py measures it (bench/results/teach_sweep.md).
"""

from __future__ import annotations

import copy
from typing import Any

from omib_core.config import RunConfig

PRESETS: dict[str, dict[str, Any]] = {
    "teaching": {
        "data": {"dataset": "sim-teach", "params": {"n_samples": 4000}, "val_fraction": 0.25, "test_fraction": 0.5},
        "model": {"dropout": 0.0},
        "train": {"snapshot_every": 10, "lr": 3e-4},
    },
}
PRESET_TEXT = {
    "teaching": (
        "SIM-TEACH: v1 holds all the task information, v2 only nuisance; 1,000 training rows, 2,000 test rows, "
        "no dropout (beta is the only regulariser), lr 3e-4."
    ),
}
TEACHING_SCALES = (0.1, 1.0, 10.0, 30.0, 100.0, 300.0)  # beta / M_u of the Sweep page's default teaching sweep
# The Home demo's three regimes, chosen by the measured sweep (bench/results/teach_sweep.md): 0.1 x M_u overfits (train
# accuracy 1.0, train-test gap 0.24), 30 x M_u is the empirical best, 300 x M_u underfits (KL_v2 ~0, test falls).
TEACHING_REGIMES = {"too little": 0.1, "about right": 30.0, "too much": 300.0}
# The short in-class sweep beside the full one: the three regimes x 2 seeds (6 members, one grid job).
SHORT_SCALES = tuple(TEACHING_REGIMES.values())
SHORT_SEEDS = 2


def preset_config(name: str, **train: Any) -> RunConfig:
    """The RunConfig of a preset, with ``train`` overrides (e.g. ``beta_scale=30``, ``seed=2``).

    Raises:
        KeyError: an unknown preset name (the message lists the known ones).
    """
    if name not in PRESETS:
        raise KeyError(f"Unknown preset {name!r}; known presets: {', '.join(PRESETS)}.")
    d = copy.deepcopy(PRESETS[name])
    d["train"].update(train)
    return RunConfig.from_dict(d)
