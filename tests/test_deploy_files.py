"""The Dockerfile installs what the README's set-up installs (Docker cannot build in CI, so check it statically)."""

from __future__ import annotations

import json
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


# compose.yaml and deploy/nginx.conf (issue 12): replicas + one scheduler + an optional Ray head


def _compose() -> dict:
    import yaml  # PyYAML comes with ray (requirements-dev.txt)

    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def _image_cmd() -> list[str]:
    line = next(line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD "))
    return json.loads(line.removeprefix("CMD "))


def test_compose_runs_the_images_commands_one_scheduler_and_external_replicas():
    services = _compose()["services"]
    assert services["app"]["command"] == _image_cmd()  # the README's server launcher, as the image runs it
    assert services["app"]["environment"]["OMIB_SCHEDULER"] == "external"  # replicas never embed a scheduler
    assert services["app"]["deploy"]["replicas"] >= 2
    scheduler = services["scheduler"]["command"]
    assert scheduler[0] == _image_cmd()[0] and scheduler[1:] == ["-m", "omib_core", "scheduler"]
    from omib_core.cli import make_parser

    assert make_parser().parse_args(scheduler[3:]).command == "scheduler"  # the CLI knows that command
    for name in ("app", "scheduler"):  # one run store: the same volume at the image's OMIB_DATA_DIR
        assert "omib-data:/data" in services[name]["volumes"]
        assert services[name]["environment"]["OMIB_DATA_DIR"] == "/data"
    assert (
        "ENV PYTHONDONTWRITEBYTECODE=1 \\\n    PYTHONUNBUFFERED=1 \\\n    OMIB_DATA_DIR=/data"
        in (ROOT / "Dockerfile").read_text()
    )
    assert "ray" in services["ray-head"]["profiles"] and "--head" in services["ray-head"]["command"]


def test_compose_proxy_mounts_the_nginx_config_with_sticky_sessions_and_websockets():
    services = _compose()["services"]
    mount = next(v for v in services["proxy"]["volumes"] if "nginx.conf" in v)
    conf = (ROOT / mount.split(":")[0].removeprefix("./")).read_text()
    assert "ip_hash;" in conf and "proxy_set_header Upgrade $http_upgrade;" in conf
    assert "proxy_http_version 1.1;" in conf
    port = _image_cmd()[_image_cmd().index("--server.port") + 1]
    assert f"server app:{port}" in conf  # the upstream is the replicas' port


def test_the_ray_pin_is_the_same_in_the_image_and_the_dev_requirements():
    pins = re.findall(r"^ray==([\w.]+)$", (ROOT / "requirements-dev.txt").read_text(), flags=re.M)
    assert pins, "requirements-dev.txt pins no ray"
    assert f"ray=={pins[0]}" in (ROOT / "Dockerfile").read_text()
    assert _compose()["x-image"]["build"]["args"]["WITH_RAY"] == "1"


def test_deploy_doc_names_the_commands_compose_runs():
    doc = (ROOT / "docs" / "deploy.md").read_text()
    for text in (
        "python -m omib_core scheduler",
        "OMIB_SCHEDULER=external",
        "OMIB_RAY_ADDRESS",
        "deploy/nginx.conf",
        "docker compose up",
        "object store",
    ):
        assert text in doc, f"docs/deploy.md does not mention {text!r}"
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "-m dashboard.serve" in (ROOT / "Makefile").read_text()
