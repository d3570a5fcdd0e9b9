"""A dataset's shape (rows, view widths, classes, task) told without loading or drawing it.

The submit-time estimate (``omib_core.runs.budget``) sizes a run from it. A registered dataset declares its shape
beside its loader (``registry.register(..., shape=...)``, read back with ``registry.dataset_shape``): the SIM
generators with ``latent_shape`` (the latent blocks each view sees and the width rule of ``latent.py``), the bundled
real datasets with their known sizes (``real.py``). A folder or an upload is read from its files' first bytes with
the readers of ``folder.py`` (``folder_shape``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omib_core.data.folder import NPY_HEADER_MAX, _npy_header, decode_text, folder_files, sniff_dialect
from omib_core.data.latent import view_width
from omib_core.errors import DataError

UNKNOWN_VIEW_DIM = 1024  # columns assumed for a file whose header cannot be read (a compressed .npz)
CSV_HEAD_BYTES = 1 << 20  # bytes of a CSV file read to count its columns and the length of its lines


@dataclass(frozen=True)
class DatasetShape:
    """What a dataset's size is, known before it is loaded.

    Attributes:
        n_rows: rows.
        dims: columns of each view, in order.
        task: ``"classification"``, ``"regression"`` or ``"anomaly"``; None when only the labels would tell.
        n_classes: classes of a classification task; None when only the labels would tell.
        anomaly_share: expected share of anomalies among the training rows (anomaly task).
        blocks, view_blocks: SIM data only: the latent blocks ``{block: size}`` and the blocks each view sees.
    """

    n_rows: int
    dims: tuple[int, ...]
    task: str | None = None
    n_classes: int | None = None
    anomaly_share: float = 0.0
    blocks: dict[str, int] = field(default_factory=dict)
    view_blocks: dict[str, tuple[str, ...]] = field(default_factory=dict)


def latent_shape(view_blocks: Mapping[str, tuple[str, ...]], task: str, params: Mapping[str, Any]) -> DatasetShape:
    """The shape a latent-block generator (``LatentSpec``) draws from ``params`` (its defaults merged in): each view
    is ``dim_<view>`` wide, else its blocks' size plus ``EXTRA_DIMS``. Nothing is checked: the loader does that."""
    blocks = {b: int(params.get(b) or 0) for bs in view_blocks.values() for b in bs}
    dims = tuple(view_width(sum(blocks[b] for b in bs), params.get(f"dim_{v}")) for v, bs in view_blocks.items())
    n_classes = int(params.get("n_classes") or 0) if task == "classification" else None
    share = float(params.get("train_contamination") or 0.0) if task == "anomaly" else 0.0
    views = {v: tuple(bs) for v, bs in view_blocks.items()}
    return DatasetShape(int(params.get("n_samples") or 0), dims, task, n_classes, share, blocks, views)


def file_shape(path: Path) -> tuple[int, int] | None:
    """(rows, columns) of a modality file from its first bytes, read as ``folder.py`` reads it: a .npy header, a
    Parquet footer, a CSV file's first lines (rows estimated from their length); None for a compressed .npz or a
    file the loader will refuse with its own sentence."""
    ext = path.suffix.lower().lstrip(".")
    try:
        if ext == "npy":
            with open(path, "rb") as f:
                shape, _, _ = _npy_header(f.read(NPY_HEADER_MAX), str(path))
            return (shape[0], math.prod(shape[1:])) if shape else None  # 1-D is one column, as folder.as_matrix
        if ext == "parquet":
            import pyarrow.parquet as pq

            meta = pq.read_metadata(path)
            return int(meta.num_rows), int(meta.num_columns)
        if ext == "csv":
            size = path.stat().st_size
            with open(path, "rb") as f:
                head = f.read(CSV_HEAD_BYTES)
            if len(head) < size:  # whole lines only
                head = head[: head.rfind(b"\n") + 1] or head
            text, bom = decode_text(head, str(path))
            lines = [line for line in text.splitlines() if line.strip()]
            cols = lines[0].count(sniff_dialect(text, bom).sep) + 1  # as folder.check_text_size: an upper bound
            rows = len(lines) if len(head) >= size else size * len(lines) // max(len(head), 1)
            return max(rows, 1), cols
    except (OSError, DataError, IndexError, ValueError, ImportError):
        return None
    return None


def folder_shape(folder: Path) -> DatasetShape:
    """The shape of a dataset folder (or a stored upload) from its files' headers; the labels are not read, so the
    task is known only when ``meta.json`` names it. A file whose header cannot be read is assumed to hold one
    value per byte, ``UNKNOWN_VIEW_DIM`` columns wide."""
    mods, _, meta = folder_files(folder)
    rows, dims = 0, []
    for path in mods.values():
        shape = file_shape(path) or (max(1, path.stat().st_size // UNKNOWN_VIEW_DIM), UNKNOWN_VIEW_DIM)
        rows = max(rows, shape[0])
        dims.append(shape[1])
    return DatasetShape(rows, tuple(dims), meta.get("task"))
