"""Enc_i: the per-modality encoder v_i -> z_i (SPEC section 2), and the MLP helper every part uses."""

from __future__ import annotations

from torch import Tensor, nn

# helpers


def mlp(
    in_dim: int, hidden_dim: int, out_dim: int, layers: int, dropout: float = 0.0, last_bias: bool = True
) -> nn.Sequential:
    """``layers`` hidden layers of ``hidden_dim`` with GELU (and dropout), then a Linear to ``out_dim``.

    Args:
        in_dim, hidden_dim, out_dim: widths.
        layers: number of hidden layers (0 gives a single Linear).
        dropout: dropout after every hidden activation.
        last_bias: False drops the bias of the output layer (Deep SVDD heads, so that a constant output
            cannot be reached through the last layer alone).
    """
    mods: list[nn.Module] = []
    d = in_dim
    for _ in range(layers):
        mods += [nn.Linear(d, hidden_dim), nn.GELU()]
        if dropout > 0:
            mods.append(nn.Dropout(dropout))
        d = hidden_dim
    mods.append(nn.Linear(d, out_dim, bias=last_bias))
    return nn.Sequential(*mods)


# main class


class Encoder(nn.Module):
    """Enc_i: MLP with ``enc_layers`` hidden layers of ``hidden_dim``, GELU, to ``z_dim``."""

    def __init__(self, input_dim: int, hidden_dim: int, z_dim: int, layers: int, dropout: float = 0.0):
        super().__init__()
        self.net = mlp(input_dim, hidden_dim, z_dim, layers, dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)  # (B, d_i) -> (B, z_dim)
