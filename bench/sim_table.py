"""SIM table: SIM-I/II/III x seeds, test accuracy of OMIB and its baselines against the ground truth.

    .venv/bin/python bench/sim_table.py [--seeds 5] [--epochs E]

Writes bench/results/sim_table.json and sim_table.md.
"""

from __future__ import annotations

import argparse

from common import mean_std, run_many, write

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
    args = p.parse_args()
    datasets = args.datasets.split(",")
    jobs = [(d, s, m) for d in datasets for m in METHODS for s in range(args.seeds)]
    results = run_many([config(d, s, METHODS[m], args.epochs) for d, s, m in jobs], journal="sim_table")
    table: dict[str, dict[str, list[float]]] = {}
    refs: dict[str, dict[str, list[float]]] = {}
    for (d, _s, m), res in zip(jobs, results):
        table.setdefault(d, {}).setdefault(m, []).append((res.get("test") or {}).get("accuracy"))
        for k in ("optimal_mib_accuracy", "bayes_accuracy"):
            refs.setdefault(d, {}).setdefault(k, []).append((res.get("reference") or {}).get(k))
    lines = ["| method | " + " | ".join(d.upper() for d in datasets) + " |", "|---|" + "---|" * len(datasets)]
    for m in METHODS:
        cells = ["{:.3f} ± {:.3f}".format(*mean_std(table[d][m])) for d in datasets]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    for k, label in (("optimal_mib_accuracy", "ground-truth optimal MIB"), ("bayes_accuracy", "Bayes")):
        cells = ["{:.3f} ± {:.3f}".format(*mean_std(refs[d][k])) for d in datasets]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    md = (
        f"Test accuracy, mean ± std over {args.seeds} seeds (seed = data draw + init). "
        "Command: `.venv/bin/python bench/sim_table.py`\n\n" + "\n".join(lines) + "\n"
    )
    write("sim_table", {"seeds": args.seeds, "table": table, "reference": refs, "runs": results}, md)


if __name__ == "__main__":
    main()
