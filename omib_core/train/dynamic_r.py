"""The dynamic weight r (SPEC section 4, paper Eq. 11), as pure functions with gradients stopped.

    r = 1 - tanh( ln( mean_n KL(p(y_hat_2 | xi, z_2) || p(y_hat | xi)) / KL(p(y_hat_1 | xi, z_1) || p(y_hat | xi)) ) )

p(y_hat_i | xi, z_i) is the TRB head Dec_i, p(y_hat | xi) is dDec. The log is clamped to [-10, 10] and
every ratio guarded by eps, so r lies strictly in (0, 2) and is never NaN. For M >= 3 [choice]
modality 1 is the reference: r_j uses div_j / div_1, and r_1 = 1.

The default [choice] ``info_gain`` (``compute_r_gain``) replaces ln(D_j / D_1) by the paired held-out gain difference
of the two heads over dDec under a bounded proper score (Brier; squared error for regression), in units of dDec's own
score, shrunk towards 0 by ``evidence`` standard errors of the per-row differences: a difference that is within its
noise gives r = 1, and the epoch-wise EMA (``r_smooth``) then lets r drift back to 1 instead of flipping.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from omib_core.config import R_FORMS

LOG_CLAMP = 10.0
GAIN_SCALE = 0.25  # info_gain: gain differences are measured in units of this share of dDec's held-out score

# helpers


def head_divergence(task: str, y_hat_i: Tensor, y_hat: Tensor) -> Tensor:
    """Per-sample divergence of a TRB head from dDec, ``(B,)``, without gradients.

    - classification: KL(softmax(y_hat_i) || softmax(y_hat)) (TRB head first, as in Eq. 11);
    - regression [choice]: Gaussians of equal fixed variance, KL = (y_hat_i - y_hat)^2 / 2;
    - anomaly [choice]: squared distance between the two heads' embeddings.
    """
    y_hat_i, y_hat = y_hat_i.detach(), y_hat.detach()
    if task == "classification":
        logp, logq = F.log_softmax(y_hat_i, dim=-1), F.log_softmax(y_hat, dim=-1)  # (B, K)
        # KL >= 0, but float rounding can make it slightly negative for near-identical heads, which would
        # turn (div + eps) into 0 or a negative number and r into NaN: clamp at 0.
        return (logp.exp() * (logp - logq)).sum(dim=-1).clamp_min(0.0)  # (B,)
    if task == "regression":
        return 0.5 * (y_hat_i - y_hat).pow(2).sum(dim=-1)  # (B, 1) -> (B,)
    if task == "anomaly":
        return (y_hat_i - y_hat).pow(2).sum(dim=-1)  # (B, E) -> (B,)
    raise ValueError(f"task must be 'classification', 'regression' or 'anomaly'; got {task!r}.")


def head_score(task: str, y_hat: Tensor, y: Tensor) -> Tensor:
    """Per-row held-out loss of one head under a proper scoring rule, ``(B,)``, without gradients (lower = better).

    - classification [choice]: the Brier score sum_k (p_k - 1[y = k])^2, in [0, 2]. A proper score, so its expected
      gain over dDec is still a measure of the task information a head adds; but bounded, so one overconfident wrong
      row costs at most 2 where its log-loss is unbounded. Measured (bench/results/r_signal.md, "where the signal
      is"): once dDec overfits, the held-out log-loss gains of the two heads differ by ~2 standard errors in a
      direction set by which head is more overconfident (two equal views: r 0.75 for the whole main stage), while the
      Brier gains keep the direction of the information (pure-nuisance v2 behind by 3-4 SE all the way);
    - regression: half the squared error (the Gaussian negative log-likelihood with unit variance, up to a constant).
    """
    y_hat = y_hat.detach()
    if task == "classification":
        p = F.softmax(y_hat.to(torch.float32), dim=-1)  # (B, K)
        return (p - F.one_hot(y, p.shape[-1]).to(p.dtype)).pow(2).sum(dim=-1)
    if task == "regression":
        return 0.5 * (y_hat - y.reshape(-1, 1).to(y_hat.dtype)).pow(2).sum(dim=-1)  # (B, 1) -> (B,)
    raise ValueError(f"head_score needs labels: task must be 'classification' or 'regression'; got {task!r}.")


def head_gain(task: str, y_hat_i: Tensor, y_hat: Tensor, y: Tensor) -> Tensor:
    """Per-row held-out gain of a TRB head over dDec, ``(B,)``, without gradients: score(dDec) - score(Dec_i).

    Its mean over held-out rows estimates how much task information z_i still adds to xi (for the log score exactly
    I(y; z_i | xi), which is what the KL of Eq. 11 measures when the heads are the true posteriors). Unlike the KL,
    a head that fits noise in z_i scores a negative gain here instead of a large divergence. The score is
    ``head_score``: Brier for classification, half the squared error for regression.
    """
    return head_score(task, y_hat, y) - head_score(task, y_hat_i, y)


def shrunk_difference(d: Tensor, evidence: float) -> Tensor:
    """Mean of paired per-row differences ``d`` ``(N,)``, soft-thresholded by ``evidence`` standard errors.

        d_eff = sign(mean d) * max(|mean d| - evidence * sd(d) / sqrt(N), 0)

    A difference within ``evidence`` standard errors is no evidence and gives exactly 0; a larger one keeps only what
    exceeds the noise. ``evidence = 0``: the plain mean. Fewer than 2 rows: no standard error, the plain mean.
    """
    mean = d.mean()
    if evidence == 0 or d.numel() < 2:
        return mean
    se = d.std(correction=1) / d.numel() ** 0.5
    return torch.sign(mean) * (mean.abs() - evidence * se).clamp_min(0.0)


def compute_r_gain(gains: list[Tensor], base_loss: Tensor, evidence: float = 3.0) -> Tensor:
    """r for every modality from per-row held-out gains (``r_form="info_gain"``), ``(M,)``.

    Eq. 11 with each head's divergence D_i replaced by exp(g_i / s), g_i the held-out gain of head i over dDec
    (``head_gain``), compared row by row with the reference head and shrunk by its standard error
    (``shrunk_difference``), and s = GAIN_SCALE * dDec's held-out score (gains relative to what is left to learn):

        d_j = g_j - g_1 per held-out row,   r_j = 1 - tanh(clamp(shrunk_difference(d_j, evidence) / s, -10, 10))

    A head that predicts the held-out rows worse than the reference head (its modality adds less task information
    to xi, or only noise that the head fitted) gets r_j > 1 and is squeezed more; equal heads, or a difference
    within ``evidence`` standard errors of the paired differences, give r_j = 1 exactly.

    Args:
        gains: ``(N,)`` per-row gains of every head, the reference (modality 1) first.
        base_loss: dDec's mean held-out score (``head_score``), the unit of the gains.
        evidence: standard errors a paired difference must exceed to count (``TrainConfig.r_evidence``).
    """
    dtype = _compute_dtype(gains[0])
    scale = GAIN_SCALE * base_loss.detach().to(dtype).clamp_min(0.1)  # a near-perfect dDec: no saturation
    g = [gi.detach().to(dtype) for gi in gains]
    one = g[0].new_ones(())
    diffs = [shrunk_difference(gj - g[0], evidence) for gj in g[1:]]  # paired: the same rows for both heads
    rs = [one] + [1.0 - torch.tanh((dj / scale).clamp(-LOG_CLAMP, LOG_CLAMP)) for dj in diffs]
    return torch.stack(rs)


def _compute_dtype(t: Tensor) -> torch.dtype:
    # float64 keeps 1 - tanh(10) > 0 (float32 rounds tanh(10) to 1); MPS has no float64.
    return torch.float32 if t.device.type == "mps" else torch.float64


# main functions


def compute_r(div_ref: Tensor, div_j: Tensor, form: str = "mean_of_ratios", eps: float = 1e-8) -> Tensor:
    """r_j = 1 - tanh(clamp(ln(ratio), -10, 10)) from per-sample divergences of the reference and of j.

    Args:
        div_ref: ``(N,)`` divergences of the reference modality's head (modality 1).
        div_j: ``(N,)`` divergences of modality j's head.
        form: ``"mean_of_ratios"`` (mean_n (div_j + eps) / (div_ref + eps), Eq. 11 as written) or
            ``"ratio_of_means"`` ((mean div_j + eps) / (mean div_ref + eps)).
        eps: guard of every ratio.

    Returns:
        A 0-dim tensor on the inputs' device, strictly inside (0, 2): 1 when the divergences are equal,
        below 1 when div_j > div_ref (v_j still holds uncoded task information and is squeezed less).
    """
    dtype = _compute_dtype(div_ref)
    a, b = div_ref.detach().to(dtype), div_j.detach().to(dtype)
    if form == "mean_of_ratios":
        ratio = ((b + eps) / (a + eps)).mean()
    elif form == "ratio_of_means":
        ratio = (b.mean() + eps) / (a.mean() + eps)
    else:
        raise ValueError(f"form must be one of {R_FORMS}; got {form!r}.")
    return 1.0 - torch.tanh(torch.log(ratio).clamp(-LOG_CLAMP, LOG_CLAMP))


def compute_r_all(divs: list[Tensor], form: str = "mean_of_ratios", eps: float = 1e-8) -> Tensor:
    """r for every modality, ``(M,)`` (float64, float32 on MPS): r_1 = 1 (reference), r_j = compute_r(div_1, div_j)."""
    ones = divs[0].new_ones((), dtype=_compute_dtype(divs[0]))
    return torch.stack([ones] + [compute_r(divs[0], d, form, eps) for d in divs[1:]])


def ema_update(r: Tensor, r_batch: Tensor, decay: float) -> Tensor:
    """EMA of per-batch r values (``r_update="batch"``): decay * r + (1 - decay) * r_batch."""
    return decay * r + (1.0 - decay) * r_batch.detach()
