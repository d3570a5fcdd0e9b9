"""Variational lower bounds on I(X; Y) from critic scores, and the training losses built on them.

Notation: ``t_joint`` (B,) are critic scores T(x_i, y_i) on joint pairs, ``t_marg`` (K,) scores on
pairs drawn from the product of marginals (y shuffled within the batch), ``scores`` (B, B) a full
score matrix with the joint pairs on its diagonal. All values in nats.

- Donsker-Varadhan (MINE, Belghazi et al. 2018):  I >= E_P[T] - log E_Q[e^T]
- MINE gradient correction: the gradient of log E_Q[e^T] is E_Q[e^T grad T] / E_Q[e^T]; the batch
  denominator is biased, so MINE divides by a moving average of E_Q[e^T] (rate ``ma_rate``) instead.
- InfoNCE (van den Oord et al. 2018): I >= mean_i [T_ii - log sum_j e^{T_ij}] + log B  (<= log B)
- SMILE (Song & Ermon 2020): the critic is trained with the Jensen-Shannon (f-GAN) bound, and the
  estimate is DV with e^T clipped to [e^-tau, e^tau] on the marginal term.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def logmeanexp(t: torch.Tensor) -> torch.Tensor:
    """log mean exp over all elements, stable."""
    return torch.logsumexp(t.reshape(-1), dim=0) - math.log(t.numel())


def dv_bound(t_joint: torch.Tensor, t_marg: torch.Tensor) -> torch.Tensor:
    """Donsker-Varadhan bound E_P[T] - log E_Q[e^T] (the MINE estimate)."""
    return t_joint.mean() - logmeanexp(t_marg)


def smile_bound(t_joint: torch.Tensor, t_marg: torch.Tensor, clip: float) -> torch.Tensor:
    """SMILE estimate: DV with the marginal term's e^T clipped to [e^-clip, e^clip]."""
    return t_joint.mean() - logmeanexp(t_marg.clamp(-clip, clip))


def js_bound(t_joint: torch.Tensor, t_marg: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon (f-GAN) objective whose optimal critic is T = log p(x, y) / (p(x) p(y)) (SMILE training)."""
    return -F.softplus(-t_joint).mean() - F.softplus(t_marg).mean()


def infonce_bound(scores: torch.Tensor) -> torch.Tensor:
    """InfoNCE bound on a (B, B) score matrix; never above log B."""
    b = scores.shape[0]
    return (scores.diagonal() - torch.logsumexp(scores, dim=1)).mean() + math.log(b)


def mine_loss(
    t_joint: torch.Tensor, t_marg: torch.Tensor, log_ma: torch.Tensor | None, rate: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """MINE loss with the moving-average gradient correction; returns (loss, updated log moving average).

    The loss is -(E_P[T] - E_Q[e^T] / ma) with ma a detached moving average of E_Q[e^T], so its gradient is
    -(E_P[grad T] - E_Q[e^T grad T] / ma): the DV gradient with a less biased denominator (Belghazi et al.
    2018, section 3.2). The moving average is kept in log space to avoid overflow.
    """
    lme = logmeanexp(t_marg)  # log E_Q[e^T] on this batch
    with torch.no_grad():
        if log_ma is None:
            log_ma = lme.detach()
        else:  # ma <- (1 - rate) ma + rate * batch value
            log_ma = torch.logaddexp(log_ma + math.log1p(-rate), lme.detach() + math.log(rate))
    loss = -(t_joint.mean() - torch.exp(lme - log_ma))
    return loss, log_ma
