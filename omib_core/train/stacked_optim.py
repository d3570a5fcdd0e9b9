"""AdamW and gradient clipping for G stacked copies of a model, each copy on its own (the grid engine).

Adam is elementwise, so one update over the stacked ``(G, P)`` parameters (``omib_core.model.stacked.StackedParams``)
is exactly G separate updates, provided that the per-copy parts stay per copy: the step count behind the bias
correction, the gradient-norm clip, and whether a copy is updated at all (a paused, stopped, finished or failed
member is frozen: no moment, weight or step change).

``torch.optim.AdamW`` keeps a step count per parameter tensor and skips a tensor without a gradient: the warm-up
stage trains Enc_i and Dec_i only, and the other parameters start their bias correction at the first main step.
Here the parameters of one stage are one column slice, each with its own step counts per copy.
"""

from __future__ import annotations

import torch
from torch import Tensor

from omib_core.model.stacked import StackedParams


def clip_grad_norm_(grad: Tensor, max_norm: float) -> Tensor:
    """Per-copy ``torch.nn.utils.clip_grad_norm_`` on a ``(G, P)`` gradient: each row scaled to norm <= ``max_norm``.

    Returns the per-copy norms ``(G,)`` before clipping (NaN for a copy whose gradient is not finite: its clipped
    gradient is then NaN too, as torch's would be, and touches no other copy).
    """
    norms = torch.linalg.vector_norm(grad, dim=1)  # (G,), one fused pass
    coef = (max_norm / (norms + 1e-6)).clamp(max=1.0)  # as torch: max_norm / (total_norm + 1e-6), at most 1
    grad.mul_(coef[:, None])
    return norms


class StackedAdamW:
    """AdamW (decoupled weight decay) over ``StackedParams`` with a per-copy update mask.

    Args:
        params: the stacked parameters (``data`` and ``grad`` are ``(G, P)``).
        lr, weight_decay, betas, eps: as ``torch.optim.AdamW``.
    """

    def __init__(
        self,
        params: StackedParams,
        lr: float,
        weight_decay: float = 0.01,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        self.p, self.lr, self.weight_decay, self.betas, self.eps = params, lr, weight_decay, betas, eps
        G, P = params.data.shape
        self.exp_avg = torch.zeros_like(params.data)
        self.exp_avg_sq = torch.zeros_like(params.data)
        # step counts per copy of the two column groups: [0, split) warm-up parameters, [split, P) the others
        self.steps = torch.zeros(2, G, dtype=torch.float32, device=params.data.device)

    @torch.no_grad()
    def step(self, active: Tensor, warmup: bool) -> None:
        """Update the copies where ``active`` (``(G,)`` bool); in ``warmup`` only the warm-up columns.

        Each active copy's row of a column group is one tensor of torch's fused AdamW kernel (the one a single run
        uses), with the copy's own step count: the same arithmetic as G separate optimisers, in one call.
        """
        rows = [int(g) for g in torch.nonzero(active).flatten().tolist()]
        if not rows:
            return
        groups = [slice(0, self.p.split)] if warmup else [slice(0, self.p.split), slice(self.p.split, None)]
        params, grads, m1, m2, steps = [], [], [], [], []
        for k, cols in enumerate(groups):
            if cols.start == cols.stop or (cols.stop is None and cols.start >= self.p.data.shape[1]):
                continue
            for g in rows:
                params.append(self.p.data[g, cols])
                grads.append(self.p.grad[g, cols])
                m1.append(self.exp_avg[g, cols])
                m2.append(self.exp_avg_sq[g, cols])
                steps.append(self.steps[k, g])
        torch._foreach_add_(steps, 1.0)
        b1, b2 = self.betas
        torch._fused_adamw_(
            params,
            grads,
            m1,
            m2,
            [],
            steps,
            lr=self.lr,
            beta1=b1,
            beta2=b2,
            weight_decay=self.weight_decay,
            eps=self.eps,
            amsgrad=False,
            maximize=False,
        )
