"""The Dockerfile installs what the README's set-up installs (Docker cannot build in CI, so check it statically)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def copied() -> set[str]:
    names: set[str] = set()
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            names.update(p.rstrip("/").removeprefix("./") for p in line.split()[1:-1])
    return names


def test_dockerfile_copies_every_file_the_setup_script_reads():
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    read = set(re.findall(r"\b(requirements[\w-]*\.txt)\b", setup))
    assert {"requirements.txt", "requirements-dev.txt", "requirements-nodeps.txt"} <= read
    have = copied()
    assert "scripts" in have and "pyproject.toml" in have
    missing = sorted(read - have)
    assert not missing, f"the image would install without {missing} (scripts/setup.sh reads them)"


def test_dockerfile_copies_the_app_and_runs_the_readme_steps():
    have = copied()
    for part in ("omib_core", "dashboard", "assets", ".streamlit"):
        assert part in have, f"the image lacks {part}/"
    text = (ROOT / "Dockerfile").read_text()
    assert "scripts/setup.sh" in text and "HEALTHCHECK" in text
    assert "USER omib" in text and 'VOLUME ["/data"]' in text
    makefile = (ROOT / "Makefile").read_text()
    assert "scripts/setup.sh" in makefile


def test_the_server_starts_through_the_launcher_that_starts_the_job_manager():
    """``make run`` and the image's CMD start ``python -m dashboard.serve`` (job manager first, then Streamlit on
    dashboard/app.py), not a bare ``streamlit run`` that would leave recovery and the queue to the first page load."""
    cmd = next(line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD "))
    assert '"-m", "dashboard.serve"' in cmd and "streamlit" not in cmd
    run = (ROOT / "Makefile").read_text().split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "-m dashboard.serve" in run and "streamlit run" not in run
    assert (ROOT / "dashboard" / "serve.py").is_file() and (ROOT / "dashboard" / "app.py").is_file()


def test_ci_requires_the_browser_test(monkeypatch):
    """``.ci/run`` is ``make test``, whose pytest runs with ``OMIB_REQUIRE_E2E=1``, and the set-up it calls installs
    chromium and playwright; under that flag a missing browser fails the e2e test instead of skipping it."""
    from tests.e2e.conftest import cannot_run

    assert "make test" in (ROOT / ".ci" / "run").read_text()
    recipe = (ROOT / "Makefile").read_text().split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "scripts/setup.sh --dev" in recipe
    assert re.search(r"OMIB_REQUIRE_E2E=1 \S*python -m pytest", recipe), recipe
    assert "apt-get install" in (ROOT / "scripts" / "setup.sh").read_text()
    assert re.search(r"^playwright==", (ROOT / "requirements-dev.txt").read_text(), re.M)
    monkeypatch.setenv("OMIB_REQUIRE_E2E", "1")
    with pytest.raises(pytest.fail.Exception, match="OMIB_REQUIRE_E2E=1 but the browser tests cannot run: no"):
        cannot_run("no chromium")
    monkeypatch.delenv("OMIB_REQUIRE_E2E")
    with pytest.raises(pytest.skip.Exception, match="no chromium"):
        cannot_run("no chromium")
