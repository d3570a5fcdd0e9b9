"""Result types of the beta-bound estimation (SPEC section 5). Units are nats."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Estimate:
    """One information quantity (an entropy or a mutual information) estimated over several seeds.

    Attributes:
        name: e.g. ``"H(v1)"``, ``"I(v1;v2)"``, ``"H_joint"``.
        value: mean over seeds (nats), evaluated on held-out rows for neural estimators.
        std: spread over seeds.
        per_seed: each seed's value.
        curve: training curve of the first seed (estimate per logged step); empty for closed forms.
        converged: False when the curve has not levelled off (last 20 % still moving); True for closed forms.
        exact: the exact value when known (synthetic Gaussian data), else None.
        note: a sentence when something is off (not levelled off, estimator ceiling such as ln(batch)).
    """

    name: str
    value: float
    std: float = 0.0
    per_seed: tuple[float, ...] = ()
    curve: tuple[float, ...] = ()
    converged: bool = True
    exact: float | None = None
    note: str = ""


@dataclass(frozen=True)
class BoundResult:
    """M_u, M_l and the estimates they come from.

    ``M_u`` is ``None`` (never a negative or infinite number) when the bound does not exist; ``failure``
    then says why in a sentence. ``warning`` is a sentence when the number comes from something other than the
    differential entropies of the sample covariance (a shrunk covariance, principal components, or the
    resolution form; see ``beta_bound``), else None. ``M_u_conservative = 1 / (3 * H_joint)`` (two modalities) or
    ``1 / ((2M - 1) * H_joint)``; ``M_u_with_r(r) = 1 / ((1 + r) * H_joint)``; ``M_l = 1 / (3 * (H1 + H2))``.
    """

    estimator: str
    modalities: tuple[str, ...]
    entropies: dict[str, Estimate]  # H(v_i) per modality
    mutual_information: Estimate | None  # I(v_1; v_2) (first two modalities)
    h_joint: Estimate  # H(v_1) + H(v_2) - I(v_1; v_2), or the joint entropy for M >= 3
    M_u: float | None
    M_l: float | None
    failure: str | None = None
    fingerprint: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    warning: str | None = None

    def M_u_with_r(self, r: float) -> float | None:
        """Paper form 1 / ((1 + r) * H_joint); None when the bound does not exist."""
        h = self.h_joint.value
        if self.M_u is None or not math.isfinite(h) or h <= 0 or not (r > -1):
            return None
        return 1.0 / ((1.0 + r) * self.h_joint.value)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BoundResult:
        d = dict(d)
        d["modalities"] = tuple(d["modalities"])
        d["entropies"] = {k: _est(v) for k, v in d["entropies"].items()}
        d["mutual_information"] = _est(d["mutual_information"]) if d.get("mutual_information") else None
        d["h_joint"] = _est(d["h_joint"])
        return cls(**d)


def _est(d: dict[str, Any]) -> Estimate:
    d = dict(d)
    d["per_seed"] = tuple(d.get("per_seed", ()))
    d["curve"] = tuple(d.get("curve", ()))
    return Estimate(**d)
