"""G copies of one OMIB network as one batched model: the grid engine's forward pass (``omib_core.train.grid``).

Every parameter of the template ``OMIB`` is stacked along a new leading dimension G (``StackedParams``), and the
forward pass below mirrors ``OMIB.forward`` with hand-batched layers: a Linear is one ``baddbmm`` over the G copies,
a LayerNorm one ``layer_norm`` with per-copy affine terms, attention one batched matmul. Each op runs once for the
whole grid, so a step of 30 copies costs a few times one copy rather than 30 times (bench/results/grid_speed.md
compares it with ``torch.func.vmap`` over ``functional_call``). Copy g of the stacked state loads into a plain
``OMIB`` (``StackedParams.member_state``), which is what checkpoints, snapshots and embeddings use.

Noise (e_i, eps_i) is drawn by the caller and passed in, so that the same draws can be checked against ``OMIB``.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from omib_core.model.fusion import softmax
from omib_core.model.omib import OMIB
from omib_core.model.vae import LOGVAR_CLAMP

Params = dict[str, Tensor]
# the gradient views of StackedParams are strided slices of one buffer, which torch notes once per backward
warnings.filterwarnings("ignore", message="grad and param do not obey the gradient layout contract")

# helpers


class StackedParams:
    """The parameters of G copies of one network in one flat ``(G, P)`` tensor, with a ``(G, P)`` gradient buffer.

    ``params[name]`` is a leaf view ``(G, *shape)`` into ``data`` whose ``.grad`` is a view into ``grad``, so backward
    accumulates every gradient in place into one tensor and an optimiser step is a handful of ops on ``(G, P)``
    whatever the number of layers. Columns ``[0, groups[0])`` hold the parameters named in ``first`` (the warm-up
    parameters), the rest after them, so that one stage's parameters are one slice.

    Args:
        models: the G copies (same architecture), each with its own initialisation.
        first: names of the parameters placed first.
    """

    def __init__(self, models: list[nn.Module], first: set[str] = frozenset()) -> None:
        named = list(models[0].named_parameters())
        order = [n for n, _ in named if n in first] + [n for n, _ in named if n not in first]
        shapes = dict((n, p.shape) for n, p in named)
        G, P = len(models), sum(shapes[n].numel() for n in order)
        ref = named[0][1]
        self.data = torch.zeros(G, P, dtype=ref.dtype, device=ref.device)
        self.grad = torch.zeros_like(self.data)
        self.split = sum(shapes[n].numel() for n in order if n in first)  # warm-up columns: [0, split)
        self.params: Params = {}
        at = 0
        for n in order:
            k = shapes[n].numel()
            with torch.no_grad():
                self.data[:, at : at + k] = torch.stack(
                    [dict(m.named_parameters())[n].detach().reshape(-1) for m in models]
                )
            view = self.data[:, at : at + k].view(G, *shapes[n]).requires_grad_()
            view.grad = self.grad[:, at : at + k].view(G, *shapes[n])
            self.params[n] = view
            at += k
        self.buffers: Params = {
            n: torch.stack([dict(m.named_buffers())[n] for m in models]) for n, _ in models[0].named_buffers()
        }

    def zero_grad(self) -> None:
        self.grad.zero_()

    def member_state(self, g: int) -> dict[str, Tensor]:
        """The ``state_dict`` of copy ``g`` (detached clones), loadable into the template network."""
        return {n: t[g].detach().clone() for n, t in (self.params | self.buffers).items()}


def linear(p: Params, name: str, x: Tensor) -> Tensor:
    """nn.Linear over G copies: x ``(G, ..., in)`` -> ``(G, ..., out)`` with W ``(G, out, in)``, b ``(G, out)``."""
    w, b = p[f"{name}.weight"], p.get(f"{name}.bias")
    shape = x.shape
    x2 = x.reshape(shape[0], -1, shape[-1])  # (G, N, in)
    if b is None:
        y = torch.bmm(x2, w.transpose(1, 2))
    else:
        y = torch.baddbmm(b.unsqueeze(1), x2, w.transpose(1, 2))  # (G, N, out)
    return y.reshape(*shape[:-1], w.shape[1])


def layer_norm(p: Params, name: str, x: Tensor, eps: float = 1e-5) -> Tensor:
    """nn.LayerNorm over the last dim with per-copy weight and bias ``(G, D)``; x ``(G, ..., D)``."""
    w, b = p[f"{name}.weight"], p[f"{name}.bias"]
    view = (w.shape[0],) + (1,) * (x.dim() - 2) + (w.shape[1],)
    return F.layer_norm(x, (x.shape[-1],), eps=eps) * w.view(view) + b.view(view)


def sequential(p: Params, name: str, module: nn.Sequential, x: Tensor, training: bool) -> Tensor:
    """Run an ``nn.Sequential`` of Linear / GELU / Dropout layers (the ``mlp`` helper's) over G copies."""
    for i, layer in enumerate(module):
        if isinstance(layer, nn.Linear):
            x = linear(p, f"{name}.{i}", x)
        elif isinstance(layer, nn.GELU):
            x = F.gelu(x)
        elif isinstance(layer, nn.Dropout):
            x = F.dropout(x, layer.p, training)
        else:  # a layer this file does not batch: fail loudly rather than skip it
            raise TypeError(f"stacked.sequential cannot batch {type(layer).__name__} ({name}.{i}).")
    return x


def _attention(p: Params, name: str, heads: int, x: Tensor, ctx: Tensor) -> Tensor:
    """MultiHeadCrossAttention over G copies: x ``(G, B, Tq, D)``, ctx ``(G, B, Tk, D)``."""
    G, B, Tq, D = x.shape
    Tk, H = ctx.shape[2], heads
    q = linear(p, f"{name}.q", x).view(G, B, Tq, H, D // H).transpose(2, 3)  # (G, B, H, Tq, d_h)
    kv = linear(p, f"{name}.kv", ctx).view(G, B, Tk, 2, H, D // H)
    k, v = kv.permute(3, 0, 1, 4, 2, 5)  # 2 x (G, B, H, Tk, d_h)
    scores = q @ k.transpose(-2, -1) / (D // H) ** 0.5  # (G, B, H, Tq, Tk)
    y = (softmax(scores) @ v).transpose(2, 3).reshape(G, B, Tq, D)
    return linear(p, f"{name}.out", y)


def _fuse(template: OMIB, p: Params, zetas: list[Tensor], training: bool) -> Tensor:
    """xi = CAN(zeta_1..zeta_M) (or the concat baseline) over G copies; each zeta ``(G, B, L)`` -> ``(G, B, xi)``."""
    fusion = template.fusion
    if not hasattr(fusion, "blocks"):  # ConcatFusion
        return linear(p, "fusion.proj", torch.cat(zetas, dim=-1))
    G, B = zetas[0].shape[:2]
    T, d = fusion.T, fusion.d
    pos = p["fusion.pos"]  # (G, M, T, d)
    toks = [z.view(G, B, T, d) + pos[:, i].unsqueeze(1) for i, z in enumerate(zetas)]  # M x (G, B, T, d)
    pooled = []
    for i, block in enumerate(fusion.blocks):
        pre = f"fusion.blocks.{i}"
        ctx = torch.cat([t for j, t in enumerate(toks) if j != i], dim=2)  # (G, B, (M-1) T, d)
        x = toks[i]
        h = x + _attention(
            p, f"{pre}.attn", block.attn.heads, layer_norm(p, f"{pre}.ln_q", x), layer_norm(p, f"{pre}.ln_kv", ctx)
        )
        h = h + sequential(p, f"{pre}.ffn", block.ffn, layer_norm(p, f"{pre}.ln_ffn", h), training)
        pooled.append(h.mean(dim=2))  # (G, B, d)
    return linear(p, "fusion.proj", torch.cat(pooled, dim=-1))


def batch_mean(x: Tensor, weights: Tensor | None) -> Tensor:
    """Mean over the batch dim of ``(G, B)`` values; with ``weights`` ``(G, B)`` (1 = a row, 0 = padding), the mean of
    each copy's own rows (copies whose batches differ in size train in one padded batch)."""
    if weights is None:
        return x.mean(dim=-1)
    return (x * weights).sum(dim=-1) / weights.sum(dim=-1).clamp(min=1.0)


def kl_standard_normal(mu: Tensor, logvar: Tensor, weights: Tensor | None = None) -> Tensor:
    """KL_i per copy: summed over latent dims, averaged over the batch, ``(G, B, L) -> (G,)``."""
    return batch_mean(0.5 * (logvar.exp() + mu.pow(2) - 1.0 - logvar).sum(dim=-1), weights)


# main function


def forward(
    template: OMIB,
    p: Params,
    xs: dict[str, Tensor],
    stage: str,
    *,
    training: bool,
    noise: dict[str, Tensor] | None = None,
    weights: Tensor | None = None,
    heads: bool = True,
) -> dict:
    """``OMIB.forward`` over G copies.

    Args:
        template: one of the copies (its module structure and config; its own weights are not used).
        p: stacked parameters ``{name: (G, *shape)}`` (``StackedParams.params``).
        xs: ``{modality: (G, B, d_i)}``.
        stage: ``"warmup"`` or ``"main"``.
        training: dropout on (the model's ``train()`` mode).
        noise: ``{modality: (G, B, xi_dim)}`` e_i in warm-up, ``(G, B, latent_dim)`` eps_i in the main stage; None =
            the deterministic evaluation path (e_i = 0, zeta_i = mu_i).
        weights: ``(G, B)`` row weights of the KL's batch mean (0 for padding rows); None = all rows.
        heads: False skips the TRB heads of the main stage (``y_hat_i`` empty): an evaluation that reads dDec only.

    Returns:
        As ``OMIB.forward``, every tensor with a leading G; ``kl`` values are ``(G,)``.
    """
    c, mods = template.config, template.modalities
    z = {m: sequential(p, f"encoders.{m}.net", template.encoders[m].net, xs[m], training) for m in mods}
    if stage == "warmup":
        y_hat_i = {}
        for m in mods:
            e = noise[m] if noise is not None else z[m].new_zeros(*z[m].shape[:2], c.xi_dim)  # e_i ~ N(0, I) or 0
            y_hat_i[m] = sequential(p, f"trb.{m}.net", template.trb[m].net, torch.cat([z[m], e], -1), training)
        return {"z": z, "y_hat_i": y_hat_i}
    mu, logvar, zeta, kl = {}, {}, {}, {}
    for m in mods:
        mu[m], lv = linear(p, f"vae.{m}.proj", z[m]).chunk(2, dim=-1)  # (G, B, L) each
        logvar[m] = lv.clamp(-LOGVAR_CLAMP, LOGVAR_CLAMP)
        sample = noise is not None and c.bottleneck
        zeta[m] = mu[m] + torch.exp(0.5 * logvar[m]) * noise[m] if sample else mu[m]  # zeta = mu + sigma * eps
        kl[m] = kl_standard_normal(mu[m], logvar[m], weights) if c.bottleneck else mu[m].new_zeros(mu[m].shape[0])
    xi = _fuse(template, p, [zeta[m] for m in mods], training)  # (G, B, xi_dim)
    y_hat = sequential(p, "ddec.net", template.ddec.net, xi, training)
    y_hat_i = {m: sequential(p, f"trb.{m}.net", template.trb[m].net, torch.cat([z[m], xi], -1), training) for m in mods}
    return {"z": z, "mu": mu, "logvar": logvar, "zeta": zeta, "kl": kl, "xi": xi, "y_hat": y_hat, "y_hat_i": y_hat_i}
