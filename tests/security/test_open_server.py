"""Issue 22, safe to share: the launcher refuses to serve a network address without sign-in (every visitor would
be the local admin), unless the admin opts out with OMIB_ALLOW_OPEN=1."""

from __future__ import annotations

import subprocess
import sys

import pytest
from streamlit.web import cli

from dashboard import serve
from tests.e2e.conftest import ROOT


@pytest.fixture
def launched(monkeypatch):
    """Record whether the launcher started anything instead of starting it."""
    started: list[str] = []
    monkeypatch.setattr(serve, "start_services", lambda: started.append("services"))

    def fake_streamlit(**kwargs):
        started.append("streamlit")
        raise SystemExit(0)

    monkeypatch.setattr(cli, "main", fake_streamlit)
    monkeypatch.delenv("OMIB_ALLOW_OPEN", raising=False)
    monkeypatch.delenv("OMIB_USERS_FILE", raising=False)
    monkeypatch.delenv("STREAMLIT_SERVER_ADDRESS", raising=False)
    return started


@pytest.mark.parametrize("args", [["--server.address", "0.0.0.0"], ["--server.address=10.1.2.3"], []])
def test_an_open_address_without_sign_in_is_refused_before_anything_starts(launched, capsys, args):
    assert serve.main(args) == 2
    assert launched == []
    err = capsys.readouterr().err
    assert "without sign-in" in err and "docs/deploy.md" in err and "OMIB_ALLOW_OPEN=1" in err


@pytest.mark.parametrize("address", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_starts(launched, address):
    assert serve.main(["--server.address", address]) == 0
    assert launched == ["services", "streamlit"]


def test_sign_in_or_the_opt_out_lets_an_open_server_start(launched, monkeypatch, tmp_path):
    users = tmp_path / "users.toml"
    users.write_text("[users]\n")
    monkeypatch.setenv("OMIB_USERS_FILE", str(users))
    assert serve.main(["--server.address", "0.0.0.0"]) == 0
    monkeypatch.delenv("OMIB_USERS_FILE")
    monkeypatch.setenv("OMIB_ALLOW_OPEN", "1")
    assert serve.main(["--server.address", "0.0.0.0"]) == 0
    assert launched == ["services", "streamlit"] * 2


def test_the_real_launcher_exits_2_with_the_sentence():
    out = subprocess.run(
        [sys.executable, "-m", "dashboard.serve", "--server.address", "0.0.0.0", "--server.port", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in __import__("os").environ.items() if k not in ("OMIB_ALLOW_OPEN", "OMIB_USERS_FILE")},
    )
    assert out.returncode == 2 and "Refusing to listen on address 0.0.0.0 without sign-in" in out.stderr
    assert "Traceback" not in out.stderr
