"""The folder format: your own data as one folder, loaded with ``load_dataset("path/to/folder")``.

::

    my_data/
      audio.csv        one file per modality: .csv, .parquet, .npy or .npz (one array); rows = samples, same order
      video.npy        (an .npy of shape (N, 8, 8) is flattened to (N, 64))
      labels.csv       the target: labels.csv, labels.parquet, labels.npy or labels.npz
      meta.json        optional: {"name": "...", "task": "classification|regression|anomaly", "modalities": [...]}

Rules (every broken one raises ``DataError`` with a sentence saying what to fix):

- CSV: UTF-8 (a byte-order mark is fine), numbers only. The separator (``,`` ``;`` tab ``|``) and a decimal comma
  (``0,126;-0,132``, as European Excel saves it) are detected from the first lines; every row must have as many
  fields as the first (a header shorter than the rows is refused, not shifted). The first row is a header when
  any of its cells is not a number, or when it reads exactly ``0,1,...,d-1`` (pandas' default column names,
  d >= 2); any other header of numbers only is read as data. A column named ``id`` is dropped. Empty cells are
  NaN. At most ``MAX_COLUMNS`` columns (checked on the first line, before parsing) and ``MAX_CELLS`` values.
- Values: finite numbers within float32's range (|x| <= 3.4e38); larger ones are refused with their column and
  row (training stores float32, where they would become infinite). NaN/inf are reported by the upload check.
- ``labels.csv`` / ``labels.parquet``: one label column (named ``label``, ``labels``, ``target``, ``y`` or
  ``class``, or the only column left), an optional ``split`` column (``train`` / ``val`` / ``test`` or 0 / 1 / 2;
  without it the rows are split at random, stratified by class, seeded by ``DataConfig``) and an optional ``id``.
- Labels must be numbers. [choice] Text labels ("cat", "dog") are refused, not mapped: a silent mapping would
  also turn a typo into a class. Encode classes as integers first.
- Task: ``meta.json``'s ``task``; else classification when the labels are integers with at most 50 distinct
  values (and at most half as many as rows), regression otherwise. Class values that are not 0..K-1 are mapped
  to 0..K-1 in sorted order; ``meta["class_names"]`` keeps the original values.
- Modalities are ordered as ``meta.json``'s ``modalities`` list, else by file name; the first is the reference
  modality of r. ``.npy`` / ``.npz`` files are read with ``allow_pickle=False``: object arrays are refused.

The readers here take bytes, so ``uploads.py`` checks uploaded files with the very same code.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from omib_core.config import TASKS
from omib_core.data.dataset import TEST, TRAIN, VAL, MultimodalDataset, stratified_split
from omib_core.data.info import DatasetInfo
from omib_core.errors import DataError

MODALITY_EXTS = ("csv", "parquet", "npy", "npz")
LABEL_STEMS = ("labels", "label")
LABEL_COLUMNS = ("label", "labels", "target", "y", "class")
RESERVED = (*LABEL_STEMS, "meta", "split")
MAX_CELLS = 100_000_000  # values one file may decode to (800 MB as float64; 20,000 genes x 5,000 cells fits)
MAX_COLUMNS = 50_000  # columns of a CSV or Parquet file: each costs pandas ~0.1 ms and ~2 KB, whatever its rows
FLOAT32_MAX = float(np.finfo(np.float32).max)  # 3.4e38: larger finite values become inf in training's float32
SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
SNIFF_LINES = 20  # lines the dialect is guessed from
_DECIMAL_COMMA = re.compile(r"^[+-]?(\d+,\d*|,\d+)([eE][+-]?\d+)?$")
_QUOTED = re.compile(r'"[^"]*"')
MAX_CLASSES = 50
MAX_RATIO = 100  # a compressed member may inflate at most this many times its size (zip bombs reach 1000:1)
NPY_HEADER_MAX = 65_536  # bytes of a .npy member read to find its header (numpy writes 64-4096)
HEADER_HINT = "(A CSV header made only of numbers, other than 0,1,...,d-1, is read as a data row: name the columns.)"
SPLIT_CODES = {"train": TRAIN, "training": TRAIN, "val": VAL, "valid": VAL, "validation": VAL, "test": TEST}
PICKLE_HINT = (
    "Pickle files are refused: loading one can run arbitrary code. Save arrays with numpy.save(..., "
    "allow_pickle=False) as .npy, or as CSV / Parquet."
)


# helpers: bytes -> arrays


def _too_big(what: str, cells: int) -> DataError:
    return DataError(f"{what} would decode to {cells:,} values; the limit is {MAX_CELLS:,}. Use fewer rows or columns.")


def _is_number(text: str, decimal: str = ".") -> bool:
    if decimal == ",":
        if "." in text and not _DECIMAL_COMMA.match(text):
            return False
        text = text.replace(",", ".")
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_float32_range(x: np.ndarray, what: str, columns: list[str] | None = None) -> None:
    """Refuse finite values that float32 (what training stores) cannot hold: they would become inf."""
    if x.dtype.kind != "f" or x.dtype.itemsize <= 4 or x.size == 0:
        return
    big = (x > FLOAT32_MAX) | (x < -FLOAT32_MAX)  # NaN compares False; inf is reported elsewhere, as inf
    big &= np.isfinite(x)
    if not big.any():
        return
    flat = big.reshape(big.shape[0], -1)
    i = int(np.flatnonzero(flat.any(1))[0])
    j = int(np.flatnonzero(flat[i])[0])
    col = repr(columns[j]) if columns is not None and j < len(columns) else str(j + 1)
    raise DataError(
        f"Column {col} of {what} has values beyond float32's range (|x| > 3.4e38), e.g. "
        f"{x.reshape(x.shape[0], -1)[i, j]:.3g} at row {i + 1} ({int(big.sum()):,} such values); training "
        "stores numbers as float32, where they would become infinite. Rescale that column (e.g. divide it by a "
        "large constant or take a logarithm) and save the file again."
    )


def _numeric_frame(frame: Any, what: str, decimal: str = ".") -> tuple[np.ndarray, list[str]]:
    """A DataFrame of numbers -> (N, d) float64 and column names; a text cell raises a sentence."""
    import pandas as pd

    cols = [str(c) for c in frame.columns]
    if all(pd.api.types.is_float_dtype(t) or pd.api.types.is_integer_dtype(t) for t in frame.dtypes):
        return frame.to_numpy(dtype=np.float64, na_value=np.nan), cols  # the common case: no per-column work
    out = np.empty(frame.shape, dtype=np.float64)
    for j, c in enumerate(frame.columns):
        s = frame[c]
        if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
            if pd.api.types.is_complex_dtype(s.dtype):
                raise DataError(f"{what}: column {cols[j]!r} holds complex numbers; store real features only.")
            out[:, j] = s.to_numpy(dtype=np.float64, na_value=np.nan)
            continue
        text = s.astype("string").str.strip()
        if decimal == ",":
            point = text.str.contains(".", regex=False).fillna(False) & ~text.str.match(_DECIMAL_COMMA).fillna(False)
            if bool(point.any()):
                example = str(text[point].iloc[0])[:40]
                raise DataError(
                    f"{what}: column {cols[j]!r} has {example!r} in row {int(np.flatnonzero(point)[0]) + 1}, but this "
                    "file uses decimal commas, so a point is ambiguous (a decimal point, or a thousands separator?). "
                    "Save the file with one decimal mark and no thousands separators."
                )
            text = text.str.replace(",", ".", regex=False)
        num = pd.to_numeric(text, errors="coerce")
        bad = text.notna() & (text != "") & num.isna() & ~text.str.lower().isin(("nan", "na", "n/a", "null"))
        if bool(bad.any()):
            example = str(text[bad].iloc[0])[:40]
            hint = (
                " It looks like a decimal comma: save the file with decimal points, or with ';' as the separator."
                if decimal == "." and _DECIMAL_COMMA.match(example)
                else ""
            )
            raise DataError(
                f"{what}: column {cols[j]!r} has text such as {example!r} in row {int(np.flatnonzero(bad)[0]) + 1}; "
                "every cell must be a number (encode categories as integers, leave missing cells empty)." + hint
            )
        out[:, j] = num.to_numpy(dtype=np.float64, na_value=np.nan)
    return out, cols


def _drop_id(frame: Any) -> Any:
    ids = [c for c in frame.columns if str(c).strip().lower() == "id"]
    return frame.drop(columns=ids) if ids else frame


@dataclass(frozen=True)
class Dialect:
    """How a CSV file is written: its separator, its decimal mark and whether it starts with a byte-order mark."""

    sep: str = ","
    decimal: str = "."
    bom: bool = False

    def describe(self) -> str:
        extras = ["decimal commas"] if self.decimal == "," else []
        extras += ["a UTF-8 byte-order mark"] if self.bom else []
        return f"{SEPARATORS[self.sep]}-separated" + (f" with {' and '.join(extras)}" if extras else "")

    @property
    def usual(self) -> bool:
        return self.sep == "," and self.decimal == "."


def decode_text(raw: bytes, what: str) -> tuple[str, bool]:
    """UTF-8 bytes (with or without a byte-order mark) -> (text, had a BOM); UTF-16 and binary are refused."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise DataError(
            f"{what} is UTF-16 text (Excel's 'Unicode text'), not UTF-8; save it as 'CSV UTF-8' (comma-delimited)."
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"{what} is not UTF-8 text (byte {e.start}); save it as a UTF-8 CSV file.") from None
    if "\x00" in text:
        raise DataError(f"{what} contains NUL bytes, so it is not a CSV text file; export it again as CSV.")
    return text, raw[:3] == b"\xef\xbb\xbf"


