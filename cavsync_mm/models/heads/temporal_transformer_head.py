"""The probing head of the paper (Sec. 3.5.2): a small transformer over time.

For each of the T frames the clip gives one token (``[g_v_t ; g_a_t]``, 2 D
wide, or D for one modality). A learned CLS token is prepended, a learned
temporal position embedding is added, two pre-norm transformer blocks mix
the sequence, a final LayerNorm follows and a linear layer classifies the
CLS output.
"""
from typing import Optional

import torch
from torch import nn

from cavsync_mm.registry import MODELS
from ..layers import FeedForward, MultiheadSelfAttention
from .probe_head import ProbeHead


class TemporalBlock(nn.Module):
    """Pre-norm transformer block (one set of norms) for the probe."""

    def __init__(self, embed_dims: int, num_heads: int, mlp_ratio: float,
                 norm_eps: float = 1e-5):
        super().__init__()
        self.norm1 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.attn = MultiheadSelfAttention(embed_dims, num_heads)
        self.norm2 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.mlp = FeedForward(embed_dims, int(embed_dims * mlp_ratio))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        tokens = tokens + self.attn(self.norm1(tokens))
        return tokens + self.mlp(self.norm2(tokens))


@MODELS.register_module()
class TemporalTransformerHead(ProbeHead):
    """CLS token + 2 transformer blocks + LayerNorm + linear on the CLS output.

    Args:
        num_classes, in_channels, loss_type, loss_weight: see
            :class:`ProbeHead`.
        num_frames: T, the longest token sequence (sets the size of the
            temporal position embedding). Defaults to 16.
        num_blocks: transformer blocks (2, paper).
        num_heads: attention heads (12; the paper does not give it).
        mlp_ratio: MLP width / token width (4).
        temporal_position_embedding: add a learned embedding per time step
            (not per CLS). The paper does not say; the release's fine-tuning
            model has it commented out (the blocks then see the T tokens as
            an unordered set). Defaults to False (release).
        norm_eps: LayerNorm epsilon (1e-5, ``nn.LayerNorm``'s default, as
            the release; timm ViTs use 1e-6).
    """

    def __init__(self, num_classes: int, in_channels: int,
                 loss_type: str = 'bce', loss_weight: float = 1.0,
                 num_frames: int = 16, num_blocks: int = 2,
                 num_heads: int = 12, mlp_ratio: float = 4.,
                 temporal_position_embedding: bool = False,
                 norm_eps: float = 1e-5,
                 init_cfg: Optional[dict] = None):
        super().__init__(num_classes, in_channels, loss_type, loss_weight,
                         init_cfg)
        self.num_frames = num_frames
        self.cls_token = nn.Parameter(torch.zeros(1, 1, in_channels))
        self.temporal_position_embedding = nn.Parameter(
            torch.zeros(1, num_frames, in_channels)) \
            if temporal_position_embedding else None
        self.blocks = nn.ModuleList(
            TemporalBlock(in_channels, num_heads, mlp_ratio, norm_eps)
            for _ in range(num_blocks))
        self.norm = nn.LayerNorm(in_channels, eps=norm_eps)
        self.fc = nn.Linear(in_channels, num_classes)

    def init_weights(self) -> None:
        super().init_weights()
        nn.init.trunc_normal_(self.cls_token, std=.02)
        if self.temporal_position_embedding is not None:
            nn.init.trunc_normal_(self.temporal_position_embedding, std=.02)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=.02)
                nn.init.zeros_(module.bias)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """``(N, T, C)`` -> logits ``(N, K)``."""
        if tokens.dim() != 3 or tokens.shape[-1] != self.in_channels:
            raise ValueError(f'expected tokens (N, T, {self.in_channels}), '
                             f'got {tuple(tokens.shape)}')
        if self.temporal_position_embedding is not None:
            if tokens.shape[1] > self.num_frames:
                raise ValueError(f'{tokens.shape[1]} time steps, the head '
                                 f'was built for at most {self.num_frames}')
            tokens = tokens + \
                self.temporal_position_embedding[:, :tokens.shape[1]]
        cls = self.cls_token.expand(tokens.shape[0], -1, -1)
        tokens = torch.cat([cls, tokens], dim=1)
        for block in self.blocks:
            tokens = block(tokens)
        return self.fc(self.norm(tokens)[:, 0])

    def extra_repr(self) -> str:
        return (f'num_classes={self.num_classes}, in_channels='
                f'{self.in_channels}, loss_type={self.loss_type!r}')
