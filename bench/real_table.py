"""Real-data table: the UCI Multiple Features presets and breast cancer x seeds, test accuracy of OMIB and its
baselines (no ground truth on real data).

    .venv/bin/python bench/real_table.py [--seeds 5] [--epochs E] [--datasets a,b] [--report-only]

Same methods (OMIB, the linear baseline, the same network without the bottleneck, concat, r fixed) and default
training config as sim_table.py. Journaled (bench/results/real_table.partial.jsonl):
a rerun skips the runs already done. Writes bench/results/real_table.json and real_table.md.
"""

from __future__ import annotations

from common import LINEAR, METHODS, fmt, mean_std, method_runs, paired, selections, write

DATASETS = "uci-mfeat-fac-mor,uci-mfeat-zer-mor,breast-cancer,digits,nutrimouse"
STRONG_WEAK = "uci-mfeat-fac-mor"
OMIB = next(iter(METHODS))


def bound_line(dataset: str, m_u: list[float | None]) -> str:
    """M_u over the seeds' training splits and how the seed-0 split's bound was estimated."""
    from omib_core.bound import estimate_bound
    from omib_core.config import DataConfig
    from omib_core.data import load_dataset

    r = estimate_bound(load_dataset(DataConfig(dataset=dataset, seed=0)))
    vals = [v for v in m_u if v is not None]
    mu = f"{mean_std(vals)[0]:.4g} (mean over {len(vals)} runs)" if vals else f"{r.M_u:.4g} (seed-0 split)"
    how = r.settings.get("entropy", "differential")
    note = f" Why: {r.warning.split('. ')[0]}." if r.warning else ""
    return f"- {dataset}: M_u = {mu}, H_joint = {r.h_joint.value:.1f} nats, entropy: {how}.{note}"


def verdict(table: dict[str, dict[str, list[float | None]]], datasets: list[str]) -> list[str]:
    """One sentence per dataset: OMIB against the best simple baseline (target: >= its mean minus one std)."""
    out = []
    for d in datasets:
        stats = {m: mean_std(v) for m, v in table[d].items() if any(x is not None for x in v)}
        if OMIB not in stats or len(stats) < 2:
            continue
        simple = [m for m in (LINEAR, "same network, no bottleneck", "concat late fusion") if m in stats]
        best = max(simple, key=lambda m: stats[m][0])
        (mo, so), (mb, sb) = stats[OMIB], stats[best]
        ok = mo >= mb - sb
        out.append(
            f"- {d}: OMIB {mo:.4f} ± {so:.4f} vs the best simple baseline ({best}, {mb:.4f} ± {sb:.4f}): "
            f"{mo - mb:+.4f}; target (>= best - one std) {'MET' if ok else 'MISSED'}. "
            f"Paired OMIB - linear: {paired(table[d][OMIB], table[d][LINEAR])}."
        )
    return out


def main() -> None:
    args, datasets, jobs, results = method_runs("real_table", DATASETS)
    best: dict[str, dict[str, list[float | None]]] = {}
    last: dict[str, dict[str, list[float | None]]] = {}
    m_u: dict[str, list[float | None]] = {}
    failed = []
    for (d, s, m), res in zip(jobs, results):
        b, la = selections(res, "accuracy")
        best.setdefault(d, {}).setdefault(m, []).append(b)
        last.setdefault(d, {}).setdefault(m, []).append(la)
        if m == OMIB:
            m_u.setdefault(d, []).append(res.get("M_u"))
        if res.get("status") == "failed":
            failed.append(f"- {d} seed {s} {m}: {res.get('error')}")
    lines = [
        "| method | " + " | ".join(f"{d} best-val | {d} last" for d in datasets) + " |",
        "|---|" + "---|---|" * len(datasets),
    ]
    for m in METHODS:
        lines.append(f"| {m} | " + " | ".join(f"{fmt(best[d][m])} | {fmt(last[d][m])}" for d in datasets) + " |")
    done = sum(1 for r in results if r.get("status") == "finished")
    command = f"`.venv/bin/python bench/real_table.py --seeds {args.seeds} --datasets {args.datasets}`"
    md = (
        f"Test accuracy, mean ± std over the seeds run (n per cell; up to {args.seeds}; seed = split + init), "
        f"default settings (as bench/sim_table.py); best-val = test at the best-validation epoch, last = test at the "
        f"last epoch. {done} of {len(jobs)} runs finished. Command: {command}\n\n" + "\n".join(lines) + "\n\n"
        "How M_u was estimated (gaussian estimator, standardised training rows):\n\n"
        + "\n".join(bound_line(d, m_u.get(d, [])) for d in datasets)
        + "\n\nOMIB (best-val selection) against the best simple baseline:\n\n"
        + "\n".join(verdict(best, datasets) or ["- no finished runs yet"])
        + "\n"
        + ("\nFailed runs:\n\n" + "\n".join(failed) + "\n" if failed else "")
    )
    write(
        "real_table",
        {"seeds": args.seeds, "datasets": datasets, "best_val": best, "last": last, "M_u": m_u, "runs": results},
        md,
    )


if __name__ == "__main__":
    main()