def _unquoted(line: str) -> str:
    return _QUOTED.sub("", line) if '"' in line else line


def sniff_dialect(text: str, bom: bool = False) -> Dialect:
    """The separator (``;``, tab, ``|`` or ``,``) and decimal mark of CSV text, from its first lines.

    A separator counts when every sampled line holds it the same number of times (at least once); ``;``, tab and
    ``|`` win over ``,`` because they are used precisely when the comma is the decimal mark. The decimal mark is a
    comma when the separator is not a comma and a sampled cell reads like ``0,126``.
    """
    lines = [_unquoted(line.rstrip("\r")) for line in text.split("\n", SNIFF_LINES)[:SNIFF_LINES]]
    lines = [line for line in lines if line.strip()]
    if not lines:
        return Dialect(bom=bom)
    consistent = [s for s in SEPARATORS if lines[0].count(s) and len({line.count(s) for line in lines}) == 1]
    if consistent:
        sep = next(s for s in (";", "\t", "|", ",") if s in consistent)
    else:  # no separator is used the same way on every line: the busiest one; the field count check will say why
        sep = max(SEPARATORS, key=lambda s: (lines[0].count(s), s == ","))
        sep = sep if lines[0].count(sep) else ","
    decimal = "."
    if sep != ",":
        cells = (cell.strip().strip('"') for line in lines for cell in line.split(sep))
        decimal = "," if any(_DECIMAL_COMMA.match(cell) for cell in cells) else "."
    return Dialect(sep, decimal, bom)


