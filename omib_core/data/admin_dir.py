"""The server admin's dataset directory: where the paper's datasets (CMU-MOSI, CREMA-D, 10x spatial) are read from.

Some of these files are pickles (the MMSA and MulT releases of CMU-MOSI), and unpickling runs code. They are
therefore only ever read from a directory that the server's admin controls, named by the environment variable
``OMIB_DATASETS_DIR``; never from a browser upload, never from a path a user typed. A loader receives a file
name *relative to that directory*; ``resolve_admin_file`` refuses absolute paths, ``..`` and symlinks that
leave the directory, so a shared link cannot point a loader anywhere else.
"""

from __future__ import annotations

from pathlib import Path

from omib_core.env import env_text
from omib_core.errors import DataError

ENV_VAR = "OMIB_DATASETS_DIR"


def admin_data_dir() -> Path | None:
    """The admin's dataset directory (``$OMIB_DATASETS_DIR``), or None when it is not set."""
    raw = env_text(ENV_VAR)
    return Path(raw).expanduser() if raw else None


def resolve_admin_file(name: str, what: str, *, kind: str = "file") -> Path:
    """Resolve ``name`` (relative to the admin's dataset directory) to an existing file or folder inside it.

    Args:
        name: a relative path such as ``"mosi/aligned_50.pkl"``.
        what: the dataset, for messages (``"CMU-MOSI"``).
        kind: ``"file"`` or ``"dir"``.

    Raises:
        DataError: the directory is not configured, ``name`` is absolute or leaves the directory, or nothing of
            that kind exists there. Each message says how to fix it.
    """
    base = admin_data_dir()
    if base is None:
        raise DataError(
            f"{what} is read from the server's dataset directory, which is not configured. The admin sets "
            f"{ENV_VAR}=/path/to/datasets and puts the files there (see docs/deploy.md, 'Paper datasets')."
        )
    if not isinstance(name, str) or not name.strip():
        raise DataError(f"{what}: give the file name relative to {ENV_VAR} (e.g. 'mosi/aligned_50.pkl'). Got {name!r}.")
    rel = Path(name.strip())
    if rel.is_absolute() or ".." in rel.parts or "\x00" in name:
        raise DataError(
            f"{what}: {name!r} must be a path inside the server's dataset directory, without '..' or a leading '/'."
        )
    try:
        root = base.resolve(strict=True)
    except OSError:
        raise DataError(f"The server's dataset directory {base} ({ENV_VAR}) does not exist; ask the admin.") from None
    path = (root / rel).resolve()
    if path != root and root not in path.parents:
        raise DataError(f"{what}: {name!r} points outside the server's dataset directory (a symlink?); refused.")
    exists = path.is_file() if kind == "file" else path.is_dir()
    if not exists:
        raise DataError(
            f"{what}: there is no {kind} {name!r} in the server's dataset directory ({ENV_VAR}). "
            "Ask the admin to put it there, or pick the name of one that exists."
        )
    return path
