"""What a run exports beyond its long metric rows: a wide table a spreadsheet plots at once, and the whole run as
one zip (issue 22). Pure functions over store rows and the run's folder; the pages and the CLI call them.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from omib_core.csvsafe import safe_csv
from omib_core.paths import CHECKPOINT_FILE, HISTORY_FILE, RESULT_FILE, SNAPSHOTS_FOLDER

WIDE_KEYS = ("kind", "stage", "epoch", "step")
PRIVATE_FILES = (CHECKPOINT_FILE,)  # the model and the standardisation statistics of the data
PRIVATE_FOLDERS = (SNAPSHOTS_FOLDER,)  # embeddings, labels and predictions row by row
BUNDLE_FILES = (RESULT_FILE, HISTORY_FILE, CHECKPOINT_FILE)


def wide_metrics(rows: Any) -> Any:
    """Long metric rows (``RunStore.read_metrics``: kind, stage, step, epoch, name, value, ...) -> one row per
    logged (kind, stage, epoch, step), one column per metric name in first-logged order, rows in logged order. A
    metric not logged at a row is NaN here and an empty cell in the CSV (as is a value logged non-finite: the long
    CSV's ``finite`` column tells them apart)."""
    import pandas as pd

    if rows is None or len(rows) == 0:
        return pd.DataFrame(columns=list(WIDE_KEYS))
    df = rows.loc[:, [*WIDE_KEYS, "name", "value"]].copy()
    df["epoch"] = df["epoch"].astype("Int64")
    df["step"] = df["step"].astype("Int64")
    names = list(dict.fromkeys(df["name"]))
    keys = list(WIDE_KEYS)
    wide = df.groupby([*keys, "name"], sort=False, dropna=False)["value"].last().unstack("name")
    logged = pd.MultiIndex.from_frame(df[keys]).unique()  # the (kind, stage, epoch, step) logged, in order
    wide = wide.reindex(index=logged, columns=names).reset_index()
    wide.columns.name = None
    return wide


def wide_metrics_csv(rows: Any) -> str:
    """``wide_metrics`` as formula-safe CSV text; cells with no value are empty."""
    return safe_csv(wide_metrics(rows), na_rep="")


def bundle(run: dict[str, Any], folder: Path | str, metrics: Any, *, private: bool = False) -> bytes:
    """The run as one zip: result.json, history.csv, config.json, metrics (long and wide CSV), the checkpoint and
    the embedding snapshots. ``private=True`` (a run on an upload the downloader may not read) leaves out every
    file from which the data can be recovered or summarised: the checkpoint and the snapshots, saying so in
    ``README.txt``."""
    folder = Path(folder)
    buf = io.BytesIO()
    left_out: list[str] = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.json", json.dumps(run.get("config") or {}, indent=2))
        if metrics is not None:
            zf.writestr("metrics_long.csv", safe_csv(metrics.drop(columns=["id"], errors="ignore")))
            zf.writestr("metrics_wide.csv", wide_metrics_csv(metrics))
        for name in BUNDLE_FILES:
            path = folder / name
            if not path.is_file():
                continue
            if private and name in PRIVATE_FILES:
                left_out.append(name)
                continue
            zf.write(path, name)
        for sub in PRIVATE_FOLDERS:
            d = folder / sub
            if not d.is_dir():
                continue
            if private:
                left_out.append(f"{sub}/")
                continue
            for p in sorted(d.glob("*.npz")):
                zf.write(p, f"{sub}/{p.name}")
        note = [f"OMIB Studio run {run.get('id', '')}: {run.get('name', '')}"]
        if left_out:
            note.append(
                "Left out, because the run trained on an upload you may not read (they hold the model and a summary "
                "of its data): " + ", ".join(left_out) + "."
            )
        zf.writestr("README.txt", "\n".join(note) + "\n")
    return buf.getvalue()
