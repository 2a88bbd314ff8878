"""The probe's necks (paper Sec. 3.5.2): a clip's T tokens -> one feature.

The probe classifier feeds ``(N, T, C)`` (one token per frame, ``[g_a_t ;
g_v_t]``) to a neck, and the neck's ``(N, C)`` feature to an mmpretrain
classification head (``LinearClsHead`` for single-label data,
``MultiLabelLinearClsHead`` for multi-label data), as mmpretrain's
``ImageClassifier`` chains backbone -> neck -> head.

Why these two are written here: mmpretrain has no neck that reads a token
sequence over time with a learned CLS token (its ``GlobalAveragePooling``
pools ``(N, C, L)`` without a norm after it, its ``LinearNeck`` projects
before normalising); the transformer blocks themselves are mmpretrain's
``TransformerEncoderLayer``.
"""
from typing import Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from mmpretrain.models.backbones.vision_transformer import \
    TransformerEncoderLayer
from torch import nn

from cavsync_mm.registry import MODELS


def _tokens(inputs: Union[torch.Tensor, Sequence[torch.Tensor]]
            ) -> torch.Tensor:
    """The last entry of a tuple of features (mmpretrain's convention) or
    the tensor itself."""
    return inputs[-1] if isinstance(inputs, (tuple, list)) else inputs


@MODELS.register_module()
class TemporalTransformerNeck(BaseModule):
    """CLS token + transformer blocks + LayerNorm; the CLS output.

    Args:
        in_channels: C, the width of one token (2 D for audio-visual).
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

    def __init__(self, in_channels: int, num_frames: int = 16,
                 num_blocks: int = 2, num_heads: int = 12,
                 mlp_ratio: float = 4.,
                 temporal_position_embedding: bool = False,
                 norm_eps: float = 1e-5, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.num_frames = num_frames
        self.cls_token = nn.Parameter(torch.zeros(1, 1, in_channels))
        self.temporal_position_embedding = nn.Parameter(
            torch.zeros(1, num_frames, in_channels)) \
            if temporal_position_embedding else None
        norm_cfg = dict(type='LN', eps=norm_eps)
        self.blocks = nn.ModuleList(
            TransformerEncoderLayer(in_channels, num_heads,
                                    int(in_channels * mlp_ratio),
                                    norm_cfg=norm_cfg)
            for _ in range(num_blocks))
        self.norm = nn.LayerNorm(in_channels, eps=norm_eps)

    def init_weights(self) -> None:
        """The release's ``_init_weights``: truncated normal (std .02) for
        the tokens and every linear layer, zero biases; LayerNorms 1 / 0."""
        super().init_weights()
        if self.init_cfg is not None:
            return
        nn.init.trunc_normal_(self.cls_token, std=.02)
        if self.temporal_position_embedding is not None:
            nn.init.trunc_normal_(self.temporal_position_embedding, std=.02)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=.02)
                nn.init.zeros_(module.bias)

    def forward(self, inputs) -> Tuple[torch.Tensor]:
        """``(N, T, C)`` -> ``((N, C),)``."""
        tokens = _tokens(inputs)
        if tokens.dim() != 3 or tokens.shape[-1] != self.in_channels:
            raise ValueError(f'expected tokens (N, T, {self.in_channels}), '
                             f'got {tuple(tokens.shape)}')
        if self.temporal_position_embedding is not None:
            if tokens.shape[1] > self.num_frames:
                raise ValueError(f'{tokens.shape[1]} time steps, the neck '
                                 f'was built for at most {self.num_frames}')
            tokens = tokens + \
                self.temporal_position_embedding[:, :tokens.shape[1]]
        cls = self.cls_token.expand(tokens.shape[0], -1, -1)
        tokens = torch.cat([cls, tokens], dim=1)
        for block in self.blocks:
            tokens = block(tokens)
        return (self.norm(tokens)[:, 0], )


@MODELS.register_module()
class TemporalMeanNeck(BaseModule):
    """The plain linear probe's neck: the mean of the T tokens, then a
    LayerNorm (as CAV-MAE's classification head) unless ``with_norm=False``.

    Args:
        in_channels: C.
        with_norm: LayerNorm after the mean. Defaults to True.
        norm_eps: its epsilon (1e-5).
    """

    def __init__(self, in_channels: int, with_norm: bool = True,
                 norm_eps: float = 1e-5, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.norm = nn.LayerNorm(in_channels, eps=norm_eps) if with_norm \
            else nn.Identity()

    def forward(self, inputs) -> Tuple[torch.Tensor]:
        """``(N, T, C)`` (or ``(N, C)``) -> ``((N, C),)``."""
        tokens = _tokens(inputs)
        if tokens.dim() == 3:
            tokens = tokens.mean(dim=1)
        return (self.norm(tokens), )
