"""The folder format: your own data as one folder, loaded with ``load_dataset("path/to/folder")``.

::

    my_data/
      audio.csv        one file per modality: .csv, .parquet, .npy or .npz (one array); rows = samples, same order
      video.npy        (an .npy of shape (N, 8, 8) is flattened to (N, 64))
      labels.csv       the target: labels.csv, labels.parquet, labels.npy or labels.npz
      meta.json        optional: {"name": "...", "task": "classification|regression|anomaly", "modalities": [...]}

Rules (every broken one raises ``DataError`` with a sentence saying what to fix):

- CSV: comma-separated UTF-8, numbers only. The first row is a header when any of its cells is not a number, or
  when it reads exactly ``0,1,...,d-1`` (pandas' default column names, d >= 2); any other header of numbers
  only is read as data. A column named ``id`` is dropped. Empty cells are NaN.
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
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from omib_core.config import TASKS
from omib_core.data.dataset import MIN_ROWS_PER_SPLIT, TEST, TRAIN, VAL, MultimodalDataset, make_split
from omib_core.errors import DataError

MODALITY_EXTS = ("csv", "parquet", "npy", "npz")
LABEL_STEMS = ("labels", "label")
LABEL_COLUMNS = ("label", "labels", "target", "y", "class")
RESERVED = (*LABEL_STEMS, "meta", "split")
MAX_CELLS = 50_000_000  # values one file may decode to (400 MB as float64): guards against decompression bombs
MAX_CLASSES = 50
HEADER_HINT = "(A CSV header made only of numbers, other than 0,1,...,d-1, is read as a data row: name the columns.)"
SPLIT_CODES = {"train": TRAIN, "training": TRAIN, "val": VAL, "valid": VAL, "validation": VAL, "test": TEST}
PICKLE_HINT = (
    "Pickle files are refused: loading one can run arbitrary code. Save arrays with numpy.save(..., "
    "allow_pickle=False) as .npy, or as CSV / Parquet."
)


# helpers: bytes -> arrays


def _too_big(what: str, cells: int) -> DataError:
    return DataError(f"{what} would decode to {cells:,} values; the limit is {MAX_CELLS:,}. Use fewer rows or columns.")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _numeric_frame(frame: Any, what: str) -> tuple[np.ndarray, list[str]]:
    """A DataFrame of numbers -> (N, d) float64 and column names; a text cell raises a sentence."""
    import pandas as pd

    cols = [str(c) for c in frame.columns]
    out = np.empty(frame.shape, dtype=np.float64)
    for j, c in enumerate(frame.columns):
        s = frame[c]
        if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
            if pd.api.types.is_complex_dtype(s.dtype):
                raise DataError(f"{what}: column {cols[j]!r} holds complex numbers; store real features only.")
            out[:, j] = s.to_numpy(dtype=np.float64, na_value=np.nan)
            continue
        text = s.astype("string").str.strip()
        num = pd.to_numeric(text, errors="coerce")
        bad = text.notna() & (text != "") & num.isna() & ~text.str.lower().isin(("nan", "na", "n/a", "null"))
        if bool(bad.any()):
            example = str(text[bad].iloc[0])[:40]
            raise DataError(
                f"{what}: column {cols[j]!r} has text such as {example!r} in row {int(np.flatnonzero(bad)[0]) + 1}; "
                "every cell must be a number (encode categories as integers, leave missing cells empty)."
            )
        out[:, j] = num.to_numpy(dtype=np.float64, na_value=np.nan)
    return out, cols


def _drop_id(frame: Any) -> Any:
    ids = [c for c in frame.columns if str(c).strip().lower() == "id"]
    return frame.drop(columns=ids) if ids else frame


def _has_header(text: str, what: str) -> bool:
    """Whether row 1 is a header: a cell that is not a number, or exactly 0,1,...,d-1 (pandas' default names)."""
    import pandas as pd

    first = pd.read_csv(io.StringIO(text), header=None, dtype=str, keep_default_na=False, nrows=1, engine="c")
    cells = [str(v).strip() for v in first.iloc[0]]
    if len(cells) > 1 and cells == [str(j) for j in range(len(cells))]:
        return True
    return any(v != "" and not _is_number(v) for v in cells)


def read_csv_frame(raw: bytes, what: str) -> Any:
    """CSV bytes -> a DataFrame (numbers parsed by pandas' C parser; text left as text for the error message)."""
    import pandas as pd

    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"{what} is not UTF-8 text (byte {e.start}); save it as a UTF-8 CSV file.") from None
    if "\x00" in text:
        raise DataError(f"{what} contains NUL bytes, so it is not a CSV text file; export it again as CSV.")
    if not text.strip():
        raise DataError(f"{what} has no rows; it needs one row per sample.")
    try:
        header = _has_header(text, what)
        frame = pd.read_csv(io.StringIO(text), header=0 if header else None, skip_blank_lines=True, engine="c")
    except Exception as e:  # noqa: BLE001 - any parser failure on user bytes is a malformed file
        msg = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise DataError(f"{what} could not be read as CSV ({msg}); every row needs the same number of "
                        "comma-separated values.") from None  # fmt: skip
    if frame.shape[0] * frame.shape[1] > MAX_CELLS:
        raise _too_big(what, frame.shape[0] * frame.shape[1])
    if frame.shape[0] == 0:
        raise DataError(f"{what} has a header but no data rows; it needs one row per sample.")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def read_parquet_frame(raw: bytes, what: str) -> Any:
    """Parquet bytes -> a DataFrame (size checked from the footer before anything is decoded)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(io.BytesIO(raw))
        cells = pf.metadata.num_rows * max(1, pf.metadata.num_columns)
        if cells > MAX_CELLS:
            raise _too_big(what, cells)
        table = pf.read(use_pandas_metadata=False)
        for field in table.schema:
            if not (pa.types.is_integer(field.type) or pa.types.is_floating(field.type)
                    or pa.types.is_boolean(field.type) or pa.types.is_string(field.type)
                    or pa.types.is_large_string(field.type) or pa.types.is_dictionary(field.type)):  # fmt: skip
                raise DataError(f"{what}: column {field.name!r} has type {field.type}; store plain numbers only.")
        frame = table.to_pandas()
    except DataError:
        raise
    except Exception as e:  # noqa: BLE001 - pyarrow raises many types on malformed bytes
        raise DataError(f"{what} could not be read as Parquet ({type(e).__name__}); export it again with "
                        "pandas.DataFrame.to_parquet.") from None  # fmt: skip
    if frame.shape[0] == 0:
        raise DataError(f"{what} has no rows; it needs one row per sample.")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def read_npy(raw: bytes, what: str) -> np.ndarray:
    """``.npy`` bytes -> array, with ``allow_pickle=False`` and the header's size checked against the bytes."""
    if raw[:1] == b"\x80" or raw[:2] in (b"(d", b"(l", b"]q", b"}q"):
        raise DataError(f"{what} looks like a pickle, not a NumPy .npy file. {PICKLE_HINT}")
    buf = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(buf)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(buf)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(buf)
    except Exception:  # noqa: BLE001 - a bad header in any form
        raise DataError(f"{what} is not a valid NumPy .npy file; save it with numpy.save.") from None
    if dtype.hasobject:
        raise DataError(f"{what} holds an object array (dtype {dtype}), which only loads through pickle. "
                        "Convert it to numbers first: numpy.save(path, x.astype('float32')).")  # fmt: skip
    cells = math.prod(int(d) for d in shape)  # Python ints: a crafted shape cannot overflow
    if cells > MAX_CELLS:
        raise _too_big(what, cells)
    if cells * dtype.itemsize > len(raw) - buf.tell():
        raise DataError(f"{what} is cut short: its header announces shape {shape} but the file is smaller. "
                        "Upload the complete file.")  # fmt: skip
    try:
        return np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception as e:  # noqa: BLE001
        raise DataError(f"{what} could not be read as a NumPy array ({type(e).__name__}); save it with "
                        "numpy.save.") from None  # fmt: skip


