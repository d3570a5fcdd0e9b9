"""Atomic file writes (a reader sees the old file or the new one, never half of one), and reading one back.

Each write goes to a temporary file beside the target (``.<name>.<random>.tmp``: same folder, so the rename
stays on one disk), is flushed to disk, then renamed over the target. On any error the temporary file is
removed and the target is left as it was. A worker that runs out of disk space removes leftover ``*.tmp``
files (``omib_core.runs.worker.remove_partial_files``), so the suffix matters.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

TMP_SUFFIX = ".tmp"


def temp_path(path: str | Path) -> Path:
    """A fresh temporary name beside ``path`` (hidden, ending in ``.tmp``)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}{TMP_SUFFIX}")


@contextmanager
def atomic_open(
    path: str | Path, mode: str = "wb", *, encoding: str | None = None, newline: str | None = None
) -> Iterator[IO[Any]]:
    """Open a temporary file for writing; on a clean exit it is synced and renamed to ``path``.

    ``mode`` is ``"wb"`` or ``"w"`` (text, UTF-8 unless ``encoding`` says otherwise).
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_open writes with mode 'wb' or 'w'. Got {mode!r} instead.")
    path = Path(path)
    tmp = temp_path(path)
    if mode == "w" and encoding is None:
        encoding = "utf-8"
    try:
        with open(tmp, mode.replace("w", "x"), encoding=encoding, newline=newline) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            tmp.unlink()
        raise


def atomic_write(path: str | Path, data: bytes | str | Callable[[IO[Any]], Any], *, text: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically and return the path.

    ``data`` is bytes, a string (written as UTF-8), or a callback that writes to the open file, e.g.
    ``lambda f: np.savez(f, **arrays)`` or ``lambda f: torch.save(obj, f)`` (binary; ``text=True`` for a text file).
    """
    path = Path(path)
    if callable(data):
        with atomic_open(path, "w" if text else "wb") as f:
            data(f)
    elif isinstance(data, str):
        with atomic_open(path, "w") as f:
            f.write(data)
    else:
        with atomic_open(path, "wb") as f:
            f.write(data)
    return path


__all__ = ["TMP_SUFFIX", "atomic_open", "atomic_write", "temp_path"]


def read_json_object(path: str | Path) -> dict[str, Any] | None:
    """The JSON object in ``path``; None when the file is missing, unreadable, damaged or not an object."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
