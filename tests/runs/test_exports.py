"""Exports a spreadsheet opens (issue 22): the wide metrics table and the run bundle."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pandas as pd

from omib_core.runs.exports import bundle, wide_metrics, wide_metrics_csv


def long_rows() -> pd.DataFrame:
    rows = [
        ("step", "warmup", 0, 0, "loss", 1.0),
        ("step", "warmup", 1, 0, "loss", 0.9),
        ("epoch", "warmup", 1, 0, "val/accuracy", 0.5),
        ("step", "main", 2, 1, "loss", 0.8),
        ("step", "main", 2, 1, "r/v2", 1.1),
        ("epoch", "main", 2, 1, "val/accuracy", 0.6),
        ("epoch", "main", 2, 1, "test/accuracy", 0.55),
        ("step", "main", 3, 1, "loss", np.nan),
    ]
    df = pd.DataFrame(rows, columns=["kind", "stage", "step", "epoch", "name", "value"])
    df.insert(0, "id", range(1, len(df) + 1))
    df["finite"] = df["value"].notna()
    df["t"] = 0.0
    return df


def test_wide_metrics_has_one_row_per_logged_step_and_one_column_per_metric():
    wide = wide_metrics(long_rows())
    assert list(wide.columns) == ["kind", "stage", "epoch", "step", "loss", "val/accuracy", "r/v2", "test/accuracy"]
    assert list(zip(wide["kind"], wide["step"])) == [
        ("step", 0),
        ("step", 1),
        ("epoch", 1),
        ("step", 2),
        ("epoch", 2),
        ("step", 3),
    ]
    main_step = wide[(wide["kind"] == "step") & (wide["step"] == 2)].iloc[0]
    assert main_step["loss"] == 0.8 and main_step["r/v2"] == 1.1 and np.isnan(main_step["val/accuracy"])
    text = wide_metrics_csv(long_rows())
    lines = text.splitlines()
    assert lines[0] == "kind,stage,epoch,step,loss,val/accuracy,r/v2,test/accuracy"
    assert lines[1] == "step,warmup,0,0,1.0,,," and "nan" not in text.lower()  # empty where not logged
    assert len(pd.read_csv(io.StringIO(text))) == 6


def test_wide_metrics_is_formula_safe_and_handles_no_rows():
    rows = long_rows()
    rows.loc[0, "name"] = "=HYPERLINK(1)"
    assert "'=HYPERLINK(1)" in wide_metrics_csv(rows).splitlines()[0]
    assert list(wide_metrics(rows.iloc[:0]).columns) == ["kind", "stage", "epoch", "step"]


def test_bundle_holds_the_run_and_leaves_private_files_out(tmp_path):
    (tmp_path / "snapshots").mkdir()
    (tmp_path / "result.json").write_text("{}")
    (tmp_path / "history.csv").write_text("kind\n")
    (tmp_path / "checkpoint.pt").write_bytes(b"ck")
    (tmp_path / "snapshots" / "epoch_0001.npz").write_bytes(b"np")
    (tmp_path / "worker.log").write_text("paths and tracebacks")
    run = {"id": "abc", "name": "r", "config": {"train": {"seed": 3}}}
    full = zipfile.ZipFile(io.BytesIO(bundle(run, tmp_path, long_rows())))
    assert sorted(full.namelist()) == sorted(
        [
            "config.json",
            "metrics_long.csv",
            "metrics_wide.csv",
            "result.json",
            "history.csv",
            "checkpoint.pt",
            "snapshots/epoch_0001.npz",
            "README.txt",
        ]
    )
    assert json.loads(full.read("config.json")) == run["config"]
    private = zipfile.ZipFile(io.BytesIO(bundle(run, tmp_path, long_rows(), private=True)))
    assert "checkpoint.pt" not in private.namelist() and not any(n.startswith("snapshots/") for n in private.namelist())
    assert "checkpoint.pt, snapshots/" in private.read("README.txt").decode()
