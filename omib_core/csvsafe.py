"""Spreadsheet-safe CSV: a text cell that a spreadsheet would run as a formula is written as text instead.

OWASP's rule against CSV injection: a cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return gets a leading ``'``, which Excel, LibreOffice and Google Sheets read as "this cell is text". Only
strings change: numbers stay numbers (``-0.5`` the float is written as ``-0.5``), and so does a string that is a
plain number (``"-0.5"``, ``"1e-3"``), which a spreadsheet reads as that number and never as a formula. Every
CSV the app writes or offers goes through ``safe_csv`` (a DataFrame) or ``safe_row`` (one ``csv`` module row).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def neutralise(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is a string a spreadsheet would run as a formula, else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names are neutralised; numeric columns are untouched."""
    import pandas as pd

    out = frame.copy()
    out.columns = [neutralise(c) for c in out.columns]
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        dtype = col.dtype
        if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(dtype):
            out.isetitem(i, col.astype(object).map(neutralise))
        elif pd.api.types.is_string_dtype(dtype):
            out.isetitem(i, col.map(neutralise, na_action="ignore"))
    return out


def safe_csv(frame: pd.DataFrame, **to_csv: Any) -> str:
    """``frame.to_csv(index=False, **to_csv)`` of the neutralised frame."""
    return neutralise_frame(frame).to_csv(**{"index": False, **to_csv})


def safe_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """One row for ``csv.DictWriter`` with its text values neutralised (keys kept, so they match the fieldnames)."""
    return {k: neutralise(v) for k, v in row.items()}