def check_text_size(text: str, sep: str, what: str) -> tuple[int, int]:
    """Bound the work before parsing: (columns of the first line, lines), refused beyond the limits."""
    end = text.find("\n")
    first = text if end < 0 else text[:end]
    columns = first.count(sep) + 1  # quotes ignored: an upper bound
    if columns > MAX_COLUMNS:
        raise DataError(
            f"{what} has {columns:,} columns in its first line; the limit is {MAX_COLUMNS:,} columns for a CSV or "
            "Parquet file (each column costs the reader time and memory). Save fewer columns (select features "
            "first), or save the matrix as .npy with numpy.save(path, x.astype('float32'))."
        )
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    rows = max(1, lines - 1)  # the first line may be a header
    if columns * rows > MAX_CELLS:
        raise DataError(
            f"{what} would decode to about {columns * rows:,} values ({columns:,} columns x {rows:,} rows after the "
            f"first line); the limit is {MAX_CELLS:,}. Upload fewer rows or columns, or save the matrix as .npy."
        )
    return columns, lines


def check_field_counts(text: str, dialect: Dialect, what: str) -> list[str]:
    """Refuse a row whose number of fields differs from the first row's; return the first row's cells."""
    import csv

    first: list[str] | None = None
    try:
        reader = csv.reader(io.StringIO(text), delimiter=dialect.sep, quotechar='"', strict=True)
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank lines are skipped, as the reader does
            if first is None:
                first = row
            elif len(row) != len(first):
                line = reader.line_num
                short = len(row) > len(first)
                raise DataError(
                    f"{what}: line {line} has {len(row):,} fields but line 1"
                    f"{' (the header)' if short else ''} has {len(first):,}; every row needs the same number of "
                    f"{SEPARATORS[dialect.sep]}-separated values (the file was read as {dialect.describe()}). "
                    + (
                        "A header shorter than the rows usually means an unnamed first column: name every column."
                        if short and line == 2
                        else "Fix that row: a missing or extra separator, or an unclosed quote?"
                    )
                )
    except csv.Error as e:
        raise DataError(
            f"{what} could not be read as CSV ({str(e)[:120]}); check its quotes, or export it again as CSV."
        ) from None
    if first is None:
        raise DataError(f"{what} has no rows; it needs one row per sample.")
    return first


def _has_header(cells: list[str], decimal: str = ".") -> bool:
    """Whether row 1 is a header: a cell that is not a number, or exactly 0,1,...,d-1 (pandas' default names)."""
    cells = [str(v).strip() for v in cells]
    if len(cells) > 1 and cells == [str(j) for j in range(len(cells))]:
        return True
    return any(v != "" and not _is_number(v, decimal) for v in cells)


def read_csv_frame(raw: bytes, what: str, notes: list[str] | None = None) -> Any:
    """CSV bytes -> a DataFrame (numbers parsed by pandas' C parser; text left as text for the error message).

    The work is bounded before parsing (``check_text_size``), the dialect is detected (``sniff_dialect``), and a row
    whose field count differs from the first row's is refused. ``notes`` receives a sentence when the file is not
    a plain comma-separated one (how it was read), so the caller can show it.
    """
    import pandas as pd

    text, bom = decode_text(raw, what)
    if not text.strip():
        raise DataError(f"{what} has no rows; it needs one row per sample.")
    dialect = sniff_dialect(text, bom)
    check_text_size(text, dialect.sep, what)
    first = check_field_counts(text, dialect, what)
    header = _has_header(first, dialect.decimal)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=dialect.sep,
            decimal=dialect.decimal,
            header=0 if header else None,
            index_col=False,
            skip_blank_lines=True,
            engine="c",
        )
    except Exception as e:  # noqa: BLE001 - any parser failure on user bytes is a malformed file
        msg = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise DataError(
            f"{what} could not be read as CSV ({msg}); every row needs the same number of comma-separated values."
        ) from None
    if frame.shape[0] * frame.shape[1] > MAX_CELLS:
        raise _too_big(what, frame.shape[0] * frame.shape[1])
    if frame.shape[0] == 0:
        raise DataError(f"{what} has a header but no data rows; it needs one row per sample.")
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.attrs["decimal"] = dialect.decimal
    if notes is not None and (not dialect.usual):
        excel = " (as Excel saves CSV in many European languages)" if dialect.sep == ";" else ""
        notes.append(f"{what} was read as {dialect.describe()}{excel}; check the values in the table.")
    return frame


