"""The pre-norm transformer block shared by the encoders, the joint block and the decoder.

Every block holds three pairs of LayerNorms around one attention and one MLP:
``norm1`` / ``norm2`` (shared), ``norm1_audio`` / ``norm2_audio`` and
``norm1_visual`` / ``norm2_visual``. ``forward(tokens, modality)`` picks the
pair: ``None`` -> shared, ``'audio'`` -> audio norms, ``'visual'`` -> visual
norms. This is how the joint block of CAV-MAE (Sync) runs three passes with one
set of attention/MLP weights; the modality encoders and the decoder always use
the shared norms.

``modalities`` names the passes a block runs. The norm pairs of the other
passes stay in the block, so that every block has the state-dict layout of
the authors' release (converters, release parity and saved checkpoints hold),
but they are frozen (``requires_grad=False``): no pass uses them, so they get
no gradient, DistributedDataParallel needs no ``find_unused_parameters``,
and the optimizer neither keeps state for them nor decays them. Running a
pass that is not in ``modalities`` raises.

Why not mmpretrain's ``TransformerEncoderLayer``: it has one norm pair, and
the joint block needs three (shared / audio / visual) around one attention and
one MLP, selected per pass; the attention itself is mmpretrain's.
"""
from typing import Optional, Sequence

import torch
from mmpretrain.models.utils import MultiheadAttention
from torch import nn

MODALITIES = (None, 'audio', 'visual')


class MultiheadSelfAttention(MultiheadAttention):
    """mmpretrain's ``MultiheadAttention`` (fused ``qkv`` with bias, ``proj``,
    torch's ``scaled_dot_product_attention``, no dropout) with this package's
    signature. Same state-dict keys (``qkv.*``, ``proj.*``) and bit-exact
    outputs as the hand-written layer it replaces (tests/models)."""

    def __init__(self, embed_dims: int, num_heads: int, qkv_bias: bool = True):
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims {embed_dims} is not divisible by '
                             f'num_heads {num_heads}')
        super().__init__(embed_dims, num_heads, qkv_bias=qkv_bias)


class FeedForward(nn.Module):
    """Two linear layers with a GELU between them (``fc1`` -> GELU -> ``fc2``)."""

    def __init__(self, embed_dims: int, hidden_dims: int):
        super().__init__()
        self.fc1 = nn.Linear(embed_dims, hidden_dims)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dims, embed_dims)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(tokens)))


class ModalityNormBlock(nn.Module):
    """Pre-norm ViT block with shared, audio and visual LayerNorm pairs.

    Args:
        embed_dims: token width.
        num_heads: attention heads.
        mlp_ratio: hidden width of the MLP relative to ``embed_dims`` (4).
        qkv_bias: bias on the fused qkv projection (True, as in ViT/MAE).
        norm_eps: LayerNorm epsilon (1e-6, as in MAE/CAV-MAE).
        modalities: the passes this block runs, a subset of
            ``(None, 'audio', 'visual')`` (all three: the joint block;
            ``(None,)``: encoder, decoder and head blocks). The norms of the
            other passes are frozen.
    """

    def __init__(self, embed_dims: int, num_heads: int, mlp_ratio: float = 4.,
                 qkv_bias: bool = True, norm_eps: float = 1e-6,
                 modalities: Sequence[Optional[str]] = MODALITIES):
        super().__init__()
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.norm1 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.norm1_audio = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.norm1_visual = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.attn = MultiheadSelfAttention(embed_dims, num_heads, qkv_bias)
        self.norm2 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.norm2_audio = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.norm2_visual = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.mlp = FeedForward(embed_dims, int(embed_dims * mlp_ratio))
        self.set_modalities(modalities)

    def set_modalities(self, modalities: Sequence[Optional[str]]) -> None:
        """Run only the passes ``modalities``; freeze the other norm pairs
        (and unfreeze these)."""
        unknown = [m for m in modalities if m not in MODALITIES]
        if unknown or not modalities:
            raise ValueError(f'modalities must be a non-empty subset of '
                             f'{MODALITIES}, got {tuple(modalities)!r}')
        self.modalities = tuple(modalities)
        for modality in MODALITIES:
            for norm in self._norm_pair(modality):
                norm.requires_grad_(modality in self.modalities)

    def _norm_pair(self, modality: Optional[str]):
        if modality is None:
            return self.norm1, self.norm2
        if modality == 'audio':
            return self.norm1_audio, self.norm2_audio
        if modality == 'visual':
            return self.norm1_visual, self.norm2_visual
        raise ValueError(f'modality must be one of {MODALITIES}, got {modality!r}')

    def forward(self, tokens: torch.Tensor,
                modality: Optional[str] = None) -> torch.Tensor:
        norm1, norm2 = self._norm_pair(modality)
        if modality not in self.modalities:
            raise ValueError(
                f'this block runs the passes {self.modalities}, not '
                f'{modality!r} (its {modality!r} norms are frozen)')
        tokens = tokens + self.attn(norm1(tokens))
        return tokens + self.mlp(norm2(tokens))

    def extra_repr(self) -> str:
        return (f'embed_dims={self.embed_dims}, num_heads={self.num_heads}, '
                f'modalities={self.modalities}')
