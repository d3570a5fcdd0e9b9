"""What measuring the information per latent block costs a run: the time spent in ``_Trainer._information`` (the
held-out rows' forward pass and the estimate, at every snapshot epoch and the last) against the run's wall time.

    .venv/bin/python bench/info_cost.py [--preset default|teaching|both] [--seeds 1]

``default``: ``RunConfig()`` as a new user starts it (SIM-I, 10,000 rows, 3,000 held out, snapshot every 5 main
epochs); ``teaching``: the teaching preset (SIM-TEACH, 3,000 rows held out, snapshot every 10). One torch thread, the
bound estimate and the linear reference included in the wall time. Writes bench/results/info_cost.json and .md.
"""

from __future__ import annotations

import argparse
import time

from common import write


def one(preset: str, seed: int) -> dict:
    import torch

    torch.set_num_threads(1)
    from omib_core.config import RunConfig, TrainConfig
    from omib_core.presets import preset_config
    from omib_core.train import RunFinished, loop, train

    cfg = preset_config("teaching", seed=seed) if preset == "teaching" else RunConfig(train=TrainConfig(seed=seed))
    spent, calls = [0.0], [0]
    inner = loop._Trainer._information

    def timed(self):
        t = time.perf_counter()
        out = inner(self)
        spent[0] += time.perf_counter() - t
        calls[0] += 1 if out else 0
        return out

    loop._Trainer._information = timed
    try:
        t0 = time.perf_counter()
        fin = None
        for ev in train(cfg):
            if isinstance(ev, RunFinished):
                fin = ev
        wall = time.perf_counter() - t0
    finally:
        loop._Trainer._information = inner
    return {
        "preset": preset,
        "seed": seed,
        "wall_seconds": wall,
        "info_seconds": spent[0],
        "info_epochs": calls[0],
        "share": spent[0] / wall,
        "epochs": fin.epochs if fin else None,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", choices=("default", "teaching", "both"), default="both")
    p.add_argument("--seeds", type=int, default=1)
    args = p.parse_args()
    presets = ("default", "teaching") if args.preset == "both" else (args.preset,)
    runs = [one(pr, s) for pr in presets for s in range(args.seeds)]
    rows = [
        "| run | seed | wall time (s) | in the estimate (s) | measured epochs | share of the wall time | target (<= 5 %) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        rows.append(
            f"| {r['preset']} | {r['seed']} | {r['wall_seconds']:.1f} | {r['info_seconds']:.2f} | {r['info_epochs']} | "
            f"{100 * r['share']:.1f} % | {'MET' if r['share'] <= 0.05 else 'MISSED'} |"
        )
    md = (
        "Cost of the information per latent block (I(xi; block), I(z_i; block), I(zeta_i; block) for every block, at "
        "every snapshot epoch and the last, on all held-out rows), as a share of the run's wall time. One torch "
        "thread, BLAS on one thread inside the estimate, on the shared 2-core server (other jobs running: the share "
        f"is what matters, both parts slow down alike). Command: `.venv/bin/python bench/info_cost.py --preset "
        f"{args.preset} --seeds {args.seeds}`\n\n" + "\n".join(rows) + "\n"
    )
    write("info_cost", {"runs": runs}, md)


if __name__ == "__main__":
    main()
