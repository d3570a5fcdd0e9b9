"""omib_core: Optimal Multimodal Information Bottleneck (Wu et al., ICML 2025) as a library.

Public names load on first use (PEP 562), so ``import omib_core`` is cheap and never pulls in torch,
streamlit, plotly, altair or umap::

    from omib_core import RunConfig, load_dataset, estimate_bound
    from omib_core.train import train

    for event in train(RunConfig()):
        ...
"""

from __future__ import annotations

import importlib
from typing import Any

from omib_core.config import BoundConfig, DataConfig, ModelConfig, RunConfig, TrainConfig
from omib_core.errors import BoundError, ConfigError, DataError, OmibError

__version__ = "0.1.0"

_LAZY = {
    "embed": "omib_core.train",
    "load_checkpoint": "omib_core.train",
    "load_dataset": "omib_core.data",
    "list_datasets": "omib_core.data",
    "MultimodalDataset": "omib_core.data",
    "estimate_bound": "omib_core.bound",
    "BoundResult": "omib_core.bound",
    "resolve_device": "omib_core.device",
    "compute_metrics": "omib_core.analysis.metrics",
}

__all__ = [
    "BoundConfig",
    "BoundError",
    "ConfigError",
    "DataConfig",
    "DataError",
    "ModelConfig",
    "OmibError",
    "RunConfig",
    "TrainConfig",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'omib_core' has no attribute {name!r}")
