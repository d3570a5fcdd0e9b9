"""Where is r's signal? Per main epoch, the two TRB heads' held-out gains over dDec, row by row (issue 19).

    .venv/bin/python bench/r_signal.py [--seeds 0 1] [--rows 1000 2000]

Each run trains with r fixed at 1 (``dynamic_r=False``), so what is measured is the heads' signal, not its feedback
through r. Per main epoch it records, on the validation rows (and the log-loss also on the training rows), the mean
paired difference d = gain_v2 - gain_v1 and its standard error for three scores: log-loss (the old ``info_gain``),
Brier (the new one) and 0-1 accuracy. Then it replays the r rule offline on those numbers,
r <- r_smooth * r + (1 - r_smooth) * (1 - tanh(shrunk(d, k) / s)), for each score and k = 0, 1, 2, 3 standard errors,
and checks the regime targets of bench/r_regimes.py (no feedback: a screen, not the result; r_regimes.md is).
Writes bench/results/r_signal.json and .md.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from common import write
from r_regimes import REGIMES, meets

SCORES = ("log", "brier", "acc")
KS = (0.0, 1.0, 2.0, 3.0)
PHASES = {"main epoch 1": (0, 1), "first quarter": (0, 0.25), "second half": (0.5, 1.0), "last quarter": (0.75, 1.0)}


def _paired(d) -> tuple[float, float]:
    return float(d.mean()), float(d.std() / math.sqrt(len(d)))


def run(regime: str, rows: int, seed: int) -> list[dict]:
    """One run with r fixed at 1; per main epoch the paired differences of each score on val (and log on train)."""
    import torch
    import torch.nn.functional as F

    from omib_core.config import DataConfig, RunConfig, TrainConfig
    from omib_core.train import loop as L
    from omib_core.train import train

    spec = REGIMES[regime]
    data = DataConfig(
        dataset=spec["dataset"], seed=seed, params={"n_samples": rows, "reference": False, **spec["params"]}
    )
    cfg = RunConfig(
        data=data,
        train=TrainConfig(
            seed=seed, dynamic_r=False, snapshot_every=0, device="cpu", num_threads=1, linear_reference=False
        ),
    )
    a, b = "v1", list(spec["targets"])[0]
    out: list[dict] = []
    orig = L._Trainer._evaluate

    def evaluate(self, stage, outs=None):
        res = orig(self, stage, outs)
        if stage != "main":
            return res
        row = {}
        for split in ("val", "train"):
            o, y = res[2][split], self.split_data[split][1]
            ce = {
                k: F.cross_entropy(o[k].double(), y, reduction="none")
                for k in ("y_hat", f"y_hat_i/{a}", f"y_hat_i/{b}")
            }
            row[f"log_{split}"] = _paired(ce[f"y_hat_i/{a}"] - ce[f"y_hat_i/{b}"])  # gain_b - gain_a
            if split == "train":
                continue
            oh = F.one_hot(y, o["y_hat"].shape[-1]).double()
            br = {k: (F.softmax(o[k].double(), -1) - oh).pow(2).sum(-1) for k in ce}
            acc = {k: (o[k].argmax(-1) == y).double() for k in ce}
            row["log"] = row["log_val"]
            row["brier"] = _paired(br[f"y_hat_i/{a}"] - br[f"y_hat_i/{b}"])
            row["acc"] = _paired(acc[f"y_hat_i/{b}"] - acc[f"y_hat_i/{a}"])
            row["base"] = {"log": float(ce["y_hat"].mean()), "brier": float(br["y_hat"].mean()), "acc": 1.0}
        out.append(row)
        return res

    L._Trainer._evaluate = evaluate
    try:
        torch.set_num_threads(1)
        for _ in train(cfg):
            pass
    finally:
        L._Trainer._evaluate = orig
    return out


def replay(epochs: list[dict], score: str, k: float, smooth: float = 0.7, gain_scale: float = 0.25) -> list[float]:
    """The r each main epoch would have trained with under (score, k), without feedback."""
    r, trace = 1.0, []
    for row in epochs:
        trace.append(r)
        d, se = row[score]
        shrunk = math.copysign(max(abs(d) - k * se, 0.0), d)
        s = gain_scale * max(row["base"][score], 0.1)
        r = smooth * r + (1 - smooth) * (1 - math.tanh(max(min(shrunk / s, 10.0), -10.0)))
    return trace


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--rows", type=int, nargs="+", default=[1000, 2000])
    p.add_argument("--regimes", nargs="+", default=["v2_nuisance", "v1_nuisance", "weak_v2", "equal"])
    args = p.parse_args()
    runs = {}
    for regime in args.regimes:
        for rows in args.rows:
            for seed in args.seeds:
                runs[f"{regime}|{rows}|{seed}"] = run(regime, rows, seed)
                print(regime, rows, seed, flush=True)
    # 1. where the signal is: median z = d / se per phase
    lines = [
        "## Where the signal is: median z = (gain_vj - gain_v1) / SE over runs, per phase of the main stage",
        "",
        "z < 0: the head of v_j predicts the held-out rows worse than v1's (v_j should get r > 1). r fixed at 1.",
        "",
        "| regime | phase | log-loss, val | log-loss, train | Brier, val | accuracy, val |",
        "|---|---|---|---|---|---|",
    ]
    for regime in args.regimes:
        mine = [v for key, v in runs.items() if key.startswith(regime + "|")]
        for phase, (lo, hi) in PHASES.items():
            cells = []
            for col in ("log_val", "log_train", "brier", "acc"):
                zs = []
                for ep in mine:
                    n = len(ep)
                    sel = ep[:1] if phase == "main epoch 1" else ep[int(lo * n) : max(int(hi * n), int(lo * n) + 1)]
                    zs += [d / max(se, 1e-12) for d, se in (row[col] for row in sel)]
                cells.append(f"{np.median(zs):+.1f}")
            lines.append(f"| {regime} | {phase} | " + " | ".join(cells) + " |")
    # 2. the r rule replayed offline
    lines += [
        "",
        "## The r rule replayed on these numbers (no feedback): runs meeting the regime target",
        "",
        "| score | k (SE) | " + " | ".join(args.regimes) + " |",
        "|---|---|" + "---|" * len(args.regimes),
    ]
    replays = {}
    for score in SCORES:
        for k in KS:
            cells = []
            for regime in args.regimes:
                kind = list(REGIMES[regime]["targets"].values())[0]
                tr = [replay(v, score, k) for key, v in runs.items() if key.startswith(regime + "|")]
                replays[f"{score}|{k}|{regime}"] = tr
                ok = sum(meets(kind, t) for t in tr)
                cells.append(f"{ok}/{len(tr)} (mean r {np.mean([np.mean(t) for t in tr]):.2f})")
            lines.append(f"| {score} | {k:g} | " + " | ".join(cells) + " |")
    md = (
        f"Command: `.venv/bin/python bench/r_signal.py --seeds {' '.join(map(str, args.seeds))} --rows "
        f"{' '.join(map(str, args.rows))}`. Regimes as in bench/r_regimes.py, defaults otherwise (beta = M_u, "
        "lr 1e-3, dropout 0.1). weak_v2's criterion (<= 1.25 over the second half) is ours.\n\n"
        + "\n".join(lines)
        + "\n"
    )
    write("r_signal", {"runs": runs, "replays": replays}, md)
    print(md)


if __name__ == "__main__":
    main()
