"""The server launcher: start the job manager with the server, then Streamlit in the same process.

    python -m dashboard.serve [streamlit run options, e.g. --server.address 0.0.0.0 --server.port 8501]

``streamlit run dashboard/app.py`` alone creates the job manager on the first page load, so after a restart runs
left ``running`` by the old server stay so, and the queue stands still, until someone opens a page. This launcher
creates the process-wide manager first (``omib_core.runs.scheduler.shared_manager``: when no other scheduler holds
the store's lease, runs whose worker is gone are marked interrupted, then queued runs start in a background thread;
when one does, e.g. ``python -m omib_core scheduler`` beside several replicas, this server only reads and writes) and then hands the process to Streamlit's own
command line; the app's ``services.jobs()`` returns that same manager. ``make run`` and the Docker image use it.
It also puts ``dashboard.gate`` in front of Streamlit's HTTP endpoints: uploads only from signed-in sessions, with a
cap per session and per server, and ``/_stcore/metrics`` off.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from omib_core.env import env_bool, env_text

APP = Path(__file__).resolve().parent / "app.py"

log = logging.getLogger("omib.serve")


def start_services() -> object:
    """Create the process-wide job manager (recovery, then the scheduler thread); returns it."""
    from omib_core.runs.scheduler import shared_manager

    # as services.boot() does for the app: workers inherit the environment, and a worker started before the first
    # page load must not read folder paths either
    os.environ.setdefault("OMIB_FOLDER_DATASETS", "0")
    manager = shared_manager()
    if manager.lease is not None:
        log.info("embedded scheduler on %s (up to %s runs at once)", manager.store.path, manager.max_concurrent)
    else:
        log.info("no embedded scheduler: another process holds the scheduler lease of %s", manager.store.path)
    return manager


LOOPBACK = ("localhost", "::1", "[::1]", "ip6-localhost")


def listen_address(args: list[str]) -> str:
    """The address Streamlit will bind: ``--server.address`` in the arguments, else ``STREAMLIT_SERVER_ADDRESS``,
    else ``.streamlit/config.toml``; "" (every interface, Streamlit's default) when none says."""
    for i, a in enumerate(args):
        if a == "--server.address" and i + 1 < len(args):
            return args[i + 1]
        if a.startswith("--server.address="):
            return a.split("=", 1)[1]
    if env_text("STREAMLIT_SERVER_ADDRESS"):
        return env_text("STREAMLIT_SERVER_ADDRESS")
    try:
        import tomllib

        cfg = tomllib.loads((APP.parent.parent / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
        return str(cfg.get("server", {}).get("address") or "")
    except (OSError, ValueError):
        return ""


def is_loopback(address: str) -> bool:
    a = address.strip().lower()
    return a.startswith(("127.", "unix:")) or a in LOOPBACK


def open_refusal(args: list[str]) -> str | None:
    """The sentence refusing to serve every visitor as the admin: a non-loopback address without sign-in
    configured (and without ``OMIB_ALLOW_OPEN=1``); None when the server may start."""
    from dashboard.auth import sign_in_configured

    address = listen_address(args)
    if is_loopback(address) or env_bool("OMIB_ALLOW_OPEN", False) or sign_in_configured():
        return None
    where = f"address {address}" if address else "every network interface (no --server.address given)"
    return (
        f"Refusing to listen on {where} without sign-in: every visitor would be the local admin, able to delete "
        "every run. Configure sign-in (per-user passwords, OIDC or a team password in .streamlit/secrets.toml; see "
        "docs/deploy.md, Sign-in), listen on 127.0.0.1 behind a reverse proxy, or set OMIB_ALLOW_OPEN=1 to serve an "
        "open demo on purpose."
    )


def configure_tracking() -> str | None:
    """``MLFLOW_TRACKING_URI`` from ``[mlflow] tracking_uri`` in .streamlit/secrets.toml when the environment does
    not set it, before any worker starts (workers inherit the environment). Returns the URI in use."""
    from dashboard.auth import _secret

    if not env_text("MLFLOW_TRACKING_URI"):
        section = _secret("mlflow", None)
        uri = str(section.get("tracking_uri") or "").strip() if hasattr(section, "get") else ""
        if uri:
            os.environ["MLFLOW_TRACKING_URI"] = uri
    uri = env_text("MLFLOW_TRACKING_URI") or None
    if uri:
        log.info("runs are tracked in MLflow (%s)", uri if "@" not in uri else "a server with credentials")
    return uri


def main(argv: list[str] | None = None) -> int:
    """Start the services, then ``streamlit run dashboard/app.py <argv>`` in this process (returns its exit code).
    Exits 2 with a sentence, starting nothing, when it would serve a network without sign-in (``open_refusal``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    refusal = open_refusal(args)
    if refusal:
        print(refusal, file=sys.stderr)
        return 2
    configure_tracking()
    start_services()
    from dashboard import gate

    gate.install()  # uploads only from signed-in sessions, capped; /_stcore/metrics off (dashboard/gate.py)
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(APP), *args]
    try:
        cli.main(prog_name="streamlit")
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