def read_parquet_frame(raw: bytes, what: str) -> Any:
    """Parquet bytes -> a DataFrame (size checked from the footer before anything is decoded)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(io.BytesIO(raw))
        if pf.metadata.num_columns > MAX_COLUMNS:
            raise DataError(
                f"{what} has {pf.metadata.num_columns:,} columns; the limit is {MAX_COLUMNS:,} for a CSV "
                "or Parquet file. Save fewer columns, or save the matrix as .npy with numpy.save."
            )
        cells = pf.metadata.num_rows * max(1, pf.metadata.num_columns)
        if cells > MAX_CELLS:
            raise _too_big(what, cells)
        table = pf.read(use_pandas_metadata=False)
        for field in table.schema:
            if not (
                pa.types.is_integer(field.type)
                or pa.types.is_floating(field.type)
                or pa.types.is_boolean(field.type)
                or pa.types.is_string(field.type)
                or pa.types.is_large_string(field.type)
                or pa.types.is_dictionary(field.type)
            ):
                raise DataError(f"{what}: column {field.name!r} has type {field.type}; store plain numbers only.")
        frame = table.to_pandas()
    except DataError:
        raise
    except Exception as e:  # noqa: BLE001 - pyarrow raises many types on malformed bytes
        raise DataError(
            f"{what} could not be read as Parquet ({type(e).__name__}); export it again with "
            "pandas.DataFrame.to_parquet."
        ) from None
    if frame.shape[0] == 0:
        raise DataError(f"{what} has no rows; it needs one row per sample.")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def read_npy(raw: bytes, what: str) -> np.ndarray:
    """``.npy`` bytes -> array, with ``allow_pickle=False`` and the header's size checked against the bytes."""
    if raw[:1] == b"\x80" or raw[:2] in (b"(d", b"(l", b"]q", b"}q"):
        raise DataError(f"{what} looks like a pickle, not a NumPy .npy file. {PICKLE_HINT}")
    shape, dtype, header_len = _npy_header(raw[:NPY_HEADER_MAX], what)
    cells = math.prod(shape)  # Python ints: a crafted shape cannot overflow
    if cells > MAX_CELLS:
        raise _too_big(what, cells)
    if cells * dtype.itemsize > len(raw) - header_len:
        raise DataError(
            f"{what} is cut short: its header announces shape {shape} but the file is smaller. "
            "Upload the complete file."
        )
    try:
        return np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception as e:  # noqa: BLE001
        raise DataError(
            f"{what} could not be read as a NumPy array ({type(e).__name__}); save it with numpy.save."
        ) from None


