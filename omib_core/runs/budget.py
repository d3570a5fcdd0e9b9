"""What a run will cost before it runs: peak memory and work, estimated from its config alone.

The launcher refuses at submit a run whose estimate exceeds the server's limits, with a sentence that names the
parameter that dominates and a value that fits (``check_budget``); the worker uses the same estimate to say what to
lower when a run does run out of memory anyway (``memory_advice``). Nothing is loaded or generated here: dataset
shapes come from ``omib_core.data.registry.dataset_shape`` (a generator's parameters, a bundled dataset's declared
size, the headers of an upload's files); the schedule from ``omib_core.train.schedule.resolve_schedule`` and the
parameter count from the real model, built on torch's ``meta`` device.

Memory model (bytes; float32 = 4, float64 = 8), the peak of two phases:

- generation (SIM data): the maps A_i (d_i x k_i float64, three copies while QR runs), the exact-information and
  Bayes computations on the (D x D) population covariance (four D x D float64 matrices at once: covariance,
  correlation, a sub-matrix copy and the LU/eigen workspace) and the draw (latents, views, noise, float64);
- training: the data (raw, standardised and per-split copies, plus standardising's temporaries: 4 x n x D
  float32), the linear reference (n x D
  float64, twice), the bound estimator (Gaussian: rows x D float64 and three D x D; neural: its rows, the
  (steps x batch) index tensors, the critic and its activations), the model (parameters x 6: weights, gradients,
  Adam's two moments, the best-epoch copy and the checkpoint), the activations of one step at the batch size
  (encoders, VAE, cross-attention, heads; x 3 for gradients and temporaries), evaluation chunks and the snapshot
  (``snapshot_max_points`` rows of inputs and embeddings).

Plus ``BASE_BYTES`` for the interpreter with torch, numpy, pandas and scikit-learn loaded. The estimate is meant to
be conservative (at or above the measured peak RSS, within about 2x): bench/memory_estimate.py measures it.

Work is counted in floating-point operations: optimizer steps x 6 x batch x parameters (forward and backward), one
evaluation pass over every row per epoch, and the neural bound's seeds x steps x critic work.

Server settings (environment):

    OMIB_MAX_RUN_MEMORY_MB   memory per run; default 80 % of the machine's memory (or its cgroup limit) divided by
                             the runs allowed at once (OMIB_MAX_CONCURRENT), at least 512 MB
    OMIB_MAX_RUN_WORK        floating-point operations per run; default 1e15 (about 14 h of one CPU core)
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omib_core.config import RunConfig
from omib_core.env import env_float
from omib_core.errors import ConfigError
from omib_core.params import is_number
from omib_core.train.constants import EVAL_CHUNK
from omib_core.train.schedule import resolve_schedule

MB = 2**20
GB = 2**30
BASE_BYTES = 450 * MB  # a worker with torch, numpy, pandas, scipy and scikit-learn imported (measured ~330-400 MB)
DEFAULT_MAX_RUN_WORK = 1e15
MIN_DEFAULT_MEMORY = 512 * MB
NEURAL = ("mine", "infonce", "smile")
UNKNOWN_DATA_BYTES = 256 * MB
NOMINAL_OUTPUTS = 16  # model outputs assumed when only the labels would tell (a folder without meta.json's task)


# shapes


@dataclass(frozen=True)
class DataShape:
    """What the estimate needs to know about a dataset.

    Attributes:
        n: rows; n_fit: the rows the optimiser fits (``omib_core.data.dataset.n_fit_rows``).
        dims: columns of each view.
        out: model outputs (classes, 1, or the SVDD embedding).
        generator: bytes the SIM generator needs at its peak (0 for stored data), and ``knob``, the generator
            parameter that drives it, with a description of the matrices.
    """

    n: int
    dims: tuple[int, ...]
    out: int
    generator: int = 0
    generator_knob: str | None = None
    generator_text: str = ""
    rows_knob: str | None = None  # "n_samples" when the row count is a parameter
    task: str = "classification"
    n_fit: int = 0

    @property
    def D(self) -> int:  # noqa: N802 - the math's name
        return sum(self.dims)


def _generator_cost(shape: Any, params: Mapping[str, Any]) -> tuple[int, str, str]:
    """(bytes, knob, description) of drawing a SIM dataset of this ``DatasetShape`` (see the module docstring)."""
    views = shape.view_blocks
    dims = dict(zip(views, shape.dims))
    ks = {v: sum(shape.blocks[b] for b in bs) for v, bs in views.items()}
    n, D, latent = shape.n_rows, sum(shape.dims), sum(shape.blocks.values())
    # maps: every A_i resident, the largest built with three copies (draw, QR's copy, Q)
    maps = sum(dims[v] * ks[v] for v in views) * 8 + 2 * max(dims[v] * ks[v] for v in views) * 8
    exact = 4 * D * D * 8 + D * latent * 8  # covariance, correlation, a sub-matrix, LU/eigen workspace; loadings
    draw = n * (latent + max(ks.values()) + 2 * max(dims.values())) * 8 + n * D * 4
    # the parameter behind the largest matrix: the largest block or explicit view width of the widest view
    widest = max(views, key=lambda v: dims[v])
    knob = f"dim_{widest}" if params.get(f"dim_{widest}") else max(views[widest], key=lambda b: shape.blocks[b])
    return maps + max(exact, draw), knob, f"the SIM generator's {D:,} x {D:,} matrices"


def data_shape(config: RunConfig) -> DataShape:
    """The rows, view widths and generator cost of a run's dataset, without loading it."""
    from omib_core.data.dataset import n_fit_rows
    from omib_core.data.registry import dataset_shape, get_info
    from omib_core.data.shapes import UNKNOWN_VIEW_DIM, DatasetShape
    from omib_core.train.constants import out_dim

    d = config.data
    shape = dataset_shape(d.dataset, d.params)
    if shape is None:  # a registered dataset of unknown size: a generous nominal one
        info = get_info(d.dataset)
        views = max(info.n_modalities, 2)
        n = UNKNOWN_DATA_BYTES // (4 * UNKNOWN_VIEW_DIM * views)
        shape = DatasetShape(int(n), (UNKNOWN_VIEW_DIM,) * views, info.task, NOMINAL_OUTPUTS)
    task = shape.task or "classification"
    out = NOMINAL_OUTPUTS if shape.task is None else out_dim(task, shape.n_classes or NOMINAL_OUTPUTS)
    n_fit = n_fit_rows(shape.n_rows, d.val_fraction, d.test_fraction, task, shape.anomaly_share)
    gen: tuple[int, str | None, str] = (0, None, "")
    if shape.blocks:
        gen = _generator_cost(shape, {**get_info(d.dataset).defaults, **d.params})
    rows_knob = "n_samples" if shape.blocks else None
    return DataShape(shape.n_rows, shape.dims, out, *gen, rows_knob, task, n_fit)


