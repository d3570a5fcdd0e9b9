"""The CLI end to end, in subprocesses, as a user would call it."""

import json
import subprocess
import sys

import pytest

TINY = ["--param", "n_samples=1200", "--param", "reference=false"]


def cli(*args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "omib_core", *args], capture_output=True, text=True, timeout=timeout)


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
    out = cli("train", "--dataset", "sim-i", *TINY, "--schedule", "fixed", "--epochs", "2", "--warmup-epochs", "1", "--quiet",
              "--out", str(tmp_path))  # fmt: skip
    assert out.returncode == 0, out.stderr
    res = json.loads((tmp_path / "result.json").read_text())
    for key in ("dataset", "seed", "beta", "M_u", "beta_over_Mu", "estimator", "r_final", "test_metrics",
                "reference", "wall_seconds", "samples_per_second"):  # fmt: skip
        assert key in res, key
    assert res["status"] == "finished" and res["beta_over_Mu"] == pytest.approx(1.0)
    assert 0 <= res["test_metrics"]["accuracy"] <= 1 and len(res["r_final"]) == 2
    lines = (tmp_path / "history.csv").read_text().splitlines()
    assert len(lines) > 3 and "kl/v1" in lines[0]


def test_unknown_dataset_is_a_sentence_not_a_traceback():
    out = cli("train", "--dataset", "sim-iv", "--quiet")
    assert out.returncode == 2
    assert "sim-iv" in out.stderr and "Traceback" not in out.stderr


def test_bad_beta_is_refused_with_the_parameter_named():
    out = cli("train", "--dataset", "sim-i", "--beta", "-1", "--quiet")
    assert out.returncode == 2 and "'beta'" in out.stderr and "Traceback" not in out.stderr
