"""The OMIB network and its parts (SPEC section 2)."""

from omib_core.model.encoders import Encoder, mlp
from omib_core.model.fusion import CAN, ConcatFusion, CrossAttentionBlock, MultiHeadCrossAttention, attention
from omib_core.model.heads import Predictor, TRBHead
from omib_core.model.omib import OMIB
from omib_core.model.vae import VariationalBottleneck, kl_standard_normal, reparameterize

__all__ = [
    "CAN",
    "ConcatFusion",
    "CrossAttentionBlock",
    "Encoder",
    "MultiHeadCrossAttention",
    "OMIB",
    "Predictor",
    "TRBHead",
    "VariationalBottleneck",
    "attention",
    "kl_standard_normal",
    "mlp",
    "reparameterize",
]