# the estimate


def model_parameters(dims: tuple[int, ...], out: int, m: Any, task: str = "classification") -> int:
    """Parameters of ``omib_core.model.OMIB`` for views of these widths (``m`` a ModelConfig), counted on a model
    built on torch's ``meta`` device (nothing is allocated)."""
    return _parameters(tuple(dims), out, m, task)


@functools.lru_cache(maxsize=512)
def _parameters(dims: tuple[int, ...], out: int, m: Any, task: str) -> int:
    import torch

    from omib_core.model import OMIB

    with torch.device("meta"):
        model = OMIB({f"v{i}": d for i, d in enumerate(dims)}, out, m, task=task)
    return sum(p.numel() for p in model.parameters())


def _row_floats(dims: tuple[int, ...], out: int, m: Any) -> int:
    """Floats one training row keeps for backward through the whole network (main stage)."""
    M, h, z, L, xi, T = len(dims), m.hidden_dim, m.z_dim, m.latent_dim, m.xi_dim, m.tokens
    per_view = [d + 3 * h * m.enc_layers + z + 4 * L + (z + xi) + 3 * h + out for d in dims]
    d = L // T
    can = M * (30 * T * d + 2 * m.heads * T * max(M - 1, 1) * T) if m.fusion == "can" else M * L
    return sum(per_view) + can + xi + 3 * h + out


