"""Fusion of zeta_1..zeta_M into xi: the cross-attention network CAN, and the concat baseline (SPEC section 2).

CAN [choice where the paper gives no detail]: every zeta_i (B, L) is split into T tokens of size L / T.
For each modality i, its tokens are the queries and the tokens of all other modalities the keys/values
of a multi-head attention block (residual + LayerNorm, then FFN with residual + LayerNorm, pre-norm);
each modality's output tokens are mean-pooled and xi = Linear(concat of the pooled vectors). A learned
(modality, token) embedding is added to the tokens so that attention knows where a token came from.
One block per modality (queries of different modalities do not share weights). Works for any M >= 2.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

# helpers


def softmax(x: Tensor) -> Tensor:
    """Softmax over the last dim, written out: on the CPU torch's kernel is slow for the few tokens attention here
    spans (4 keys: 42 ms against 7 ms on a (12, 2000, 4, 4, 4) tensor, one thread); the values are the same."""
    e = (x - x.amax(dim=-1, keepdim=True)).exp()
    return e / e.sum(dim=-1, keepdim=True)


def attention(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """Scaled dot-product attention with explicit matmuls: softmax(q k^T / sqrt(d_h)) v.

    Args:
        q: ``(B, H, Tq, d_h)``; k, v: ``(B, H, Tk, d_h)``.

    Returns:
        ``(B, H, Tq, d_h)``.
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, H, Tq, Tk)
    return softmax(scores) @ v  # (B, H, Tq, d_h)


class MultiHeadCrossAttention(nn.Module):
    """Multi-head attention of query tokens over key/value tokens of width ``dim``."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: Tensor, ctx: Tensor) -> Tensor:
        B, Tq, D = x.shape
        Tk, H = ctx.shape[1], self.heads
        q = self.q(x).view(B, Tq, H, D // H).transpose(1, 2)  # (B, H, Tq, d_h)
        k, v = self.kv(ctx).view(B, Tk, 2, H, D // H).permute(2, 0, 3, 1, 4)  # 2 x (B, H, Tk, d_h)
        y = attention(q, k, v).transpose(1, 2).reshape(B, Tq, D)  # (B, Tq, D)
        return self.out(y)


class CrossAttentionBlock(nn.Module):
    """Pre-norm block: h = x + MHA(LN(x), LN(ctx)); out = h + FFN(LN(h)).

    [choice] Pre-norm keeps the residual stream un-normalised, so the scale of zeta survives fusion; a
    post-norm block would normalise every token and discard its magnitude (which Deep SVDD scores rely on).
    """

    def __init__(self, dim: int, heads: int, dropout: float = 0.0):
        super().__init__()
        self.ln_q, self.ln_kv, self.ln_ffn = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = MultiHeadCrossAttention(dim, heads)
        self.ffn = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(4 * dim, dim))

    def forward(self, x: Tensor, ctx: Tensor) -> Tensor:
        h = x + self.attn(self.ln_q(x), self.ln_kv(ctx))  # (B, T, D)
        return h + self.ffn(self.ln_ffn(h))  # (B, T, D)


# main classes


class CAN(nn.Module):
    """Cross-attention network: (zeta_1..zeta_M) -> xi.

    Args:
        n_modalities: M >= 2.
        latent_dim: L, the size of each zeta_i (divisible by ``tokens``).
        xi_dim: size of xi.
        tokens: T, tokens per modality.
        heads: attention heads ((L / T) divisible by it).
    """

    def __init__(self, n_modalities: int, latent_dim: int, xi_dim: int, tokens: int, heads: int, dropout: float = 0.0):
        super().__init__()
        self.M, self.T, self.d = n_modalities, tokens, latent_dim // tokens
        self.pos = nn.Parameter(torch.zeros(n_modalities, tokens, self.d))  # (M, T, d) modality/token embedding
        nn.init.normal_(self.pos, std=0.02)
        self.blocks = nn.ModuleList(CrossAttentionBlock(self.d, heads, dropout) for _ in range(n_modalities))
        self.proj = nn.Linear(n_modalities * self.d, xi_dim)

    def forward(self, zetas: list[Tensor]) -> Tensor:
        B = zetas[0].shape[0]
        toks = [z.view(B, self.T, self.d) + self.pos[i] for i, z in enumerate(zetas)]  # M x (B, T, d)
        pooled = []
        for i, block in enumerate(self.blocks):
            ctx = torch.cat([t for j, t in enumerate(toks) if j != i], dim=1)  # (B, (M-1) T, d)
            pooled.append(block(toks[i], ctx).mean(dim=1))  # (B, d)
        return self.proj(torch.cat(pooled, dim=-1))  # (B, M d) -> (B, xi_dim)


class ConcatFusion(nn.Module):
    """Baseline ``fusion="concat"``: xi = Linear(concat(zeta_1..zeta_M))."""

    def __init__(self, n_modalities: int, latent_dim: int, xi_dim: int):
        super().__init__()
        self.proj = nn.Linear(n_modalities * latent_dim, xi_dim)

    def forward(self, zetas: list[Tensor]) -> Tensor:
        return self.proj(torch.cat(zetas, dim=-1))  # (B, M L) -> (B, xi_dim)
