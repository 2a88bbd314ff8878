"""A picture of masked autoencoding: original, masked and reconstructed spectrogram and frame."""
from pathlib import Path
from typing import Sequence, Union

import numpy as np
import torch
from matplotlib.figure import Figure

from .figure import figure_to_rgb


def _frame_to_rgb(frame: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Normalised ``(3, H, W)`` -> ``(H, W, 3)`` in 0..1 for display."""
    mean = torch.tensor(mean, dtype=frame.dtype).view(3, 1, 1)
    std = torch.tensor(std, dtype=frame.dtype).view(3, 1, 1)
    return ((frame * std + mean) / 255.).clamp(0, 1).permute(1, 2, 0)


def save_reconstruction(model, audio: torch.Tensor, frames: torch.Tensor,
                        out_file: Union[str, Path], mask_ratio: float = 0.75,
                        index: int = 0, overwrite: bool = False) -> Path:
    """Write :func:`reconstruction_figure` as a PNG; an existing file is kept
    unless ``overwrite``."""
    out_file = Path(out_file)
    if out_file.suffix.lower() != '.png':
        raise ValueError(f'{out_file}: pictures are written as PNG')
    if out_file.exists() and not overwrite:
        raise FileExistsError(f'{out_file} exists; pass overwrite=True to replace it')
    figure = reconstruction_figure(model, audio, frames, mask_ratio, index)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out_file, dpi=80)
    return out_file


def draw_reconstruction(model, audio: torch.Tensor, frames: torch.Tensor,
                        mask_ratio: float = 0.75, index: int = 0) -> np.ndarray:
    """:func:`reconstruction_figure` as a uint8 RGB array."""
    return figure_to_rgb(
        reconstruction_figure(model, audio, frames, mask_ratio, index), dpi=80)


@torch.no_grad()
def reconstruction_figure(model, audio: torch.Tensor, frames: torch.Tensor,
                          mask_ratio: float = 0.75, index: int = 0) -> Figure:
    """2 x 3 panels (spectrogram / frame: original, masked, reconstructed).

    Args:
        model: a ``CAVMAESync`` (its ``reconstruct`` method is used).
        audio / frames: normalised model inputs ``(N, L, F)`` / ``(N, 3, H, W)``
            (the data preprocessor's output).
        mask_ratio: fraction of patches hidden from the encoder.
        index: which sample of the batch to draw.
    """
    model.eval()
    results = model.reconstruct(audio, frames, mask_ratio=mask_ratio)
    preprocessor = model.data_preprocessor
    mean = preprocessor.mean.flatten().tolist() if hasattr(preprocessor, 'mean') else (0, 0, 0)
    std = preprocessor.std.flatten().tolist() if hasattr(preprocessor, 'std') else (255,) * 3

    spectrogram = audio[index].float().cpu().t()                    # (F, L): frequency up
    audio_mask = results['audio_mask'][index].cpu().t().bool()
    spectrograms = [spectrogram, spectrogram.masked_fill(audio_mask, float('nan')),
                    results['audio'][index].cpu().t()]
    frame = _frame_to_rgb(frames[index].float().cpu(), mean, std)
    visual_mask = results['visual_mask'][index].cpu().bool()
    masked_frame = frame.clone()
    masked_frame[visual_mask] = 0.5
    pictures = [frame, masked_frame,
                _frame_to_rgb(results['frames'][index].float().cpu(), mean, std)]

    figure = Figure(figsize=(12, 6))  # no pyplot: no global backend switch
    axes = figure.subplots(2, 3, gridspec_kw=dict(height_ratios=[1, 1.4]))
    titles = ('original', f'masked ({mask_ratio:.0%})', 'reconstruction')
    low, high = float(spectrogram.min()), float(spectrogram.max())
    for column, title in enumerate(titles):
        axes[0, column].imshow(spectrograms[column].numpy(), origin='lower', aspect='auto',
                               cmap='magma', vmin=low, vmax=high)
        axes[0, column].set_title(f'spectrogram: {title}')
        axes[0, column].set_xlabel('time frame')
        axes[0, column].set_ylabel('mel bin')
        axes[1, column].imshow(pictures[column].numpy())
        axes[1, column].set_title(f'frame: {title}')
        axes[1, column].axis('off')
    figure.tight_layout()
    return figure