@dataclass(frozen=True)
class Budget:
    """A run's estimated cost.

    Attributes:
        memory_bytes: estimated peak memory (resident set) of the worker.
        work: estimated floating-point operations.
        parts: ``{part: bytes}`` of the phase that sets the peak (the base interpreter included).
        work_parts: ``{part: operations}``.
        knobs: ``{part: (parameter, description)}``: the config parameter behind each part, as
            ``"section.name"`` or ``"data.<param>"``.
    """

    memory_bytes: int
    work: float
    parts: dict[str, int]
    work_parts: dict[str, float] = field(default_factory=dict)
    knobs: dict[str, tuple[str, str]] = field(default_factory=dict)

    def dominant(self) -> str:
        """The part with the most bytes (the base interpreter excluded)."""
        parts = {k: v for k, v in self.parts.items() if k != "base"}
        return max(parts, key=lambda k: parts[k]) if parts else "base"


def _bound_cost(config: RunConfig, shape: DataShape) -> tuple[int, float, str, str]:
    """(bytes, operations, knob, description) of the bound estimator."""
    b = config.bound
    rows = min(shape.n, b.max_samples)
    D = shape.D
    if b.estimator not in NEURAL:
        mem = 2 * rows * D * 8 + 3 * D * D * 8
        knob = "bound.max_samples" if rows * D > D * D else None
        return mem, float(rows * D * D + D**3), knob or "", f"the Gaussian estimator's {D:,} x {D:,} covariances"
    batch = min(b.batch_size, rows)
    critic = (D + 1) * b.hidden_dim + b.hidden_dim * b.hidden_dim + 2 * b.hidden_dim + 1
    index = 2 * b.steps * batch * 8  # batch_indices and cyclic_derangements, (steps, batch) int64 each
    acts = 3 * 2 * batch * (D + 2 * b.hidden_dim) * 4 + (3 * batch * batch * 4 if b.estimator == "infonce" else 0)
    mem = 2 * rows * D * 4 + index + 4 * critic * 4 + acts
    work = float(b.seeds * b.steps * 6 * 2 * batch * critic * (len(shape.dims) + 1))
    if index >= max(acts, rows * D * 8):
        return mem, work, "bound.steps", f"the bound estimator's {b.steps:,} x {batch:,} batch index tables"
    if acts >= rows * D * 8:
        return mem, work, "bound.batch_size", f"the bound estimator's activations at batch {batch:,}"
    return mem, work, "bound.max_samples", f"the bound estimator's {rows:,} rows"


