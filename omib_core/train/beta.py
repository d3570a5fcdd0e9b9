"""How a run's KL weight beta is derived: the one definition, used by the training loop and the pages.

- ``TrainConfig.beta`` set: beta is that number (the E-MIB style hand-set baseline).
- Else beta = ``beta_scale`` x M_u, where M_u is the bound's conservative value (``bound="conservative"``) or the
  paper's form with the current r, M_u(r) = 1 / ((1 + sum_{j>=2} r_j) H_joint) (``bound="with_r"``).
- No M_u: beta does not exist (None), unless the model has no bottleneck, where beta is unused (0.0).

Torch-free: ``r_sum`` may be a float or a 0-d tensor; a tensor gives a tensor, computed without a host sync.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omib_core.config import TrainConfig
from omib_core.params import is_number as _is_number

if TYPE_CHECKING:  # the bound package imports torch; this module does not need it
    from omib_core.bound.result import BoundResult


def m_u_for(train: TrainConfig, bound: BoundResult | None, r_sum: Any) -> Any:
    """The M_u that beta is a multiple of: the conservative bound, or the paper's with ``r_sum``; None without one.

    Args:
        train: the run's TrainConfig (its ``bound`` picks the form).
        bound: the estimated bound, or None.
        r_sum: the sum of r_j over the modalities after the first (M - 1 at the start of a run, when r = 1).
    """
    if bound is None or bound.M_u is None:
        return None
    if train.bound != "with_r":
        return bound.M_u
    if _is_number(r_sum):
        return bound.M_u_with_r(float(r_sum))
    mu0 = bound.M_u_with_r(0.0)  # a tensor r_sum: M_u(r) = M_u(0) / (1 + r), no host sync
    return None if mu0 is None else mu0 / (1.0 + r_sum)


def beta_follows_r(train: TrainConfig, bound: BoundResult | None) -> bool:
    """True when beta changes with r during the run (a multiple of M_u with ``bound="with_r"``)."""
    return train.beta is None and train.bound == "with_r" and bound is not None and bound.M_u is not None


def beta_for(train: TrainConfig, bound: BoundResult | None, r_sum: Any, *, bottleneck: bool = True) -> Any:
    """The KL weight beta of a run with these settings, this bound and this sum of r_j (j >= 2).

    Args:
        train: the run's TrainConfig (``beta``, ``beta_scale``, ``bound``).
        bound: the estimated bound, or None.
        r_sum: the sum of r_j over the modalities after the first (a float, or a 0-d tensor on the device).
        bottleneck: the model's ``bottleneck`` setting; without one beta is unused and comes out as 0.0.

    Returns:
        beta (a float, or a tensor for a tensor ``r_sum`` when beta follows r), or None when beta is a multiple
        of M_u and there is no M_u.
    """
    if train.beta is not None:
        return float(train.beta)
    if (mu := m_u_for(train, bound, r_sum)) is not None:
        return train.beta_scale * mu
    return None if bottleneck else 0.0


def beta_over_mu(beta: float | None, m_u: float | None) -> float | None:
    """beta as a multiple of M_u (how hard the bottleneck squeezes), or None when either is missing or zero."""
    if not beta or not m_u:
        return None
    return beta / m_u