def _npy_header(head: bytes, what: str) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, header length) of the first bytes of a .npy stream; DataError for a malformed or object one."""
    buf = io.BytesIO(head)
    try:
        version = np.lib.format.read_magic(buf)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(buf)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(buf)
    except Exception:  # noqa: BLE001 - a bad or cut header in any form
        raise DataError(f"{what} is not a valid NumPy .npy file; save it with numpy.save.") from None
    if dtype.hasobject:
        raise DataError(
            f"{what} holds an object array (dtype {dtype}), which only loads through pickle. "
            "Convert it to numbers first: numpy.save(path, x.astype('float32'))."
        )
    return tuple(int(d) for d in shape), dtype, buf.tell()


def read_npz(raw: bytes, what: str, max_bytes: int | None = None) -> np.ndarray:
    """``.npz`` bytes holding exactly one array -> that array, bounded before anything is inflated.

    From the zip directory and the member's .npy header (read from the first inflated bytes, at most
    ``NPY_HEADER_MAX``): the declared size counts against ``max_bytes`` (the same per-file limit as an uncompressed
    upload; default ``MAX_CELLS`` float64 values) and the header's cells against ``MAX_CELLS``; a member that
    inflates more than ``MAX_RATIO`` times its compressed size is refused (a zip bomb). The member is then
    inflated at most to its declared size.
    """
    limit = MAX_CELLS * 8 + 4096 if max_bytes is None else int(max_bytes)
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            members = [i for i in zf.infolist() if not i.is_dir()]
            if len(members) != 1 or not members[0].filename.endswith(".npy"):
                names = [i.filename.removesuffix(".npy") for i in members[:5]]
                raise DataError(
                    f"{what} must hold exactly one array (one modality per file); it holds {names}"
                    f"{' and more' if len(members) > 5 else ''}. Save each modality to its own file."
                )
            info = members[0]
            if info.file_size > limit:
                raise DataError(
                    f"{what} inflates to {info.file_size / 2**20:,.1f} MB (its zip directory says so); the limit is "
                    f"{limit / 2**20:,.1f} MB per file, compressed or not. Upload fewer rows or columns."
                )
            if info.file_size > MAX_RATIO * max(info.compress_size, 1) and info.file_size > 2**20:
                raise DataError(
                    f"{what} inflates {info.file_size / max(info.compress_size, 1):,.0f} times its compressed size "
                    f"(at most {MAX_RATIO}:1 is read: a higher ratio is how a zip bomb fills a server). Save it "
                    "uncompressed with numpy.save (.npy) instead."
                )
            with zf.open(info) as f:
                shape, dtype, header_len = _npy_header(f.read(min(NPY_HEADER_MAX, info.file_size)), what)
                cells = math.prod(shape)  # Python ints: a crafted shape cannot overflow
                if cells > MAX_CELLS:
                    raise _too_big(what, cells)
                if header_len + cells * dtype.itemsize != info.file_size:
                    raise DataError(
                        f"{what}: its array header announces shape {shape} ({cells * dtype.itemsize:,} bytes) but the "
                        f"archive declares {info.file_size:,} bytes. Save the array again with numpy.savez."
                    )
            member = zf.read(info)  # inflated to the declared size at most; the CRC is checked
    except DataError:
        raise
    except Exception as e:  # noqa: BLE001 - BadZipFile, zlib errors, CRC errors...
        raise DataError(f"{what} is not a valid .npz archive ({type(e).__name__}); save it with numpy.savez.") from None
    return read_npy(member, what)


def as_matrix(x: np.ndarray, what: str) -> np.ndarray:
    """A numeric array -> (N, d) float64: 1-D becomes one column, extra dimensions are flattened."""
    if x.dtype.kind not in "biuf":
        raise DataError(f"{what} has dtype {x.dtype}; it must hold real numbers (int, float or bool).")
    if x.ndim == 0:
        raise DataError(f"{what} holds a single number; it needs one row per sample.")
    if x.ndim == 1:
        x = x[:, None]
    elif x.ndim > 2:
        x = x.reshape(x.shape[0], -1)
    if x.shape[0] == 0:
        raise DataError(f"{what} has no rows; it needs one row per sample.")
    if x.shape[1] == 0:
        raise DataError(f"{what} has no feature columns.")
    return x.astype(np.float64, copy=False)


# main functions: one file


def read_modality(
    raw: bytes, ext: str, what: str, notes: list[str] | None = None, *, max_bytes: int | None = None
) -> np.ndarray:
    """The bytes of one modality file -> (N, d) float64 (NaN/inf kept: the caller reports them).

    Finite values beyond float32's range are refused here, with the column and row. ``notes`` receives a sentence
    about how an unusual CSV dialect was read (see ``read_csv_frame``).
    """
    ext = ext.lower().lstrip(".")
    if ext in ("pkl", "pickle", "joblib"):
        raise DataError(f"{what}: {PICKLE_HINT}")
    if not raw:
        raise DataError(f"{what} is empty; it needs one row per sample.")
    cols: list[str] | None = None
    if ext == "csv":
        frame = read_csv_frame(raw, what, notes)
        x, cols = _numeric_frame(_drop_id(frame), what, frame.attrs.get("decimal", "."))
    elif ext == "parquet":
        x, cols = _numeric_frame(_drop_id(read_parquet_frame(raw, what)), what)
    elif ext == "npy":
        x = read_npy(raw, what)
    elif ext == "npz":
        x = read_npz(raw, what, max_bytes)
    else:
        raise DataError(
            f"{what}: files ending in .{ext} are not read; use {', '.join('.' + e for e in MODALITY_EXTS)}."
        )
    x = as_matrix(x, what)
    check_float32_range(x, what, cols)
    return x


def _label_column(frame: Any, what: str) -> str:
    cols = [c for c in frame.columns if c.strip().lower() not in ("id", "split")]
    named = [c for c in cols if c.strip().lower() in LABEL_COLUMNS]
    if len(named) == 1:
        return named[0]
    if len(cols) == 1:
        return cols[0]
    raise DataError(
        f"{what} has columns {list(frame.columns)}; it needs one label column (name it 'label'), "
        "plus optionally 'split' and 'id'."
    )


def parse_split(values: Any, what: str) -> np.ndarray:
    """Split column values (train/val/test or 0/1/2) -> int8 codes."""
    out = np.empty(len(values), dtype=np.int8)
    for i, v in enumerate(values):
        t = str(v).strip().lower()
        t = t[:-2] if t.endswith(".0") else t
        code = SPLIT_CODES.get(t, {"0": TRAIN, "1": VAL, "2": TEST}.get(t))
        if code is None:
            raise DataError(
                f"{what}: the split column has {str(v)[:40]!r} in row {i + 1}; use train, val or test (or 0, 1, 2)."
            )
        out[i] = code
    return out


def read_labels(
    raw: bytes, ext: str, what: str, notes: list[str] | None = None, *, max_bytes: int | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """The bytes of the labels file -> (labels, split codes (N,) int8 or None).

    Labels are (N,) float64 numbers, or (N,) str class names (a text column, or a numpy string array) that
    ``encode_target`` numbers in sorted order; an empty cell, or numbers mixed with names, is refused with its row.
    """
    ext = ext.lower().lstrip(".")
    if ext in ("pkl", "pickle", "joblib"):
        raise DataError(f"{what}: {PICKLE_HINT}")
    if not raw:
        raise DataError(f"{what} is empty; it needs one label per sample.")
    import pandas as pd

    split = None
    if ext in ("csv", "parquet"):
        frame = read_csv_frame(raw, what, notes) if ext == "csv" else read_parquet_frame(raw, what)
        col = _label_column(frame, what)
        split_cols = [c for c in frame.columns if c.strip().lower() == "split"]
        if split_cols:
            split = parse_split(frame[split_cols[0]].tolist(), what)
        values = frame[col]
        if not (pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype)):
            names = _label_names(values, what, frame.attrs.get("decimal", "."))
            if names is not None:
                return names, split
        y, _ = _numeric_frame(frame[[col]], what, frame.attrs.get("decimal", "."))
        check_float32_range(y, what, [col])
        y = y[:, 0]
    elif ext in ("npy", "npz"):
        x = read_npy(raw, what) if ext == "npy" else read_npz(raw, what, max_bytes)
        if x.ndim == 2 and x.shape[1] == 1:
            x = x[:, 0]
        if x.ndim != 1:
            raise DataError(f"{what} has shape {x.shape}; labels need shape (N,), one value per sample.")
        if x.dtype.kind in "US":  # class names (numpy strings; object arrays never load without pickle)
            text = np.char.strip(x.astype(str) if x.dtype.kind == "U" else np.char.decode(x, "utf-8", "replace"))
            return _checked_names(pd.Series(text, dtype="string"), what), split
        y = as_matrix(x, what)[:, 0]
        check_float32_range(y[:, None], what, ["label"])
    else:
        raise DataError(f"{what}: labels files ending in .{ext} are not read; use labels.csv or labels.npy.")
    return y, split


def _label_names(values: Any, what: str, decimal: str = ".") -> np.ndarray | None:
    """A label column that is not all numbers -> its class names (a str array), or None when every cell is a
    number after all (e.g. decimal commas: read as numbers by the caller)."""
    import pandas as pd

    text = values.astype("string").str.strip()
    number = text.str.replace(",", ".", regex=False) if decimal == "," else text
    numeric = pd.to_numeric(number, errors="coerce").notna() | text.str.lower().isin(("nan", "inf", "-inf"))
    if bool(numeric.all()):
        return None
    return _checked_names(text, what, numeric)


def _checked_names(text: Any, what: str, numeric: Any = None) -> np.ndarray:
    """Stripped label cells -> a str array of class names; an empty cell, or numbers mixed with names, is refused
    with the row."""
    import pandas as pd

    empty = text.isna() | (text == "")
    if bool(empty.any()):
        row = int(np.flatnonzero(empty.to_numpy())[0]) + 1
        raise DataError(
            f"{what}: row {row} has no label ({int(empty.sum())} empty label(s) in all); every sample needs one. "
            "Fill them in or drop those rows from every file."
        )
    if numeric is None:
        numeric = pd.to_numeric(text, errors="coerce").notna()
    if bool(numeric.any()):
        k, j = int(np.flatnonzero(numeric.to_numpy())[0]), int(np.flatnonzero(~numeric.to_numpy())[0])
        raise DataError(
            f"{what} mixes numbers and names: row {k + 1} is {str(text.iloc[k])[:40]!r}, row {j + 1} is "
            f"{str(text.iloc[j])[:40]!r}. Use class names throughout (e.g. 'setosa') or numbers throughout."
        )
    return text.to_numpy(dtype=str)


def is_names(y: np.ndarray) -> bool:
    """Whether labels are class names (a str array from ``read_labels``) rather than numbers."""
    return np.asarray(y).dtype.kind in "US"


# main functions: labels -> task and target


def infer_task(y: np.ndarray) -> str:
    """Classification for class names, or integer labels with few distinct values; regression otherwise."""
    if is_names(y):
        return "classification"
    finite = y[np.isfinite(y)]
    if finite.size == 0 or not np.all(finite == np.round(finite)):
        return "regression"
    k = len(np.unique(finite))
    return "classification" if k <= MAX_CLASSES and k <= max(2, finite.size // 2) else "regression"


def encode_target(y: np.ndarray, task: str, what: str = "labels") -> tuple[np.ndarray, dict[str, Any]]:
    """Labels -> the target of ``task`` (class ids 0..K-1, anomaly 0/1, float32 values) and meta entries."""
    if task not in TASKS:
        raise DataError(f"The task must be one of {TASKS}. Got {task!r}; fix meta.json or the task you chose.")
    if is_names(y):
        return _encode_names(np.asarray(y, dtype=str), task, what)
    if not np.all(np.isfinite(y)):
        bad = ~np.isfinite(y)
        raise DataError(
            f"{what} has {int(bad.sum())} missing or infinite labels (the first in row {int(np.flatnonzero(bad)[0]) + 1}); "
            "fix or drop those rows."
        )
    if task == "regression":
        return y.astype(np.float32), {}
    if not np.all(y == np.round(y)):
        raise DataError(
            f"{what} has non-integer values such as {y[y != np.round(y)][0]!r}, but the task is {task}; "
            "use integer class ids or choose regression."
        )
    values = np.unique(y).astype(np.int64)
    if task == "anomaly":
        if not np.isin(values, (0, 1)).all():
            raise DataError(
                f"{what}: anomaly labels must be 0 (normal) or 1 (anomaly). Got values {values[:10].tolist()}."
            )
        return y.astype(np.int64), {"class_names": ["normal", "anomaly"]}
    if len(values) > MAX_CLASSES:
        raise DataError(
            f"{what} has {len(values)} distinct classes; at most {MAX_CLASSES} are supported. "
            "Choose regression if the labels are measurements."
        )
    if np.array_equal(values, np.arange(len(values))):
        return y.astype(np.int64), {}
    ids = np.searchsorted(values, y.astype(np.int64))
    return ids.astype(np.int64), {"class_names": [str(v) for v in values.tolist()]}


def _encode_names(y: np.ndarray, task: str, what: str) -> tuple[np.ndarray, dict[str, Any]]:
    """Class names -> ids 0..K-1 in sorted order of the names; ``class_names`` keeps them (issue 22)."""
    names, ids = np.unique(y, return_inverse=True)  # sorted: the numbering does not depend on row order
    if task != "classification":
        raise DataError(
            f"{what} holds class names (such as {str(names[0])[:40]!r}), which only a classification task can use; "
            f"choose classification (or automatic), or store {'0 / 1' if task == 'anomaly' else 'numbers'} "
            f"for {task}."
        )
    if len(names) > MAX_CLASSES:
        raise DataError(
            f"{what} has {len(names):,} distinct class names in {len(y):,} rows; at most {MAX_CLASSES} classes are "
            "supported. If the labels are measurements, store them as numbers and choose regression."
        )
    return ids.astype(np.int64), {"class_names": [str(n) for n in names.tolist()]}


def build_dataset(
    name: str,
    modalities: dict[str, np.ndarray],
    labels: np.ndarray,
    *,
    task: str | None,
    split: np.ndarray | None,
    seed: int,
    val_fraction: float,
    test_fraction: float,
    meta: dict[str, Any] | None = None,
) -> MultimodalDataset:
    """Parsed arrays -> a validated MultimodalDataset (the split drawn here when the data has none)."""
    counts = {m: int(x.shape[0]) for m, x in modalities.items()}
    counts["labels"] = int(labels.shape[0])
    if len(set(counts.values())) > 1:
        raise DataError(
            f"The files have different row counts {counts}; every file needs one row per sample, "
            f"in the same order. {HEADER_HINT}"
        )
    task = task or infer_task(labels)
    target, extra = encode_target(labels, task)
    if split is None:
        split = stratified_split(target, task, seed, val_fraction, test_fraction)
    mods = {m: np.asarray(x, dtype=np.float32) for m, x in modalities.items()}
    return MultimodalDataset(name, mods, target, task, split, meta={**(meta or {}), **extra})


# main functions: a folder on disk


def _read_meta(folder: Path) -> dict[str, Any]:
    path = folder / "meta.json"
    if not path.is_file():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"{path} is not valid JSON ({e}); fix it or delete it.") from None
    if not isinstance(meta, dict):
        raise DataError(f'{path} must hold a JSON object such as {{"task": "classification"}}.')
    task = meta.get("task")
    if task is not None and task not in TASKS:
        raise DataError(f"{path}: task must be one of {TASKS}. Got {task!r}.")
    return meta


def folder_files(folder: Path | str) -> tuple[dict[str, Path], Path, dict[str, Any]]:
    """The modality files (ordered), the labels file and meta.json's content of a dataset folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder; give the path of a folder in the format of omib_core.data.folder.")
    meta = _read_meta(folder)
    mods: dict[str, Path] = {}
    labels: list[Path] = []
    for p in sorted(folder.iterdir()):
        ext = p.suffix.lower().lstrip(".")
        if p.name.startswith(".") or not p.is_file() or p.name == "meta.json":
            continue
        if ext in ("pkl", "pickle", "joblib"):
            raise DataError(f"{p}: {PICKLE_HINT}")
        if ext not in MODALITY_EXTS:
            continue  # README.md and friends
        if p.stem.lower() in LABEL_STEMS:
            labels.append(p)
        elif p.stem in mods:
            raise DataError(
                f"{folder} has two files for modality {p.stem!r} ({mods[p.stem].name}, {p.name}); keep one."
            )
        else:
            mods[p.stem] = p
    if len(labels) != 1:
        found = [p.name for p in labels] or "none"
        raise DataError(f"{folder} needs exactly one labels file (labels.csv or labels.npy); found {found}.")
    order = meta.get("modalities")
    if order is not None:
        if not isinstance(order, list) or sorted(map(str, order)) != sorted(mods):
            raise DataError(
                f"{folder}/meta.json lists modalities {order!r} but the folder has {sorted(mods)}; "
                "list each modality file once (without its extension)."
            )
        mods = {str(m): mods[str(m)] for m in order}
    if len(mods) < 2:
        raise DataError(
            f"{folder} has {len(mods)} modality file(s) ({list(mods)}); OMIB fuses several views: "
            "add at least two files such as audio.csv and video.npy."
        )
    return mods, labels[0], meta