def estimate(config: RunConfig, kind: str = "train", shape: DataShape | None = None) -> Budget:
    """The estimated peak memory and work of a run (see the module docstring for the model)."""
    shape = shape or data_shape(config)
    n, dims, D, out = shape.n, shape.dims, shape.D, shape.out
    m, t = config.model, config.train
    rows_knob = f"data.{shape.rows_knob}" if shape.rows_knob else ""
    knobs: dict[str, tuple[str, str]] = {}
    gen = {"base": BASE_BYTES, "dataset": n * D * 4}
    knobs["dataset"] = (rows_knob, f"the dataset's {n:,} x {D:,} values")
    if shape.generator:
        gen["generator"] = shape.generator
        knobs["generator"] = (f"data.{shape.generator_knob}", shape.generator_text)
    run: dict[str, int] = {"base": BASE_BYTES, "data": 4 * n * D * 4}
    knobs["data"] = (rows_knob, f"the dataset's {n:,} x {D:,} values, held four times (raw, standardised, split)")
    work: dict[str, float] = {}
    needs_bound = kind == "bound" or m.bottleneck
    if needs_bound:
        mem, ops, knob, text = _bound_cost(config, shape)
        run["bound"] = mem
        work["bound"] = ops
        knobs["bound"] = (knob, text)
    if kind == "train":
        params = model_parameters(dims, out, m, shape.task)
        run["model"] = 6 * params * 4
        widest = "hidden_dim" if m.hidden_dim >= m.z_dim else "z_dim"
        knobs["model"] = (f"model.{widest}", f"the model's {params:,} parameters")
        sched = resolve_schedule(t, shape.n_fit, strict=False)  # what is refused, the run itself refuses
        steps, batch = sched.warmup_steps + sched.main_steps, sched.batch_size
        row = _row_floats(dims, out, m)
        run["activations"] = 3 * batch * row * 4
        knobs["activations"] = ("train.batch_size", f"one step's activations at batch {batch:,}")
        # no gradients: about a quarter of a training row's floats live at once per chunk row; outputs for all rows
        run["evaluation"] = min(n, EVAL_CHUNK) * row + n * out * (len(dims) + 1) * 4 * 2
        knobs["evaluation"] = (f"model.{widest}", f"the evaluation passes over {min(n, EVAL_CHUNK):,} rows at a time")
        snap = min(t.snapshot_max_points, n) if t.snapshot_every else 0
        run["snapshot"] = snap * (D + 2 * (m.xi_dim + len(dims) * (m.z_dim + m.latent_dim))) * 4 * 2
        knobs["snapshot"] = ("train.snapshot_max_points", f"the snapshots of {snap:,} points")
        if t.linear_reference:
            run["linear_reference"] = 2 * n * D * 8
            knobs["linear_reference"] = (rows_knob, f"the linear reference on {n:,} x {D:,} values")
        epochs = t.warmup_epochs + t.epochs
        work["train"] = float(steps) * 6 * batch * params
        work["evaluation"] = float(epochs) * 2 * n * params
    phase_gen, phase_run = sum(gen.values()), sum(run.values())
    parts = gen if phase_gen > phase_run else run
    return Budget(int(max(phase_gen, phase_run)), float(sum(work.values())), dict(parts), work, knobs)


GRID_SHARED = ("base", "data", "bound", "linear_reference")  # memory a grid job holds once per worker / data draw


def estimate_grid(configs: Sequence[RunConfig], shards: int = 1) -> Budget:
    """The estimated peak memory and work of a grid job (``omib_core.train.grid``) in ``shards`` worker processes:
    the interpreter once per worker; each distinct data draw (with its bound and linear reference) once per worker
    that holds it (at most all of them); the model, its optimiser state, a step's activations, the evaluation chunk
    and the snapshots once per member. Work is the members' sum."""
    budgets = [estimate(c) for c in configs]
    draws = {json.dumps(c.data.to_dict(), sort_keys=True, default=str) for c in configs}
    one = budgets[0].parts
    parts: dict[str, float] = {"base": one.get("base", BASE_BYTES) * shards}
    for k in GRID_SHARED[1:]:
        if k in one:
            parts[k] = one[k] * min(len(configs), len(draws) * shards)
    for k, v in one.items():
        if k not in GRID_SHARED:
            parts[k] = v * len(configs)
    work: dict[str, float] = {}
    for b in budgets:
        for k, v in b.work_parts.items():
            work[k] = work.get(k, 0.0) + v
    return Budget(int(sum(parts.values())), float(sum(work.values())), parts, work, budgets[0].knobs)


def check_grid_budget(
    configs: Sequence[RunConfig], max_memory: int | None = None, shards: Callable[[int], int] = lambda n: 1
) -> Budget:
    """The grid's ``Budget``, or a ``ConfigError`` naming the grid size and the largest grid of these runs that fits.

    ``shards(n)``: the worker processes a grid of n members may start with (``JobManager.grid_shards``)."""
    max_memory = memory_limit() if max_memory is None else max_memory
    budget = estimate_grid(configs, shards(len(configs)))
    if budget.memory_bytes <= max_memory:
        return budget
    fits = 0
    for k in range(len(configs) - 1, 0, -1):
        if estimate_grid(configs[:k], shards(k)).memory_bytes <= max_memory:
            fits = k
            break
    fix = (
        f"The largest grid of these runs that fits has {fits} members; use fewer beta/M_u values or seeds"
        if fits
        else "Not even one member fits; use fewer samples or a smaller model"
    )
    raise ConfigError(
        f"This grid of {len(configs)} runs needs about {size_text(budget.memory_bytes)} of memory in its one worker; "
        f"the server allows {size_text(max_memory)} per job (OMIB_MAX_RUN_MEMORY_MB). {fix}, or ask the admin to raise "
        "the limit."
    )


