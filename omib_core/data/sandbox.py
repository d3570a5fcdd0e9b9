"""Check uploaded files in a separate process with a memory cap and a time cap.

A hostile or careless file (one CSV line of 500,000 commas took 35 s and 1.2 GB in the server itself) must never
take the server or its other sessions down. ``validate_isolated(files, ...)`` runs ``checks.validate_files`` in a
fresh Python process (``subprocess``: fork + exec, so nothing of the server, torch included, is inherited) that:

- imports only the readers (numpy, pandas, pyarrow; not torch), then caps its own address space at what it uses
  plus ``OMIB_UPLOAD_PARSE_MEMORY`` (default 3 GiB: a 50 MB CSV needs about 1.5 GB), its CPU time, and the
  size of a file it may write (none, or one modality when it stores an upload: it writes the arrays straight to the
  upload's folder, so the server never holds them);
- receives the files on stdin (spooled through a temporary file) and answers on stdout with JSON: nothing is
  unpickled in either direction;
- is killed after ``OMIB_UPLOAD_PARSE_SECONDS`` (default 60 s) of wall time.

A child that runs out of memory or time is gone and the report holds a sentence that names the file being read
and the limit. At most ``OMIB_UPLOAD_PARSE_PARALLEL`` (default 2) checks run at once per server; more wait their
turn for up to the time cap. ``uploads.store_upload`` and the Data page go through here; ``validate_files`` stays
in-process for the core's own tests and scripts.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from omib_core.config import TASKS
from omib_core.data.checks import DEFAULT_MAX_BYTES, ValidationReport, size_refusal, validate_files, write_arrays
from omib_core.data.folder import MAX_CELLS
from omib_core.env import env_bytes, env_float, env_int
from omib_core.errors import DataError

DEFAULT_MEMORY = 3 * 2**30  # address space a check may add to its imports
DEFAULT_SECONDS = 60.0
DEFAULT_PARALLEL = 2
WRITE_CAP = MAX_CELLS * 4 + 2**20  # the largest file the check may write: one modality of MAX_CELLS float32 values
EXIT_MEMORY = 3  # the child's exit code when it ran out of memory (MemoryError)
EXIT_BUG = 4  # any other exception in the child (the parent says so in a sentence)
READING = "omib-reading "  # stderr line prefix: the file the child is reading (its JSON-quoted name)
_SIZE = struct.Struct("<Q")
_SLOTS: dict[int, threading.BoundedSemaphore] = {}
_SLOTS_LOCK = threading.Lock()
# The child imports omib_core.data.checks without running omib_core/data/__init__.py (which registers every
# dataset and imports scipy and scikit-learn): an empty package module stands in for it.
_BOOT = (
    "import os, sys, types, omib_core; "
    "pkg = types.ModuleType('omib_core.data'); "
    "pkg.__path__ = [os.path.join(os.path.dirname(omib_core.__file__), 'data')]; "
    "sys.modules['omib_core.data'] = pkg; "
    "from omib_core.data.sandbox import child_main; child_main()"
)


# settings


def parse_limits() -> tuple[int, float, int]:
    """(memory in bytes, seconds, checks at once) from ``OMIB_UPLOAD_PARSE_MEMORY`` (bytes, or e.g. ``4G``),
    ``OMIB_UPLOAD_PARSE_SECONDS`` and ``OMIB_UPLOAD_PARSE_PARALLEL``."""
    memory = env_bytes("OMIB_UPLOAD_PARSE_MEMORY", DEFAULT_MEMORY, "3G")
    seconds = env_float("OMIB_UPLOAD_PARSE_SECONDS", DEFAULT_SECONDS, "60")
    parallel = env_int("OMIB_UPLOAD_PARSE_PARALLEL", DEFAULT_PARALLEL, "2")
    return memory, seconds, parallel


def _size_text(n: float) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


# wire format: an 8-byte length, a JSON header, then the blobs the header lists (no pickle anywhere)


def _pack(header: dict[str, Any], blobs: list[bytes]) -> bytes:
    head = json.dumps({**header, "sizes": [len(b) for b in blobs]}).encode()
    return b"".join([_SIZE.pack(len(head)), head, *blobs])


def _unpack(data: bytes) -> tuple[dict[str, Any], list[bytes]]:
    (n,) = _SIZE.unpack_from(data, 0)
    header = json.loads(data[_SIZE.size : _SIZE.size + n])
    blobs, at = [], _SIZE.size + n
    for size in header["sizes"]:
        blobs.append(data[at : at + size])
        at += size
    if at != len(data):
        raise ValueError("trailing bytes")
    return header, blobs


def _spool(header: dict[str, Any], blobs: list[bytes]) -> Any:
    """``_pack(header, blobs)`` written to an unnamed temporary file (rewound), for the child's stdin: the server
    never joins the files into one more copy in memory."""
    f = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the caller once the child has read it
    try:
        head = json.dumps({**header, "sizes": [len(b) for b in blobs]}).encode()
        f.write(_SIZE.pack(len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)
        f.flush()
        f.seek(0)
    except BaseException:
        f.close()
        raise
    return f


# the child


def _cap_resources(memory: int, seconds: float, file_bytes: int = 0) -> None:
    import resource

    vm = 0
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            vm = next((int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:")), 0)
    except OSError:
        pass  # not Linux: the cap counts the imports too
    for limit, value in (
        (resource.RLIMIT_AS, vm + memory),
        (resource.RLIMIT_CPU, int(seconds) + 5),
        (resource.RLIMIT_FSIZE, file_bytes),
        (resource.RLIMIT_CORE, 0),
    ):
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):
            pass  # a hard limit already lower: keep it


def child_main() -> None:
    """Entry point of the checking process: files on stdin, the report on stdout (see ``_pack``)."""
    import pandas  # noqa: F401 - imported before the memory cap is set, so the cap is what parsing may add
    import pyarrow.parquet  # noqa: F401

    request, blobs = _unpack(sys.stdin.buffer.read())
    out_dir = request.get("out_dir")
    _cap_resources(int(request["memory"]), float(request["seconds"]), WRITE_CAP if out_dir else 0)

    def reading(name: str) -> None:
        sys.stderr.write(READING + json.dumps(name) + "\n")
        sys.stderr.flush()

    try:
        files = dict(zip(request["names"], blobs))
        del blobs
        r = validate_files(files, int(request["max_bytes"]), task=request["task"], on_file=reading)
        del files
        labels = {**r.labels, "classes": list(r.labels["classes"].items())} if "classes" in r.labels else r.labels
        header: dict[str, Any] = {
            "errors": r.errors,
            "warnings": r.warnings,
            "modalities": r.modalities,
            "labels": labels,
            "task": r.task,
            "names": r._names,
            "arrays": [],
        }
        if out_dir and r.ok:
            write_arrays(r, Path(out_dir))  # straight to the store's folder: the server never holds the arrays
            header["written"] = True
        data = _pack(header, [])
    except MemoryError:
        os._exit(EXIT_MEMORY)  # noqa: SLF001 - leave at once, without unwinding through more allocations
    except Exception as e:  # noqa: BLE001 - a reader bug: the parent turns it into a sentence
        sys.stderr.write(f"omib-bug {type(e).__name__}\n")
        sys.stderr.flush()
        os._exit(EXIT_BUG)  # noqa: SLF001
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


# the parent


def _slots(n: int) -> threading.BoundedSemaphore:
    with _SLOTS_LOCK:
        return _SLOTS.setdefault(n, threading.BoundedSemaphore(n))


def _child_env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parents[2])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONSTARTUP", "PYTHONINSPECT"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        env[k] = "1"  # no thread pools: each would reserve address space (and CPU) for nothing
    env["MALLOC_ARENA_MAX"] = "2"
    return env


def _last_file(stderr: bytes) -> str | None:
    for line in reversed(stderr.decode("utf-8", "replace").splitlines()):
        if line.startswith(READING):
            try:
                return str(json.loads(line[len(READING) :]))[:80]
            except ValueError:
                return None
    return None


def _failure(files: dict[str, bytes], stderr: bytes, why: str) -> str:
    name = _last_file(stderr)
    what = name if name else ("these files" if len(files) > 1 else next(iter(files), "this file")[:80])
    return why.format(what=what)


def validate_isolated(
    files: dict[str, bytes],
    max_bytes: int | None = None,
    *,
    task: str | None = None,
    out_dir: str | Path | None = None,
) -> ValidationReport:
    """``checks.validate_files`` in a capped child process; the same ``ValidationReport`` (without arrays).

    A file over ``max_bytes`` is refused here, before anything is copied to the child. The files reach the child
    through a temporary file, not one joined copy in this process's memory.

    Args:
        out_dir: an existing empty folder: when the upload passes, the child writes the arrays there as the store
            keeps them (``checks.write_arrays``), so this process never holds them (``store_upload``); the Data
            page's check writes nothing.

    Returns:
        A ValidationReport. A child that ran out of memory or time, or failed, gives a report whose one error says
        so (the file it was reading, the limit, what to do).

    Raises:
        DataError: as ``validate_files`` (a caller's mistake), or a server setting is malformed.
    """
    if not isinstance(files, dict) or not all(isinstance(v, (bytes, bytearray, memoryview)) for v in files.values()):
        raise DataError("validate_files expects {file name: bytes}; read each uploaded file with .getvalue().")
    if task is not None and task not in TASKS:
        raise DataError(f"The task must be one of {TASKS} or None (automatic). Got {task!r}.")
    memory, seconds, parallel = parse_limits()
    limit = int(max_bytes or DEFAULT_MAX_BYTES)
    report = ValidationReport()
    too_big = [t for t in (size_refusal(str(k), len(v), limit) for k, v in files.items()) if t]
    if too_big:  # refused from the sizes alone: nothing is copied or parsed
        report.errors.extend(too_big)
        return report
    names = [str(k) for k in files]
    request = {
        "names": names,
        "max_bytes": limit,
        "task": task,
        "out_dir": str(out_dir) if out_dir is not None else None,
        "memory": memory,
        "seconds": seconds,
    }
    payload = _spool(request, list(files.values()))
    slot = _slots(parallel)
    if not slot.acquire(timeout=seconds):
        report.errors.append("The server is busy checking other uploads; try again in a minute.")
        return report
    try:
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and code; the files travel on stdin
            [sys.executable, "-c", _BOOT],
            stdin=payload,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_child_env(),
            close_fds=True,
        )
        try:
            out, err = proc.communicate(timeout=seconds)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            report.errors.append(
                _failure(
                    files,
                    err,
                    (
                        f"Checking {{what}} took longer than {seconds:g} s, the server's limit for reading an upload "
                        "(OMIB_UPLOAD_PARSE_SECONDS), so it was stopped. Upload fewer rows or columns per file, or save the "
                        "matrix as .npy with numpy.save(path, x.astype('float32')), which reads at once."
                    ),
                )
            )
            return report
    finally:
        slot.release()
        payload.close()
    code = proc.returncode
    if code == EXIT_MEMORY or code in (-signal.SIGKILL, -signal.SIGABRT, -signal.SIGSEGV, -signal.SIGBUS):
        report.errors.append(
            _failure(
                files,
                err,
                (
                    f"{{what}} needs more than {_size_text(memory)} of memory to read, the server's limit for checking an "
                    "upload (OMIB_UPLOAD_PARSE_MEMORY), so it was refused. Upload fewer rows or columns per file, or save "
                    "the matrix as .npy with numpy.save(path, x.astype('float32')), which needs no more memory than its size."
                ),
            )
        )
        return report
    if code == -signal.SIGXCPU:
        report.errors.append(
            _failure(
                files,
                err,
                (
                    f"Checking {{what}} used more than {seconds:g} s of CPU (OMIB_UPLOAD_PARSE_SECONDS), so it was "
                    "stopped. Upload fewer rows or columns per file, or save the matrix as .npy."
                ),
            )
        )
        return report
    try:
        if code != 0:
            raise ValueError(f"exit code {code}")
        header, blobs = _unpack(out)
        report.errors, report.warnings = list(header["errors"]), list(header["warnings"])
        report.modalities, report.labels = list(header["modalities"]), dict(header["labels"])
        report.task = header["task"]
        if "classes" in report.labels:  # JSON keys are text: the classes travel as [value, count] pairs
            report.labels["classes"] = {k: int(v) for k, v in report.labels["classes"]}
        report._names = {str(k): str(v) for k, v in header["names"].items()}
        if out_dir is not None and report.ok and not header.get("written"):
            raise ValueError("the arrays were not written")
    except (ValueError, KeyError, TypeError, IndexError, struct.error):
        bug = next((ln[9:] for ln in err.decode("utf-8", "replace").splitlines() if ln.startswith("omib-bug ")), "")
        report.errors.append(
            _failure(
                files,
                err,
                (
                    f"{{what}} could not be checked (the reader stopped: {bug.strip()[:40] or f'exit code {code}'}). "
                    "Export the file again as CSV, Parquet or .npy; if it keeps failing, tell the person who runs this "
                    "server."
                ),
            )
        )
    return report
