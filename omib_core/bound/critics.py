"""Critic (statistics) networks T(x, y) of the neural mutual-information estimators.

- ``ConcatCritic``: T(x, y) = MLP([x; y]), the MINE statistics network (Belghazi et al. 2018), 2 hidden
  layers of ``hidden_dim``. Used by MINE and SMILE, scored on joint pairs and on shuffled (marginal) pairs.
- ``SeparableCritic``: T(x, y) = f(x) . g(y), used by InfoNCE [choice]: its (B, B) score matrix over all
  pairs of a batch costs two MLP passes instead of B^2 (a concat critic on all pairs of a 256-row batch is
  ~65,000 forward rows per step).
"""

from __future__ import annotations

import torch
from torch import nn

EMBED_DIM = 32  # [choice] output width of f and g in the separable critic


# helpers


def mlp(in_dim: int, hidden_dim: int, out_dim: int) -> nn.Sequential:
    """in -> hidden -> hidden -> out, ReLU, the 2 x hidden_dim statistics network of MINE."""
    return nn.Sequential(
        nn.Linear(in_dim, hidden_dim),
        nn.ReLU(),
        nn.Linear(hidden_dim, hidden_dim),
        nn.ReLU(),
        nn.Linear(hidden_dim, out_dim),
    )


# main classes


class ConcatCritic(nn.Module):
    """T(x, y) = MLP([x; y]) -> one score per row."""

    def __init__(self, x_dim: int, y_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.net = mlp(x_dim + y_dim, hidden_dim, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # x (B, dx), y (B, dy) -> (B,)
        return self.net(torch.cat([x, y], dim=1)).squeeze(1)


class SeparableCritic(nn.Module):
    """T(x, y) = f(x) . g(y); ``scores`` gives every pair of a batch at once."""

    def __init__(self, x_dim: int, y_dim: int, hidden_dim: int, embed_dim: int = EMBED_DIM) -> None:
        super().__init__()
        self.f = mlp(x_dim, hidden_dim, embed_dim)
        self.g = mlp(y_dim, hidden_dim, embed_dim)

    def scores(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # x (B, dx), y (B, dy) -> (B, B), entry [i, j] = T(x_i, y_j); the diagonal holds the joint pairs
        return self.f(x) @ self.g(y).T
