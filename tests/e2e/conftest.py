"""Browser-test fixtures: a real Streamlit server on a free port over a private data dir, and Debian's chromium.

The e2e tests are skipped (with the reason) when ``/usr/bin/chromium`` or the ``playwright`` package is missing,
unless ``OMIB_REQUIRE_E2E=1``, in which case they fail. ``start_app`` / ``stop_app`` are plain functions so that
``bench/dashboard_speed.py`` starts the app the same way.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM = os.environ.get("OMIB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT = 120.0  # a cold server imports torch and pandas on a loaded 2-core machine


# helpers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not Path(CHROMIUM).is_file():
        return f"{CHROMIUM} not found (install Debian's chromium: `scripts/setup.sh --dev`)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (`pip install -r requirements-dev.txt`)"
    return None


def descendants(pid: int) -> list[int]:
    """All live descendants of ``pid`` (children first), read from /proc; workers run in their own session."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])  # field 4, after "pid (comm) state"
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie of ours counts as gone
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def start_app(data_dir: Path, log_path: Path, skip_umap_warmup: bool = True, env: dict | None = None):
    """Start the server as ``make run`` does (``python -m dashboard.serve``: the job manager, then Streamlit on
    dashboard/app.py) on a free port; returns (process, base URL) once healthy."""
    port = free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    full_env = {
        **os.environ,
        "OMIB_DATA_DIR": str(data_dir),
        "OMIB_SKIP_UMAP_WARMUP": "1" if skip_umap_warmup else "0",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    cmd = [
        sys.executable,
        "-m",
        "dashboard.serve",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
    ]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    end = time.monotonic() + START_TIMEOUT
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200 and r.read().strip() == b"ok":
                    return proc, url
        except OSError:
            pass
        time.sleep(0.5)
    stop_app(proc)
    raise RuntimeError(f"streamlit was not healthy within {START_TIMEOUT:.0f} s:\n{log_path.read_text()[-3000:]}")


def stop_app(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """Terminate the server and every process it started (training workers live in their own sessions)."""
    kids = descendants(proc.pid)
    for pid in [proc.pid, *kids]:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    end = time.monotonic() + grace
    while time.monotonic() < end and (proc.poll() is None or any(_alive(p) for p in kids)):
        time.sleep(0.1)
    for pid in [proc.pid, *kids]:
        if _alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


# fixtures


def cannot_run(reason: str) -> None:
    """Skip the browser tests for ``reason``, or fail them when ``OMIB_REQUIRE_E2E=1`` (CI: ``make test``)."""
    if os.environ.get("OMIB_REQUIRE_E2E") == "1":
        pytest.fail(f"OMIB_REQUIRE_E2E=1 but the browser tests cannot run: {reason}")
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def app_data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("e2e_app_data")


@pytest.fixture(scope="session")
def app_url(e2e_ready, app_data_dir, artifacts):
    """Base URL of a Streamlit server running the app over a private data dir (stopped with its workers)."""
    if shutil.which("streamlit", path=str(Path(sys.executable).parent)) is None:
        cannot_run("streamlit is not installed in this interpreter's environment")
    try:
        proc, url = start_app(app_data_dir, artifacts / "streamlit.log")
    except RuntimeError as e:
        pytest.fail(str(e))
    try:
        yield url
    finally:
        stop_app(proc)


# e2e_ready and browser live in tests/conftest.py: one browser per test session, for the security tests too
