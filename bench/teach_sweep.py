"""The teaching preset's beta sweep: last-epoch and best-val test accuracy against beta / M_u, 5 seeds, with the
Gaussian and MINE M_u beside the empirical best beta, and the time of one run.

    .venv/bin/python bench/teach_sweep.py [--seeds 5] [--separate] [--report-only]

Also the r table on the same preset: dynamic r against r fixed at 1 at each beta (paired over seeds), and what xi
keeps: I(xi; block) in nats per latent block at the last epoch (omib_core.analysis.information), task information kept
(sum over a-blocks) against superfluous information kept (sum over b-blocks): the information plane.
By default the 6 x seeds runs of each r variant train as one grid (omib_core.train.grid), as the Sweep page and the
CLI train them; ``--separate`` trains every run on its own (two at a time, journaled in
bench/results/teach_sweep.partial.jsonl). Writes bench/results/teach_sweep.json and .md.
"""

from __future__ import annotations

import argparse

from common import journal_results, mean_std, paired, run_grid, run_many, write

SMALLEST = 0.1


def main() -> None:
    from omib_core.presets import TEACHING_SCALES, preset_config

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--report-only", action="store_true")
    p.add_argument("--separate", action="store_true", help="every run on its own instead of one grid per r variant")
    args = p.parse_args()
    jobs = [(sc, s, dyn) for sc in TEACHING_SCALES for s in range(args.seeds) for dyn in (True, False)]
    configs = []
    for sc, s, dyn in jobs:
        c = preset_config("teaching", beta_scale=sc, seed=s, dynamic_r=dyn).to_dict()  # info every 10 main epochs
        c["data"]["seed"] = s
        configs.append(c)
    if args.report_only:
        results = [r or {} for r in journal_results("teach_sweep", configs)]
    elif args.separate:
        results = run_many(configs, journal="teach_sweep")
    else:  # one grid per r variant (a grid's members differ only in beta and seeds)
        by_dyn = {dyn: run_grid([c for c, (_, _, d) in zip(configs, jobs) if d == dyn]) for dyn in (True, False)}
        it = {dyn: iter(rs) for dyn, rs in by_dyn.items()}
        results = [next(it[dyn]) for _, _, dyn in jobs]
    by = {(sc, s, dyn): r for (sc, s, dyn), r in zip(jobs, results)}
    seeds = range(args.seeds)

    def acc(sc: float, sel: str, dyn: bool = True) -> list:
        return [((by[(sc, s, dyn)].get(sel) or {}).get("accuracy")) for s in seeds]

    rows = [
        "| beta / M_u | beta | test, last epoch | test, best-val | train - test acc (last) | KL v1 / v2 nats (last) | paired vs smallest (last) |",
        "|---|---|---|---|---|---|---|",
    ]
    mu = mean_std([by[(TEACHING_SCALES[0], s, True)].get("M_u") for s in seeds])[0]
    lasts = {}
    for sc in TEACHING_SCALES:
        la, bv = acc(sc, "last_test"), acc(sc, "best_val_test")
        lasts[sc] = mean_std(la)[0]
        m, sd = mean_std(la)
        mb, sb = mean_std(bv)
        ends = [by[(sc, s, True)].get("last_epoch_metrics") or {} for s in seeds]
        gap = mean_std([e.get("train/accuracy", float("nan")) - t for e, t in zip(ends, la) if t is not None])[0]
        kl1, kl2 = (mean_std([e.get(f"kl/{v}") for e in ends])[0] for v in ("v1", "v2"))
        rows.append(
            f"| {sc:g} | {sc * mu:.3g} | {m:.3f} ± {sd:.3f} | {mb:.3f} ± {sb:.3f} | {gap:+.3f} | "
            f"{kl1:.2f} / {kl2:.2f} | {paired(la, acc(SMALLEST, 'last_test'))} |"
        )
    best = max(TEACHING_SCALES, key=lambda sc: lasts[sc])
    d = [a - b for a, b in zip(acc(best, "last_test"), acc(SMALLEST, "last_test")) if a is not None and b is not None]
    dm, ds = mean_std(d)
    verdict = "MET" if dm > 2 * ds else "MISSED"
    walls = [r.get("wall_seconds") for r in results if r.get("wall_seconds")]
    grid = results[0].get("grid_size") if results else None
    r_rows = [
        "| beta / M_u | dynamic r, last | r fixed at 1, last | paired dynamic - fixed (last) | paired (best-val) | final r_v2 (mean) |",
        "|---|---|---|---|---|---|",
    ]
    for sc in TEACHING_SCALES:
        dl, fl = acc(sc, "last_test", True), acc(sc, "last_test", False)
        rv2 = mean_std([(by[(sc, s, True)].get("r_final") or [None, None])[1] for s in seeds])[0]
        r_rows.append(
            f"| {sc:g} | {mean_std(dl)[0]:.3f} | {mean_std(fl)[0]:.3f} | {paired(dl, fl)} | "
            f"{paired(acc(sc, 'best_val_test', True), acc(sc, 'best_val_test', False))} | {rv2:.2f} |"
        )
    plane_rows, plane = information_plane(by, seeds)
    bounds = estimator_bounds()
    md = (
        f"Teaching preset (omib_core.presets 'teaching': SIM-TEACH, 1,000 train / 1,000 val / 2,000 test rows, linear "
        f"encoders, no dropout), {args.seeds} seeds (seed = data draw + init), dynamic r. "
        f"Command: `.venv/bin/python bench/teach_sweep.py --seeds {args.seeds}{' --separate' if args.separate else ''}`"
        "\n\n" + "\n".join(rows) + "\n\n"
        f"Empirical best beta (last epoch): {best:g} x M_u = {best * mu:.3g}; against the smallest ({SMALLEST:g} x M_u): "
        f"{dm:+.3f} ± {ds:.3f} paired, target (> 2 std) {verdict}.\n\n"
        f"M_u by estimator on the preset's training rows: {bounds}. Both sit below the empirical best beta: M_u is a "
        "safe, conservative bound.\n\n"
        + (
            f"Each r variant trained as one grid of {grid} runs: {max(walls):.1f} s for the whole grid (1 torch thread, "
            "draws cached, bound and linear reference included).\n\n"
            if grid
            else f"One run: {mean_std(walls)[0]:.1f} s mean, {max(walls):.1f} s max wall time (2 runs at once on the 2 "
            "cores, 1 torch thread each, bound estimate included).\n\n"
        )
        + "r on the same preset, dynamic r against r fixed at 1 (paired over seeds):\n\n"
        + "\n".join(r_rows)
        + "\n\n"
        + information_text(plane_rows, plane, best)
    )
    payload = {"seeds": args.seeds, "M_u": mu, "best_scale": best, "bounds": bounds, "plane": plane, "runs": results}
    write("teach_sweep", payload, md)


