"""Prediction heads: the TRB heads Dec_i and the fused predictor dDec (SPEC section 2).

Output size: ``n_classes`` logits (classification), 1 value (regression), or a Deep SVDD embedding
(anomaly), whose last layer has no bias (Ruff et al. 2018: a bias lets the network reach the centre c
with a constant output).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from omib_core.model.encoders import mlp

# main classes


class TRBHead(nn.Module):
    """Dec_i: [z_i ; c] -> prediction, with c = e_i ~ N(0, I) in warm-up and c = xi in the main stage."""

    def __init__(self, z_dim: int, c_dim: int, hidden_dim: int, out_dim: int, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        self.net = mlp(z_dim + c_dim, hidden_dim, out_dim, layers=1, dropout=dropout, last_bias=bias)

    def forward(self, z: Tensor, c: Tensor) -> Tensor:
        return self.net(torch.cat([z, c], dim=-1))  # (B, z_dim + c_dim) -> (B, out_dim)


class Predictor(nn.Module):
    """dDec: q(y | xi), an MLP with one hidden layer."""

    def __init__(self, xi_dim: int, hidden_dim: int, out_dim: int, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        self.net = mlp(xi_dim, hidden_dim, out_dim, layers=1, dropout=dropout, last_bias=bias)

    def forward(self, xi: Tensor) -> Tensor:
        return self.net(xi)  # (B, xi_dim) -> (B, out_dim)
