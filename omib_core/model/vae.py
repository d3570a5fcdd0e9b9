"""VAE_i: z_i -> (mu_i, logvar_i) -> zeta_i, and its KL to N(0, I) (SPEC sections 2 and 3.2)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

LOGVAR_CLAMP = 10.0

# helpers


def kl_standard_normal(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)), summed over latent dims, averaged over the batch.

    KL_i = 0.5 * sum_j (exp(logvar_ij) + mu_ij^2 - 1 - logvar_ij). Summing (not averaging) over dims
    matters: averaging would silently rescale beta.

    Args:
        mu, logvar: ``(B, L)``.

    Returns:
        A scalar tensor.
    """
    return 0.5 * (logvar.exp() + mu.pow(2) - 1.0 - logvar).sum(dim=-1).mean()  # (B, L) -> (B,) -> ()


def reparameterize(mu: Tensor, logvar: Tensor, sample: bool, generator: torch.Generator | None = None) -> Tensor:
    """zeta = mu + exp(logvar / 2) * eps, eps ~ N(0, I); eps = 0 (zeta = mu) when ``sample`` is False."""
    if not sample:
        return mu
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)  # (B, L)
    return mu + torch.exp(0.5 * logvar) * eps


# main class


class VariationalBottleneck(nn.Module):
    """VAE_i: one Linear z_dim -> 2 * latent_dim giving (mu, logvar), logvar clamped to [-10, 10]."""

    def __init__(self, z_dim: int, latent_dim: int):
        super().__init__()
        self.latent_dim = latent_dim
        self.proj = nn.Linear(z_dim, 2 * latent_dim)

    def encode(self, z: Tensor) -> tuple[Tensor, Tensor]:
        mu, logvar = self.proj(z).chunk(2, dim=-1)  # (B, L), (B, L)
        return mu, logvar.clamp(-LOGVAR_CLAMP, LOGVAR_CLAMP)

    def forward(
        self, z: Tensor, sample: bool, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Return ``(zeta, mu, logvar)``, each ``(B, latent_dim)``."""
        mu, logvar = self.encode(z)
        return reparameterize(mu, logvar, sample, generator), mu, logvar
