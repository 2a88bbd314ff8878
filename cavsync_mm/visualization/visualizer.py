"""MMEngine visualizer for audio-visual pictures.

Everything it draws goes through :meth:`Visualizer.add_image`, so it reaches
every configured backend: ``LocalVisBackend`` (PNG files under
``<work_dir>/<timestamp>/vis_data/vis_image``) by default, TensorBoard with
``dict(type='TensorboardVisBackend')`` added to ``vis_backends``, W&B etc.
"""
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from mmengine.visualization import Visualizer

from cavsync_mm.registry import VISUALIZERS
from .heatmaps import heatmap_overlay_panel
from .reconstruction import draw_reconstruction
from .temporal import temporal_segmentation_image


def _hwc(image) -> np.ndarray:
    """uint8 ``(H, W, 3)`` from a ``(3, H, W)`` tensor / array."""
    image = torch.as_tensor(image).detach().cpu()
    if image.ndim == 3 and image.shape[0] == 3 and image.shape[-1] != 3:
        image = image.permute(1, 2, 0)
    return image.numpy().astype(np.uint8)


@VISUALIZERS.register_module()
class AVVisualizer(Visualizer):
    """:class:`mmengine.visualization.Visualizer` that also draws
    sound-prompted heatmaps, masked-autoencoding reconstructions and temporal
    segment bars, and sends them to its vis backends.

    Each ``add_*`` method returns the picture (uint8 RGB) it sent.
    """

    def add_heatmap(self, name: str, image, heatmap, step: int = 0,
                    mask=None, title: Optional[str] = None,
                    alpha: float = 0.5) -> np.ndarray:
        """``image | heatmap overlay`` (with the outline of ``mask``)."""
        heatmap = torch.as_tensor(heatmap).detach().float().cpu().numpy()
        if mask is not None:
            mask = torch.as_tensor(mask).bool().cpu().numpy()
        panel = heatmap_overlay_panel(_hwc(image), heatmap, mask, title, alpha)
        self.add_image(name, panel, step)
        return panel

    def add_reconstruction(self, name: str, model, audio: torch.Tensor,
                           frames: torch.Tensor, step: int = 0,
                           mask_ratio: float = 0.75,
                           index: int = 0) -> np.ndarray:
        """Original, masked and reconstructed spectrogram and frame of
        sample ``index`` (normalised model inputs ``(N, L, F)`` /
        ``(N, 3, H, W)``)."""
        picture = draw_reconstruction(model, audio, frames, mask_ratio, index)
        self.add_image(name, picture, step)
        return picture

    def add_segment_bars(self, name: str, frames,
                         bars: Dict[str, Sequence[int]], step: int = 0,
                         spectrogram: Optional[np.ndarray] = None,
                         title: Optional[str] = None) -> np.ndarray:
        """The T frames and one coloured bar per labelling of them."""
        picture = temporal_segmentation_image(frames, spectrogram, bars, title)
        self.add_image(name, picture, step)
        return picture
