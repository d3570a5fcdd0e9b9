"""Which regime a run is in (overfits / about right / underfits), read from its own final numbers. Pure.

The Home demo trains the teaching preset at three beta/M_u values (``omib_core.presets.TEACHING_REGIMES``) and writes
one verdict under each run. A verdict is computed, never a fixed string: it names the numbers it rests on (the
train-test gap, the test accuracy, the KL of each modality in nats).

Two ways to decide, best first:

1. **Against the other runs of the same demo** (``peers``: the finished members trained on the same data). A run whose
   last-epoch test accuracy is within ``TIE`` of the best member's is about right; one further below is on one side
   of the best: it overfits when it kept more information than the best (a larger total KL: too little beta), and
   underfits when it kept less (too much beta). This needs no threshold tied to one dataset, and a demo's members
   share the data draw and the initialisation, so the comparison is paired.
2. **Alone** (the others are still training, or a single run): thresholds set from the measured teaching sweep
   (bench/results/teach_sweep.md, 5 seeds, last epoch), between the regimes' per-seed values:

   - ``GAP_OVERFIT`` = 0.225: the train-test gap was 0.231-0.251 per seed at 0.1 x M_u (mean 0.243) and 0.182-0.221
     at 30 x M_u, the empirical best (mean 0.201).
   - ``KL_UNDERFIT`` = 3 nats in total: 1.7-1.9 per seed at 300 x M_u (test falls to 0.717), 5.5 or more at 100 x M_u.
   - ``LINEAR_MARGIN`` = 0.02 over the linear model of the same split (``reference.linear_test_accuracy``): at
     300 x M_u a seed's test accuracy was +0.005 to +0.04 over it, at 30 x M_u +0.06 to +0.09.

   These fit the teaching preset; on other data the peer comparison is the one to trust (``Verdict.basis`` says
   which was used).

``TIE`` = 0.01 is about one standard error of a test accuracy near 0.78 on the preset's 2,000 test rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from omib_core.params import is_finite

GAP_OVERFIT = 0.225
KL_UNDERFIT = 3.0
LINEAR_MARGIN = 0.02
TIE = 0.01
TRAIN, TEST = "train/accuracy", "test/accuracy"
BASIS_PEERS = "compared with the other runs of this demo"
BASIS_ALONE = "thresholds from the measured teaching sweep (bench/results/teach_sweep.md)"


@dataclass(frozen=True)
class Verdict:
    """``label``: overfits / about right / underfits / training / waiting; ``sentence``: the one line shown under
    the run, with its numbers; ``basis``: how the label was decided (``BASIS_PEERS`` or ``BASIS_ALONE``)."""

    label: str
    sentence: str
    basis: str = ""


# helpers


def _num(final: Mapping[str, float], key: str) -> float | None:
    v = final.get(key)
    if is_finite(v):
        return float(v)
    return None


def kl_terms(final: Mapping[str, float]) -> dict[str, float]:
    """``{modality: KL in nats}`` from the ``kl/<m>`` keys, in their order."""
    out = {}
    for k in final:
        if isinstance(k, str) and k.startswith("kl/"):
            v = _num(final, k)
            if v is not None:
                out[k[3:]] = v
    return out


def _kl_text(kls: Mapping[str, float], smallest_first: bool = False) -> str:
    items = sorted(kls.items(), key=lambda kv: kv[1]) if smallest_first else list(kls.items())
    return ", ".join(f"KL_{m} {v:.1f} nats" for m, v in items)


def gap(final: Mapping[str, float]) -> float | None:
    """Train minus test accuracy (the overfitting signal), or None when either is missing."""
    train, test = _num(final, TRAIN), _num(final, TEST)
    return None if train is None or test is None else train - test


# main functions


def verdict(
    final: Mapping[str, float],
    peers: Sequence[Mapping[str, float]] = (),
    linear: float | None = None,
) -> Verdict:
    """The regime of a finished run from its last-epoch numbers.

    Args:
        final: ``train/accuracy``, ``test/accuracy`` and ``kl/<m>`` (nats) at the last epoch (``final_numbers``).
        peers: the same numbers of the other finished runs of the same demo (same data); with at least one, the
            run is judged against the best of them (see the module docstring), else by the measured thresholds.
        linear: the test accuracy of the linear model on the same split (``reference.linear_test_accuracy``).
    """
    test, g, kls = _num(final, TEST), gap(final), kl_terms(final)
    if test is None or g is None or not kls:
        return Verdict("waiting", "no final accuracy or KL recorded for this run")
    total = sum(kls.values())
    others = [p for p in peers if _num(p, TEST) is not None and kl_terms(p)]
    if others:
        best = max(others, key=lambda p: _num(p, TEST) or -math.inf)
        best_test = _num(best, TEST) or -math.inf
        if test >= best_test - TIE:
            return _about_right(test, g, kls, BASIS_PEERS)
        below = best_test - test
        if total > sum(kl_terms(best).values()):  # kept more than the best run: too little beta
            return Verdict(
                "overfits",
                f"overfits: train-test gap {g:.2f}, test {test:.2f} ({below:.2f} below the best here), "
                f"{total:.0f} nats kept",
                BASIS_PEERS,
            )
        return _underfits(test, kls, linear, f" ({below:.2f} below the best here)", BASIS_PEERS)
    if total < KL_UNDERFIT or (linear is not None and test - linear < LINEAR_MARGIN and g < GAP_OVERFIT):
        return _underfits(test, kls, linear, "", BASIS_ALONE)
    if g >= GAP_OVERFIT:
        return Verdict(
            "overfits", f"overfits: train-test gap {g:.2f} (train {test + g:.2f}, test {test:.2f})", BASIS_ALONE
        )
    return _about_right(test, g, kls, BASIS_ALONE)


def _about_right(test: float, g: float, kls: Mapping[str, float], basis: str) -> Verdict:
    weakest = min(kls.items(), key=lambda kv: kv[1])
    return Verdict(
        "about right", f"about right: test {test:.2f}, gap {g:.2f}, KL_{weakest[0]} {weakest[1]:.1f} nats", basis
    )


def _underfits(test: float, kls: Mapping[str, float], linear: float | None, below: str, basis: str) -> Verdict:
    vs_linear = f", {test - linear:+.2f} vs linear" if linear is not None else ""
    return Verdict(
        "underfits", f"underfits: {_kl_text(kls, smallest_first=True)}, test {test:.2f}{below}{vs_linear}", basis
    )


def live_state(epoch: int | None, total_epochs: int | None, so_far: Mapping[str, float]) -> str:
    """What a run still training shows instead of a verdict: ``"training: epoch 40 of 110, gap 0.15 so far"``."""
    where = f"epoch {int(epoch or 0)} of {int(total_epochs)}" if total_epochs else f"epoch {int(epoch or 0)}"
    g = gap(so_far)
    if g is None:
        return f"training: {where} (warm-up: the encoders learn before the bottleneck starts)"
    return f"training: {where}, gap {g:.2f} so far"


def final_numbers(steps: pd.DataFrame | None, epochs: pd.DataFrame | None) -> dict[str, float]:
    """The numbers a verdict reads, from a run's wide step and epoch tables (``dashboard.live`` pivots them).

    Accuracies are the last epoch row that has them; each ``kl/<m>`` and ``r/<m>`` is the mean of the step rows of
    the last epoch that logged it (one step's KL is noisy: a batch of about 100 rows).
    """
    out: dict[str, float] = {}
    if epochs is not None and not epochs.empty:
        for key in (TRAIN, TEST):
            if key in epochs.columns:
                col = epochs[key].dropna()
                if not col.empty:
                    out[key] = float(col.iloc[-1])
    if steps is not None and not steps.empty and "epoch" in steps.columns:
        for key in steps.columns:
            if isinstance(key, str) and key.startswith(("kl/", "r/")):
                rows = steps[["epoch", key]].dropna()
                if not rows.empty:
                    last = rows[rows["epoch"] == rows["epoch"].iloc[-1]][key].to_numpy(dtype=float)
                    out[key] = float(np.mean(last))
    return out


def learner_deltas(test: float | None, reference: Mapping[str, float] | None, best: float | None = None) -> list[str]:
    """Deltas of a test accuracy that a learner can act on: against the linear model of the same split
    (``reference["linear_test_accuracy"]``) and against the best test accuracy of its sweep (``best``).

    Not against the SIM ground-truth optimal MIB: that is a model given the true latent blocks (a0, a1, a2), which a
    model learning from the views reaches only with unlimited data (no beta of the teaching sweep comes within 0.1 of
    it), so its delta tells a learner nothing to change.
    """
    if test is None or not math.isfinite(test):
        return []
    out = []
    linear = _num(reference or {}, "linear_test_accuracy")
    if linear is not None:
        out.append(f"{test - linear:+.3f} vs the linear model")
    if best is not None and math.isfinite(best):
        out.append(f"{test - best:+.3f} vs the sweep's best β")
    return out
