"""Uploads: check a user's files, report what is wrong, and store them as a dataset folder.

``validate_files(files)`` takes ``{client file name: bytes}`` (one file per modality plus ``labels.*``) and returns
a ``ValidationReport`` (shapes, NaN/inf counts, row counts, constant columns, label type and balance, and
sentences saying what to fix). ``store_upload(files, owner)`` validates again and, only when nothing is wrong,
writes ``uploads_dir()/<server-generated id>/`` in the folder format of ``folder.py``::

    <id>/<modality>.npy   float32, saved with allow_pickle=False; <modality> = sanitised [a-z0-9_]{1,32}
    <id>/labels.csv       columns label[,split]
    <id>/meta.json        name, task, owner, shared, created, the client file names (as data, never as paths)

Safety: the client's file name never becomes a path (names with a directory part are refused; the rest are
sanitised); nothing is written before the whole upload validates, and it is written to a temporary folder that
is renamed into place, so a rejected or failed upload leaves nothing behind. Pickles and object arrays are
refused; sizes are checked before anything is decoded. The dataset loads as ``load_dataset("upload:<id>")``.
``store_upload`` parses the files in a separate process with a memory and a time cap (``sandbox.py``), so a
hostile file cannot take the server down; ``validate_files`` is the same check in-process (tests, scripts).

Privacy: an upload is readable by its owner only, until the owner shares it (``set_shared``: every signed-in
user may then preview and train on it). Admins read every upload. ``OMIB_UPLOADS_PUBLIC=1`` makes every upload
readable by everyone (a server of one team). ``check_access`` is the one rule; the Data page, the run launcher
and the pages that show a run's labels call it.

Deleting (``delete_upload``): the owner or an admin only. The folder is renamed away (atomic) and removed, and a
small tombstone ``<id>.deleted.json`` is left so that loading it again (re-training a run that used it) says
"this upload was deleted" instead of "unknown". Runs keep their own metrics and artefacts, so their pages work.

Quota per owner, checked when storing (a refused upload writes nothing)::

    OMIB_MAX_UPLOADS_PER_USER       20       uploads one user may keep
    OMIB_MAX_UPLOAD_BYTES_PER_USER  1 GiB    bytes on disk of one user's uploads (one file may be 50 MiB, 17 files)
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from omib_core.data import folder as fmt
from omib_core.data.checks import DEFAULT_MAX_BYTES, validate_files, write_arrays
from omib_core.data.info import DatasetInfo
from omib_core.data.sandbox import validate_isolated
from omib_core.env import env_bool, env_bytes, env_int
from omib_core.errors import DataError
from omib_core.fileio import atomic_write, read_json_object
from omib_core.paths import uploads_dir

UPLOAD_ID_RE = re.compile(r"^[0-9a-f]{12}$")
DEFAULT_MAX_UPLOADS_PER_USER = 20
DEFAULT_MAX_UPLOAD_BYTES_PER_USER = 2**30  # 1 GiB: about 20 uploads at the 50 MiB per-file limit
TOMBSTONE = ".deleted.json"  # <id>.deleted.json: what is left of a deleted upload
_STORE_LOCK = threading.Lock()  # with flock on the uploads folder: one quota check + store at a time


def upload_path(upload_id: str, base: Path | str | None = None) -> Path:
    """Folder of a stored upload; DataError when the id is not one the server could have generated, is unknown,
    or was deleted (then the sentence says so)."""
    if not isinstance(upload_id, str) or not UPLOAD_ID_RE.match(upload_id):
        raise DataError(
            f"{str(upload_id)[:40]!r} is not an upload id; ids are 12 lowercase hex characters. "
            "Upload the data again on the Data page."
        )
    path = uploads_dir(base) / upload_id
    if not (path / "meta.json").is_file():
        tomb = read_json_object(path.parent / f"{upload_id}{TOMBSTONE}")
        if tomb is not None:
            raise DataError(
                f"This upload ({tomb.get('name') or upload_id!r}, upload:{upload_id}) was deleted on "
                f"{str(tomb.get('deleted', '?'))[:10]} by {tomb.get('deleted_by', 'its owner')}. Runs trained on it keep "
                "their metrics, but nothing can be trained on it again: upload the data again on the Data page."
            )
        raise DataError(
            f"There is no upload {upload_id!r} on this server (it may have been deleted); upload the "
            "data again on the Data page."
        )
    return path


def uploads_public() -> bool:
    """Whether the server makes every upload readable by every signed-in user (``OMIB_UPLOADS_PUBLIC=1``)."""
    return env_bool("OMIB_UPLOADS_PUBLIC", False)


def may_read(meta: dict[str, Any], user: str, is_admin: bool = False) -> bool:
    """Whether ``user`` may read the upload described by ``meta`` (its meta.json or tombstone)."""
    if is_admin or uploads_public() or meta.get("shared") is True:
        return True
    owner = str(meta.get("owner", ""))
    return bool(owner) and owner == str(user)[:200]


class UploadAccessError(DataError):
    """``user`` may not read this upload (a DataError: callers that need not tell it apart catch DataError)."""


def _refusal(upload_id: str) -> DataError:
    return UploadAccessError(
        f"upload:{upload_id} belongs to another user and is not shared with you; ask its owner to "
        "share it (Data page, Your uploads), or pick another dataset."
    )


def check_access(dataset_id: str, user: str, is_admin: bool = False, *, base: Path | str | None = None) -> None:
    """Raise ``UploadAccessError`` (a DataError) when ``user`` may not read ``dataset_id``; nothing for datasets that
    are not uploads.

    Owners read their uploads, everyone reads shared ones (or all, with ``OMIB_UPLOADS_PUBLIC=1``), admins read
    all. A malformed, unknown or deleted upload raises ``upload_path``'s sentence (a deleted one names itself only
    to those who could read it).
    """
    if not isinstance(dataset_id, str) or not dataset_id.startswith("upload:"):
        return
    upload_id = dataset_id.removeprefix("upload:")
    try:
        path = upload_path(upload_id, base)
    except DataError:
        tomb = (
            read_json_object(uploads_dir(base) / f"{upload_id}{TOMBSTONE}") if UPLOAD_ID_RE.match(upload_id) else None
        )
        if tomb is not None and not may_read(tomb, user, is_admin):
            raise _refusal(upload_id) from None
        raise
    if not may_read(read_json_object(path / "meta.json") or {}, user, is_admin):
        raise _refusal(upload_id)


def _owned(
    upload_id: str, base: Path | str | None, user: str, is_admin: bool, action: str
) -> tuple[Path, dict[str, Any], str]:
    """``(folder, meta, name)`` of an upload ``user`` owns (or any, for an admin); else the sentence that only its
    owner or an admin can ``action``."""
    path = upload_path(upload_id, base)
    meta = read_json_object(path / "meta.json") or {}
    owner, name = str(meta.get("owner", "")), str(meta.get("name") or upload_id)
    if owner != str(user)[:200] and not is_admin:
        raise DataError(
            f"The upload {name!r} belongs to {owner or 'someone else'}; only its owner or an admin can {action}"
        )
    return path, meta, name


def set_shared(
    upload_id: str, user: str, shared: bool, *, is_admin: bool = False, base: Path | str | None = None
) -> str:
    """Share an upload with every signed-in user, or make it owner-only again: its owner or an admin only.
    Returns its name.

    Raises:
        DataError: a malformed or unknown id, ``user`` is neither the owner nor an admin, or the write failed.
    """
    path, meta, name = _owned(upload_id, base, user, is_admin, "share it or stop sharing it.")
    try:  # atomic: a reader sees the old or the new meta.json
        atomic_write(path / "meta.json", json.dumps({**meta, "shared": bool(shared)}, indent=1))
    except OSError as e:
        raise DataError(f"The upload {name!r} could not be changed ({e.strerror or e}); try again later.") from None
    return name


def _folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file())


def upload_limits() -> tuple[int, int]:
    """(uploads, bytes) one user may keep: ``$OMIB_MAX_UPLOADS_PER_USER`` (20), ``$OMIB_MAX_UPLOAD_BYTES_PER_USER``
    (1 GiB)."""
    return (
        env_int("OMIB_MAX_UPLOADS_PER_USER", DEFAULT_MAX_UPLOADS_PER_USER, "20"),
        env_bytes("OMIB_MAX_UPLOAD_BYTES_PER_USER", DEFAULT_MAX_UPLOAD_BYTES_PER_USER, "1G"),
    )


def upload_records(
    owner: str | None = None, base: Path | str | None = None, *, readable_by: str | None = None
) -> list[dict[str, Any]]:
    """The stored uploads as plain dicts, newest first; only ``owner``'s when given; only those ``readable_by``
    may read when given (own, shared, or all with ``OMIB_UPLOADS_PUBLIC=1``; see ``may_read``).

    Each: ``id``, ``dataset`` (``"upload:<id>"``), ``name``, ``owner``, ``shared``, ``created``, ``task``,
    ``modalities``, ``bytes`` (on disk). Unreadable folders are skipped.
    """
    root = uploads_dir(base, create=False)  # reading changes nothing
    out = []
    for path in root.iterdir() if root.is_dir() else ():
        if not UPLOAD_ID_RE.match(path.name):
            continue
        meta = read_json_object(path / "meta.json")
        if meta is None or (owner is not None and meta.get("owner") != str(owner)[:200]):
            continue
        if readable_by is not None and not may_read(meta, readable_by):
            continue
        try:
            size = _folder_bytes(path)
        except OSError:
            continue  # deleted while we looked
        out.append(
            {
                "id": path.name,
                "dataset": f"upload:{path.name}",
                "name": str(meta.get("name") or path.name),
                "owner": str(meta.get("owner", "")),
                "shared": meta.get("shared") is True,
                "created": str(meta.get("created", "")),
                "task": meta.get("task"),
                "modalities": list(meta.get("modalities") or []),
                "bytes": size,
            }
        )
    return sorted(out, key=lambda r: r["created"], reverse=True)


def upload_usage(owner: str, base: Path | str | None = None) -> tuple[int, int]:
    """(number of uploads, bytes on disk) that ``owner`` keeps."""
    records = upload_records(owner, base)
    return len(records), sum(r["bytes"] for r in records)


def _mb(n: float) -> str:
    """Bytes for a sentence: GB, MB or KB (binary units, like the per-file limit)."""
    for unit, size in (("GB", 2**30), ("MB", 2**20)):
        if n >= size:
            return f"{n / size:.{2 if unit == 'GB' else 1}f} {unit}"
    return f"{n / 2**10:.1f} KB"


def _count_refusal(count: int, max_uploads: int) -> str:
    return (
        f"The upload was not stored: you keep {count} uploads, the most one user may keep on this server "
        f"(OMIB_MAX_UPLOADS_PER_USER = {max_uploads}). Delete uploads you no longer need (Data page, Your uploads) "
        "and upload again."
    )


@contextlib.contextmanager
def _store_lock(root: Path) -> Iterator[None]:
    """One quota check + rename at a time, across threads and (with flock on the folder) processes."""
    with _STORE_LOCK:
        fd = os.open(root, os.O_RDONLY)
        try:
            try:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX)
            except (ImportError, OSError):
                pass  # no flock here: the thread lock still serialises this process
            yield
        finally:
            os.close(fd)  # releases the flock


def store_upload(
    files: dict[str, bytes],
    owner: str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    task: str | None = None,
    name: str | None = None,
    base: Path | str | None = None,
    max_uploads: int | None = None,
    max_total_bytes: int | None = None,
    shared: bool = False,
    isolated: bool = True,
) -> str:
    """Validate and store an upload; return its server-generated id (load it with ``"upload:<id>"``).

    Args:
        max_uploads, max_total_bytes: the owner's quota; None = ``upload_limits()`` (environment).
        shared: readable by every signed-in user from the start (default: the owner only; see ``set_shared``).
        isolated: parse in a capped child process (``sandbox.validate_isolated``); False = in this process, for
            tests and scripts that trust their files.

    Raises:
        DataError: the upload is not valid (all the report's errors in one message) or would exceed the owner's
            quota (the sentence gives the limit and how to free space); nothing is written.
    """
    if max_uploads is None or max_total_bytes is None:
        quota_uploads, quota_bytes = upload_limits()
        max_uploads = quota_uploads if max_uploads is None else max_uploads
        max_total_bytes = quota_bytes if max_total_bytes is None else max_total_bytes
    count, _ = upload_usage(owner, base)
    if count >= max_uploads:  # cheap early refusal; checked again under the lock below
        raise DataError(_count_refusal(count, max_uploads))
    root = uploads_dir(base)
    upload_id = uuid.uuid4().hex[:12]
    tmp = root / f".tmp-{upload_id}"
    try:
        tmp.mkdir()
        if isolated:  # the checking process writes the arrays into tmp: this process never holds them
            report = validate_isolated(files, max_bytes, task=task, out_dir=tmp)
        else:
            report = validate_files(files, max_bytes, task=task)
            if report.ok:
                write_arrays(report, tmp)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise DataError(f"The upload could not be saved on the server ({e.strerror or e}); try again later.") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if not report.ok:
        shutil.rmtree(tmp, ignore_errors=True)
        raise DataError("The upload was not stored: " + " ".join(report.errors))
    assert report.task is not None
    label_name = report.labels.get("file", "labels")
    meta = {
        "name": (str(name).strip()[:80] if name and str(name).strip() else f"upload {upload_id}"),
        "task": report.task,
        "owner": str(owner)[:200],
        "shared": bool(shared),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "modalities": [str(row["name"]) for row in report.modalities],
        "files": {**report._names, "labels": label_name},
        "source": f"uploaded by {str(owner)[:80]}",
        "licence": "the uploader's data",
    }
    try:
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        with _store_lock(root):
            _check_quota(owner, _folder_bytes(tmp), max_uploads, max_total_bytes, base)
            tmp.rename(root / upload_id)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise DataError(f"The upload could not be saved on the server ({e.strerror or e}); try again later.") from None
    except DataError:
        shutil.rmtree(tmp, ignore_errors=True)  # over the quota: nothing is left behind
        raise
    return upload_id


def _check_quota(owner: str, size: int, max_uploads: int, max_total_bytes: int, base: Path | str | None) -> None:
    count, used = upload_usage(owner, base)
    if count >= max_uploads:
        raise DataError(_count_refusal(count, max_uploads))
    if used + size > max_total_bytes:
        raise DataError(
            f"The upload was not stored: it takes {_mb(size)} on the server and your uploads already take "
            f"{_mb(used)} of the {_mb(max_total_bytes)} one user may keep (OMIB_MAX_UPLOAD_BYTES_PER_USER). Delete "
            "uploads you no longer need (Data page, Your uploads), or upload fewer rows or columns."
        )


def delete_upload(upload_id: str, user: str, *, is_admin: bool = False, base: Path | str | None = None) -> str:
    """Delete a stored upload: its owner or an admin only. Returns its name.

    Runs trained on it keep their metrics and artefacts; loading it again raises a DataError that says it was
    deleted (a tombstone ``<id>.deleted.json`` remembers the name, who and when).

    Raises:
        DataError: a malformed or unknown id, or ``user`` is neither the owner nor an admin (nothing is deleted).
    """
    path, meta, name = _owned(upload_id, base, user, is_admin, "delete it. Pick another dataset, or ask them.")
    root = path.parent
    tomb = {
        "name": name,
        "owner": str(meta.get("owner", "")),
        "shared": meta.get("shared") is True,
        "deleted_by": str(user)[:200],
        "deleted": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    tomb_path = root / f"{upload_id}{TOMBSTONE}"
    trash = root / f".del-{upload_id}-{uuid.uuid4().hex[:8]}"
    try:
        atomic_write(tomb_path, json.dumps(tomb))
        path.rename(trash)  # atomic: a reader sees the whole upload or none of it
    except OSError as e:
        if path.is_dir():
            tomb_path.unlink(missing_ok=True)  # still there: not deleted, so no tombstone
        raise DataError(f"The upload {name!r} could not be deleted ({e.strerror or e}); try again later.") from None
    shutil.rmtree(trash, ignore_errors=True)
    return name


def upload_info(upload_id: str, base: Path | str | None = None) -> DatasetInfo:
    """The ``DatasetInfo`` of a stored upload (id ``"upload:<id>"``)."""
    return fmt.folder_info(upload_path(upload_id, base), f"upload:{upload_id}")


def list_uploads(
    owner: str | None = None, base: Path | str | None = None, *, readable_by: str | None = None
) -> list[DatasetInfo]:
    """DatasetInfos of the stored uploads, newest first; only ``owner``'s when given; only those ``readable_by``
    may read when given (see ``may_read``). Broken folders are skipped."""
    out = []
    for path in uploads_dir(base).iterdir():
        if not UPLOAD_ID_RE.match(path.name) or not (path / "meta.json").is_file():
            continue
        try:
            meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
            if owner is not None and meta.get("owner") != owner:
                continue
            if readable_by is not None and not (isinstance(meta, dict) and may_read(meta, readable_by)):
                continue
            out.append((str(meta.get("created", "")), upload_info(path.name, base)))
        except (OSError, ValueError, DataError):
            continue
    return [info for _, info in sorted(out, key=lambda t: t[0], reverse=True)]