def load_folder(
    folder: Path | str,
    *,
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    name: str | None = None,
) -> MultimodalDataset:
    """Load a dataset folder (see the module docstring for the format).

    Raises:
        DataError: a missing, unreadable or inconsistent file, with what to fix.
    """
    folder = Path(folder)
    mods, labels_path, meta = folder_files(folder)
    arrays = {m: read_modality(p.read_bytes(), p.suffix, f"{folder.name}/{p.name}") for m, p in mods.items()}
    y, split = read_labels(labels_path.read_bytes(), labels_path.suffix, f"{folder.name}/{labels_path.name}")
    info = {k: v for k, v in meta.items() if k in ("name", "description", "source", "licence", "owner", "files")}
    return build_dataset(
        name or str(folder),
        arrays,
        y,
        task=meta.get("task"),
        split=split,
        seed=seed,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        meta={"folder": str(folder), **info},
    )


@dataclass(frozen=True)
class FolderSample:
    """What a page shows of a dataset folder without loading it (``sample_folder``).

    Attributes:
        name, task: as ``load_folder`` gives them.
        target, split: every row's encoded target and split code, ``(N,)``: the same as ``load_folder``'s.
        rows: the sorted indices of the sampled rows, ``(k,)`` with ``k <= max_rows``.
        arrays: ``{modality: (k, d) float32}``: the sampled rows, unstandardised.
        dims: ``{modality: d}``, every modality's width.
        meta: ``load_folder``'s meta entries (class names among them).
    """

    name: str
    task: str
    target: np.ndarray
    split: np.ndarray
    rows: np.ndarray
    arrays: dict[str, np.ndarray]
    dims: dict[str, int]
    meta: dict[str, Any]


