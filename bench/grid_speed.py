# ruff: noqa: B023 - the timed closures are defined and called within one loop iteration
"""The grid engine's speed: how a beta x seed grid trains fastest, and what it costs against single runs.

    .venv/bin/python bench/grid_speed.py [--device cpu|cuda] [--threads 1] [--out DIR] [--quick]

1. One optimiser step of G copies of the teaching model (G = 1, 6, 12, 30), three ways: a Python loop over G
   separate models (each with torch's AdamW), ``torch.func.stack_module_state`` + ``vmap`` over ``functional_call``
   (the PyTorch model-ensembling tutorial), and the hand-batched stacked model the engine uses
   (``omib_core.model.stacked`` + ``StackedAdamW``). Forward, backward and update, batch 99 (the preset's).
2. End to end on the teaching preset (draws cached first, as on a server that has drawn them once): one run; the
   6 x 2 grid run by run (``train`` in turn) and as one grid; the full 6 x 5 grid as one grid in one process
   (``grid_seconds``) and, on the CPU, split over one process per core as the scheduler and the CLI run it.

Needs only torch, numpy, pandas, scikit-learn, scipy (runs on an offline GPU host with ``PYTHONPATH=.``). ``--quick``
trains 1 + 3 epochs instead of the preset's schedule (the GPU check and CI use it). Writes grid_speed.json / .md
under --out (default bench/results).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from omib_core.config import RunConfig  # noqa: E402
from omib_core.presets import TEACHING_SCALES, preset_config  # noqa: E402

SIZES = (1, 6, 12, 30)


def _configs(scales, seeds, quick: bool, device: str, threads: int) -> list[RunConfig]:
    out = []
    for sc in scales:
        for s in seeds:
            extra = {"schedule": "fixed", "epochs": 3, "warmup_epochs": 1, "batch_size": 99} if quick else {}
            c = preset_config(
                "teaching", beta_scale=sc, seed=s, snapshot_every=0, device=device, num_threads=threads, **extra
            )
            out.append(c.replace(data=c.data.replace(seed=s)))
    return out


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def step_times(device: str, batch: int = 99, reps: int = 20) -> list[dict]:
    """Seconds per optimiser step of G copies, three ways."""
    from torch.func import functional_call, grad_and_value, stack_module_state, vmap

    from omib_core.data.draw_cache import load_cached
    from omib_core.model import OMIB, stacked
    from omib_core.paths import cache_dir
    from omib_core.train.grid import WARMUP_PREFIXES, _task_loss
    from omib_core.train.stacked_optim import StackedAdamW, clip_grad_norm_

    cfg = preset_config("teaching")
    dims = load_cached(cfg.data, cache_dir()).input_dims
    names = list(dims)
    L = cfg.model.latent_dim
    rows = []
    for G in SIZES:
        torch.manual_seed(0)
        nets = [OMIB(dims, 2, cfg.model).to(device) for _ in range(G)]
        xb = {m: torch.randn(G, batch, d, device=device) for m, d in dims.items()}
        yb = torch.randint(0, 2, (G, batch), device=device)
        w = torch.ones(G, batch, device=device)
        loop_opts = [torch.optim.AdamW(n.parameters(), lr=3e-4) for n in nets]

        def loop_step():
            for g, (net, opt) in enumerate(zip(nets, loop_opts)):
                out = net({m: xb[m][g] for m in names}, "main")
                loss = torch.nn.functional.cross_entropy(out["y_hat"], yb[g]) + sum(out["kl"].values()) * 1e-3
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0, foreach=True)
                opt.step()

        params, buffers = stack_module_state(nets)
        base = OMIB(dims, 2, cfg.model).to("meta")

        def one_loss(p, b, x, y):
            out = functional_call(base, (p, b), (x, "main"), {"sample": False})
            return torch.nn.functional.cross_entropy(out["y_hat"], y) + sum(out["kl"].values()) * 1e-3

        vm = vmap(grad_and_value(one_loss), in_dims=(0, 0, 0, 0))
        state = {k: (torch.zeros_like(v), torch.zeros_like(v)) for k, v in params.items()}

        def vmap_step():
            grads, _ = vm(params, buffers, xb, yb)
            with torch.no_grad():  # Adam by hand on the stacked tensors (elementwise), clip per copy
                norms = torch.stack([g.pow(2).flatten(1).sum(1) for g in grads.values()]).sum(0).sqrt()
                coef = (5.0 / (norms + 1e-6)).clamp(max=1.0)
                for k, p in params.items():
                    g = grads[k] * coef.view(-1, *([1] * (p.dim() - 1)))
                    m, v = state[k]
                    m.lerp_(g, 0.1)
                    v.mul_(0.999).addcmul_(g, g, value=0.001)
                    p.sub_(3e-4 * m / (v.sqrt() + 1e-8))

        warm = {n for n, _ in nets[0].named_parameters() if n.startswith(WARMUP_PREFIXES)}
        sp = stacked.StackedParams(nets, first=warm)
        opt = StackedAdamW(sp, lr=3e-4, weight_decay=0.0)
        mask = torch.ones(G, dtype=torch.bool, device=device)

        def stacked_step():
            noise = {m: torch.randn(G, batch, L, device=device) for m in names}
            out = stacked.forward(nets[0], sp.params, xb, "main", training=True, noise=noise, weights=w)
            loss = _task_loss("classification", out["y_hat"], yb, w) + sum(out["kl"].values()) * 1e-3
            sp.zero_grad()
            loss.sum().backward()
            clip_grad_norm_(sp.grad, 5.0)
            opt.step(mask, warmup=False)

        row: dict = {"G": G}
        for name, fn in (("loop", loop_step), ("vmap", vmap_step), ("stacked", stacked_step)):
            try:
                for _ in range(3):
                    fn()
                _sync(device)
                t = time.perf_counter()
                for _ in range(reps):
                    fn()
                _sync(device)
                row[name] = (time.perf_counter() - t) / reps
            except Exception as exc:  # vmap may not cover an op on some builds: say so in the table
                row[name] = None
                row[f"{name}_error"] = f"{type(exc).__name__}: {exc}"[:200]
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def end_to_end(device: str, threads: int, quick: bool, seeds: int) -> dict:
    from omib_core.data.draw_cache import load_cached
    from omib_core.paths import cache_dir
    from omib_core.train import RunFinished, train
    from omib_core.train.grid import train_grid

    cache = cache_dir()
    full = _configs(TEACHING_SCALES, range(seeds), quick, device, threads)
    for c in {json.dumps(c.data.to_dict(), sort_keys=True): c for c in full}.values():
        load_cached(c.data, cache)  # warm the draw cache (a server that has drawn these seeds once)
    small = _configs(TEACHING_SCALES, range(2), quick, device, threads)
    out: dict = {}

    def timed(label: str, fn) -> float:
        t = time.perf_counter()
        fn()
        _sync(device)
        out[label] = time.perf_counter() - t
        print(f"{label}: {out[label]:.1f} s", flush=True)
        return out[label]

    def run_one(c: RunConfig) -> None:
        assert any(isinstance(e, RunFinished) for e in train(c, cache_dir=cache))

    def run_grid(cs: list[RunConfig]) -> None:
        done = sum(isinstance(e, RunFinished) for _, e in train_grid(cs, cache_dir=cache))
        assert done == len(cs), f"{done} of {len(cs)} members finished"

    timed("one run", lambda: run_one(small[0]))
    timed("6 x 2 run by run", lambda: [run_one(c) for c in small])
    timed("6 x 2 as one grid", lambda: run_grid(small))
    if seeds != 2:
        timed(f"6 x {seeds} as one grid", lambda: run_grid(full))
    if not device.startswith("cuda"):  # as the scheduler and the CLI run a grid job: one process per free core
        from omib_core.cli import run_sharded
        from omib_core.runs.jobs import cpu_count
        from omib_core.train.grid import shard_count

        for n, cs in (("2", small), (str(seeds), full)) if seeds != 2 else (("2", small),):
            k = shard_count(len(cs), cpu_count())
            out_dir = Path(tempfile.mkdtemp(prefix="omib_grid_speed_"))
            timed(f"6 x {n} as one grid job in {k} process(es)", lambda: run_sharded(cs, out_dir, True))
            shutil.rmtree(out_dir, ignore_errors=True)
    out["ratio 6 x 2 grid / one run"] = out["6 x 2 as one grid"] / out["one run"]
    sharded = [k for k in out if k.startswith("6 x 2 as one grid job in")]
    if sharded:
        out["ratio 6 x 2 grid job (one process per core) / one run"] = out[sharded[0]] / out["one run"]
    out["ratio 6 x 2 run by run / one run"] = out["6 x 2 run by run"] / out["one run"]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="1 + 3 epochs and fewer timing repetitions (GPU check, CI)")
    p.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    device = args.device
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device here")
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    steps = step_times(device, reps=5 if args.quick else 20)
    e2e = end_to_end(device, args.threads, args.quick, args.seeds)
    load_after = os.getloadavg() if hasattr(os, "getloadavg") else None
    name = torch.cuda.get_device_name(0) if device.startswith("cuda") else platform.processor() or platform.machine()
    payload = {
        "command": "bench/grid_speed.py " + " ".join(sys.argv[1:]),
        "device": device,
        "device_name": name,
        "threads": args.threads,
        "quick": args.quick,
        "load_before": load,
        "load_after": load_after,
        "cpus": os.cpu_count(),
        "step_seconds": steps,
        "end_to_end_seconds": e2e,
        "grid_seconds": e2e.get(f"6 x {args.seeds} as one grid", e2e["6 x 2 as one grid"]),
    }
    ms = lambda v: f"{v * 1e3:.1f}" if v else "n/a"  # noqa: E731
    lines = [
        f"Grid engine speed on {device} ({name}), {args.threads} torch thread(s), load average {load} -> "
        f"{load_after}. Command: `.venv/bin/python {payload['command']}`",
        "",
        "One optimiser step of G copies of the teaching model (batch 99; forward, backward, AdamW, per-copy clip), ms:",
        "",
        "| G | loop of G models | vmap (stack_module_state) | hand-batched (the engine) | engine per copy |",
        "|---|---|---|---|---|",
    ]
    for r in steps:
        per = r["stacked"] / r["G"] if r.get("stacked") else None
        lines.append(f"| {r['G']} | {ms(r.get('loop'))} | {ms(r.get('vmap'))} | {ms(r.get('stacked'))} | {ms(per)} |")
    lines += ["", f"End to end, teaching preset{' (quick: 1 + 3 epochs)' if args.quick else ''}, draws cached:", ""]
    lines += ["| what | seconds (ratios: x) |", "|---|---|"]
    lines += [f"| {k} | {v:.2f} |" for k, v in e2e.items()]
    md = "\n".join(lines) + "\n"
    outdir = Path(args.out)
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "grid_speed.json").write_text(json.dumps(payload, indent=2, default=float))
    (outdir / "grid_speed.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
