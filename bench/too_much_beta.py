"""Where the accuracy goes at too much beta (issue 19): the teaching preset at 30 and 300 x M_u, 5 seeds, dynamic r,
trained as one grid; per run the time course (test accuracy and I(xi; a1) every 10 main epochs) and, at the last
epoch, what xi holds and what can be read from it.

    .venv/bin/python bench/too_much_beta.py [--seeds 5] [--scales 30 300]

At the last epoch, on the held-out rows (1,000 validation + 2,000 test rows):
- I(xi; a1) and I(xi; b2) in nats on the *sampled* path (zeta_i = mu_i + sigma_i eps_i, what the run logs) and on the
  *deterministic* path (zeta_i = mu_i, what dDec sees at test time);
- dDec's test accuracy against logistic regression on the same deterministic xi (fitted on the training rows, C
  chosen on validation): the decoder's share of the loss;
- train accuracy (underfitting shows in train and test alike) and the slope of test accuracy over the last 30 main
  epochs (still rising = the run ended too early).
Writes bench/results/too_much_beta.json and .md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import mean_std, write


def probe_accuracy(xi_tr, y_tr, xi_va, y_va, xi_te, y_te) -> float:
    """Test accuracy of logistic regression on xi, C chosen on the validation rows."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    sc = StandardScaler().fit(xi_tr)
    best = None
    for c in (0.01, 0.1, 1.0, 10.0):
        m = LogisticRegression(C=c, max_iter=2000).fit(sc.transform(xi_tr), y_tr)
        va = m.score(sc.transform(xi_va), y_va)
        if best is None or va > best[0]:
            best = (va, m.score(sc.transform(xi_te), y_te))
    return float(best[1])


def analyse(config, ckpt: Path) -> dict:
    """What the last epoch's xi holds and what logistic regression reads from it."""
    import numpy as np
    import torch

    from omib_core.analysis.information import InformationProbe, held_out_blocks
    from omib_core.data.draw_cache import load_cached
    from omib_core.paths import cache_dir
    from omib_core.train.checkpoint import load_checkpoint
    from omib_core.train.loop import _forward_chunks, _to_device

    ds = load_cached(config.data, cache_dir()).standardized()
    model, _, _ = load_checkpoint(ckpt)
    rows, blocks = held_out_blocks(ds.ground_truth)
    probe = InformationProbe({b: blocks[b] for b in ("a1", "b2")})
    out = {}
    xs, _ = _to_device(ds, rows, torch.device("cpu"))
    det = _forward_chunks(model, xs, "main", ("xi",))["xi"].numpy()
    gen = torch.Generator().manual_seed(config.train.seed + 3)
    with torch.no_grad():
        sampled = model(xs, "main", sample=True, generator=gen)["xi"].numpy()
    for name, xi in (("sampled", sampled), ("deterministic", det)):
        t = probe({"xi": xi})["xi"]
        out[f"a1_{name}"], out[f"b2_{name}"] = t["a1"], t["b2"]
    every = np.arange(ds.n_samples)
    x_all, _ = _to_device(ds, every, torch.device("cpu"))
    xi_all = _forward_chunks(model, x_all, "main", ("xi",))["xi"].numpy()
    y = np.asarray(ds.target)
    split = {s: ds.indices(s) for s in ("train", "val", "test")}
    out["probe_test_accuracy"] = probe_accuracy(
        *(a for s in ("train", "val", "test") for a in (xi_all[split[s]], y[split[s]]))
    )
    return out


