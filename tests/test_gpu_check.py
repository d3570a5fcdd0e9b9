"""scripts/gpu_check.sh runs on an offline GPU host as it is: only the host's packages, nothing installed.

The host (issue 18, section 5) has torch, numpy, pandas, scikit-learn, scipy, numba, pyarrow and pytest, and no
streamlit, plotly, altair, umap-learn or package index. It is emulated here: a ``sitecustomize.py`` put first on
PYTHONPATH refuses every module of this venv outside those packages and what they need (so the UI packages and
the test-only ones, hypothesis, h5py, ray), and refuses pip and venv too; fake ``pip`` commands first on PATH fail
loudly. The script then runs with ``--device cpu --quick`` (cpu stands in for cuda).
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gpu_check.sh"
HOST_PACKAGES = ("torch", "numpy", "pandas", "scikit-learn", "scipy", "numba", "pyarrow", "pytest")
UI_MODULES = ("streamlit", "plotly", "altair", "umap")
INSTALLERS = ("pip", "venv", "ensurepip", "virtualenv")
STEPS = ("environment", "pytest_gpu", "sim_i", "grid", "speed")

SITECUSTOMIZE = '''\
"""Emulates an offline GPU host: the modules it lacks are absent (imports fail, probes find nothing); imports
tried are logged."""
import importlib.util, sys

BLOCKED = frozenset({blocked!r})
LOG = {log!r}


class _NotOnThisHost:
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top not in BLOCKED:
            return None
        with open(LOG, "a") as f:
            f.write(top + "\\n")
        raise ModuleNotFoundError(f"No module named {{name!r}} (not on this host)", name=name)


_find_spec = importlib.util.find_spec


def find_spec(name, package=None):  # a probe (torch probes for hypothesis, say) finds nothing, as on the host
    if name.partition(".")[0] in BLOCKED:
        return None
    return _find_spec(name, package)


importlib.util.find_spec = find_spec
sys.meta_path.insert(0, _NotOnThisHost())
'''

FAKE_INSTALLER = """#!/bin/sh
echo "$(basename "$0") $*" >> {log}
echo "gpu_check must install nothing, but ran: $(basename "$0") $*" >&2
exit 97
"""

# helpers


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def host_distributions() -> set[str]:
    """The host's packages and everything they require (extras left out), as canonical distribution names."""
    seen: set[str] = set()
    todo = [canonical(n) for n in HOST_PACKAGES]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = md.distribution(name).requires or []
        except md.PackageNotFoundError:
            continue
        for req in requires:
            spec, _, marker = req.partition(";")
            if "extra" not in marker:
                todo.append(canonical(re.match(r"[A-Za-z0-9._-]+", spec.strip()).group()))
    return seen


def modules_not_on_host() -> set[str]:
    """Top-level modules of this venv that the host lacks, plus the UI packages and the installers."""
    allowed = host_distributions() | {"omib-studio"}
    lacking = {
        module
        for module, dists in md.packages_distributions().items()
        if not module.startswith("__") and not any(canonical(d) in allowed for d in dists)
    }
    lacking = {m for m in lacking if not (ROOT / m).exists() and not (ROOT / f"{m}.py").exists()}  # ours: tests, ...
    return lacking | set(UI_MODULES) | set(INSTALLERS)


@pytest.fixture(scope="module")
def host(tmp_path_factory) -> dict:
    """An environment like the host's: the blocking sitecustomize, fake installers first on PATH."""
    d = tmp_path_factory.mktemp("host")
    refused, installed = d / "refused.log", d / "installers.log"
    site = d / "site"
    site.mkdir()
    site.joinpath("sitecustomize.py").write_text(
        SITECUSTOMIZE.format(blocked=sorted(modules_not_on_host()), log=str(refused))
    )
    bin_ = d / "bin"
    bin_.mkdir()
    for name in ("pip", "pip3", f"pip3.{sys.version_info.minor}", "virtualenv", "uv"):
        fake = bin_ / name
        fake.write_text(FAKE_INSTALLER.format(log=installed))
        fake.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("OMIB_DATA_DIR", "QUICK", "PYTHONPATH", "VIRTUAL_ENV")}
    env |= {"PYTHONPATH": str(site), "PATH": f"{bin_}:{os.environ['PATH']}", "PYTHON": sys.executable}
    return {"env": env, "refused": refused, "installed": installed, "dir": d}


def load_summary_module():
    spec = importlib.util.spec_from_file_location("gpu_check_summary", ROOT / "scripts" / "gpu_check_summary.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# the emulated host refuses what it should (positive controls)


def test_the_emulated_host_refuses_ui_packages_and_installers(host):
    for module in ("streamlit", "plotly", "altair", "umap", "hypothesis", "pip"):
        out = subprocess.run(
            [sys.executable, "-c", f"import {module}"], env=host["env"], capture_output=True, text=True, timeout=60
        )
        assert out.returncode != 0 and "not on this host" in out.stderr, module
    out = subprocess.run(
        [sys.executable, "-c", "import torch, numpy, pandas, sklearn, scipy, numba, pyarrow, pytest, omib_core"],
        env=host["env"] | {"PYTHONPATH": f"{host['env']['PYTHONPATH']}:{ROOT}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    fake = subprocess.run(["pip", "install", "x"], env=host["env"], capture_output=True, text=True, timeout=30)
    assert fake.returncode == 97 and "install nothing" in fake.stderr
    host["installed"].unlink()
    host["refused"].unlink()


# the check itself


def test_the_script_names_no_installer():
    text = SCRIPT.read_text()
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert "setup.sh" not in code
    assert not re.search(r"\bpip\b|-m venv|\.venv/", code)
    assert "scripts/gpu_check.sh" in (ROOT / "Makefile").read_text()


@pytest.mark.slow
def test_gpu_check_runs_on_the_host_as_it_is(host):
    out_dir = host["dir"] / "out"
    run = subprocess.run(
        ["bash", "-x", str(SCRIPT), "--device", "cpu", "--quick"],
        cwd=ROOT,
        env=host["env"] | {"OUT": str(out_dir)},
        capture_output=True,
        text=True,
        timeout=420,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    trace = [line for line in run.stderr.splitlines() if line.startswith("+")]
    assert not [line for line in trace if re.search(r"setup\.sh|\bpip\b|-m venv", line)], "it set something up"
    assert not host["installed"].exists(), host["installed"].read_text()
    refused = set(host["refused"].read_text().split()) if host["refused"].exists() else set()
    assert not refused & set(INSTALLERS), f"it tried to import {refused & set(INSTALLERS)}"

    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["overall"] == "passed" and summary["device"] == "cpu" and summary["quick"] is True
    steps = {s["name"]: s for s in summary["steps"]}
    assert list(steps) == list(STEPS)
    for name in ("environment", "pytest_gpu", "sim_i", "speed"):
        assert steps[name]["status"] == "passed", steps[name]
        assert steps[name]["wall_seconds"] > 0
    if (ROOT / "bench" / "grid_speed.py").exists():
        assert steps["grid"]["status"] == "passed", steps["grid"]
    else:
        assert steps["grid"] == {
            "name": "grid",
            "status": "skipped",
            "wall_seconds": None,
            "note": "bench/grid_speed.py not present: skipped",
        }
    assert "skipped" in steps["pytest_gpu"]["note"]  # no CUDA here: the gpu tests are collected, then skipped
    env = json.loads((out_dir / "environment.json").read_text())
    assert env["ui_packages_present"] == dict.fromkeys(UI_MODULES, False)
    for path in ("summary.md", "environment.json", "pytest_gpu.xml", "sim-i/result.json", "speed/speed.json"):
        assert (out_dir / path).is_file(), path
    targets = {t["step"]: t for t in summary["targets"]}
    assert targets["sim_i"]["seconds"] == steps["sim_i"]["wall_seconds"]
    assert targets["sim_i"]["verdict"].startswith("not judged (device cpu, quick")
    assert "| sim_i | passed |" in (out_dir / "summary.md").read_text()


# the summary's verdicts


def test_targets_are_judged_only_on_a_full_cuda_run(tmp_path):
    summary = load_summary_module()
    (tmp_path / "steps.tsv").write_text(
        "environment\tpassed\t1.00\tpython -\n"
        "pytest_gpu\tpassed\t9.00\tpython -m pytest\n"
        "sim_i\tpassed\t4.20\tpython -m omib_core train\n"
        "grid\tpassed\t14.00\tpython bench/grid_speed.py\n"
        "speed\tfailed (timed out after 120 s)\t120.00\tpython bench/speed.py\n"
    )
    (tmp_path / "grid").mkdir()
    (tmp_path / "grid" / "grid_speed.json").write_text(json.dumps({"grid_seconds": 11.5}))
    full = summary.summarise(tmp_path, "cuda", quick=False)
    verdicts = {t["step"]: (t["seconds"], t["verdict"]) for t in full["targets"]}
    assert verdicts == {"sim_i": (4.2, "met"), "grid": (11.5, "missed")}  # the grid's own seconds, not the wall
    assert full["overall"] == "failed: speed"
    quick = summary.summarise(tmp_path, "cuda", quick=True)
    assert all(t["verdict"].startswith("not judged") for t in quick["targets"])
    assert "| 30-member teaching grid | 10 | 11.5 | missed |" in summary.markdown(full)
    assert {s["name"]: s.get("note") for s in full["steps"]}[
        "grid"
    ] == "the grid itself: 11.5 s (grid_speed.json:grid_seconds)"
