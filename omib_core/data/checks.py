"""Checking an upload's files: ``validate_files`` and the ``ValidationReport`` it returns.

Used in-process (tests, scripts) and inside the capped child process of ``sandbox.py``; ``uploads.py`` stores what
passes. It lives apart from ``uploads.py`` so that the sandbox and the store both import it, and not each other.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from omib_core.config import TASKS
from omib_core.data import folder as fmt
from omib_core.errors import DataError

NAME_RE = re.compile(r"^[a-z0-9_]{1,32}$")
DEFAULT_MAX_BYTES = 50 * 2**20  # per file
MAX_FILES = 17  # 16 modalities + labels
PICKLE_EXTS = ("pkl", "pickle", "joblib")


@dataclass
class ValidationReport:
    """What an upload holds and what is wrong with it.

    Attributes:
        errors: sentences, each saying what is wrong and how to fix it; empty = the upload can be stored.
        warnings: sentences about things that will work but deserve a look (constant columns, imbalance).
        modalities: one row per modality file: name, file, rows, columns, nan, inf, constant_columns.
        (private) _arrays: the parsed modalities as float32, as they will be stored; _y, _split: labels, split.
        labels: file, rows, kind (integer / real), task, classes ``{value: count}`` (not for regression), split.
        task: the task the upload would train on (None when the labels could not be read).
    """

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    modalities: list[dict[str, Any]] = field(default_factory=list)
    labels: dict[str, Any] = field(default_factory=dict)
    task: str | None = None
    _arrays: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)
    _y: np.ndarray | None = field(default=None, repr=False, compare=False)
    _split: np.ndarray | None = field(default=None, repr=False, compare=False)
    _names: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not self.errors

    def table(self) -> Any:
        """The per-modality rows as a pandas DataFrame (for ``st.dataframe``)."""
        import pandas as pd

        cols = ["name", "file", "rows", "columns", "nan", "inf", "constant_columns"]
        return pd.DataFrame(self.modalities, columns=cols)

    def sentences(self) -> list[str]:
        return [*self.errors, *self.warnings]


# helpers


def safe_name(client_name: str) -> tuple[str, str]:
    """A client file name -> (sanitised stem in ``[a-z0-9_]{1,32}``, lower-case extension); DataError if unusable.

    A name with a directory part (``../../x.csv``, ``a/b.csv``, ``C:\\x.csv``) is refused, not cleaned: it is
    either an attack or a mistake, and both deserve a sentence.
    """
    if not isinstance(client_name, str) or not client_name.strip():
        raise DataError("A file has no name; give every file a name such as audio.csv.")
    shown = client_name[:80]
    if any(c in client_name for c in "/\\\x00:") or ".." in client_name or client_name.startswith("."):
        raise DataError(
            f"The file name {shown!r} is refused: it contains a path or starts with a dot. Upload "
            "plain file names such as audio.csv (one per modality) and labels.csv."
        )
    stem, dot, ext = client_name.rpartition(".")
    if not dot:
        raise DataError(f"The file {shown!r} has no extension; name it like audio.csv, audio.parquet or audio.npy.")
    stem = re.sub(r"[^a-z0-9_]+", "_", stem.strip().lower()).strip("_")[:32].strip("_")
    if not NAME_RE.match(stem):
        raise DataError(
            f"The file name {shown!r} gives no usable modality name; rename it with letters, digits "
            "or underscores, e.g. audio.csv."
        )
    return stem, ext.lower()


def _summarise(report: ValidationReport, name: str, client: str, x: np.ndarray) -> None:
    finite = np.isfinite(x)
    n_nan, n_inf = int(np.isnan(x).sum()), int((~finite).sum() - np.isnan(x).sum())
    clean = np.where(finite, x, 0.0)
    seen = finite.any(0)
    lo = np.where(finite, clean, np.inf).min(0)
    hi = np.where(finite, clean, -np.inf).max(0)
    const = int(((lo == hi) | ~seen).sum())  # constant over the finite values (or none finite)
    report.modalities.append(
        {
            "name": name,
            "file": client,
            "rows": x.shape[0],
            "columns": x.shape[1],
            "nan": n_nan,
            "inf": n_inf,
            "constant_columns": const,
        }
    )
    if n_nan or n_inf:
        rows = int((~finite).any(1).sum())
        report.errors.append(
            f"{client} has {n_nan} missing (NaN) and {n_inf} infinite values in {rows} rows; "
            "impute them or drop those rows from every file."
        )
    if const == x.shape[1]:
        report.errors.append(
            f"{client}: every column is constant, so this modality carries no information; "
            "remove the file or fix its values."
        )
    elif const:
        report.warnings.append(
            f"{client} has {const} constant column(s) out of {x.shape[1]}; they carry no "
            "information (they are kept, centred to 0)."
        )


def _check_labels(report: ValidationReport, client: str, y: np.ndarray, split: np.ndarray | None, task: str | None):
    if fmt.is_names(y):
        kind = "names"
    else:
        finite = y[np.isfinite(y)]
        kind = "integer" if finite.size and np.all(finite == np.round(finite)) else "real"
    report.task = task or fmt.infer_task(y)
    report.labels = {
        "file": client,
        "rows": int(y.shape[0]),
        "kind": kind,
        "task": report.task,
        "split": "given" if split is not None else "random, stratified",
    }
    try:
        target, _ = fmt.encode_target(y, report.task, client)
    except DataError as e:
        report.errors.append(str(e))
        return
    if report.task == "regression":
        report.labels["range"] = [float(target.min()), float(target.max())]
        if target.min() == target.max():
            report.errors.append(f"{client}: every label is {target.min():g}, so there is nothing to predict.")
        return
    values, counts = np.unique(y, return_counts=True)  # names sort as their ids are given: the mapping shown
    if kind == "names":
        report.labels["classes"] = {str(v): int(c) for v, c in zip(values, counts)}
    else:
        report.labels["classes"] = {
            (int(v) if float(v).is_integer() else float(v)): int(c) for v, c in zip(values, counts)
        }
    if len(values) < 2:
        only = repr(str(values[0])[:40]) if kind == "names" else f"{values[0]:g}"
        report.errors.append(f"{client} has a single class ({only}); {report.task} needs at least two.")
    elif counts.min() < 0.05 * counts.max() or counts.min() < 3:
        report.warnings.append(
            f"{client}: the rarest class has {counts.min()} rows against {counts.max()} for the "
            "largest; accuracy will flatter the model (look at the per-class scores)."
        )


def size_refusal(client: str, size: int, max_bytes: int) -> str | None:
    """The sentence refusing a file of ``size`` bytes over the per-file limit, else None (checked before reading)."""
    if size <= max_bytes:
        return None
    return (
        f"{client[:80]} is {size / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.1f} MB per file. Store fewer rows, "
        "or float32 values in .npy."
    )


def write_arrays(report: ValidationReport, folder: Path) -> None:
    """Write a passing report's arrays as the store keeps them: ``<modality>.npy`` (float32) and ``labels.csv``
    (label, and split when the upload fixed one). Called inside the checking process, so the server never holds
    the arrays (issue 20), or in-process for trusted files."""
    import pandas as pd

    assert report._y is not None
    for m, x in report._arrays.items():
        np.save(folder / f"{m}.npy", x.astype(np.float32, copy=False), allow_pickle=False)
    frame = pd.DataFrame({"label": report._y})  # class names are kept as names: the store re-reads them
    if not fmt.is_names(report._y) and np.all(report._y == np.round(report._y)):
        frame["label"] = report._y.astype(np.int64)
    if report._split is not None:
        frame["split"] = np.asarray(report._split, dtype=np.int64)
    frame.to_csv(folder / "labels.csv", index=False, float_format="%.17g")


# main functions


def validate_files(
    files: dict[str, bytes],
    max_bytes: int = DEFAULT_MAX_BYTES,
    *,
    task: str | None = None,
    on_file: Callable[[str], None] | None = None,
) -> ValidationReport:
    """Check an upload without writing anything.

    Args:
        files: ``{client file name: content}``: one file per modality (.csv, .parquet, .npy, .npz with one array)
            and one ``labels.csv`` / ``labels.npy`` (see ``omib_core.data.folder`` for the rules).
        max_bytes: the largest file accepted.
        task: ``"classification"``, ``"regression"`` or ``"anomaly"``; None = inferred from the labels.
        on_file: called with each file's client name before it is read (the sandbox reports where it stopped).

    Returns:
        A ValidationReport; ``report.ok`` is True when the upload can be stored.

    Raises:
        DataError: only when ``files`` is not a dict of bytes or ``task`` is unknown (a caller's mistake); every
            problem in the files themselves is a sentence in ``report.errors``.
    """
    if not isinstance(files, dict) or not all(isinstance(v, (bytes, bytearray, memoryview)) for v in files.values()):
        raise DataError("validate_files expects {file name: bytes}; read each uploaded file with .getvalue().")
    if task is not None and task not in TASKS:
        raise DataError(f"The task must be one of {TASKS} or None (automatic). Got {task!r}.")
    report = ValidationReport()
    if not files:
        report.errors.append("No files were uploaded; add one file per modality and a labels file.")
        return report
    if len(files) > MAX_FILES:
        report.errors.append(f"{len(files)} files were uploaded; at most {MAX_FILES} (16 modalities and labels).")
        return report
    labels: list[tuple[str, str, bytes]] = []
    for client, raw in files.items():
        raw = bytes(raw)
        try:
            stem, ext = safe_name(client)
            if ext in PICKLE_EXTS:
                raise DataError(f"{client[:80]}: {fmt.PICKLE_HINT}")
            if ext not in fmt.MODALITY_EXTS:
                raise DataError(
                    f"{client[:80]}: files ending in .{ext} are not read; use .csv, .parquet, .npy or .npz."
                )
            if not raw:
                raise DataError(f"{client[:80]} is empty; it needs one row per sample.")
            too_big = size_refusal(client, len(raw), max_bytes)
            if too_big:
                raise DataError(too_big)
            if stem in fmt.LABEL_STEMS:
                labels.append((client, ext, raw))
                continue
            if stem in fmt.RESERVED:
                raise DataError(f"{client[:80]}: {stem!r} is a reserved name; rename the file (e.g. {stem}_data.csv).")
            if stem in report._arrays:
                raise DataError(
                    f"{client[:80]} and {report._names[stem]} both give the modality name {stem!r}; rename one of them."
                )
            if on_file is not None:
                on_file(client)
            x = fmt.read_modality(raw, ext, client[:80], report.warnings, max_bytes=max_bytes)
            _summarise(report, stem, client[:80], x)
            report._arrays[stem], report._names[stem] = x.astype(np.float32), client[:80]  # as stored: half the memory
        except DataError as e:
            report.errors.append(str(e))
    if len(labels) != 1:
        found = ", ".join(c[:80] for c, _, _ in labels) or "none"
        report.errors.append(f"An upload needs exactly one labels file (labels.csv or labels.npy); found {found}.")
    else:
        client, ext, raw = labels[0]
        try:
            if on_file is not None:
                on_file(client)
            report._y, report._split = fmt.read_labels(raw, ext, client[:80], report.warnings, max_bytes=max_bytes)
            _check_labels(report, client[:80], report._y, report._split, task)
        except DataError as e:
            report.errors.append(str(e))
    named_mods = [m for m in files if _stem_or_none(m) not in (None, *fmt.LABEL_STEMS)]
    if len(named_mods) < 2:
        report.errors.append(
            f"An upload needs at least two modality files (OMIB fuses several views); got {len(named_mods)}."
        )
    _check_rows(report)
    if report.ok:
        _trial_build(report)
    return report


def _stem_or_none(client: str) -> str | None:
    try:
        return safe_name(client)[0]
    except DataError:
        return None


def _check_rows(report: ValidationReport) -> None:
    """Every readable file must have the same number of rows."""
    counts = {m: int(x.shape[0]) for m, x in report._arrays.items()}
    if report._y is not None:
        counts["labels"] = int(report._y.shape[0])
    if len(set(counts.values())) > 1:
        listed = ", ".join(f"{m} {n}" for m, n in counts.items())
        report.errors.append(
            f"The files have different numbers of rows ({listed}); every file needs one row per "
            f"sample, in the same order. {fmt.HEADER_HINT}"
        )


def _trial_build(report: ValidationReport) -> None:
    """Build the dataset once with the default split: the checks training will run, reported now."""
    assert report._y is not None
    try:
        fmt.build_dataset(
            "upload",
            report._arrays,
            report._y,
            task=report.task,
            split=report._split,
            seed=0,
            val_fraction=0.15,
            test_fraction=0.15,
        )
    except DataError as e:
        report.errors.append(str(e))
