"""Dataset choice and generator parameters -> a ``DataConfig``; the upload form -> files, task and name.

Controls are generated from the dataset's ``DatasetInfo.defaults`` (types and starting values) and
``param_help`` (tooltips); ``param_limits`` gives each a sensible range. Widget keys are
``data_<dataset>_<param>``, so every dataset keeps its own values while the page is open. The upload form's
keys start with ``data_upload_``. ``run_data_refusal`` hides a run's labels from those who may not read its upload.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import streamlit as st

from dashboard.widgets import escape_md
from omib_core.analysis.embedding import pca_2d, subsample_rows
from omib_core.config import DataConfig
from omib_core.data.dataset import fit_mask
from omib_core.errors import ConfigError, DataError, OmibError

KEY = "data"
# (min, max, step) by parameter name pattern, first match wins; anything else gets a range around its default.
LIMITS: tuple[tuple[str, tuple[float, float, float]], ...] = (
    (r"^(n_samples|n|samples|n_rows)$", (200, 200_000, 500)),
    (r"^(n_)?classes$|^k$", (2, 20, 1)),
    (r"accuracy", (0.3, 0.999, 0.01)),
    (r"^w\d+$|weight|share", (0.0, 1.0, 0.05)),
    (r"noise|flip|sigma|std", (0.0, 5.0, 0.01)),
    (r"^dim_|_dim$|(^|_)(size|block)s?($|_)|^[ab]\d+$", (0, 512, 1)),
    (r"frac|fraction|ratio|rate|prob", (0.0, 1.0, 0.01)),
    (r"seed", (0, 2**31 - 1, 1)),
    (r"^n_genes$", (10, 20_000, 50)),
    (r"_px$", (0, 1024, 1)),  # image sizes in pixels (0 = automatic)
)
# Controls are shown in these groups, by parameter name (first match wins); the rest go under "Other settings".
GROUPS: tuple[tuple[str, str, str], ...] = (
    ("Samples and labels", r"^(n_samples|n_classes|classes|noise|bayes_accuracy|label_model|anomaly_fraction)$", ""),
    (
        "Information blocks",
        r"^[ab]\d+$",
        "Sizes of the latent blocks: a = task-relevant, b = superfluous; 0 = shared by both modalities, "
        "1 = only in v1, 2 = only in v2. Larger b blocks make a too-small β overfit.",
    ),
    (
        "Task weights",
        r"^w\d+$",
        "Each a block's share of the label's signal: the larger w1, the more v1 alone can tell.",
    ),
)
CHOICES = re.compile(r"'([A-Za-z0-9_\-]+)'")
UPLOAD_TYPES = ("csv", "parquet", "npy", "npz")
UPLOAD_TASKS = ("automatic", "classification", "regression", "anomaly")
PREVIEW_POINTS = 1500
CHANGED = "data_changed"  # session key: values from the config fitted to their controls (see ``note_change``)


# helpers


def _key(dataset: str, name: str) -> str:
    return f"{KEY}_{re.sub(r'[^0-9A-Za-z_]', '_', dataset)}_{name}"


def param_limits(name: str, default: Any) -> tuple[float, float, float]:
    """(min, max, step) for a numeric parameter: by name pattern, else a range around its default."""
    for pattern, limits in LIMITS:
        if re.search(pattern, name):
            lo, hi, step = limits
            if isinstance(default, (int, float)) and not isinstance(default, bool):
                lo, hi = min(lo, default), max(hi, default)
            return lo, hi, step
    d = float(default)
    if isinstance(default, int):
        return (0 if d >= 0 else -10 * abs(d) - 10), max(10 * abs(d), 10), 1
    hi = max(10 * abs(d), 1.0)
    return (0.0 if d >= 0 else -hi), hi, (10 ** math.floor(math.log10(abs(d))) / 10 if d else 0.01)


def note_change(label: str, asked: Any, used: Any) -> None:
    """Record that a value from the config (a link, a reused run) was changed to fit its control; the page says so."""
    if asked != used:
        st.session_state.setdefault(CHANGED, []).append(f"{label} {_shown(asked)} → {_shown(used)}")


def _shown(v: Any) -> str:
    return f"{v:,}" if isinstance(v, int) else f"{v:g}" if isinstance(v, float) else repr(v)


def _numeric_input(label: str, key: str, default: Any, value: Any, help: str | None) -> Any:
    lo, hi, step = param_limits(label, default)
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, int):
        v = int(value) if number else default
        v = min(max(v, int(lo)), int(hi))
        if number and key not in st.session_state:
            note_change(label, value, v)
        return int(
            st.number_input(label, min_value=int(lo), max_value=int(hi), value=v, step=int(step), key=key, help=help)
        )
    v = float(value) if number else float(default)
    v = min(max(v, float(lo)), float(hi))
    if number and key not in st.session_state:
        note_change(label, value, v)
    return float(
        st.number_input(
            label, min_value=float(lo), max_value=float(hi), value=v, step=float(step), key=key, help=help, format="%g"
        )
    )


def param_input(dataset: str, name: str, default: Any, value: Any, help: str | None = None) -> Any:
    """One control for one generator parameter, typed by its default."""
    key = _key(dataset, name)
    if isinstance(default, bool):
        return st.toggle(name, value=bool(value), key=key, help=help)
    if default is None:  # an optional size: empty = automatic
        lo, hi, step = param_limits(name, 0)
        v = int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        if v is not None and key not in st.session_state:
            fitted = min(max(v, max(1, int(lo))), int(hi))
            note_change(name, v, fitted)
            v = fitted
        out = st.number_input(
            name,
            min_value=max(1, int(lo)),
            max_value=int(hi),
            value=v,
            step=int(step),
            key=key,
            help=help,
            placeholder="automatic",
        )
        return None if out is None else int(out)
    if isinstance(default, (int, float)):
        return _numeric_input(name, key, default, value, help)
    if isinstance(default, str):
        options = list(dict.fromkeys(CHOICES.findall(help or "")))
        if default in options and len(options) >= 2:  # the help names the allowed values: offer them
            return st.selectbox(
                name, options, index=options.index(value if value in options else default), key=key, help=help
            )
        return st.text_input(name, value=str(value), key=key, help=help)
    if isinstance(default, (list, tuple)) and all(isinstance(v, (int, float)) for v in default):
        text = st.text_input(
            name, value=", ".join(str(v) for v in (value or default)), key=key, help=(help or "") + " (comma-separated)"
        )
        return _parse_list(name, text, default)
    st.caption(f"{name}: {default!r} (fixed)")
    return default


def _parse_list(name: str, text: str, default: list | tuple) -> list:
    cast = int if all(isinstance(v, int) for v in default) else float
    try:
        return [cast(t.strip()) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ConfigError(
            f"The '{name}' parameter must be a comma-separated list of {cast.__name__}s. Got {text!r} instead."
        ) from None


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


# main functions


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


def dataset_choice(infos: list, current: str) -> Any:
    """A selectbox of the datasets the core lists; returns the chosen DatasetInfo."""
    ids = [i.id for i in infos]
    index = ids.index(current) if current in ids else 0
    by_id = {i.id: i for i in infos}
    chosen = st.selectbox(
        "Dataset", ids, index=index, key=f"{KEY}_dataset", format_func=lambda i: f"{by_id[i].title} ({i})"
    )
    return by_id[chosen]


def params_ui(info: Any, current: DataConfig, columns: int = 3) -> dict[str, Any]:
    """Controls for every generator parameter of ``info``; starting values from ``current`` when it is this dataset."""
    defaults: Mapping[str, Any] = dict(info.defaults or {})
    helps: Mapping[str, str] = dict(getattr(info, "param_help", None) or {})
    start = {**defaults, **(current.params if current.dataset == info.id else {})}
    params: dict[str, Any] = {}
    errors: list[str] = []
    for title, names, caption in grouped(list(defaults)):
        if len(names) < len(defaults):
            st.markdown(f"**{title}**")
            if caption:
                st.caption(caption)
        cols = st.columns(columns)
        for i, name in enumerate(names):
            with cols[i % columns]:
                try:
                    params[name] = param_input(
                        info.id, name, defaults[name], start.get(name, defaults[name]), helps.get(name)
                    )
                except ConfigError as e:  # keep drawing the other controls; report after
                    errors.append(str(e))
    if errors:
        raise ConfigError(" ".join(errors))
    return params


def grouped(names: list[str]) -> list[tuple[str, list[str], str]]:
    """Parameter names split into the display groups of ``GROUPS`` (empty groups dropped, order kept)."""
    out: list[tuple[str, list[str], str]] = [(t, [], c) for t, _, c in GROUPS] + [("Other settings", [], "")]
    for name in names:
        idx = next((i for i, (_, pattern, _) in enumerate(GROUPS) if re.search(pattern, name)), len(GROUPS))
        out[idx][1].append(name)
    return [g for g in out if g[1]]


def split_ui(info: Any, current: DataConfig) -> tuple[int, float, float]:
    """Seed of the draw and split, and the validation / test fractions."""
    same = current.dataset == info.id
    base = current if same else DataConfig(dataset=info.id)
    c1, c2, c3 = st.columns(3)
    fractions = {}
    for name, value in (("val_fraction", base.val_fraction), ("test_fraction", base.test_fraction)):
        fractions[name] = min(max(float(value), 0.05), 0.4)
        if _key(info.id, name) not in st.session_state:
            note_change(name.replace("_", " "), float(value), fractions[name])
    seed = c1.number_input(
        "seed",
        min_value=0,
        max_value=2**31 - 1,
        value=int(base.seed),
        step=1,
        key=_key(info.id, "seed"),
        help="Seed of the random draw and of the train / val / test split: the same seed gives the same data.",
    )
    val = c2.slider(
        "validation fraction",
        0.05,
        0.4,
        fractions["val_fraction"],
        0.05,
        key=_key(info.id, "val_fraction"),
        help="Share of rows held out to pick the epoch and watch overfitting.",
    )
    test = c3.slider(
        "test fraction",
        0.05,
        0.4,
        fractions["test_fraction"],
        0.05,
        key=_key(info.id, "test_fraction"),
        help="Share of rows kept for the final accuracy.",
    )
    return int(seed), float(val), float(test)


def data_config_ui(info: Any, current: DataConfig) -> DataConfig:
    """All controls of one dataset -> a validated DataConfig (raises ConfigError with a sentence)."""
    error: ConfigError | None = None
    params: dict[str, Any] = {}
    with st.container(border=True):
        st.markdown("#### Generator parameters" if info.defaults else "#### Parameters")
        if info.defaults:
            try:
                params = params_ui(info, current)
            except ConfigError as e:
                error = e
        else:
            st.caption("This dataset has no parameters to set.")
        st.markdown("**Draw and split**")
        seed, val, test = split_ui(info, current)
    notes = st.session_state.pop(CHANGED, None)
    if notes:
        st.warning(
            "Some values did not fit their controls and were changed: " + "; ".join(notes) + ". Check them "
            "before you use this data.",
            icon=":material/tune:",
        )
    if error is not None:
        raise error
    defaults = dict(info.defaults or {})
    changed = {k: v for k, v in params.items() if k not in defaults or v != defaults[k]}  # short share links
    return DataConfig(dataset=info.id, params=changed, seed=seed, val_fraction=val, test_fraction=test)


def upload_ui(generation: int = 0) -> tuple[dict[str, bytes], str | None, str]:
    """The upload form: ``({file name: bytes}, task or None for automatic, name)``.

    ``generation`` is part of the uploader's key: raising it empties the uploader (after a stored upload).
    """
    files = st.file_uploader(
        "Files: one per modality, plus labels.csv or labels.npy",
        type=list(UPLOAD_TYPES),
        accept_multiple_files=True,
        key=f"{KEY}_upload_files_{generation}",
        help="Each modality file has one row per sample, in the same order in every file; the file name becomes the "
        "modality's name. CSV: numbers only (a header row and an id column are fine). .npy / .npz: numeric arrays "
        "saved without pickle.",
    )
    c1, c2 = st.columns(2)
    task = c1.selectbox(
        "task",
        UPLOAD_TASKS,
        key=f"{KEY}_upload_task",
        help="automatic: integer labels with few values = classification, anything else = regression. "
        "anomaly: labels 0 (normal) / 1 (anomaly).",
    )
    name = c2.text_input(
        "name",
        key=f"{KEY}_upload_name",
        max_chars=80,
        placeholder="my data",
        help="How the dataset is listed in the picker.",
    )
    return uploaded_files(files or []), (None if task == "automatic" else task), name.strip()


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
