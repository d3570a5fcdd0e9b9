"""SIM table: SIM-I/II/III x seeds, test accuracy of OMIB beside its strong simple baselines and the ground truth.

    .venv/bin/python bench/sim_table.py [--seeds 5] [--epochs E] [--report-only]

Every method at the default settings; each cell gives the test accuracy at the best-validation epoch and at the last
epoch (mean ± std over the seeds; seed = data draw + init), and the paired differences OMIB - linear and
OMIB - no bottleneck. Writes bench/results/sim_table.json and sim_table.md.
"""

from __future__ import annotations

from common import LINEAR, METHODS, fmt, method_runs, paired, selections, write

OMIB = next(iter(METHODS))


def main() -> None:
    args, datasets, jobs, results = method_runs("sim_table", "sim-i,sim-ii,sim-iii")
    best: dict[str, dict[str, list]] = {}
    last: dict[str, dict[str, list]] = {}
    refs: dict[str, dict[str, list]] = {}
    for (d, _s, m), res in zip(jobs, results):
        b, la = selections(res, "accuracy")
        best.setdefault(d, {}).setdefault(m, []).append(b)
        last.setdefault(d, {}).setdefault(m, []).append(la)
        if m == OMIB:  # one reference per data draw
            for k in ("optimal_mib_accuracy", "bayes_accuracy"):
                refs.setdefault(d, {}).setdefault(k, []).append((res.get("reference") or {}).get(k))
    head = "| method | " + " | ".join(f"{d.upper()} best-val | {d.upper()} last" for d in datasets) + " |"
    lines = [head, "|---|" + "---|---|" * len(datasets)]
    for m in METHODS:
        lines.append(f"| {m} | " + " | ".join(f"{fmt(best[d][m])} | {fmt(last[d][m])}" for d in datasets) + " |")
    for k, label in (("optimal_mib_accuracy", "ground-truth optimal MIB"), ("bayes_accuracy", "Bayes")):
        lines.append(f"| {label} | " + " | ".join(f"{fmt(refs[d][k])} | " for d in datasets) + " |")
    diffs = [
        "| paired difference | " + " | ".join(f"{d.upper()} best-val | {d.upper()} last" for d in datasets) + " |",
        "|---|" + "---|---|" * len(datasets),
    ]
    for other in (LINEAR, "same network, no bottleneck", "concat late fusion", "OMIB, r fixed at 1"):
        cells = [f"{paired(best[d][OMIB], best[d][other])} | {paired(last[d][OMIB], last[d][other])}" for d in datasets]
        diffs.append(f"| OMIB - {other} | " + " | ".join(cells) + " |")
    md = (
        f"Test accuracy, mean ± std over {args.seeds} seeds (seed = data draw + init), default settings; best-val = "
        "test at the epoch with the best validation accuracy (restored weights), last = test at the last epoch. "
        f"Command: `.venv/bin/python bench/sim_table.py --seeds {args.seeds} --datasets {args.datasets}`\n\n"
        + "\n".join(lines)
        + "\n\nPaired differences (same seeds), mean ± std:\n\n"
        + "\n".join(diffs)
        + "\n"
    )
    write("sim_table", {"seeds": args.seeds, "best_val": best, "last": last, "reference": refs, "runs": results}, md)


if __name__ == "__main__":
    main()
