"""The dynamic weight r (SPEC section 4, paper Eq. 11), as pure functions with gradients stopped.

    r = 1 - tanh( ln( mean_n KL(p(y_hat_2 | xi, z_2) || p(y_hat | xi)) / KL(p(y_hat_1 | xi, z_1) || p(y_hat | xi)) ) )

p(y_hat_i | xi, z_i) is the TRB head Dec_i, p(y_hat | xi) is dDec. The log is clamped to [-10, 10] and
every ratio guarded by eps, so r lies strictly in (0, 2) and is never NaN. For M >= 3 [choice]
modality 1 is the reference: r_j uses div_j / div_1, and r_1 = 1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from omib_core.config import R_FORMS

LOG_CLAMP = 10.0
GAIN_SCALE = 0.25  # info_gain: gain differences are measured in units of this share of dDec's held-out loss

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


def head_gain(task: str, y_hat_i: Tensor, y_hat: Tensor, y: Tensor) -> Tensor:
    """Per-sample held-out log-likelihood gain of a TRB head over dDec, ``(B,)``, without gradients.

    log p_i(y | xi, z_i) - log p(y | xi): its mean over held-out rows estimates I(y; z_i | xi), the task information
    z_i still adds to xi, which is what the KL of Eq. 11 measures when the heads are the true posteriors
    (E_y KL(p_i || p) = I(y; z_i | xi)). Unlike the KL, a head that fits noise in z_i scores a negative gain here
    instead of a large divergence. Classification: difference of cross-entropies; regression: of Gaussian
    log-likelihoods with unit variance.
    """
    y_hat_i, y_hat = y_hat_i.detach(), y_hat.detach()
    if task == "classification":
        return F.cross_entropy(y_hat, y, reduction="none") - F.cross_entropy(y_hat_i, y, reduction="none")
    if task == "regression":
        yy = y.reshape(-1, 1).to(y_hat.dtype)
        return 0.5 * ((y_hat - yy).pow(2) - (y_hat_i - yy).pow(2)).sum(dim=-1)
    raise ValueError(f"head_gain needs labels: task must be 'classification' or 'regression'; got {task!r}.")


def compute_r_gain(gains: list[Tensor], base_loss: Tensor) -> Tensor:
    """r for every modality from held-out gains (``r_form="info_gain"``), ``(M,)``.

    Eq. 11 with each head's divergence D_i replaced by exp(g_i / s), g_i the mean held-out gain of head i
    (``head_gain``) and s = GAIN_SCALE * dDec's held-out task loss (gains relative to what is left to learn):

        r_j = 1 - tanh(clamp(ln(D_j / D_1), -10, 10)) = 1 - tanh(clamp((g_j - g_1) / s, -10, 10))

    A head that predicts the held-out rows worse than the reference head (its modality adds less task information
    to xi, or only noise that the head fitted) gets r_j > 1 and is squeezed more; equal heads give r_j = 1.
    """
    dtype = _compute_dtype(gains[0])
    scale = GAIN_SCALE * base_loss.detach().to(dtype).clamp_min(0.1)  # a near-perfect dDec: no saturation
    g = [gi.detach().to(dtype).mean() for gi in gains]
    one = g[0].new_ones(())
    rs = [one] + [1.0 - torch.tanh(((gj - g[0]) / scale).clamp(-LOG_CLAMP, LOG_CLAMP)) for gj in g[1:]]
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
