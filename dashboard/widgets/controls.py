"""One control per declared parameter (``omib_core.params.Param``): its kind picks the widget, its declaration gives
the label, range, step, format, choices and their labels, and the tooltip. The Data and Train pages draw every
parameter through ``control``; neither keeps a range, a label or a choice list of its own."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st

from omib_core.params import Param


def control(
    p: Param,
    name: str,
    key: str,
    *,
    where: Any = None,
    disabled: bool = False,
    options: Mapping[Any, str] | None = None,
    value: Any = ...,
) -> Any:
    """Draw ``p``'s control under ``key`` and return its value.

    Args:
        where: a container or column (default: the page).
        options: ``{choice: text}`` offered instead of the declared choices (e.g. the devices this server has).
        value: the starting value when the control has no state yet (omit when the state was seeded).
    """
    where = where or st
    label = (p.label or name) + (f" ({p.unit})" if p.unit and p.unit not in (p.label or name) else "")
    kw: dict[str, Any] = {"key": key, "help": p.help or None, "disabled": disabled}
    if p.kind == "bool":
        if value is not ...:
            kw["value"] = bool(value)
        return where.toggle(label, **kw)
    if p.kind == "choice" or options is not None:
        shown = dict(options) if options is not None else {c: p.labels.get(c, str(c)) for c in p.choices}
        current = st.session_state.get(key, value if value is not ... else p.default)
        opts = list(shown) + ([current] if current is not None and current not in shown else [])
        fmt: Callable[[Any], str] = lambda c: shown.get(c, str(c))  # noqa: E731
        if value is not ... and key not in st.session_state:
            kw["index"] = opts.index(current) if current in opts else 0
        return where.selectbox(label, opts, format_func=fmt, **kw)
    if p.kind == "str":
        if value is not ...:
            kw["value"] = "" if value is None else str(value)
        return where.text_input(label, **kw)
    lo, hi = p.bounds()
    if lo is not None:
        kw["min_value"] = p.cast(lo)
    if hi is not None:
        kw["max_value"] = p.cast(hi)
    if p.step is not None:
        kw["step"] = p.cast(p.step)
    if value is not ...:
        kw["value"] = None if value is None else p.cast(value)
    if p.widget == "slider" and lo is not None and hi is not None:
        return where.slider(label, **kw)
    if p.fmt or p.kind == "float":
        kw["format"] = p.fmt or "%g"
    if p.none:
        kw["placeholder"] = p.none
    return where.number_input(label, **kw)


def in_columns(names: list[str], draw: Callable[[str, Any], Any], columns: int = 3) -> dict[str, Any]:
    """``draw(name, column)`` for each name, ``columns`` to a row; ``{name: value}``."""
    cols = st.columns(columns)
    return {name: draw(name, cols[i % columns]) for i, name in enumerate(names)}


def say_fitted(key: str, before: str) -> None:
    """Show, once, the notes ``fit_to_controls`` left under ``key``: a link's values are never fitted silently."""
    notes = st.session_state.pop(key, None)
    if notes:
        st.warning(
            "Some values did not fit their controls and were changed: " + "; ".join(notes) + f". Check them {before}.",
            icon=":material/tune:",
        )
