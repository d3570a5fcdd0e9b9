"""beta sweep: test accuracy against beta/M_u on SIM-I and SIM-III (the paper's Figure 3).

    .venv/bin/python bench/beta_sweep.py [--seeds 3]

Writes bench/results/beta_sweep.json and beta_sweep.md.
"""

from __future__ import annotations

import argparse

from common import fmt, journal_results, mean_std, run_many, write

SCALES = [0.01, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--datasets", default="sim-i,sim-iii")
    p.add_argument("--report-only", action="store_true", help="tabulate the runs already journaled, run nothing")
    args = p.parse_args()
    datasets = args.datasets.split(",")
    jobs = [(d, sc, s) for d in datasets for sc in SCALES for s in range(args.seeds)]
    configs = [
        {"data": {"dataset": d, "seed": s}, "train": {"seed": s, "beta_scale": sc, "snapshot_every": 0}}
        for d, sc, s in jobs
    ]
    if args.report_only:
        results = [r or {} for r in journal_results("beta_sweep", configs)]
    else:
        results = run_many(configs, journal="beta_sweep")
    acc: dict[str, dict[float, list[float]]] = {}
    mu: dict[str, list[float]] = {}
    for (d, sc, _s), res in zip(jobs, results):
        acc.setdefault(d, {}).setdefault(sc, []).append((res.get("test") or {}).get("accuracy"))
        mu.setdefault(d, []).append(res.get("M_u"))
    lines = ["| beta / M_u | " + " | ".join(d.upper() for d in datasets) + " |", "|---|" + "---|" * len(datasets)]
    for sc in SCALES:
        lines.append(f"| {sc:g} | " + " | ".join(fmt(acc[d][sc]) for d in datasets) + " |")
    mus = ", ".join(f"{d.upper()} M_u = {mean_std([m for m in mu[d] if m is not None])[0]:.3g}" for d in datasets)
    md = (
        f"Test accuracy against beta/M_u, mean ± std over {args.seeds} seeds ({mus}). "
        f"Command: `.venv/bin/python bench/beta_sweep.py --seeds {args.seeds} --datasets {args.datasets}`\n\n"
        + "\n".join(lines)
        + "\n"
    )
    write(
        "beta_sweep",
        {
            "seeds": args.seeds,
            "scales": SCALES,
            "accuracy": {d: {str(k): v for k, v in a.items()} for d, a in acc.items()},
            "runs": results,
        },
        md,
    )


if __name__ == "__main__":
    main()