def read_npz(raw: bytes, what: str) -> np.ndarray:
    """``.npz`` bytes holding exactly one array -> that array (members checked before they are inflated)."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            members = [i for i in zf.infolist() if not i.is_dir()]
            if len(members) != 1 or not members[0].filename.endswith(".npy"):
                names = [i.filename.removesuffix(".npy") for i in members]
                raise DataError(f"{what} must hold exactly one array (one modality per file); it holds {names}. "
                                "Save each modality to its own file.")  # fmt: skip
            info = members[0]
            if info.file_size > MAX_CELLS * 8 + 4096:
                raise _too_big(what, info.file_size // 8)
            member = zf.read(info)
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


def read_modality(raw: bytes, ext: str, what: str) -> np.ndarray:
    """The bytes of one modality file -> (N, d) float64 (NaN/inf kept: the caller reports them)."""
    ext = ext.lower().lstrip(".")
    if ext in ("pkl", "pickle", "joblib"):
        raise DataError(f"{what}: {PICKLE_HINT}")
    if not raw:
        raise DataError(f"{what} is empty; it needs one row per sample.")
    if ext == "csv":
        x, _ = _numeric_frame(_drop_id(read_csv_frame(raw, what)), what)
    elif ext == "parquet":
        x, _ = _numeric_frame(_drop_id(read_parquet_frame(raw, what)), what)
    elif ext == "npy":
        x = read_npy(raw, what)
    elif ext == "npz":
        x = read_npz(raw, what)
    else:
        raise DataError(
            f"{what}: files ending in .{ext} are not read; use {', '.join('.' + e for e in MODALITY_EXTS)}."
        )
    return as_matrix(x, what)


def _label_column(frame: Any, what: str) -> str:
    cols = [c for c in frame.columns if c.strip().lower() not in ("id", "split")]
    named = [c for c in cols if c.strip().lower() in LABEL_COLUMNS]
    if len(named) == 1:
        return named[0]
    if len(cols) == 1:
        return cols[0]
    raise DataError(f"{what} has columns {list(frame.columns)}; it needs one label column (name it 'label'), "
                    "plus optionally 'split' and 'id'.")  # fmt: skip


def parse_split(values: Any, what: str) -> np.ndarray:
    """Split column values (train/val/test or 0/1/2) -> int8 codes."""
    out = np.empty(len(values), dtype=np.int8)
    for i, v in enumerate(values):
        t = str(v).strip().lower()
        t = t[:-2] if t.endswith(".0") else t
        code = SPLIT_CODES.get(t, {"0": TRAIN, "1": VAL, "2": TEST}.get(t))
        if code is None:
            raise DataError(f"{what}: the split column has {str(v)[:40]!r} in row {i + 1}; use train, val or test "
                            "(or 0, 1, 2).")  # fmt: skip
        out[i] = code
    return out


def read_labels(raw: bytes, ext: str, what: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The bytes of the labels file -> (labels (N,) float64, split codes (N,) int8 or None)."""
    ext = ext.lower().lstrip(".")
    if ext in ("pkl", "pickle", "joblib"):
        raise DataError(f"{what}: {PICKLE_HINT}")
    if not raw:
        raise DataError(f"{what} is empty; it needs one label per sample.")
    import pandas as pd

    split = None
    if ext in ("csv", "parquet"):
        frame = read_csv_frame(raw, what) if ext == "csv" else read_parquet_frame(raw, what)
        col = _label_column(frame, what)
        split_cols = [c for c in frame.columns if c.strip().lower() == "split"]
        if split_cols:
            split = parse_split(frame[split_cols[0]].tolist(), what)
        values = frame[col]
        if not (pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype)):
            text = values.astype("string").str.strip()
            words = text[text.notna() & pd.to_numeric(text, errors="coerce").isna()].unique()[:3]
            if len(words):
                shown = ", ".join(f"{w}={i}" for i, w in enumerate(words))
                raise DataError(f"{what}: the labels are text (such as {words[0]!r}); labels must be numbers. "
                                f"Encode classes as integers 0..K-1 (e.g. {shown}): text labels are refused rather "
                                "than guessed.")  # fmt: skip
        y, _ = _numeric_frame(frame[[col]], what)
        y = y[:, 0]
    elif ext in ("npy", "npz"):
        x = read_npy(raw, what) if ext == "npy" else read_npz(raw, what)
        if x.dtype.kind in "USO":
            raise DataError(f"{what} holds text labels; encode classes as integers 0..K-1 first.")
        if x.ndim == 2 and x.shape[1] == 1:
            x = x[:, 0]
        if x.ndim != 1:
            raise DataError(f"{what} has shape {x.shape}; labels need shape (N,), one value per sample.")
        y = as_matrix(x, what)[:, 0]
    else:
        raise DataError(f"{what}: labels files ending in .{ext} are not read; use labels.csv or labels.npy.")
    return y, split


