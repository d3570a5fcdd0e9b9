"""Dataset ids -> loaders, with the parameters each one takes.

Every dataset is a ``DatasetInfo`` (what the UI and the CLI list) plus a loader
``loader(seed=..., val_fraction=..., test_fraction=..., **params) -> MultimodalDataset``. The synthetic
sets are registered here; real-data loaders plug in with ``register`` and need no change to this file.
Parameter names are checked here (an unknown one raises ``ConfigError`` listing the valid ones); values
are checked by the loader.

Two more kinds of id need no registration: ``"upload:<id>"`` (a stored upload, ``uploads.py``) and the path of an
existing folder in the folder format (``folder.py``). Folder paths can be switched off for a server whose users
type the dataset id (a shared link carries it): set ``OMIB_FOLDER_DATASETS=0``.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omib_core.config import DataConfig
from omib_core.data.dataset import SYNTHETIC_LICENCE, SYNTHETIC_SOURCE, MultimodalDataset
from omib_core.data.folder import FolderSample, folder_info, load_folder, sample_folder
from omib_core.data.info import SPLIT_KEYS, DatasetInfo
from omib_core.data.shapes import DatasetShape, folder_shape, latent_shape
from omib_core.data.sim import TEACH_DEFAULTS, TWO_VIEWS, VARIANT_TEXT, VARIANTS, make_sim
from omib_core.data.sim_params import GROUP_HELP, SIM_PARAMS
from omib_core.data.synthetic import THREE_VIEWS, make_sim_anomaly, make_sim_multi, make_sim_regression
from omib_core.data.uploads import upload_info, upload_path
from omib_core.env import env_bool
from omib_core.errors import ConfigError, DataError
from omib_core.params import Param

Loader = Callable[..., MultimodalDataset]
Shape = Callable[[dict[str, Any]], DatasetShape]  # the loader's parameters (defaults merged in) -> its shape
UPLOAD_PREFIX = "upload:"
# ``reference``: whether the ground-truth reference model (``omib_core.analysis.reference.optimal_reference``) is
# wanted beside this data, on the Data page and beside a run's results. It changes nothing drawn, so it is checked
# and removed before the loader is called (older configs and share links carry it; the generators no longer take it).
REFERENCE = "reference"


_REGISTRY: dict[str, tuple[DatasetInfo, Loader]] = {}
_SHAPES: dict[str, Shape] = {}


# helpers


def _declared(fn: Callable[..., Any], **overrides: Any) -> dict[str, Param]:
    """The generator's keyword parameters (split keys excluded), each its ``SIM_PARAMS`` declaration with the
    generator's default (from its signature, or ``overrides``)."""
    out = {}
    for name, p in inspect.signature(fn).parameters.items():
        if p.kind is inspect.Parameter.KEYWORD_ONLY and name not in SPLIT_KEYS:
            out[name] = dataclasses.replace(SIM_PARAMS[name], default=overrides.get(name, p.default))
    return out


def _register_builtin() -> None:
    common = {"source": SYNTHETIC_SOURCE, "licence": SYNTHETIC_LICENCE, "group_help": GROUP_HELP}
    for vid, title in (("sim-i", "SIM-I"), ("sim-ii", "SIM-II"), ("sim-iii", "SIM-III"), ("sim-teach", "SIM-TEACH")):
        extra = TEACH_DEFAULTS if vid == "sim-teach" else {}
        params = {**_declared(make_sim, **VARIANTS[vid], **extra), REFERENCE: SIM_PARAMS[REFERENCE]}
        info = DatasetInfo(vid, title, "classification", 2, VARIANT_TEXT[vid], params, **common)
        shape = functools.partial(latent_shape, TWO_VIEWS, "classification")
        register(info, functools.partial(make_sim, vid, **extra), shape=shape)
    for fn, views, vid, title, task, n_mod, text in (
        (
            make_sim_regression,
            TWO_VIEWS,
            "sim-reg",
            "SIM-REG",
            "regression",
            2,
            "Two views and a continuous target in [-3, 3] (like CMU-MOSI sentiment).",
        ),
        (
            make_sim_anomaly,
            TWO_VIEWS,
            "sim-anomaly",
            "SIM-ANOMALY",
            "anomaly",
            2,
            "Two views; anomalies are moved in the task-relevant blocks; training rows are normal.",
        ),
        (
            make_sim_multi,
            THREE_VIEWS,
            "sim-3m",
            "SIM-3M",
            "classification",
            3,
            "Three views sharing a0 and b0, for M >= 3 fusion.",
        ),
    ):
        params = {**_declared(fn), **({} if task == "anomaly" else {REFERENCE: SIM_PARAMS[REFERENCE]})}
        info = DatasetInfo(vid, title, task, n_mod, text, params, **common)
        register(info, fn, shape=functools.partial(latent_shape, views, task))


