"""Dataset choice and loader parameters -> a ``DataConfig``; the upload form -> files, task and name.

Every control is generated from the parameter's declaration (the dataset's ``DatasetInfo.params`` and
``DataConfig``'s fields: kind, range, step, choices, group, help, advanced). Widget keys are
``data_<dataset>_<param>``, so every dataset keeps its own values while the page is open. The upload form's keys
start with ``data_upload_``.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard.datasets import uploaded_files
from dashboard.text import widget_key
from dashboard.widgets.controls import control, in_columns, say_fitted
from omib_core.config import DataConfig
from omib_core.params import Param, fit_to_controls, groups, schema

KEY = "data"
SPLIT = schema(DataConfig)  # seed, val_fraction, test_fraction: declared once, in omib_core.config
UPLOAD_TYPES = ("csv", "parquet", "npy", "npz")
UPLOAD_TASKS = ("automatic", "classification", "regression", "anomaly")
CHANGED = "data_changed"  # session key: values from the config fitted to their controls (see ``fit_once``)


# helpers


def fit_once(params: dict[str, Param], values: dict[str, Any], dataset: str) -> dict[str, Any]:
    """Values from the config (a link, a reused run) fitted to their controls, noted for the page to say so; only
    for controls that have no state yet (what the user typed is theirs)."""
    fresh = {k: v for k, v in values.items() if widget_key(KEY, dataset, k) not in st.session_state}
    wrong = {k: v for k, v in fresh.items() if k in params and not params[k].shows(v)}
    fitted, notes = fit_to_controls(params, {k: v for k, v in fresh.items() if k not in wrong})
    for k, v in wrong.items():  # a value the control cannot show at all: its default, said aloud
        fitted[k] = params[k].default
        notes.append(f"{params[k].label or k} {v!r} → {params[k].default!r} (it must be {params[k].words()})")
    if notes:
        st.session_state.setdefault(CHANGED, []).extend(notes)
    return {**values, **fitted}


def param_input(dataset: str, name: str, p: Param, value: Any, where: Any = None) -> Any:
    """One control for one loader parameter, drawn by its declaration (``value``: fitted by ``fit_once``)."""
    return control(p, name, widget_key(KEY, dataset, name), where=where, value=value if p.shows(value) else p.default)


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
    """Controls for every loader parameter of ``info``, by group, the advanced ones in an expander; starting values
    from ``current`` when it is this dataset."""
    declared: dict[str, Param] = dict(info.params)
    start = fit_once(declared, {**info.defaults, **(current.params if current.dataset == info.id else {})}, info.id)
    params: dict[str, Any] = {}
    basic = [n for n, p in declared.items() if not p.advanced]
    advanced = [n for n, p in declared.items() if p.advanced]

    def draw(name: str, col: Any) -> Any:
        return param_input(info.id, name, declared[name], start.get(name), where=col)

    shown = groups(declared, basic)
    for title, names in shown:
        if len(shown) > 1 or advanced:
            st.markdown(f"**{title}**")
            if info.group_help.get(title):
                st.caption(info.group_help[title])
        params |= in_columns(names, draw, columns)
    if advanced:
        with st.expander("Advanced parameters", icon=":material/tune:"):
            params |= in_columns(advanced, draw, columns)
    return params


def split_ui(info: Any, current: DataConfig) -> tuple[int, float, float]:
    """Seed of the draw and split, and the validation / test fractions, drawn by DataConfig's declarations."""
    base = current if current.dataset == info.id else DataConfig(dataset=info.id)
    start = fit_once(SPLIT, {n: getattr(base, n) for n in ("seed", "val_fraction", "test_fraction")}, info.id)
    cols = st.columns(3)
    out = [
        control(SPLIT[n], n, widget_key(KEY, info.id, n), where=col, value=start[n])
        for n, col in zip(("seed", "val_fraction", "test_fraction"), cols)
    ]
    return int(out[0]), float(out[1]), float(out[2])


def data_config_ui(info: Any, current: DataConfig) -> DataConfig:
    """All controls of one dataset -> a validated DataConfig (raises ConfigError with the declaration's sentence)."""
    params: dict[str, Any] = {}
    with st.container(border=True):
        st.markdown("#### Generator parameters" if info.params else "#### Parameters")
        if info.params:
            params = params_ui(info, current)
        else:
            st.caption("This dataset has no parameters to set.")
        st.markdown("**Draw and split**")
        seed, val, test = split_ui(info, current)
    say_fitted(CHANGED, "before you use this data")
    defaults = info.defaults
    changed = {k: v for k, v in params.items() if k not in defaults or v != defaults[k]}  # short share links
    return DataConfig(dataset=info.id, params=info.validate(changed), seed=seed, val_fraction=val, test_fraction=test)


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
