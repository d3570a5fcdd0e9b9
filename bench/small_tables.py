"""Small tables at the defaults: ~150-row, two-view table datasets written in the folder format (CSV files, as a user
would bring them) and trained with no option set, against their logistic regression.

    .venv/bin/python bench/small_tables.py [--seeds 5] [--report-only]

- wine (scikit-learn, 178 rows, 3 classes): view "chem" = the first 7 columns, view "color" = the last 6;
- iris (scikit-learn, 150 rows, 3 classes): view "sepal" = 2 columns, view "petal" = 2 columns.
Target: OMIB within 0.02 of the dataset's logistic regression (mean over seeds). Writes bench/results/small_tables.*.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from common import RESULTS, fmt, journal_results, mean_std, paired, run_many, selections, write

FOLDERS = RESULTS.parent / "data"  # bench/data/<name>: generated here, git-ignored


def write_folders() -> dict[str, str]:
    from sklearn.datasets import load_iris, load_wine

    out = {}
    for name, loader, cut, names in (
        ("wine", load_wine, 7, ("chem", "color")),
        ("iris", load_iris, 2, ("sepal", "petal")),
    ):
        b = loader()
        folder = FOLDERS / name
        folder.mkdir(parents=True, exist_ok=True)
        cols = [c.replace(" ", "_").replace("/", "_").replace("(", "").replace(")", "") for c in b.feature_names]
        x = pd.DataFrame(b.data, columns=cols)
        x.iloc[:, :cut].to_csv(folder / f"{names[0]}.csv", index=False)
        x.iloc[:, cut:].to_csv(folder / f"{names[1]}.csv", index=False)
        pd.DataFrame({"label": b.target.astype(np.int64)}).to_csv(folder / "labels.csv", index=False)
        out[name] = str(folder)
    return out


METHODS = {
    "OMIB (defaults)": {},
    "linear (logistic regression, C on val)": {"baseline": "linear"},
    "same network, no bottleneck": {"model": {"bottleneck": False}},
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--report-only", action="store_true")
    args = p.parse_args()
    folders = write_folders()
    jobs = [(n, m, s) for n in folders for m in METHODS for s in range(args.seeds)]
    configs = []
    for n, m, s in jobs:
        c = {
            "data": {"dataset": str(Path(folders[n]).relative_to(RESULTS.parent.parent)), "seed": s},
            "model": METHODS[m].get("model", {}),
            "train": {"seed": s, "snapshot_every": 0, "linear_reference": False},
        }
        if METHODS[m].get("baseline"):
            c["baseline"] = METHODS[m]["baseline"]
        configs.append(c)
    results = (
        [r or {} for r in journal_results("small_tables", configs)]
        if args.report_only
        else run_many(configs, journal="small_tables")
    )
    table = {n: {m: {"best": [], "last": []} for m in METHODS} for n in folders}
    sched = {}
    for (n, m, _s), r in zip(jobs, results):
        b, la = selections(r, "accuracy")
        table[n][m]["best"].append(b)
        table[n][m]["last"].append(la)
        if r.get("schedule"):
            sched[n] = r["schedule"]
    lines = [
        "| method | " + " | ".join(f"{n} best-val | {n} last" for n in folders) + " |",
        "|---|" + "---|---|" * len(folders),
    ]
    for m in METHODS:
        lines.append(
            f"| {m} | " + " | ".join(f"{fmt(table[n][m]['best'])} | {fmt(table[n][m]['last'])}" for n in folders) + " |"
        )
    verdicts = []
    omib, lin = "OMIB (defaults)", "linear (logistic regression, C on val)"
    for n in folders:
        gap = mean_std(table[n][omib]["best"])[0] - mean_std(table[n][lin]["best"])[0]
        verdicts.append(
            f"- {n}: OMIB - linear = {gap:+.3f} (paired {paired(table[n][omib]['best'], table[n][lin]['best'])}); "
            f"target (>= -0.02) {'MET' if gap >= -0.02 else 'MISSED'}. Auto schedule: "
            f"{'; '.join(sched.get(n, {}).get('changes', [])) or '-'}."
        )
    md = (
        f"Small two-view tables in the folder format, every option at its default, {args.seeds} seeds (seed = split + "
        f"init). Command: `.venv/bin/python bench/small_tables.py --seeds {args.seeds}`\n\n"
        + "\n".join(lines)
        + "\n\n"
        + "\n".join(verdicts)
        + "\n"
    )
    write("small_tables", {"seeds": args.seeds, "table": table, "runs": results}, md)


if __name__ == "__main__":
    main()
