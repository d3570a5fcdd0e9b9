"""The beta bound M_u (SPEC section 5): entropy / mutual-information estimators and M_u, M_l.

Estimators: ``gaussian`` (log-det, default), ``mine`` (the paper's), ``infonce``, ``smile``. Units are nats.
The gaussian estimator shrinks the covariance when there are fewer rows than features (``SMALL_SAMPLE``) and, on
the standardised scale, falls back to the entropy at a resolution (``RESOLUTION``) when the differential joint
entropy is unusable (see ``beta_bound``).
"""

from omib_core.bound.beta_bound import (
    MIN_H_JOINT,
    RESOLUTION,
    STANDARDISED_SCALE,
    bound_values,
    estimate_bound,
    estimate_bound_arrays,
    estimate_entropy,
    estimate_mi,
)
from omib_core.bound.cache import ESTIMATOR_VERSION, fingerprint
from omib_core.bound.convergence import levelled_off
from omib_core.bound.gaussian import gaussian_entropy, gaussian_mi
from omib_core.bound.neural import NEURAL_ESTIMATORS, neural_mi
from omib_core.bound.result import BoundResult, Estimate
from omib_core.bound.small_sample import SMALL_SAMPLE

__all__ = [
    "ESTIMATOR_VERSION",
    "MIN_H_JOINT",
    "NEURAL_ESTIMATORS",
    "RESOLUTION",
    "SMALL_SAMPLE",
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
