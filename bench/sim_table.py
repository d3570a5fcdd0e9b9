"""SIM table: SIM-I/II/III x seeds, test accuracy of OMIB and its baselines against the ground truth.

    .venv/bin/python bench/sim_table.py [--seeds 5] [--epochs E]

Writes bench/results/sim_table.json and sim_table.md.
"""

from __future__ import annotations

from common import METHODS, fmt, method_runs, write


def main() -> None:
    args, datasets, jobs, results = method_runs("sim_table", "sim-i,sim-ii,sim-iii")
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