# limits


def machine_memory() -> int | None:
    """Bytes of memory this process may use: the machine's, or its cgroup's limit when lower; None if unknown."""
    total = None
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        pass
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            raw = Path(path).read_text().strip()
        except OSError:
            continue
        if raw.isdigit() and int(raw) < 2**60:
            total = min(total, int(raw)) if total else int(raw)
    return total


def default_memory_limit(max_concurrent: int) -> int:
    """80 % of the machine's memory divided by the runs allowed at once, at least 512 MB."""
    ram = machine_memory() or 8 * GB
    return max(MIN_DEFAULT_MEMORY, int(0.8 * ram / max(max_concurrent, 1)))


def memory_limit(max_concurrent: int = 1) -> int:
    """Bytes per run: ``$OMIB_MAX_RUN_MEMORY_MB`` or ``default_memory_limit``."""
    mb = env_float("OMIB_MAX_RUN_MEMORY_MB", None, "4000 (MB)")
    return default_memory_limit(max_concurrent) if mb is None else int(mb * MB)


def work_limit() -> float:
    """Operations per run: ``$OMIB_MAX_RUN_WORK`` (e.g. ``1e15``) or ``DEFAULT_MAX_RUN_WORK``."""
    return env_float("OMIB_MAX_RUN_WORK", DEFAULT_MAX_RUN_WORK, "1e15 (floating-point operations)")


def size_text(n: float) -> str:
    """``7.6e9`` -> ``'7.1 GB'``, ``3e8`` -> ``'286 MB'``."""
    if n >= GB:
        return f"{n / GB:.1f} GB"
    return f"{n / MB:.0f} MB"


# which value fits


def _get(config: RunConfig, knob: str) -> Any:
    section, name = knob.split(".", 1)
    if section == "data":
        from omib_core.data import get_info

        params = config.data.params
        if name in params and params[name] is not None:
            return params[name]
        try:
            return get_info(config.data.dataset).defaults.get(name)
        except Exception:
            return None
    return getattr(getattr(config, section), name)


def _least(config: RunConfig, knob: str) -> int:
    """The least value the knob's declaration takes (at least 1)."""
    from omib_core.params import schema

    section, name = knob.split(".", 1)
    try:
        if section == "data":
            from omib_core.data import get_info

            spec = get_info(config.data.dataset).params.get(name)
        else:
            spec = schema(type(getattr(config, section))).get(name)
        low = None if spec is None or spec.low is None else int(spec.low) + (spec.closed[0] == "(")
    except Exception:  # an unknown dataset: the estimate says so elsewhere
        low = None
    return max(1, int(low or 1))


def _with(config: RunConfig, knob: str, value: int) -> RunConfig:
    section, name = knob.split(".", 1)
    if section == "data":
        return config.replace(data=config.data.replace(params={**config.data.params, name: value}))
    sec = getattr(config, section)
    return config.replace(**{section: sec.replace(**{name: value})})


def fitting_value(config: RunConfig, knob: str, fits: Any, kind: str = "train") -> int | None:
    """The largest int value of ``knob`` (below its current one) for which ``fits(estimate)`` holds; None if none."""
    current = _get(config, knob)
    if not is_number(current) or isinstance(current, float) or current <= 1:
        return None
    lo, hi = _least(config, knob), current - 1  # lo: the least value its declaration takes; search [lo, hi]

    def ok(v: int) -> bool:
        try:
            return bool(fits(estimate(_with(config, knob, v), kind)))
        except Exception:  # an invalid combination (e.g. too few rows): does not fit
            return False

    if not ok(lo):
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid - 1
    return _round_down(lo)


def _round_down(v: int) -> int:
    """Two significant digits, rounded down (30000 -> 30000, 5123 -> 5100, 97 -> 97)."""
    if v < 100:
        return v
    step = 10 ** (len(str(v)) - 2)
    return v // step * step


