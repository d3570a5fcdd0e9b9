"""What r buys: the dynamic r (default form) against r fixed at 1, paired over seeds (issue 19).

    .venv/bin/python bench/r_table.py [--seeds 5] [--regimes v2_nuisance v1_nuisance sim_i_512] [--report-only]

Regimes: the pure-nuisance v2 and the only-informative v2 of bench/r_regimes.py (1,000 rows), and SIM-I with 512
superfluous dimensions per view (1,000 rows: the setting where the old r cost most), each at beta = 1 and 30 x M_u.
Seed = data draw + initialisation, shared by the two variants, so differences are paired. Each (regime, variant) is
one grid (omib_core.train.grid: betas x seeds as one batched model). Per run: KL_j of the last main epoch, the mean
r_j over the main stage, test accuracy at the best-validation and at the last epoch, and, where the run reports it
(the per-block estimator, omib_core.analysis.information), the information I(xi; b_j) of the view's superfluous block
in nats. Journaled per grid (bench/results/r_table.jsonl). Writes bench/results/r_table.json and .md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time

from common import RESULTS, mean_std, paired, write
from r_regimes import REGIMES

TABLE_REGIMES = {
    "v2_nuisance": {**REGIMES["v2_nuisance"], "view": "v2", "nuisance": "b2"},
    "v1_nuisance": {**REGIMES["v1_nuisance"], "view": "v2", "nuisance": "b1"},
    "sim_i_512": {"dataset": "sim-i", "params": {"b1": 512, "b2": 512}, "view": "v2", "nuisance": "b2"},
}
VARIANTS = {"r fixed at 1": {"dynamic_r": False}, "dynamic r (default)": {}}
FIXED, DYNAMIC = "r fixed at 1", "dynamic r (default)"
BETAS = (1.0, 30.0)
ROWS = 1000
JOURNAL = RESULTS / "r_table.jsonl"


def run_grid(regime: str, variant: str, seeds: int) -> list[dict]:
    from omib_core.config import DataConfig, RunConfig, TrainConfig
    from omib_core.train import EpochEvent, RunFailed, RunFinished
    from omib_core.train.grid import train_grid

    spec, view = TABLE_REGIMES[regime], TABLE_REGIMES[regime]["view"]
    configs = []
    for beta, seed in itertools.product(BETAS, range(seeds)):
        params = {"n_samples": ROWS, "reference": False, **spec["params"]}
        t = {"seed": seed, "beta_scale": beta, "snapshot_every": 0, "device": "cpu", "num_threads": 1}
        t.update(linear_reference=False, **VARIANTS[variant])
        configs.append(
            RunConfig(data=DataConfig(dataset=spec["dataset"], seed=seed, params=params), train=TrainConfig(**t))
        )
    recs = [{"beta_scale": c.train.beta_scale, "seed": c.train.seed, "r": [], "info": {}} for c in configs]
    for g, ev in train_grid(configs):
        if isinstance(ev, EpochEvent) and ev.stage == "main":
            recs[g]["r"].append(ev.metrics[f"r/{view}"])
            recs[g]["kl"] = {m: v for m, v in ev.metrics.items() if m.startswith("kl/")}
            recs[g]["info"].update({k: v for k, v in ev.metrics.items() if k.startswith("info/xi/")})
        elif isinstance(ev, RunFinished):
            recs[g]["best_val_acc"] = ev.best_val_test_metrics.get("accuracy")
            recs[g]["last_acc"] = ev.last_test_metrics.get("accuracy")
        elif isinstance(ev, RunFailed):
            recs[g]["failed"] = ev.message
    return recs


def _task_info(info: dict) -> float | None:
    """I(xi; a-block) summed over the task blocks a0, a1, ... that the run reported (None: none reported)."""
    a = [v for k, v in info.items() if k.split("/")[-1].startswith("a")]
    return sum(a) if a else None


def report(seeds: int) -> None:
    done = {}
    if JOURNAL.exists():
        for line in JOURNAL.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                done[(rec["regime"], rec["variant"])] = rec["runs"]
    cols = ["KL_v1", "KL_v2", "I(xi; nuisance b) nats", "I(xi; a) nats", "mean r_v2", "test acc, best-val"]
    cols.append("test acc, last")
    lines = [
        "| regime | beta / M_u | variant | " + " | ".join(cols) + " | paired dyn - fixed: KL_v2 | I(xi; nuisance b) | "
        "acc best-val | acc last |",
        "|---|---|---|" + "---|" * (len(cols) + 4),
    ]
    for regime in TABLE_REGIMES:
        for beta in BETAS:
            vals = {}
            for v in VARIANTS:
                runs = sorted(
                    (r for r in done.get((regime, v), []) if r["beta_scale"] == beta), key=lambda r: r["seed"]
                )
                vals[v] = {
                    "KL_v1": [r.get("kl", {}).get("kl/v1") for r in runs],
                    "KL_v2": [r.get("kl", {}).get("kl/v2") for r in runs],
                    "I(xi; nuisance b) nats": [
                        r["info"].get(f"info/xi/{TABLE_REGIMES[regime]['nuisance']}") for r in runs
                    ],
                    "I(xi; a) nats": [_task_info(r["info"]) for r in runs],
                    "mean r_v2": [sum(r["r"]) / len(r["r"]) if r["r"] else None for r in runs],
                    "test acc, best-val": [r.get("best_val_acc") for r in runs],
                    "test acc, last": [r.get("last_acc") for r in runs],
                }
            for v in VARIANTS:
                if not any(x is not None for x in vals[v]["mean r_v2"]):
                    continue
                cells = []
                for c in cols:
                    m, s = mean_std(vals[v][c])
                    cells.append("-" if m != m else f"{m:.3f} ± {s:.3f}" if "acc" in c else f"{m:.2f} ± {s:.2f}")
                pair = (
                    [paired(vals[DYNAMIC][c], vals[FIXED][c]) for c in ("KL_v2", "I(xi; nuisance b) nats")]
                    + [paired(vals[DYNAMIC][c], vals[FIXED][c]) for c in ("test acc, best-val", "test acc, last")]
                    if v == DYNAMIC
                    else [""] * 4
                )
                lines.append(f"| {regime} | {beta:g} | {v} | " + " | ".join(cells + pair) + " |")
    md = (
        f"# What r buys (issue 19)\n\nCommand: `.venv/bin/python bench/r_table.py --seeds {seeds}`. {ROWS:,} rows "
        "(700 train), defaults otherwise (linear encoders, lr 1e-3, dropout 0.1, auto schedule), mean ± std over "
        "seeds; the paired columns are dynamic minus fixed on the same seed (same data draw and initialisation). "
        "KL_j: the last main epoch's mean KL (nats). I(xi; nuisance b): the nuisance view's superfluous block kept in xi "
        "at the last epoch (b2, b1 for v1_nuisance; nats, omib_core.analysis.information); I(xi; a): the task blocks "
        "summed ('-' where the run did not report it: 512-dim blocks are too wide for the held-out rows). v2_nuisance: v2 holds only superfluous blocks (r_v2 > 1 is "
        "meant to squeeze it harder); v1_nuisance: v2 is the only informative view (r_v2 < 1).\n\n"
        + "\n".join(lines)
        + "\n"
    )
    write("r_table", {"seeds": seeds, "runs": {f"{a}|{b}": r for (a, b), r in done.items()}}, md)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--regimes", nargs="+", default=list(TABLE_REGIMES), choices=list(TABLE_REGIMES))
    p.add_argument("--report-only", action="store_true")
    args = p.parse_args()
    if not args.report_only:
        import torch

        torch.set_num_threads(1)
        done = set()
        if JOURNAL.exists():
            done = {(json.loads(x)["regime"], json.loads(x)["variant"]) for x in JOURNAL.read_text().splitlines() if x}
        for regime, variant in itertools.product(args.regimes, VARIANTS):
            if (regime, variant) in done:
                continue
            t0 = time.perf_counter()
            runs = run_grid(regime, variant, args.seeds)
            with JOURNAL.open("a") as f:
                f.write(json.dumps({"regime": regime, "variant": variant, "runs": runs}) + "\n")
            print(f"{regime} / {variant}: {time.perf_counter() - t0:.0f} s", flush=True)
    report(args.seeds)


if __name__ == "__main__":
    main()
