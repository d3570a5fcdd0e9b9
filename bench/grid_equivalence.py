"""Grid vs separate runs: the teaching preset's 6 x 5 beta x seed grid trained both ways, compared per beta, paired
over the same seeds (same data draw and initialisation; only the noise draws and batch order differ).

    .venv/bin/python bench/grid_equivalence.py [--seeds 5]

Separate runs train two at a time in their own processes (``bench/common.run_many``, journaled in
bench/results/grid_equivalence.partial.jsonl); the grid trains them as one model in this process. The target: per
beta, the mean paired difference grid - separate within one standard deviation (of the paired differences, and of
the separate runs' spread over seeds). Writes bench/results/grid_equivalence.json and .md.
"""

from __future__ import annotations

import argparse
import os
import time

from common import mean_std, run_grid, run_many, write


def main() -> None:
    from omib_core.presets import TEACHING_SCALES, preset_config

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    args = p.parse_args()
    keys = [(sc, s) for sc in TEACHING_SCALES for s in range(args.seeds)]
    configs = []
    for sc, s in keys:
        c = preset_config("teaching", beta_scale=sc, seed=s, snapshot_every=0).to_dict()
        c["data"]["seed"] = s
        configs.append(c)
    load0 = os.getloadavg()
    t = time.perf_counter()
    sep = run_many(configs, journal="grid_equivalence")
    t_sep = time.perf_counter() - t
    t = time.perf_counter()
    grid = run_grid(configs)
    t_grid = time.perf_counter() - t
    load1 = os.getloadavg()
    S = dict(zip(keys, sep))
    G = dict(zip(keys, grid))
    rows = [
        "| beta / M_u | separate, last | grid, last | paired grid - separate (last) | separate, best-val | grid, best-val "
        "| paired (best-val) | within 1 std (last / best-val) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    table = []
    for sc in TEACHING_SCALES:
        cells, ok = [], []
        entry = {"beta_over_Mu": sc}
        for sel in ("last_test", "best_val_test"):
            a = [(S[(sc, s)].get(sel) or {}).get("accuracy") for s in range(args.seeds)]
            b = [(G[(sc, s)].get(sel) or {}).get("accuracy") for s in range(args.seeds)]
            d = [y - x for x, y in zip(a, b) if x is not None and y is not None]
            (ma, sa), (mb, sb), (md, sd) = mean_std(a), mean_std(b), mean_std(d)
            within = abs(md) <= sd + 1e-12 or abs(md) <= sa + 1e-12
            ok.append(within)
            cells += [f"{ma:.3f} ± {sa:.3f}", f"{mb:.3f} ± {sb:.3f}", f"{md:+.3f} ± {sd:.3f}"]
            entry[sel] = {"separate": [ma, sa], "grid": [mb, sb], "paired": [md, sd], "within_1_std": within}
        verdicts += ok
        table.append(entry)
        rows.append(
            f"| {sc:g} | {cells[0]} | {cells[1]} | {cells[2]} | {cells[3]} | {cells[4]} | {cells[5]} | "
            f"{'yes' if ok[0] else '**no**'} / {'yes' if ok[1] else '**no**'} |"
        )
    met = all(verdicts)
    md_text = (
        f"Grid vs separate runs on the teaching preset, {args.seeds} seeds (seed = data draw + initialisation), "
        "dynamic r, test accuracy. Command: `.venv/bin/python bench/grid_equivalence.py`. Load average "
        f"{tuple(round(x, 2) for x in load0)} -> {tuple(round(x, 2) for x in load1)}.\n\n"
        + "\n".join(rows)
        + f"\n\nWithin 1 std = |mean paired difference| <= the std of the paired differences or of the separate runs "
        f"over seeds. Target (every beta, both selections): **{'MET' if met else 'MISSED'}**.\n\n"
        f"Time: {len(configs)} separate runs, two at a time: {t_sep:.1f} s; the same {len(configs)} as one grid: "
        f"{t_grid:.1f} s (separate runs draw their data and fit the linear reference in their own process; the grid "
        "reads the draws from the cache).\n"
    )
    write(
        "grid_equivalence",
        {"seeds": args.seeds, "table": table, "met": met, "separate_seconds": t_sep, "grid_seconds": t_grid},
        md_text,
    )


if __name__ == "__main__":
    main()
