"""OMIB: Enc_i, Dec_i (TRB), VAE_i, CAN and dDec in one module (SPEC section 2).

Baselines are values of ``ModelConfig``: ``fusion="concat"`` replaces CAN by a Linear over the
concatenated zeta_i, ``bottleneck=False`` makes zeta_i = mu_i deterministic with no KL term (plain late
fusion). ``dynamic_r`` and hand-set beta live in the training loop.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from omib_core.config import STAGES, ModelConfig
from omib_core.model.encoders import Encoder
from omib_core.model.fusion import CAN, ConcatFusion
from omib_core.model.heads import Predictor, TRBHead
from omib_core.model.vae import VariationalBottleneck, kl_standard_normal

# main class


class OMIB(nn.Module):
    """The OMIB network.

    Args:
        input_dims: ``{modality: d_i}`` in the dataset's order; the first is the reference modality of r.
        out_dim: ``n_classes`` (classification), 1 (regression) or the Deep SVDD embedding size (anomaly).
        config: the ``ModelConfig``.
        task: only changes the heads: ``"anomaly"`` drops the output layers' bias (Deep SVDD).

    Attributes:
        center: ``(out_dim,)`` buffer, the Deep SVDD centre c (set by training for the anomaly task,
            zeros otherwise); saved with the state dict.
    """

    def __init__(self, input_dims: dict[str, int], out_dim: int, config: ModelConfig, *, task: str = "classification"):
        super().__init__()
        if len(input_dims) < 2:
            raise ValueError(f"OMIB needs at least 2 modalities; got {list(input_dims)}.")
        c = config
        self.config, self.modalities, self.out_dim, self.task = c, tuple(input_dims), out_dim, task
        self.input_dims = {m: int(d) for m, d in input_dims.items()}
        bias = task != "anomaly"
        M = len(input_dims)
        self.encoders = nn.ModuleDict(
            {m: Encoder(d, c.hidden_dim, c.z_dim, c.enc_layers, c.dropout) for m, d in input_dims.items()}
        )
        self.trb = nn.ModuleDict(
            {m: TRBHead(c.z_dim, c.xi_dim, c.hidden_dim, out_dim, c.dropout, bias=bias) for m in input_dims}
        )
        self.vae = nn.ModuleDict({m: VariationalBottleneck(c.z_dim, c.latent_dim) for m in input_dims})
        if c.fusion == "can":
            self.fusion: nn.Module = CAN(M, c.latent_dim, c.xi_dim, c.tokens, c.heads, c.dropout)
        else:
            self.fusion = ConcatFusion(M, c.latent_dim, c.xi_dim)
        self.ddec = Predictor(c.xi_dim, c.hidden_dim, out_dim, c.dropout, bias=bias)
        self.register_buffer("center", torch.zeros(out_dim))

    def warmup_parameters(self) -> list[nn.Parameter]:
        """Parameters trained in warm-up: Enc_i and Dec_i."""
        return [*self.encoders.parameters(), *self.trb.parameters()]

    def encode(self, xs: dict[str, Tensor]) -> dict[str, Tensor]:
        """z_i = Enc_i(v_i) for every modality, each ``(B, z_dim)``."""
        return {m: self.encoders[m](xs[m]) for m in self.modalities}

    def forward(
        self, xs: dict[str, Tensor], stage: str = "main", sample: bool = True, generator: torch.Generator | None = None
    ) -> dict:
        """Run one stage.

        Args:
            xs: ``{modality: (B, d_i)}``.
            stage: ``"warmup"`` (Enc_i + Dec_i with noise e_i) or ``"main"`` (the full network).
            sample: draw e_i / eps_i; False gives the deterministic evaluation path (e_i = 0, zeta_i = mu_i).
            generator: torch generator of the noise (seeded by the training loop).

        Returns:
            ``z``, ``y_hat_i`` (dicts by modality) in both stages; in the main stage also ``mu``, ``logvar``,
            ``zeta``, ``kl`` (dicts; KL_i a scalar, 0 without bottleneck), ``xi`` ``(B, xi_dim)`` and
            ``y_hat`` ``(B, out_dim)``.
        """
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}; got {stage!r}.")
        z = self.encode(xs)
        if stage == "warmup":
            return {"z": z, "y_hat_i": {m: self.trb[m](z[m], self._noise(z[m], sample, generator)) for m in z}}
        mu, logvar, zeta, kl = {}, {}, {}, {}
        for m in self.modalities:
            zeta[m], mu[m], logvar[m] = self.vae[m](z[m], sample and self.config.bottleneck, generator)
            if self.config.bottleneck:
                kl[m] = kl_standard_normal(mu[m], logvar[m])  # KL_i, summed over dims, batch mean
            else:
                kl[m] = mu[m].new_zeros(())
        xi = self.fusion([zeta[m] for m in self.modalities])  # xi = CAN(zeta_1..zeta_M), (B, xi_dim)
        y_hat = self.ddec(xi)  # y_hat = dDec(xi), (B, out_dim)
        y_hat_i = {m: self.trb[m](z[m], xi) for m in self.modalities}  # y_hat_i = Dec_i([z_i ; xi])
        return {
            "z": z,
            "mu": mu,
            "logvar": logvar,
            "zeta": zeta,
            "kl": kl,
            "xi": xi,
            "y_hat": y_hat,
            "y_hat_i": y_hat_i,
        }

    def _noise(self, z: Tensor, sample: bool, generator: torch.Generator | None) -> Tensor:
        shape = (z.shape[0], self.config.xi_dim)
        if not sample:
            return z.new_zeros(shape)  # e_i = 0 (its mean) for deterministic evaluation
        return torch.randn(shape, generator=generator, device=z.device, dtype=z.dtype)  # e_i ~ N(0, I)
