"""The data the pages show, with no widgets: the cached preview of a DataConfig, the rows training fits, the server's
refusal of data over its limits, and who may read an upload (``run_data_refusal`` hides a run's labels from those
who may not read its upload)."""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from dashboard.text import escape_md
from omib_core.analysis.embedding import pca_2d, subsample_rows
from omib_core.config import DataConfig
from omib_core.data.dataset import fit_mask
from omib_core.errors import ConfigError, DataError, OmibError

PREVIEW_POINTS = 1500


# cached data (shared by the pages: the Data page draws it, the Train page counts its training rows)


@st.cache_data(show_spinner=False, max_entries=16, ttl=3600)
def preview(data: dict[str, Any]) -> dict[str, Any]:
    """Everything the preview draws, for one DataConfig (deterministic, hence cached by its dict)."""
    from omib_core.data import load_dataset, sample_dataset

    cfg = DataConfig.from_dict(data)
    sample = sample_dataset(cfg, PREVIEW_POINTS)
    if sample is not None:  # an upload or a folder: only the previewed rows are read (issue 20)
        return _sample_preview(sample)
    ds = load_dataset(cfg)
    std = ds.standardized()  # training sees standardised features; so does the preview
    rows = subsample_rows(ds.n_samples, PREVIEW_POINTS, seed=0)
    gt = {k: v for k, v in (ds.ground_truth or {}).items() if np.ndim(v) == 0 or isinstance(v, dict)}  # no arrays
    if ds.ground_truth and ds.ground_truth.get("optimal_features") is not None:
        gt["optimal_features"] = np.zeros((1, np.shape(ds.ground_truth["optimal_features"])[1]))
    return {
        "summary": ds.summary(),
        "task": ds.task,
        "modalities": {m: tuple(x.shape) for m, x in ds.modalities.items()},
        "target": np.asarray(ds.target),
        "split": np.asarray(ds.split),
        "rows": rows,
        "pca": {m: pca_2d(x[rows]) for m, x in std.modalities.items()},
        "ground_truth": gt,
        "class_names": list((ds.meta or {}).get("class_names") or []) or None,
    }


def _sample_preview(sample: Any) -> dict[str, Any]:
    """``preview``'s dict from a ``FolderSample``: the PCA of the sampled rows, standardised by the sampled training
    rows' mean and std (the whole data is never loaded in the server)."""
    from omib_core.data.dataset import TRAIN, summarize

    train = np.asarray(sample.split)[sample.rows] == TRAIN
    ref = train if train.sum() >= 2 else np.ones_like(train)
    pca = {}
    for m, x in sample.arrays.items():
        x = np.asarray(x, dtype=np.float64)
        sd = x[ref].std(0)
        sd[~(sd > 1e-12)] = 1.0
        pca[m] = pca_2d(((x - x[ref].mean(0)) / sd).astype(np.float32))
    return {
        "summary": summarize(sample.name, sample.task, sample.target, sample.split, sample.dims),
        "task": sample.task,
        "modalities": {m: (int(len(sample.target)), d) for m, d in sample.dims.items()},
        "target": np.asarray(sample.target),
        "split": np.asarray(sample.split),
        "rows": sample.rows,
        "pca": pca,
        "ground_truth": {},
        "class_names": list(sample.meta.get("class_names") or []) or None,
    }


def fit_rows(p: dict[str, Any]) -> int:
    """Rows the optimizer fits, from a ``preview`` dict: the training split (its normal rows for the anomaly task)."""
    return int(fit_mask(p["split"], p.get("target"), p.get("task", "")).sum())


def data_refusal(cfg: DataConfig) -> str | None:
    """The sentence of the server's limits refusing to train on ``cfg``'s data (too many samples, a generator or
    dataset over the memory or work estimate), else None. Checked before anything is drawn for a page: a ``?cfg=``
    link with ``n_samples=600000`` or ``b1=1e6`` must not make the server generate it (issue 20)."""
    from dashboard import services
    from omib_core.config import RunConfig
    from omib_core.runs.jobs import check_dataset

    run = RunConfig(data=cfg)
    try:
        check_dataset(run)
    except OmibError:
        return None  # an unknown dataset or parameter is not a limit: the loader says what is wrong (escaped there)
    try:
        services.jobs().validate(run.to_dict())
    except ConfigError as e:
        return str(e)
    except OmibError:
        return None  # not a limit (e.g. an unknown dataset): the loader says what is wrong
    return None


def training_rows(cfg: DataConfig) -> int:
    """How many rows training fits on ``cfg``'s data, through the cached ``preview``.

    The split does not depend on the SIM ground-truth reference model (the slow part of a first draw: up to a
    minute), so it is left out when the dataset has one; the draw itself is cached like the Data page's.

    Raises:
        ConfigError: the server's limits refuse these data (nothing is drawn).
        OmibError: the data cannot be loaded (a sentence).
    """
    from omib_core.data import get_info

    refusal = data_refusal(cfg)
    if refusal is not None:
        raise ConfigError(refusal)

    data = cfg.to_dict()
    if "reference" in (get_info(cfg.dataset).defaults or {}):
        data["params"] = {**data["params"], "reference": False}
    return fit_rows(preview(data))


def access_refusal(dataset: str, user: Any) -> str | None:
    """The sentence when ``user`` may not read the upload ``dataset`` (someone else's, not shared), else None."""
    from omib_core.data.uploads import UploadAccessError, check_access
    from omib_core.errors import OmibError

    try:
        check_access(dataset, user.name, user.is_admin)
    except UploadAccessError as e:
        return str(e)
    except OmibError:
        return None  # deleted or malformed: the picker falls back to the first dataset
    return None


def run_data_refusal(run: dict, user: Any) -> str | None:
    """The sentence when ``user`` may not read the upload ``run`` trained on (its snapshots hold that upload's
    labels, row by row), else None. ``user`` has ``.name`` and ``.is_admin``."""
    from omib_core.data.uploads import UploadAccessError, check_access
    from omib_core.errors import DataError

    dataset = str(((run.get("config") or {}).get("data") or {}).get("dataset") or "")
    try:
        check_access(dataset, user.name, user.is_admin)
    except UploadAccessError:
        return (
            f"This run trained on {dataset}, another user's upload that is not shared with you, so its "
            "embeddings and labels are hidden from you (its metrics are not). Ask the upload's owner to share it."
        )
    except DataError:
        return None  # deleted or unknown: nothing left to protect, or the viewer could read it
    return None


def uploaded_files(files: list[Any]) -> dict[str, bytes]:
    """``{file name: bytes}`` of the uploader's files.

    Raises:
        DataError: two files share a name (the later would silently replace the earlier).
    """
    names = [str(f.name) for f in files]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        shown = ", ".join(escape_md(n[:80]) for n in twice[:3])
        raise DataError(
            f"Two files in this upload are named {shown}; the later would replace the earlier. Remove one of them "
            "from the uploader (its x), or rename it, and add it again."
        )
    return {f.name: f.getvalue() for f in files}