def _advice(config: RunConfig, budget: Budget, parts: Mapping[str, float], fits: Any, kind: str) -> tuple[str, str]:
    """(why, fix): ``"most of it for the SIM generator's ... matrices, set by data.b1 = 30000"``, ``"Use data.b1 <=
    5600"``. Parts are tried largest first; the first whose parameter alone can make ``fits`` true is named."""
    ranked = sorted((k for k in parts if k != "base" and budget.knobs.get(k, ("", ""))[0]), key=lambda k: -parts[k])
    for part in ranked:
        knob, text = budget.knobs[part]
        value = fitting_value(config, knob, fits, kind)
        current = _get(config, knob)
        if value is not None:
            return f"most of it for {text}, set by {knob} = {current}", f"Use {knob} <= {value}"
    if ranked:
        knob, text = budget.knobs[ranked[0]]
        return f"most of it for {text}, set by {knob} = {_get(config, knob)}", f"Lower {knob} and the other sizes"
    return "most of it for the worker's interpreter itself", "Ask the admin to raise the limit"


def check_budget(
    config: RunConfig, kind: str = "train", max_memory: int | None = None, max_work: float | None = None
) -> Budget:
    """The run's ``Budget``, or a ``ConfigError`` sentence naming what is over a limit, why, and a value that fits.

    Args:
        max_memory: bytes per run (default ``memory_limit()``); max_work: operations (default ``work_limit()``).
    """
    max_memory = memory_limit() if max_memory is None else max_memory
    max_work = work_limit() if max_work is None else max_work
    budget = estimate(config, kind)

    def fits(b: Budget) -> bool:  # a suggested value must fit both limits
        return b.memory_bytes <= max_memory and b.work <= max_work

    if budget.memory_bytes > max_memory:
        why, fix = _advice(config, budget, budget.parts, fits, kind)
        raise ConfigError(
            f"This run needs about {size_text(budget.memory_bytes)} of memory ({why}); the server allows "
            f"{size_text(max_memory)} per run (OMIB_MAX_RUN_MEMORY_MB). {fix}, or ask the admin to raise the limit."
        )
    if budget.work > max_work:
        knobs = dict(budget.knobs)
        knobs.update(
            {
                "train": ("train.max_steps", "its optimizer steps"),
                "evaluation": ("train.epochs", "its epochs"),
                "bound": ("bound.seeds" if config.bound.seeds > 1 else "bound.steps", "the bound estimator's training"),
            }
        )
        wb = Budget(budget.memory_bytes, budget.work, budget.parts, budget.work_parts, knobs)
        why, fix = _advice(config, wb, budget.work_parts, fits, kind)
        raise ConfigError(
            f"This run needs about {budget.work:.1e} floating-point operations ({why}); the server allows "
            f"{max_work:.0e} per run (OMIB_MAX_RUN_WORK). {fix}, or ask the admin to raise the limit."
        )
    return budget


def memory_advice(config: RunConfig, kind: str = "train", max_memory: int | None = None) -> str:
    """For a run that ran out of memory: what to lower, e.g. ``"its estimated peak is 7.1 GB, most of it for the
    model's ... parameters, set by model.hidden_dim = 4096; use model.hidden_dim <= 512"`` (a value that halves
    the estimate above the interpreter's own, or fits the server's limit when the estimate is over it)."""
    budget = estimate(config, kind)
    limit = memory_limit() if max_memory is None else max_memory
    target = min(limit, BASE_BYTES + (budget.memory_bytes - BASE_BYTES) // 2)
    why, fix = _advice(config, budget, budget.parts, lambda b: b.memory_bytes <= target, kind)
    fix = f"{fix[0].lower()}{fix[1:]}"
    if budget.memory_bytes <= limit // 2:  # it should have fitted: the machine was short, most likely
        return (
            f"its estimated peak is only {size_text(budget.memory_bytes)} (the server allows {size_text(limit)}), so "
            f"the machine was probably short of memory because of other programs; try again later, or {fix} (the "
            "largest part of the estimate)"
        )
    return f"its estimated peak is {size_text(budget.memory_bytes)}, {why}; {fix}"