# main functions


def register(info: DatasetInfo, loader: Loader, *, replace: bool = False, shape: Shape | None = None) -> None:
    """Add a dataset. ``loader(seed=, val_fraction=, test_fraction=, **params)`` must return a MultimodalDataset;
    ``shape(params)``, when given, its ``DatasetShape`` without loading it (see ``dataset_shape``).

    Raises:
        ConfigError: the id is taken (pass ``replace=True`` to overwrite it) or the loader is not callable.
    """
    if not isinstance(info, DatasetInfo):
        raise ConfigError(f"register expects a DatasetInfo, got {type(info).__name__}.")
    if not callable(loader):
        raise ConfigError(f"register: the loader of {info.id!r} must be callable, got {loader!r}.")
    if info.id in _REGISTRY and not replace:
        raise ConfigError(f"Dataset id {info.id!r} is already registered; pass replace=True to overwrite it.")
    _REGISTRY[info.id] = (info, loader)
    _SHAPES.pop(info.id, None)
    if shape is not None:
        _SHAPES[info.id] = shape


def reference_requested(config: DataConfig) -> bool:
    """Whether ``config`` asks for the ground-truth reference model: its dataset has one (``reference`` among its
    parameters) and ``reference`` is not set to false."""
    try:
        defaults = get_info(config.dataset).defaults
    except DataError:
        return False
    return REFERENCE in defaults and config.params.get(REFERENCE, defaults[REFERENCE]) is True


def list_datasets() -> list[DatasetInfo]:
    """Every registered dataset, in registration order."""
    return [info for info, _ in _REGISTRY.values()]


def folders_allowed() -> bool:
    """Whether a folder path is accepted as a dataset id (``OMIB_FOLDER_DATASETS=0`` turns it off)."""
    return env_bool("OMIB_FOLDER_DATASETS", True)


def _is_folder(dataset_id: str) -> bool:
    try:
        return Path(dataset_id).expanduser().is_dir()
    except (OSError, ValueError):  # a NUL byte, a name too long
        return False


def get_info(dataset_id: str) -> DatasetInfo:
    """The ``DatasetInfo`` of an id, an ``upload:<id>`` or a folder path; DataError listing the known ids otherwise."""
    if dataset_id in _REGISTRY:
        return _REGISTRY[dataset_id][0]
    if isinstance(dataset_id, str) and dataset_id.startswith(UPLOAD_PREFIX):
        return upload_info(dataset_id.removeprefix(UPLOAD_PREFIX))
    if isinstance(dataset_id, str) and _is_folder(dataset_id):
        if not folders_allowed():
            raise DataError(
                f"Folder paths are not accepted as datasets on this server (got {dataset_id!r}); "
                "upload the files on the Data page instead."
            )
        return folder_info(Path(dataset_id).expanduser(), dataset_id)
    raise DataError(
        f"Unknown dataset {dataset_id!r}. Known datasets: {', '.join(_REGISTRY)}. "
        "Pick one of them, give the path of a dataset folder (see omib_core.data.folder), "
        "or add a loader for new data with omib_core.data.register(info, loader)."
    )


