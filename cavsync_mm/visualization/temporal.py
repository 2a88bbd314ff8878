"""Picture of a clip's temporal segmentation (paper Fig. 6): the T frames,
the spectrogram and one coloured bar per feature kind."""
import os.path as osp
from typing import Dict, Optional, Sequence, Union

import numpy as np
import torch

from .figure import figure_to_rgb

BAR_TITLES = {
    'visual': 'visual',
    'audio_visual': 'audio-visual',
    'audio': 'audio',
    'ground_truth': 'ground truth',
}


def _frames_hwc(frames: Union[np.ndarray, torch.Tensor]) -> np.ndarray:
    """(T, H, W, 3) uint8 from (T, 3, H, W) or (T, H, W, 3) frames."""
    if isinstance(frames, torch.Tensor):
        frames = frames.detach().cpu().numpy()
    frames = np.asarray(frames)
    if frames.ndim != 4:
        raise ValueError(f'frames must be (T, 3, H, W) or (T, H, W, 3), got '
                         f'shape {frames.shape}')
    if frames.shape[1] == 3 and frames.shape[-1] != 3:
        frames = frames.transpose(0, 2, 3, 1)
    if frames.dtype != np.uint8:
        low, high = frames.min(), frames.max()
        frames = ((frames - low) / max(high - low, 1e-12) * 255).astype(
            np.uint8)
    return frames


def draw_temporal_segmentation(frames: Union[np.ndarray, torch.Tensor],
                               spectrogram: Optional[np.ndarray],
                               bars: Dict[str, Sequence[int]],
                               out_file: str,
                               title: Optional[str] = None) -> str:
    """Write :func:`temporal_segmentation_figure` as the PNG ``out_file``
    (its folder must exist) and return its path."""
    out_dir = osp.dirname(osp.abspath(out_file))
    if not osp.isdir(out_dir):
        raise FileNotFoundError(f'output folder {out_dir} does not exist')
    temporal_segmentation_figure(frames, spectrogram, bars, title).savefig(
        out_file, dpi=100)
    return out_file


def temporal_segmentation_image(frames: Union[np.ndarray, torch.Tensor],
                                spectrogram: Optional[np.ndarray],
                                bars: Dict[str, Sequence[int]],
                                title: Optional[str] = None) -> np.ndarray:
    """:func:`temporal_segmentation_figure` as a uint8 RGB array."""
    return figure_to_rgb(
        temporal_segmentation_figure(frames, spectrogram, bars, title))


def temporal_segmentation_figure(frames: Union[np.ndarray, torch.Tensor],
                                 spectrogram: Optional[np.ndarray],
                                 bars: Dict[str, Sequence[int]],
                                 title: Optional[str] = None):
    """The frames, the spectrogram and one bar per labelling.

    Args:
        frames: the T frames, uint8 (or float, rescaled for display).
        spectrogram: ``(S, n_mels)`` log-Mel fbank of the whole clip (time
            first, as the pipeline makes it) or ``None``.
        bars: ``{name: labels (T,)}`` drawn top to bottom, e.g. ``visual``,
            ``audio_visual``, ``audio`` and ``ground_truth``; each frame's
            cell takes the colour of its label (-1 = grey), white lines mark
            segment boundaries.
        title: optional title (e.g. the video id).
    """
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure  # no pyplot: no backend switch

    frames = _frames_hwc(frames)
    num_frames = len(frames)
    for name, labels in bars.items():
        if len(labels) != num_frames:
            raise ValueError(f'bar {name!r} has {len(labels)} labels for '
                             f'{num_frames} frames')
    rows = [('frames', 1.2)]
    if spectrogram is not None:
        rows.append(('spectrogram', 1.0))
    rows += [(name, 0.25) for name in bars]
    figure = Figure(figsize=(max(8, num_frames * 0.8), 1.6 + sum(
        height for _, height in rows) * 1.4))
    axes = figure.subplots(
        len(rows), 1,
        gridspec_kw=dict(height_ratios=[height for _, height in rows]),
        squeeze=False)
    axes = axes[:, 0]

    axes[0].imshow(np.concatenate(list(frames), axis=1), aspect='auto')
    axes[0].set_axis_off()
    row = 1
    if spectrogram is not None:
        axes[row].imshow(np.asarray(spectrogram).T, origin='lower',
                         aspect='auto', cmap='magma')
        axes[row].set_ylabel('mel')
        axes[row].set_xticks([])
        row += 1
    palette = ListedColormap(
        [(0.75, 0.75, 0.75)] + list(colormaps['tab10'].colors))
    for name, labels in bars.items():
        labels = np.asarray(labels)
        colours = np.where(labels < 0, 0, labels % 10 + 1)[None]
        axis = axes[row]
        axis.imshow(colours, aspect='auto', cmap=palette, vmin=0, vmax=10,
                    interpolation='nearest')
        for t in range(1, num_frames):
            if labels[t] != labels[t - 1]:
                axis.axvline(t - 0.5, color='white', linewidth=2)
        axis.set_yticks([0])
        axis.set_yticklabels([BAR_TITLES.get(name, name)])
        axis.set_xticks([])
        row += 1
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure
