"""The CLI end to end, in subprocesses, as a user would call it (in a temporary folder: nothing is left behind)."""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from omib_core import cli as omib_cli
from omib_core.bound.result import BoundResult, Estimate
from omib_core.config import DataConfig, RunConfig
from omib_core.data import load_dataset
from omib_core.runs.recorder import RESULT_KEYS, SHOWN_RESULT_KEYS, SWEEP_RESULT_KEYS

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--param", "n_samples=1200", "--param", "reference=false"]


def cli(*args: str, timeout: int = 240, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m omib_core ARGS``, by default in a fresh temporary folder (so a default ``runs_out/`` lands there)."""
    if cwd is None:
        cwd = Path(tempfile.mkdtemp(prefix="omib_cli_"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "omib_core", *args], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env
    )


def majority_share(dataset: str, **params) -> float:
    """Accuracy of always answering the most common test class: what a model must beat to have learnt."""
    ds = load_dataset(DataConfig(dataset=dataset, params=params))
    counts = np.bincount(ds.target[ds.split == 2])
    return counts.max() / counts.sum()


def test_datasets_lists_sim_ids():
    out = cli("datasets", "--json")
    assert out.returncode == 0, out.stderr
    ids = {d["id"] for d in json.loads(out.stdout)}
    assert {"sim-i", "sim-ii", "sim-iii"} <= ids


def test_bound_writes_json_with_m_u(tmp_path):
    out = cli("bound", "--dataset", "sim-i", *TINY, "--json", str(tmp_path / "b.json"), "--no-cache")
    assert out.returncode == 0, out.stderr
    d = json.loads((tmp_path / "b.json").read_text())
    assert d["estimator"] == "gaussian" and d["M_u"] > 0 and d["M_l"] < d["M_u"]
    assert "M_u =" in out.stdout


@pytest.mark.slow
def test_train_writes_result_and_history(tmp_path):
    out = cli(
        "train",
        "--dataset",
        "sim-i",
        *TINY,
        "--schedule",
        "fixed",
        "--epochs",
        "4",
        "--batch-size",
        "64",
        "--lr",
        "0.003",
        "--warmup-epochs",
        "1",
        "--quiet",
        "--out",
        str(tmp_path),
    )
    assert out.returncode == 0, out.stderr
    res = json.loads((tmp_path / "result.json").read_text())
    for key in RESULT_KEYS:
        assert key in res, key
    assert list(json.loads(out.stdout)) == list(SHOWN_RESULT_KEYS)
    assert res["status"] == "finished" and res["beta_over_Mu"] == pytest.approx(1.0)
    chance = majority_share("sim-i", n_samples=1200, reference=False)
    assert res["test_metrics"]["accuracy"] > chance + 0.2, (res["test_metrics"], chance)  # it learnt
    assert len(res["r_final"]) == 2
    lines = (tmp_path / "history.csv").read_text().splitlines()
    assert len(lines) > 3 and "kl/v1" in lines[0]
    # the final information per latent block, in result.json and on stdout (simulated data: the blocks are known)
    info = res["information"]
    assert info["epoch"] == 4 and set(info["nats"]) == {"xi", "z_v1", "z_v2", "zeta_v1", "zeta_v2"}
    assert set(info["nats"]["z_v1"]) == {"a0", "a1", "a2", "b0", "b1", "b2"}
    assert info["task_kept"]["z_v1"] == pytest.approx(sum(info["nats"]["z_v1"][b] for b in ("a0", "a1", "a2")))
    assert json.loads(out.stdout)["information"] == info and "info/xi/a1" in lines[0]


def test_unknown_dataset_is_a_sentence_not_a_traceback(tmp_path):
    out = cli("train", "--dataset", "sim-iv", "--quiet", cwd=tmp_path)
    assert out.returncode == 2
    assert "sim-iv" in out.stderr and "Traceback" not in out.stderr
    assert list(tmp_path.iterdir()) == [], "a refused dataset left an output folder behind"


def test_bad_beta_is_refused_with_the_parameter_named(tmp_path):
    out = cli("train", "--dataset", "sim-i", "--beta", "-1", "--quiet", cwd=tmp_path)
    assert out.returncode == 2 and "'beta'" in out.stderr and "Traceback" not in out.stderr
    assert list(tmp_path.iterdir()) == []


# the sweep command and the options that change what is trained

SMALL = [
    "--param",
    "n_samples=300",
    "--param",
    "reference=false",
    "--schedule",
    "fixed",
    "--epochs",
    "1",
    "--batch-size",
    "32",
    "--warmup-epochs",
    "1",
    "--quiet",
]


@pytest.mark.slow
def test_sweep_with_a_config_file_fixed_r_concat_fusion_and_a_neural_estimator(tmp_path):
    """``sweep --config`` starts from the file; the flags override it; one run per beta/M_u x seed, and sweep.json."""
    base = RunConfig.from_dict(
        {
            "data": {"dataset": "sim-i"},
            "train": {"batch_size": 32, "lr": 0.002},
            "bound": {"estimator": "gaussian", "steps": 60, "seeds": 1, "batch_size": 64},
        }
    )
    (tmp_path / "base.json").write_text(json.dumps(base.to_dict()))
    out = cli(
        "sweep",
        "--config",
        str(tmp_path / "base.json"),
        *SMALL,
        "--fixed-r",
        "--fusion",
        "concat",
        "--estimator",
        "infonce",
        "--beta-scales",
        "0.5,2",
        "--seeds",
        "0",
        "--out",
        str(tmp_path / "sw"),
    )
    assert out.returncode == 0, out.stderr
    rows = json.loads((tmp_path / "sw" / "sweep.json").read_text())
    assert [(r["beta_scale"], r["seed"], r["status"]) for r in rows] == [(0.5, 0, "finished"), (2.0, 0, "finished")]
    assert list(rows[0]) == ["beta_scale", "seed", *SWEEP_RESULT_KEYS]
    assert rows[1]["beta"] == pytest.approx(4 * rows[0]["beta"]) and rows[0]["M_u"] == rows[1]["M_u"]
    for scale in ("0.5", "2"):
        res = json.loads((tmp_path / "sw" / f"scale{scale}-seed0" / "result.json").read_text())
        cfg = res["config"]
        assert cfg["train"]["batch_size"] == 32 and cfg["train"]["lr"] == 0.002  # from --config
        assert cfg["data"]["params"] == {"n_samples": 300, "reference": False}
        assert cfg["bound"]["estimator"] == "infonce" and cfg["bound"]["steps"] == 60 and res["estimator"] == "infonce"
        assert cfg["model"]["fusion"] == "concat" and cfg["train"]["dynamic_r"] is False
        assert res["r_final"] == [1.0, 1.0], "--fixed-r keeps every r_j at 1"
        assert res["beta_over_Mu"] == pytest.approx(float(scale))


@pytest.mark.slow
def test_train_without_the_bottleneck_has_no_kl_term(tmp_path):
    """``--no-bottleneck``: the same network with zeta_i = mu_i, so every logged KL_i is 0 (and > 0 with it)."""
    import pandas as pd

    kls = {}
    for name, flags in (("plain", ["--no-bottleneck"]), ("omib", [])):
        out = cli("train", "--dataset", "sim-i", *SMALL, *flags, "--out", str(tmp_path / name))
        assert out.returncode == 0, out.stderr
        res = json.loads((tmp_path / name / "result.json").read_text())
        assert res["status"] == "finished" and res["config"]["model"]["bottleneck"] is (name == "omib")
        hist = pd.read_csv(tmp_path / name / "history.csv")
        main = hist[hist["stage"] == "main"]
        kls[name] = main[["kl/v1", "kl/v2"]].to_numpy()
        assert len(main) > 0
    assert (kls["plain"] == 0).all() and (kls["omib"] > 0).all(), kls


def test_bound_exit_code_is_2_when_the_bound_does_not_exist(tmp_path, monkeypatch, capsys):
    """``bound`` exits 0 with an M_u, and 2 (with the reason, and the JSON still written) when there is none."""
    import omib_core.bound as bound_pkg

    failure = "H_joint came out as -3 nats: the bound does not exist at this sample size."
    none = BoundResult("mine", ("v1", "v2"), {}, None, Estimate("H_joint", -3.0), None, None, failure=failure)
    monkeypatch.setattr(bound_pkg, "estimate_bound", lambda *a, **k: none)
    args = ["bound", "--dataset", "sim-i", "--param", "n_samples=300", "--param", "reference=false", "--no-cache"]
    assert omib_cli.main([*args, "--estimator", "mine", "--json", str(tmp_path / "none.json")]) == 2
    assert f"M_u: none. {failure}" in capsys.readouterr().out
    assert json.loads((tmp_path / "none.json").read_text())["failure"] == failure
    monkeypatch.undo()
    assert omib_cli.main([*args, "--json", str(tmp_path / "ok.json")]) == 0
    assert json.loads((tmp_path / "ok.json").read_text())["M_u"] > 0


@pytest.mark.parametrize("param", ["n_samples=1000000000000", "b1=1000000000"])
def test_a_run_that_cannot_fit_in_memory_is_a_sentence_before_any_data_are_drawn(param, tmp_path, capsys):
    """Issue 20: ``--param n_samples=1e12`` / ``b1=1e9`` used to end in numpy's _ArrayMemoryError traceback (exit 1)."""
    out = tmp_path / "run"
    code = omib_cli.main(["train", "--dataset", "sim-i", "--param", param, "--quiet", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "This run needs about" in err and "Use data." in err and "Traceback" not in err
    assert not out.exists()  # refused before anything was drawn or written


def test_running_out_of_memory_anyway_is_a_sentence(monkeypatch, capsys):
    import argparse

    def boom(args):
        raise MemoryError("Unable to allocate 14.6 TiB for an array")

    class Parser:
        def parse_args(self, argv):
            return argparse.Namespace(func=boom)

    monkeypatch.setattr(omib_cli, "make_parser", Parser)
    assert omib_cli.main(["train"]) == 2
    err = capsys.readouterr().err
    assert "does not fit in memory (Unable to allocate 14.6 TiB" in err and "Lower n_samples" in err
