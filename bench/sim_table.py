"""SIM table: SIM-I/II/III x seeds, test accuracy of OMIB and its baselines against the ground truth.

    .venv/bin/python bench/sim_table.py [--seeds 5] [--epochs E]

Writes bench/results/sim_table.json and sim_table.md.
"""

from __future__ import annotations

import argparse

from common import fmt, journal_results, run_many, write

METHODS = {
    "OMIB (beta = M_u)": {},
    "concat late fusion": {"model": {"fusion": "concat", "bottleneck": False}},
    "hand-set beta = 1e-3 (E-MIB style)": {"train": {"beta": 1e-3}},
    "OMIB, r fixed at 1": {"train": {"dynamic_r": False}},
}


def config(dataset: str, seed: int, method: dict, epochs: int | None) -> dict:
    train = {"seed": seed, "snapshot_every": 0, **method.get("train", {})}
    if epochs:
        train["epochs"] = epochs
    return {"data": {"dataset": dataset, "seed": seed}, "model": method.get("model", {}), "train": train}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--datasets", default="sim-i,sim-ii,sim-iii")
    p.add_argument("--report-only", action="store_true", help="tabulate the runs already journaled, run nothing")
    args = p.parse_args()
    datasets = args.datasets.split(",")
    jobs = [(d, s, m) for d in datasets for m in METHODS for s in range(args.seeds)]
    configs = [config(d, s, METHODS[m], args.epochs) for d, s, m in jobs]
    if args.report_only:
        results = [r or {} for r in journal_results("sim_table", configs)]
    else:
        results = run_many(configs, journal="sim_table")
    table: dict[str, dict[str, list[float]]] = {}
    refs: dict[str, dict[str, list[float]]] = {}
    for (d, _s, m), res in zip(jobs, results):
        table.setdefault(d, {}).setdefault(m, []).append((res.get("test") or {}).get("accuracy"))
        for k in ("optimal_mib_accuracy", "bayes_accuracy"):
            if m != next(iter(METHODS)):
                continue  # one reference per data draw
            refs.setdefault(d, {}).setdefault(k, []).append((res.get("reference") or {}).get(k))
    lines = ["| method | " + " | ".join(d.upper() for d in datasets) + " |", "|---|" + "---|" * len(datasets)]
    for m in METHODS:
        cells = [fmt(table[d][m]) for d in datasets]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    for k, label in (("optimal_mib_accuracy", "ground-truth optimal MIB"), ("bayes_accuracy", "Bayes")):
        cells = [fmt(refs[d][k]) for d in datasets]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    md = (
        f"Test accuracy, mean ± std over the seeds run (n per cell; up to {args.seeds}; seed = data draw + init). "
        f"Command: `.venv/bin/python bench/sim_table.py --seeds {args.seeds} --datasets {args.datasets}`\n\n"
        + "\n".join(lines)
        + "\n"
    )
    write("sim_table", {"seeds": args.seeds, "table": table, "reference": refs, "runs": results}, md)


if __name__ == "__main__":
    main()
