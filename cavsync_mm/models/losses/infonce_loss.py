"""The audio-visual contrastive loss (InfoNCE, paper eq. 1) with global-batch negatives."""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import nn

from cavsync_mm.registry import MODELS
from .gather import gather_with_gradient, world_info


@MODELS.register_module()
class InfoNCELoss(nn.Module):
    """InfoNCE between L2-normalised audio and visual features.

    ``s_ij = <v_i, a_j> / temperature``. The release's default direction treats
    each visual feature as a query and all audio features of the batch as
    candidates (a softmax over audio for each visual); ``symmetric=True``
    averages it with the audio-to-visual direction.

    Distributed convention (what makes a multi-GPU run equal a one-GPU run on
    the whole batch): every rank gathers the candidates of all ranks WITH
    gradients, scores its own local queries against them (labels
    ``rank * n_local + arange(n_local)``) and averages over its local queries.
    The mean of the ranks' losses is then the single-process loss on the
    concatenated batch, and because the gather's backward sums the gradients
    every rank's loss puts on a feature, DDP's gradient averaging gives exactly
    the single-process gradient.

    Args:
        temperature: tau (0.05, fixed in the release).
        symmetric: average both directions (False = release default).
        loss_weight: lambda_c (0.1 for CAV-MAE Sync, 0.01 for CAV-MAE).
        gather_across_ranks: draw negatives from the whole global batch (True).
    """

    def __init__(self, temperature: float = 0.05, symmetric: bool = False,
                 loss_weight: float = 0.1, gather_across_ranks: bool = True):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'temperature must be positive, got {temperature}')
        self.temperature = temperature
        self.symmetric = symmetric
        self.loss_weight = loss_weight
        self.gather_across_ranks = gather_across_ranks

    def forward(self, audio: torch.Tensor,
                visual: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``audio``, ``visual`` ``(n_local, D)`` -> (weighted loss, accuracy).

        The accuracy is the fraction of local visual queries whose best-scoring
        audio candidate (over the global batch) is their own clip.
        """
        if audio.shape != visual.shape or audio.dim() != 2:
            raise ValueError('audio and visual features must both be (N, D), got '
                             f'{tuple(audio.shape)} and {tuple(visual.shape)}')
        audio = F.normalize(audio.float(), dim=-1)
        visual = F.normalize(visual.float(), dim=-1)
        rank, _ = world_info()
        offset = 0
        all_audio, all_visual = audio, visual
        if self.gather_across_ranks:
            all_audio = gather_with_gradient(audio)
            if self.symmetric:
                all_visual = gather_with_gradient(visual)
            offset = rank * audio.shape[0]
        labels = torch.arange(audio.shape[0], device=audio.device) + offset

        visual_to_audio = visual @ all_audio.t() / self.temperature
        loss = F.cross_entropy(visual_to_audio, labels)
        if self.symmetric:
            audio_to_visual = audio @ all_visual.t() / self.temperature
            loss = (loss + F.cross_entropy(audio_to_visual, labels)) / 2
        with torch.no_grad():
            accuracy = (visual_to_audio.argmax(dim=1) == labels).float().mean()
        return self.loss_weight * loss, accuracy

    def extra_repr(self) -> str:
        return (f'temperature={self.temperature}, symmetric={self.symmetric}, '
                f'loss_weight={self.loss_weight}')