# main functions: labels -> task and target


def infer_task(y: np.ndarray) -> str:
    """Classification for integer labels with few distinct values, regression otherwise."""
    finite = y[np.isfinite(y)]
    if finite.size == 0 or not np.all(finite == np.round(finite)):
        return "regression"
    k = len(np.unique(finite))
    return "classification" if k <= MAX_CLASSES and k <= max(2, finite.size // 2) else "regression"


def encode_target(y: np.ndarray, task: str, what: str = "labels") -> tuple[np.ndarray, dict[str, Any]]:
    """Labels -> the target of ``task`` (class ids 0..K-1, anomaly 0/1, float32 values) and meta entries."""
    if task not in TASKS:
        raise DataError(f"The task must be one of {TASKS}. Got {task!r}; fix meta.json or the task you chose.")
    if not np.all(np.isfinite(y)):
        raise DataError(
            f"{what} has {int((~np.isfinite(y)).sum())} missing or infinite labels; fix or drop those rows."
        )
    if task == "regression":
        return y.astype(np.float32), {}
    if not np.all(y == np.round(y)):
        raise DataError(f"{what} has non-integer values such as {y[y != np.round(y)][0]!r}, but the task is {task}; "
                        "use integer class ids or choose regression.")  # fmt: skip
    values = np.unique(y).astype(np.int64)
    if task == "anomaly":
        if not np.isin(values, (0, 1)).all():
            raise DataError(
                f"{what}: anomaly labels must be 0 (normal) or 1 (anomaly). Got values {values[:10].tolist()}."
            )
        return y.astype(np.int64), {"class_names": ["normal", "anomaly"]}
    if len(values) > MAX_CLASSES:
        raise DataError(f"{what} has {len(values)} distinct classes; at most {MAX_CLASSES} are supported. "
                        "Choose regression if the labels are measurements.")  # fmt: skip
    if np.array_equal(values, np.arange(len(values))):
        return y.astype(np.int64), {}
    ids = np.searchsorted(values, y.astype(np.int64))
    return ids.astype(np.int64), {"class_names": [str(v) for v in values.tolist()]}


def stratified_split(target: np.ndarray, task: str, seed: int, val_fraction: float, test_fraction: float) -> np.ndarray:
    """``make_split`` stratified by class, then topped up so val and test hold >= MIN_ROWS_PER_SPLIT rows.

    Tiny sets (nutrimouse: 40 rows, 8 per diet) can round a class's share to 0; the missing rows are moved from
    the training rows of the largest classes, seeded, so each split still has rows to score.
    """
    strat = None if task == "regression" else np.asarray(target)
    split = make_split(len(target), val_fraction, test_fraction, seed, stratify=strat)
    rng = np.random.default_rng([seed, 1])
    for code in (VAL, TEST):
        for _ in range(MIN_ROWS_PER_SPLIT - int((split == code).sum())):
            train = np.flatnonzero(split == TRAIN)
            if len(train) <= MIN_ROWS_PER_SPLIT:
                break
            if strat is not None:
                classes, counts = np.unique(strat[train], return_counts=True)
                train = train[strat[train] == classes[np.argmax(counts)]]
            split[rng.choice(train)] = code
    return split


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
        raise DataError(f"The files have different row counts {counts}; every file needs one row per sample, "
                        f"in the same order. {HEADER_HINT}")  # fmt: skip
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
            raise DataError(f"{folder}/meta.json lists modalities {order!r} but the folder has {sorted(mods)}; "
                            "list each modality file once (without its extension).")  # fmt: skip
        mods = {str(m): mods[str(m)] for m in order}
    if len(mods) < 2:
        raise DataError(f"{folder} has {len(mods)} modality file(s) ({list(mods)}); OMIB fuses several views: "
                        "add at least two files such as audio.csv and video.npy.")  # fmt: skip
    return mods, labels[0], meta


def load_folder(
    folder: Path | str, *, seed: int = 0, val_fraction: float = 0.15, test_fraction: float = 0.15,
    name: str | None = None,
) -> MultimodalDataset:  # fmt: skip
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
        name or str(folder), arrays, y, task=meta.get("task"), split=split, seed=seed, val_fraction=val_fraction,
        test_fraction=test_fraction, meta={"folder": str(folder), **info},
    )  # fmt: skip


def folder_info(folder: Path | str, dataset_id: str | None = None) -> Any:
    """A ``DatasetInfo`` describing a dataset folder (files are listed and the labels read; modalities are not)."""
    from omib_core.data.registry import DatasetInfo

    folder = Path(folder)
    mods, labels_path, meta = folder_files(folder)
    task = meta.get("task")
    if task is None:
        y, _ = read_labels(labels_path.read_bytes(), labels_path.suffix, f"{folder.name}/{labels_path.name}")
        task = infer_task(y)
    title = str(meta.get("name") or folder.name)
    text = str(meta.get("description") or f"Your data from the folder {folder.name}: modalities {', '.join(mods)}.")
    return DatasetInfo(
        dataset_id or str(folder), title, task, len(mods), text,
        source=str(meta.get("source") or f"folder {folder}"), licence=str(meta.get("licence") or "your own data"),
    )  # fmt: skip