def _sample_rows(path: Path, n: int, rows: np.ndarray, what: str) -> np.ndarray:
    """Rows ``rows`` of one modality file: a ``.npy`` is memory-mapped and read in place (only those rows reach
    memory); another format is read whole (admin folders only: an upload is always stored as .npy)."""
    if path.suffix.lower() == ".npy":
        try:
            x = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError) as e:
            raise DataError(
                f"{what} could not be read as a NumPy array ({type(e).__name__}); save it with numpy.save."
            ) from None
        if x.dtype.kind not in "biuf" or x.ndim == 0:
            raise DataError(
                f"{what} has dtype {x.dtype} and shape {x.shape}; it must hold one row of numbers per sample."
            )
        full = (int(x.shape[0]), int(math.prod(x.shape[1:])))
        picked = np.asarray(x[rows], dtype=np.float32).reshape(len(rows), full[1])
    else:
        whole = read_modality(path.read_bytes(), path.suffix, what)
        full = (int(whole.shape[0]), int(whole.shape[1]))
        picked = whole[rows[rows < full[0]]].astype(np.float32)
    if full[0] != n:
        raise DataError(
            f"{what} has {full[0]:,} rows and the labels {n:,}; every file needs one row per sample, in the same "
            f"order. {HEADER_HINT}"
        )
    return picked