def dataset_shape(dataset_id: str, params: dict[str, Any] | None = None) -> DatasetShape | None:
    """The rows, view widths, classes and task of a dataset, without loading it: a registered one's declared shape
    for ``params`` (its defaults merged in), a stored upload's or a folder's from its files' headers; None for a
    registered dataset without a declared shape (one read from the admin's directory).

    Raises:
        DataError: the id is unknown, or a folder or upload is malformed.
        ConfigError: a parameter is unknown or refused by its declaration.
    """
    if dataset_id in _SHAPES:
        info = _REGISTRY[dataset_id][0]
        return _SHAPES[dataset_id]({**info.defaults, **info.validate(params or {})})
    if dataset_id.startswith(UPLOAD_PREFIX):
        return folder_shape(upload_path(dataset_id.removeprefix(UPLOAD_PREFIX)))
    if dataset_id not in _REGISTRY and _is_folder(dataset_id):
        return folder_shape(Path(dataset_id).expanduser())
    get_info(dataset_id)  # an unknown id: the sentence listing the known ones
    return None


def sample_dataset(config: DataConfig, max_rows: int) -> FolderSample | None:
    """At most ``max_rows`` rows of a stored upload or a dataset folder, read in slices (``folder.sample_folder``),
    for a page's preview: the server never holds the whole upload. None for a registered dataset (generated or
    bundled: ``load_dataset`` it).

    Raises:
        DataError: as ``load_dataset`` (an unknown or refused id, a malformed folder).
    """
    if config.dataset in _REGISTRY:
        return None
    get_info(config.dataset)  # the same checks as load_dataset: a deleted upload, folder paths off on a server
    ds_id = config.dataset
    path = upload_path(ds_id.removeprefix(UPLOAD_PREFIX)) if ds_id.startswith(UPLOAD_PREFIX) else Path(ds_id)
    return sample_folder(
        path.expanduser(),
        max_rows,
        seed=config.seed,
        val_fraction=config.val_fraction,
        test_fraction=config.test_fraction,
        name=ds_id,
    )


def load_dataset(config: DataConfig | str, **params: Any) -> MultimodalDataset:
    """Load (or generate) a dataset.

    Args:
        config: a ``DataConfig`` (its ``params``, ``seed`` and split fractions are used) or a dataset id
            (a registered id, ``"upload:<id>"`` or a dataset folder path).
        **params: loader parameters, overriding ``config.params``; ``seed``, ``val_fraction`` and
            ``test_fraction`` given here override the DataConfig fields.

    Raises:
        DataError: the id is unknown (the message lists the known ids), or a folder / upload is malformed.
        ConfigError: a parameter name is unknown (the message lists the valid ones), a split key was put in
            ``DataConfig.params``, or a value is invalid.
    """
    if isinstance(config, str):
        config = DataConfig(dataset=config)
    if not isinstance(config, DataConfig):
        raise ConfigError(f"load_dataset expects a DataConfig or a dataset id, got {type(config).__name__}.")
    info = get_info(config.dataset)
    misplaced = sorted(set(config.params) & set(SPLIT_KEYS))
    if misplaced:
        raise ConfigError(
            f"{misplaced} belong to DataConfig itself, not to DataConfig.params; "
            f"use DataConfig(dataset={config.dataset!r}, seed=..., val_fraction=..., test_fraction=...)."
        )
    split_overrides = {k: params.pop(k) for k in SPLIT_KEYS if k in params}
    if split_overrides:
        config = config.replace(**split_overrides)  # validated by DataConfig
    merged = info.validate({**config.params, **params})
    if config.dataset not in _REGISTRY:  # an upload or a folder: no parameters, only the split
        ds_id = config.dataset
        path = upload_path(ds_id.removeprefix(UPLOAD_PREFIX)) if ds_id.startswith(UPLOAD_PREFIX) else Path(ds_id)
        return load_folder(
            path.expanduser(),
            seed=config.seed,
            val_fraction=config.val_fraction,
            test_fraction=config.test_fraction,
            name=ds_id,
        )
    merged.pop(REFERENCE, None)  # a request, not a generator parameter (see REFERENCE); checked above
    loader = _REGISTRY[info.id][1]
    return loader(seed=config.seed, val_fraction=config.val_fraction, test_fraction=config.test_fraction, **merged)


_register_builtin()
