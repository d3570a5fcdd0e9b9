"""Training: the event generator ``train``, dynamic r, losses and checkpoints (SPEC sections 3-4).

Event classes import without torch; everything else is loaded on first use (PEP 562), so that a worker
or the web server that only reads events starts fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from omib_core.train.events import (
    EpochEvent,
    Event,
    RunFailed,
    RunFinished,
    RunStarted,
    SnapshotEvent,
    StepEvent,
)

_LAZY = {
    "beta_for": "omib_core.train.beta",
    "load_checkpoint": "omib_core.train.checkpoint",
    "save_checkpoint": "omib_core.train.checkpoint",
    "compute_r": "omib_core.train.dynamic_r",
    "compute_r_all": "omib_core.train.dynamic_r",
    "ema_update": "omib_core.train.dynamic_r",
    "head_divergence": "omib_core.train.dynamic_r",
    "embed": "omib_core.train.loop",
    "out_dim_for": "omib_core.train.loop",
    "train": "omib_core.train.loop",
}

__all__ = ["EpochEvent", "Event", "RunFailed", "RunFinished", "RunStarted", "SnapshotEvent", "StepEvent", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'omib_core.train' has no attribute {name!r}")