def sample_folder(
    folder: Path | str,
    max_rows: int,
    *,
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    name: str | None = None,
) -> FolderSample:
    """At most ``max_rows`` rows of a dataset folder, for a preview, without holding the whole data (issue 20).

    The labels (one value a row) are read whole: the target and split are ``load_folder``'s. Modality files are
    memory-mapped and only the sampled rows (drawn with seed 0) are read.

    Raises:
        DataError: as ``load_folder``.
    """
    folder = Path(folder)
    mods, labels_path, meta = folder_files(folder)
    y, split = read_labels(labels_path.read_bytes(), labels_path.suffix, f"{folder.name}/{labels_path.name}")
    task = meta.get("task") or infer_task(y)
    target, extra = encode_target(y, task)
    if split is None:
        split = stratified_split(target, task, seed, val_fraction, test_fraction)
    n = int(target.shape[0])
    rows = np.arange(n) if n <= max_rows else np.sort(np.random.default_rng(0).choice(n, size=max_rows, replace=False))
    arrays = {m: _sample_rows(p, n, rows, f"{folder.name}/{p.name}") for m, p in mods.items()}
    info = {k: v for k, v in meta.items() if k in ("name", "description", "source", "licence", "owner", "files")}
    return FolderSample(
        name or str(folder),
        task,
        target,
        np.asarray(split),
        rows,
        arrays,
        {m: int(x.shape[1]) for m, x in arrays.items()},
        {"folder": str(folder), **info, **extra},
    )


def folder_info(folder: Path | str, dataset_id: str | None = None) -> DatasetInfo:
    """A ``DatasetInfo`` describing a dataset folder (files are listed and the labels read; modalities are not)."""
    folder = Path(folder)
    mods, labels_path, meta = folder_files(folder)
    task = meta.get("task")
    if task is None:
        y, _ = read_labels(labels_path.read_bytes(), labels_path.suffix, f"{folder.name}/{labels_path.name}")
        task = infer_task(y)
    title = str(meta.get("name") or folder.name)
    text = str(meta.get("description") or f"Your data from the folder {folder.name}: modalities {', '.join(mods)}.")
    return DatasetInfo(
        dataset_id or str(folder),
        title,
        task,
        len(mods),
        text,
        source=str(meta.get("source") or f"folder {folder}"),
        licence=str(meta.get("licence") or "your own data"),
    )