BLOCKS = ("a1", "b0", "b1", "b2")  # the teaching preset's non-empty blocks (a0 = a2 = 0)


def information_plane(by: dict, seeds: range) -> tuple[list[str], dict]:
    """Per beta / M_u (dynamic r): I(xi; block) at the last epoch, mean ± std over seeds, and the plane's two sums."""
    from omib_core.analysis.information import kept, table_from_metrics
    from omib_core.presets import TEACHING_SCALES

    rows = [
        "| beta / M_u | " + " | ".join(f"I(xi; {b})" for b in BLOCKS) + " | task kept (a) | superfluous kept (b) | "
        "I(zeta_v2; b2) | test, last epoch |",
        "|---|" + "---|" * (len(BLOCKS) + 4),
    ]
    plane = {}
    for sc in TEACHING_SCALES:
        tables = [table_from_metrics(by[(sc, s, True)].get("info_last") or {}) for s in seeds]
        xi = [t.get("xi", {}) for t in tables]
        task, sup = [kept(x)[0] for x in xi if x], [kept(x)[1] for x in xi if x]
        cells = [mean_std([x.get(b) for x in xi]) for b in BLOCKS]
        z2 = mean_std([t.get("zeta_v2", {}).get("b2") for t in tables])
        acc = mean_std([(by[(sc, s, True)].get("last_test") or {}).get("accuracy") for s in seeds])
        plane[sc] = {"task": mean_std(task), "superfluous": mean_std(sup), "task_seeds": task, "superfluous_seeds": sup}
        rows.append(
            f"| {sc:g} | "
            + " | ".join(f"{m:.2f} ± {s:.2f}" for m, s in cells)
            + f" | {plane[sc]['task'][0]:.2f} ± {plane[sc]['task'][1]:.2f} | "
            f"{plane[sc]['superfluous'][0]:.2f} ± {plane[sc]['superfluous'][1]:.2f} | {z2[0]:.2f} ± {z2[1]:.2f} | "
            f"{acc[0]:.3f} ± {acc[1]:.3f} |"
        )
    return rows, plane


def information_text(rows: list[str], plane: dict, best: float) -> str:
    """The plane's table and the issue-19 targets, checked as measured."""
    from omib_core.presets import TEACHING_SCALES

    sup = [plane[sc]["superfluous"][0] for sc in TEACHING_SCALES]
    mono = all(b < a for a, b in zip(sup, sup[1:]))
    low, at_best = plane[SMALLEST], plane[best]
    half = at_best["superfluous"][0] < 0.5 * low["superfluous"][0]
    task_ratio = at_best["task"][0] / low["task"][0] if low["task"][0] else float("nan")
    return (
        "What xi keeps (dynamic r, last epoch, held-out rows: the 3,000 validation and test rows; nats, mean ± std over "
        "seeds; xi and zeta_i with the bottleneck's noise, one seeded draw):\n\n"
        + "\n".join(rows)
        + "\n\nTargets (issue 19): superfluous information kept falls monotonically with beta: "
        + ("MET" if mono else "MISSED")
        + f" ({' > '.join(f'{v:.2f}' for v in sup)}); at the empirical best beta ({best:g} x M_u) it is below half its "
        f"value at {SMALLEST:g} x M_u: {'MET' if half else 'MISSED'} ({at_best['superfluous'][0]:.2f} against "
        f"{low['superfluous'][0]:.2f}); task information within 10 % of its value at {SMALLEST:g} x M_u: "
        + ("MET" if abs(task_ratio - 1) <= 0.10 else "MISSED")
        + f" ({at_best['task'][0]:.2f} against {low['task'][0]:.2f}, {100 * (task_ratio - 1):+.0f} %).\n"
    )


def estimator_bounds() -> str:
    """M_u from the Gaussian plug-in and from MINE (the paper's estimator) on the preset's seed-0 training rows."""
    from omib_core.bound import estimate_bound
    from omib_core.config import BoundConfig
    from omib_core.data import load_dataset
    from omib_core.presets import preset_config

    ds = load_dataset(preset_config("teaching").data)
    out = []
    for est in ("gaussian", "mine"):
        r = estimate_bound(ds, BoundConfig(estimator=est))
        out.append(f"{est} M_u = {r.M_u:.3g}" if r.M_u is not None else f"{est}: no M_u ({r.failure})")
    return "; ".join(out)


if __name__ == "__main__":
    main()
