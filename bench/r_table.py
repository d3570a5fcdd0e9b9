"""The r table: dynamic r (each form) against r fixed at 1, paired over seeds, in the regime where the old r cost most:
512 superfluous dimensions per view and 700 training rows (SIM-I, 1,000 rows), plus the final r of each form.

    .venv/bin/python bench/r_table.py [--seeds 5] [--report-only]

The SIM-I/II/III defaults and the teaching preset's r comparisons are in sim_table.md and teach_sweep.md.
Journaled (bench/results/r_table.partial.jsonl). Writes bench/results/r_table.json and .md.
"""

from __future__ import annotations

import argparse

from common import journal_results, mean_std, paired, run_many, selections, write

DATA = {"dataset": "sim-i", "params": {"n_samples": 1000, "b1": 512, "b2": 512}}
VARIANTS = {
    "r fixed at 1": {"dynamic_r": False},
    "dynamic r, info_gain (default)": {"r_form": "info_gain"},
    "dynamic r, ratio_of_means": {"r_form": "ratio_of_means"},
    "dynamic r, mean_of_ratios (Eq. 11 as written)": {"r_form": "mean_of_ratios"},
}
FIXED = "r fixed at 1"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--report-only", action="store_true")
    args = p.parse_args()
    jobs = [(v, s) for v in VARIANTS for s in range(args.seeds)]
    configs = [
        {
            "data": {**DATA, "seed": s},
            "train": {"seed": s, "snapshot_every": 0, "linear_reference": False, **VARIANTS[v]},
        }
        for v, s in jobs
    ]
    results = (
        [r or {} for r in journal_results("r_table", configs)]
        if args.report_only
        else run_many(configs, journal="r_table")
    )
    acc = {v: {"best": [], "last": []} for v in VARIANTS}
    r2 = {v: [] for v in VARIANTS}
    for (v, _s), r in zip(jobs, results):
        b, la = selections(r, "accuracy")
        acc[v]["best"].append(b)
        acc[v]["last"].append(la)
        r2[v].append((r.get("r_final") or [None, None])[1])
    lines = [
        "| variant | test, best-val | test, last | paired - fixed (best-val) | paired - fixed (last) | final r_v2 |",
        "|---|---|---|---|---|---|",
    ]
    for v in VARIANTS:
        (mb, sb), (ml, sl) = mean_std(acc[v]["best"]), mean_std(acc[v]["last"])
        rr = [x for x in r2[v] if x is not None]
        lines.append(
            f"| {v} | {mb:.3f} ± {sb:.3f} | {ml:.3f} ± {sl:.3f} | {paired(acc[v]['best'], acc[FIXED]['best'])} | "
            f"{paired(acc[v]['last'], acc[FIXED]['last'])} | {mean_std(rr)[0]:.2f} ± {mean_std(rr)[1]:.2f} |"
        )
    md = (
        f"SIM-I with 512 superfluous dimensions per view, 1,000 rows (700 train), defaults otherwise, {args.seeds} seeds "
        "(seed = data draw + init). v2 holds less task information than v1 here, so r_v2 > 1 is the intended "
        f"direction. Command: `.venv/bin/python bench/r_table.py --seeds {args.seeds}`\n\n" + "\n".join(lines) + "\n"
    )
    write("r_table", {"seeds": args.seeds, "accuracy": acc, "r_v2": r2, "runs": results}, md)


if __name__ == "__main__":
    main()
