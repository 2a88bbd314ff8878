"""Mean squared error on the masked patches (paper eqs. 2-4)."""
from typing import Optional

import torch
from torch import nn

from cavsync_mm.registry import MODELS


@MODELS.register_module()
class MaskedReconstructionLoss(nn.Module):
    """MSE between predicted and target patches, averaged over masked patches.

    Args:
        norm_pix_loss: normalise each target patch by its own mean and
            (unbiased) variance (eps 1e-6), as MAE's ``norm_pix_loss``.
        loss_weight: lambda_r (1.0).
    """

    def __init__(self, norm_pix_loss: bool = True, loss_weight: float = 1.0):
        super().__init__()
        self.norm_pix_loss = norm_pix_loss
        self.loss_weight = loss_weight

    def forward(self, prediction: torch.Tensor, target: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``prediction``, ``target`` ``(N, P, K)``; ``mask`` ``(N, P)`` with 1 = masked.

        Without a mask every patch counts.
        """
        if prediction.shape != target.shape:
            raise ValueError(f'prediction {tuple(prediction.shape)} and target '
                             f'{tuple(target.shape)} differ in shape')
        target = target.float()
        if self.norm_pix_loss:
            mean = target.mean(dim=-1, keepdim=True)
            var = target.var(dim=-1, keepdim=True)
            target = (target - mean) / (var + 1.e-6) ** .5
        per_patch = ((prediction.float() - target) ** 2).mean(dim=-1)
        if mask is None:
            loss = per_patch.mean()
        else:
            loss = (per_patch * mask).sum() / mask.sum()
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return f'norm_pix_loss={self.norm_pix_loss}, loss_weight={self.loss_weight}'
