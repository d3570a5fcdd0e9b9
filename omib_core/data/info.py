"""What a dataset is: ``DatasetInfo``, the record the registry, folders and uploads describe a dataset with.

It lives on its own so that ``folder.py`` and ``uploads.py`` can build one without importing the registry (which
imports them to load folder paths and ``upload:<id>`` ids).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omib_core.config import TASKS
from omib_core.errors import ConfigError
from omib_core.params import Param, declare, validate

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
        params: ``{parameter: Param}``, the loader's parameters declared once (default, type, range, group, help;
            ``seed`` and the split fractions excluded: they come from ``DataConfig``); a plain value is taken as
            the default of a parameter of its type.
        source: where the data comes from.
        licence: terms of use.
        group_help: ``{group: caption}`` shown above a group of controls.
    """

    id: str
    title: str
    task: str
    n_modalities: int
    description: str
    params: dict[str, Param] = field(default_factory=dict)
    source: str = ""
    licence: str = ""
    group_help: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise ConfigError(f"DatasetInfo id must be a non-empty string. Got {self.id!r}.")
        if self.task not in TASKS:
            raise ConfigError(f"DatasetInfo {self.id!r}: task must be one of {TASKS}. Got {self.task!r}.")
        bad = sorted(set(self.params) & set(SPLIT_KEYS))
        if bad:
            raise ConfigError(f"DatasetInfo {self.id!r}: {bad} come from DataConfig; remove them from params.")
        # a plain default (a plug-in's loader) is declared by its type alone: no range, no choices
        declared = {k: v if isinstance(v, Param) else declare(v) for k, v in self.params.items()}
        object.__setattr__(self, "params", declared)

    @property
    def defaults(self) -> dict[str, Any]:
        """``{parameter: default value}``."""
        return {k: p.default for k, p in self.params.items()}

    @property
    def param_help(self) -> dict[str, str]:
        """``{parameter: one-line help}``."""
        return {k: p.help for k, p in self.params.items()}

    @property
    def owner(self) -> str:
        """How sentences name this dataset: ``dataset 'sim-i'``."""
        return f"dataset {self.id!r}"

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        """Every value checked by its declaration (``omib_core.params.validate``); unknown names refused."""
        return validate(self.owner, self.params, params)
