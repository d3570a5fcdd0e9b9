"""What a dataset is: ``DatasetInfo``, the record the registry, folders and uploads describe a dataset with.

It lives on its own so that ``folder.py`` and ``uploads.py`` can build one without importing the registry (which
imports them to load folder paths and ``upload:<id>`` ids).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omib_core.config import TASKS
from omib_core.errors import ConfigError

SPLIT_KEYS = ("seed", "val_fraction", "test_fraction")  # taken from DataConfig, never from a loader's params


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is and which parameters its loader takes.

    Attributes:
        id: the id used in ``DataConfig.dataset`` (e.g. ``"sim-i"``).
        title: a short human title.
        task: ``"classification"``, ``"regression"`` or ``"anomaly"``.
        n_modalities: number of views.
        description: a sentence or two for the UI.
        defaults: ``{parameter: default value}`` of the loader (``seed`` and the split fractions excluded:
            they come from ``DataConfig``).
        param_help: ``{parameter: one-line help}``.
        source: where the data comes from.
        licence: terms of use.
    """

    id: str
    title: str
    task: str
    n_modalities: int
    description: str
    defaults: dict[str, Any] = field(default_factory=dict)
    param_help: dict[str, str] = field(default_factory=dict)
    source: str = ""
    licence: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise ConfigError(f"DatasetInfo id must be a non-empty string. Got {self.id!r}.")
        if self.task not in TASKS:
            raise ConfigError(f"DatasetInfo {self.id!r}: task must be one of {TASKS}. Got {self.task!r}.")
        bad = sorted(set(self.defaults) & set(SPLIT_KEYS))
        if bad:
            raise ConfigError(f"DatasetInfo {self.id!r}: {bad} come from DataConfig; remove them from defaults.")
