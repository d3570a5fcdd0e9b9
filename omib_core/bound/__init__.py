"""The beta bound M_u (SPEC section 5): entropy / mutual-information estimators and M_u, M_l.

Estimators: ``gaussian`` (log-det, default), ``mine`` (the paper's), ``infonce``, ``smile``. Units are nats.
"""

from omib_core.bound.beta_bound import (
    ESTIMATOR_VERSION,
    STANDARDISED_SCALE,
    bound_values,
    estimate_bound,
    estimate_bound_arrays,
    estimate_entropy,
    estimate_mi,
    fingerprint,
)
from omib_core.bound.convergence import levelled_off
from omib_core.bound.gaussian import gaussian_entropy, gaussian_mi
from omib_core.bound.neural import NEURAL_ESTIMATORS, neural_mi
from omib_core.bound.result import BoundResult, Estimate

__all__ = [
    "ESTIMATOR_VERSION",
    "NEURAL_ESTIMATORS",
    "STANDARDISED_SCALE",
    "BoundResult",
    "Estimate",
    "bound_values",
    "estimate_bound",
    "estimate_bound_arrays",
    "estimate_entropy",
    "estimate_mi",
    "fingerprint",
    "gaussian_entropy",
    "gaussian_mi",
    "levelled_off",
    "neural_mi",
]
