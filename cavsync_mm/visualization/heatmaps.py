"""Pictures of localisation heatmaps: overlays, frame grids and overlay videos.

All functions take RGB images as uint8 ``(H, W, 3)`` arrays and heatmaps as
float ``(h, w)`` arrays; a heatmap of another size is resized (bilinear) to its
image, and min-max scaled to [0, 1] for display only.
"""
import os
import os.path as osp
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F


def _scaled(heatmap: np.ndarray, size) -> np.ndarray:
    heatmap = torch.as_tensor(np.asarray(heatmap, dtype=np.float32))
    if tuple(heatmap.shape) != tuple(size):
        heatmap = F.interpolate(heatmap[None, None], size=tuple(size),
                                mode='bilinear', align_corners=False)[0, 0]
    low, high = heatmap.min(), heatmap.max()
    return ((heatmap - low) / (high - low).clamp_min(1e-12)).numpy()


def heatmap_to_rgb(heatmap: np.ndarray, colormap: str = 'jet') -> np.ndarray:
    """Colour a [0, 1] heatmap with a matplotlib colormap -> uint8 RGB."""
    from matplotlib import colormaps
    coloured = colormaps[colormap](np.clip(heatmap, 0, 1))[..., :3]
    return (coloured * 255).round().astype(np.uint8)


def overlay_heatmap(image: np.ndarray, heatmap: np.ndarray,
                    alpha: float = 0.5, colormap: str = 'jet') -> np.ndarray:
    """Blend a coloured heatmap onto ``image`` (uint8 ``(H, W, 3)``)."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'image must be (H, W, 3) RGB, got {image.shape}')
    coloured = heatmap_to_rgb(_scaled(heatmap, image.shape[:2]), colormap)
    blended = (1 - alpha) * image.astype(np.float32) + alpha * coloured
    return blended.round().clip(0, 255).astype(np.uint8)


def _mask_outline(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask, dtype=bool)
    inner = mask.copy()
    inner[1:, :] &= mask[:-1, :]
    inner[:-1, :] &= mask[1:, :]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    return mask & ~inner


def _save_png(array: np.ndarray, path: str) -> str:
    from PIL import Image
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    Image.fromarray(array).save(path, format='PNG')
    return path


def _enlarged(array: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement of an ``(H, W[, C])`` array."""
    return array.repeat(factor, axis=0).repeat(factor, axis=1)


def save_heatmap_overlay(image: np.ndarray, heatmap: np.ndarray, path: str,
                         mask: Optional[np.ndarray] = None,
                         title: Optional[str] = None,
                         alpha: float = 0.5, min_side: int = 192) -> str:
    """Write :func:`heatmap_overlay_panel` as a PNG."""
    return _save_png(
        heatmap_overlay_panel(image, heatmap, mask, title, alpha, min_side),
        path)


def heatmap_overlay_panel(image: np.ndarray, heatmap: np.ndarray,
                          mask: Optional[np.ndarray] = None,
                          title: Optional[str] = None,
                          alpha: float = 0.5,
                          min_side: int = 192) -> np.ndarray:
    """``image | overlay`` side by side, uint8 RGB.

    With ``mask`` (bool ``(H, W)``) its outline is drawn in white on the
    overlay; with ``title`` a caption band is added above. Images smaller
    than ``min_side`` pixels are enlarged (nearest neighbour, whole factors)
    so that small frames stay readable; the heatmap is resized to them.
    """
    image = np.asarray(image, dtype=np.uint8)
    factor = -(-min_side // min(image.shape[:2]))
    if factor > 1:
        image = _enlarged(image, factor)
        if mask is not None:
            mask = _enlarged(np.asarray(mask, dtype=bool), factor)
    overlay = overlay_heatmap(image, heatmap, alpha)
    if mask is not None:
        overlay[_mask_outline(mask)] = 255
    panel = np.concatenate([image, overlay], 1)
    if title:
        panel = _with_caption(panel, title)
    return panel


def _with_caption(panel: np.ndarray, text: str) -> np.ndarray:
    from PIL import Image, ImageDraw
    band = Image.new('RGB', (panel.shape[1], 14), (0, 0, 0))
    ImageDraw.Draw(band).text((2, 1), text, fill=(255, 255, 255))
    return np.concatenate([np.asarray(band), panel], 0)


def frame_grid(images: Sequence[np.ndarray], num_columns: int = 4,
               captions: Optional[Sequence[str]] = None) -> np.ndarray:
    """Tile equally sized uint8 RGB images into one picture (row-major)."""
    images = [np.asarray(i, dtype=np.uint8) for i in images]
    if captions is not None:
        images = [_with_caption(i, c) for i, c in zip(images, captions)]
    height, width = images[0].shape[:2]
    num_rows = -(-len(images) // num_columns)
    grid = np.zeros((num_rows * height, num_columns * width, 3), np.uint8)
    for k, image in enumerate(images):
        row, column = divmod(k, num_columns)
        grid[row * height:(row + 1) * height,
             column * width:(column + 1) * width] = image
    return grid


def save_heatmap_grid(frames: np.ndarray, heatmaps: np.ndarray, path: str,
                      num_columns: int = 4,
                      captions: Optional[Sequence[str]] = None,
                      alpha: float = 0.5) -> str:
    """Overlay each of the T heatmaps on its frame and write them as a PNG grid.

    ``frames``: uint8 ``(T, H, W, 3)``; ``heatmaps``: ``(T, h, w)``.
    """
    overlays = [overlay_heatmap(f, h, alpha) for f, h in zip(frames, heatmaps)]
    return _save_png(frame_grid(overlays, num_columns, captions), path)


def write_heatmap_video(frames: np.ndarray, heatmaps: np.ndarray, path: str,
                        fps: float = 1.6, alpha: float = 0.5) -> str:
    """Write the overlays of ``frames`` (uint8 ``(T, H, W, 3)``) and
    ``heatmaps`` (``(T, h, w)``) as an H.264 mp4 with PyAV.

    ``fps`` defaults to 16 frames over 10 s; odd frame sizes are cropped by
    one pixel because H.264 (yuv420p) needs even sizes.
    """
    import av
    from fractions import Fraction
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    height, width = (s - s % 2 for s in frames[0].shape[:2])
    with av.open(path, mode='w') as container:
        stream = container.add_stream(
            'libx264', rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height, stream.pix_fmt = width, height, 'yuv420p'
        for frame, heatmap in zip(frames, heatmaps):
            overlay = overlay_heatmap(frame, heatmap, alpha)[:height, :width]
            video_frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(overlay), format='rgb24')
            for packet in stream.encode(video_frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
