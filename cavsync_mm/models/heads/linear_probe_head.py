"""The plain linear probe: mean of the T tokens -> LayerNorm -> linear."""
from typing import Optional

import torch
from torch import nn

from cavsync_mm.registry import MODELS
from .probe_head import ProbeHead


@MODELS.register_module()
class LinearProbeHead(ProbeHead):
    """Average the clip's T tokens and classify them with one linear layer.

    Args:
        num_classes, in_channels, loss_type, loss_weight: see
            :class:`ProbeHead`.
        with_norm: LayerNorm before the linear layer (as CAV-MAE's
            classification head). Defaults to True.
    """

    def __init__(self, num_classes: int, in_channels: int,
                 loss_type: str = 'bce', loss_weight: float = 1.0,
                 with_norm: bool = True, init_cfg: Optional[dict] = None):
        super().__init__(num_classes, in_channels, loss_type, loss_weight,
                         init_cfg)
        self.with_norm = with_norm
        self.norm = nn.LayerNorm(in_channels) if with_norm else nn.Identity()
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """``(N, T, C)`` (or ``(N, C)``) -> logits ``(N, K)``."""
        if tokens.dim() == 3:
            tokens = tokens.mean(dim=1)
        return self.fc(self.norm(tokens))