def main() -> None:
    import torch

    torch.set_num_threads(1)
    from omib_core.paths import cache_dir
    from omib_core.presets import preset_config
    from omib_core.train import EpochEvent, RunFinished
    from omib_core.train.grid import train_grid

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--scales", type=float, nargs="+", default=[30.0, 300.0])
    args = p.parse_args()
    jobs = [(sc, s) for sc in args.scales for s in range(args.seeds)]
    configs = []
    for sc, s in jobs:
        d = preset_config("teaching", beta_scale=sc, seed=s, select="last").to_dict()
        d["data"]["seed"] = s
        configs.append(type(preset_config("teaching")).from_dict(d))
    tmp = Path(tempfile.mkdtemp(prefix="too_much_beta_"))
    dirs = [tmp / f"m{g}" for g in range(len(jobs))]
    course = {g: [] for g in range(len(jobs))}
    fins = {}
    t0 = time.perf_counter()
    for g, ev in train_grid(configs, dirs, cache_dir=cache_dir()):
        if isinstance(ev, EpochEvent) and ev.stage == "main":
            m = ev.metrics
            course[g].append(
                {
                    "epoch": ev.epoch,
                    "test": m.get("test/accuracy"),
                    "train": m.get("train/accuracy"),
                    **{k: v for k, v in m.items() if k.startswith("info/xi/")},
                }
            )
        elif isinstance(ev, RunFinished):
            fins[g] = ev
    wall = time.perf_counter() - t0
    runs = []
    for g, (sc, s) in enumerate(jobs):
        c = [r for r in course[g] if r["test"] is not None]
        tail = c[-30:]
        slope = float(tail[-1]["test"] - tail[0]["test"]) if len(tail) > 1 else float("nan")
        info_course = [(r["epoch"], r["info/xi/a1"], r["test"]) for r in c if "info/xi/a1" in r]
        runs.append(
            {
                "scale": sc,
                "seed": s,
                "test_last": fins[g].last_test_metrics.get("accuracy"),
                "train_last": c[-1]["train"] if c else None,
                "test_best_val": fins[g].best_val_test_metrics.get("accuracy"),
                "best_val_epoch": fins[g].best_val_epoch,
                "last_epoch": fins[g].last_epoch,
                "rise_last_30": slope,
                "a1_course": info_course,
                "warmup_epochs": int((fins[g].schedule or {}).get("warmup_epochs", 0)),
                **analyse(configs[g], dirs[g] / "checkpoint.pt"),
            }
        )
    rows = [
        "| beta / M_u | dDec test (last) | logistic regression on the same xi, test | train acc (last) | test rise over the "
        "last 30 main epochs | I(xi; a1) sampled | I(xi; a1) deterministic | I(xi; b2) sampled | I(xi; b2) deterministic |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for sc in args.scales:
        rs = [r for r in runs if r["scale"] == sc]

        def f(k: str, d: int = 3, rs=rs) -> str:
            m, sd = mean_std([r[k] for r in rs])
            return f"{m:.{d}f} ± {sd:.{d}f}"

        rows.append(
            f"| {sc:g} | {f('test_last')} | {f('probe_test_accuracy')} | {f('train_last')} | {f('rise_last_30', 3)} | "
            f"{f('a1_sampled', 2)} | {f('a1_deterministic', 2)} | {f('b2_sampled', 2)} | {f('b2_deterministic', 2)} |"
        )
    course_rows = [
        "| beta / M_u | main epoch | I(xi; a1) sampled, mean over seeds | test accuracy, mean |",
        "|---|---|---|---|",
    ]
    for sc in args.scales:
        rs = [r for r in runs if r["scale"] == sc]
        for i, (ep, _, _) in enumerate(rs[0]["a1_course"]):
            a1 = mean_std([r["a1_course"][i][1] for r in rs if len(r["a1_course"]) > i])[0]
            acc = mean_std([r["a1_course"][i][2] for r in rs if len(r["a1_course"]) > i])[0]
            course_rows.append(f"| {sc:g} | {ep - rs[0]['warmup_epochs'] + 1} | {a1:.2f} | {acc:.3f} |")
    md = (
        f"Where the accuracy goes at too much beta: the teaching preset, dynamic r, {args.seeds} seeds (seed = data "
        f"draw + init), trained as one grid of {len(jobs)} ({wall:.0f} s). "
        f"Command: `.venv/bin/python bench/too_much_beta.py --seeds {args.seeds} --scales "
        + " ".join(f"{s:g}" for s in args.scales)
        + "`\n\nLast epoch (mean ± std over seeds):\n\n"
        + "\n".join(rows)
        + "\n\nTime course (every 10 main epochs; main epoch counted from 1):\n\n"
        + "\n".join(course_rows)
        + "\n"
    )
    write("too_much_beta", {"seeds": args.seeds, "runs": runs, "wall_seconds": wall}, md)


if __name__ == "__main__":
    main()
