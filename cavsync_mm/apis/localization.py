"""Where does the sound come from? Per-frame heatmaps for a whole video.

For each of the T frames, the global audio token of the frame-aligned audio
segment is compared (cosine similarity) with every visual patch token of
that frame (joint block, visual pass); the patch map is upsampled to the
frame. ``demo/localize.py`` is the command-line front end.
"""
import os
import os.path as osp
from typing import Dict, Optional

import torch
from mmengine.dataset import Compose

from cavsync_mm.models.localizers import (audio_visual_similarity,
                                          patch_grid, upsample_heatmaps)


def _feature_model(model):
    """The ``CAVMAESync`` inside a localizer / classifier, or the model itself."""
    from cavsync_mm.models.classifiers import AudioVisualClassifier
    from cavsync_mm.models.localizers import SoundPromptedLocalizer
    if isinstance(model, (SoundPromptedLocalizer, AudioVisualClassifier)):
        if model.backbone is None:
            raise ValueError(f'{type(model).__name__} has no backbone')
        return model.backbone
    return model


def _input_sizes(model):
    """``(image_size, segment_length)`` the model's encoder was built for."""
    encoder = model.backbone
    patch = encoder.patch_size
    image_size = encoder.visual_grid[0] * patch
    segment_length = encoder.audio_grid[1] * patch
    return image_size, segment_length


def video_pipeline(num_frames: int, image_size: int, segment_length: int,
                   rounding: str = 'floor'):
    """All-frames loading of one video: its T frames (short side resized to
    ``image_size``, bicubic, centre crop) and T frame-aligned segments."""
    return Compose([
        dict(type='cavsync_mm.LoadAudio'),
        dict(type='cavsync_mm.ComputeFbank', target_length=1024),
        dict(type='cavsync_mm.FrameAlignedSegments',
             segment_length=segment_length, rounding=rounding),
        dict(type='cavsync_mm.NormalizeFbank'),
        dict(type='cavsync_mm.LoadFrames'),
        dict(type='mmaction.Resize', scale=(-1, image_size),
             interpolation='bicubic'),
        dict(type='mmaction.CenterCrop', crop_size=image_size),
    ])


@torch.no_grad()
def localize_video(model, video: str, num_frames: int = 16,
                   image_size: Optional[int] = None,
                   segment_length: Optional[int] = None,
                   rounding: str = 'floor') -> Dict:
    """Heatmaps of where the sound comes from on each of the T frames.

    Args:
        model: a ``CAVMAESync`` (from ``cavsync_mm.apis.init_model``), or a
            ``SoundPromptedLocalizer`` / ``AudioVisualClassifier`` holding one.
        video: a video file with an audio track (mp4, mkv, webm, ...).
        num_frames: T.
        image_size / segment_length: default to what the model was built
            for (224 / 416 for ViT-B/16).
        rounding: segment centres, ``'floor'`` (paper) or ``'round'``
            (release).

    Returns:
        dict with ``video_id``, ``frames`` (uint8 ``(T, S, S, 3)``, the
        model's view), ``heatmaps`` (float ``(T, S, S)``, cosine
        similarities), ``patch_maps`` (``(T, h, w)``), ``frame_times``
        (seconds) and ``audio_duration``.
    """
    from cavsync_mm.datasets.transforms import PackAudioVisualInputs

    from .inference import extract_features
    model = _feature_model(model)
    model.eval()
    default_size, default_length = _input_sizes(model)
    image_size = image_size or default_size
    segment_length = segment_length or default_length
    video_id = osp.splitext(osp.basename(video))[0]
    results = video_pipeline(num_frames, image_size, segment_length,
                             rounding)(dict(
                                 video_id=video_id, video_file=video,
                                 frame_indices=list(range(num_frames)),
                                 num_frames=num_frames,
                                 sampling='all_frames'))
    inputs = PackAudioVisualInputs()(results)['inputs']
    frames = inputs['frames']
    features = extract_features(model, inputs['audio'], frames)
    patches = features['visual_patches']
    grid = patch_grid(patches.shape[1], tuple(frames.shape[-2:]))
    patch_maps = audio_visual_similarity(features['global_audio'], patches,
                                         grid)
    heatmaps = upsample_heatmaps(patch_maps, tuple(frames.shape[-2:]))
    duration = float(results['audio_duration'])
    return dict(
        video_id=video_id,
        frames=frames.permute(0, 2, 3, 1).numpy(),
        heatmaps=heatmaps.cpu().numpy(),
        patch_maps=patch_maps.cpu().numpy(),
        frame_times=[i * duration / num_frames for i in range(num_frames)],
        audio_duration=duration)


def save_localization(result: Dict, out_dir: str, num_columns: int = 4,
                      overwrite: bool = False) -> Dict[str, str]:
    """Write ``<video_id>_localization.png`` (the T overlays as a grid) and
    ``<video_id>_localization.mp4`` (one overlay per frame, at the clip's
    pace) into ``out_dir``. Existing files are kept unless ``overwrite``."""
    from cavsync_mm.visualization import (save_heatmap_grid,
                                          write_heatmap_video)
    paths = dict(
        png=osp.join(out_dir, f'{result["video_id"]}_localization.png'),
        mp4=osp.join(out_dir, f'{result["video_id"]}_localization.mp4'))
    existing = [p for p in paths.values() if osp.exists(p)]
    if existing and not overwrite:
        raise FileExistsError(f'{", ".join(existing)} exist(s); choose '
                              'another --out-dir or pass --overwrite')
    os.makedirs(out_dir, exist_ok=True)
    captions = [f'{i}: {t:.1f}s'
                for i, t in enumerate(result['frame_times'])]
    save_heatmap_grid(result['frames'], result['heatmaps'], paths['png'],
                      num_columns, captions)
    num_frames = len(result['frames'])
    fps = num_frames / result['audio_duration'] \
        if result['audio_duration'] > 0 else 1.0
    write_heatmap_video(result['frames'], result['heatmaps'], paths['mp4'],
                        fps=fps)
    return paths


__all__ = ['localize_video', 'save_localization', 'video_pipeline']
