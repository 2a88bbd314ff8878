"""Send pictures of validation / test batches to the Runner's visualizer."""
import os
import os.path as osp
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.hooks import Hook

from cavsync_mm.registry import HOOKS


def _field(sample, name):
    return sample.get(name) if isinstance(sample, dict) \
        else getattr(sample, name, None)


def _stem(sample, fallback: str) -> str:
    name = _field(sample, 'img_path') or _field(sample, 'video_id') or \
        fallback
    return osp.splitext(osp.basename(str(name)))[0]


@HOOKS.register_module()
class AVVisualizationHook(Hook):
    """Draw what the model returned for the first batches of val / test runs.

    For each of up to ``max_samples`` samples of the first ``num_batches``
    batches, with the Runner's visualizer (``AVVisualizer``):

    - ``heatmap_<name>``: the sound-prompted heatmap over its image, with the
      outline of ``gt_mask`` when the sample has one (localisation models);
    - ``segments_<name>``: temporal segment bars of an all-frames clip
      (``global_audio`` / ``global_visual`` of shape ``(T, D)``): audio,
      visual and audio-visual segments (``num_segments`` contiguous runs) and
      ``gt_frame_labels`` when present;
    - ``reconstruction_<name>``: masked-autoencoding reconstruction of the
      sample's (middle) frame and audio segment, for models with a
      ``reconstruct`` method (the pretrainer).

    The pictures go to the visualizer's backends (local PNGs, TensorBoard,
    ...), at the current training iteration during validation and at step 0
    in a test run (``LocalVisBackend`` names the files ``<tag>_<step>.png``).
    With ``out_dir`` (a test run) they are written there as ``<tag>.png``
    (heatmaps as ``<name>.png``) instead.

    Args:
        enable: draw at all (configs turn it on with one option).
        num_batches: how many batches of each val / test run are drawn.
        max_samples: samples per batch drawn.
        kinds: what to draw, among ``'heatmap'``, ``'segments'``,
            ``'reconstruction'``.
        num_segments: segments per clip for the bars (paper: 5).
        mask_ratio: masking of the reconstruction pictures.
        out_dir: write the test pictures into this folder.
    """
    priority = 'NORMAL'
    KINDS = ('heatmap', 'segments', 'reconstruction')

    def __init__(self, enable: bool = True, num_batches: int = 1,
                 max_samples: int = 2,
                 kinds: Sequence[str] = KINDS, num_segments: int = 5,
                 mask_ratio: float = 0.75, out_dir: Optional[str] = None):
        unknown = set(kinds) - set(self.KINDS)
        if unknown:
            raise ValueError(f'AVVisualizationHook: unknown kinds {unknown}; '
                             f'choose from {self.KINDS}')
        self.enable = enable
        self.num_batches = num_batches
        self.max_samples = max_samples
        self.kinds = tuple(kinds)
        self.num_segments = num_segments
        self.mask_ratio = mask_ratio
        self.out_dir = out_dir

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None) -> None:
        self._draw(runner, batch_idx, data_batch, outputs, runner.iter, None)

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        self._draw(runner, batch_idx, data_batch, outputs, 0, self.out_dir)

    def _draw(self, runner, batch_idx, data_batch, outputs, step, out_dir):
        if not self.enable or batch_idx >= self.num_batches or \
                runner.rank != 0 or not outputs:
            return
        visualizer = runner.visualizer
        for method in ('add_heatmap', 'add_segment_bars',
                       'add_reconstruction'):
            if not hasattr(visualizer, method):
                raise TypeError(
                    'AVVisualizationHook needs visualizer=dict(type='
                    f"'AVVisualizer', ...); the config builds "
                    f'{type(visualizer).__name__}')
        frames = data_batch['inputs']['frames']
        for index, sample in enumerate(outputs[:self.max_samples]):
            stem = _stem(sample, f'{batch_idx}_{index}')
            pictures = {}  # file name in out_dir -> picture
            heatmap = _field(sample, 'heatmap')
            if 'heatmap' in self.kinds and heatmap is not None:
                pictures[stem] = visualizer.add_heatmap(
                    f'heatmap_{stem}', frames[index], heatmap, step,
                    mask=_field(sample, 'gt_mask'),
                    title=self._class_name(runner, sample))
            audio, visual = (_field(sample, 'global_audio'),
                             _field(sample, 'global_visual'))
            if 'segments' in self.kinds and audio is not None and \
                    visual is not None and audio.ndim == 2 and \
                    len(audio) > 1:
                pictures[f'segments_{stem}'] = self._segments(
                    visualizer, stem, step, frames[index], sample, audio,
                    visual)
            if 'reconstruction' in self.kinds and \
                    hasattr(runner.model, 'reconstruct') and index == 0:
                pictures[f'reconstruction_{stem}'] = self._reconstruction(
                    runner, visualizer, stem, step, data_batch)
            if out_dir is not None:
                self._write(out_dir, pictures)

    @staticmethod
    def _class_name(runner, sample) -> Optional[str]:
        label = _field(sample, 'gt_label')
        if label is None:
            return None
        label = int(torch.as_tensor(label).flatten()[0])
        # val / test loops hand the dataset's metainfo to the visualizer
        classes = (runner.visualizer.dataset_meta or {}).get('classes')
        return classes[label] if classes else f'class {label}'

    def _segments(self, visualizer, stem, step, frames, sample, audio,
                  visual):
        from cavsync_mm.evaluation.temporal_segmentation import (
            frame_features, segment_frames)
        bars = {}
        for kind in ('visual', 'audio_visual', 'audio'):
            features = frame_features(audio, visual, kind)
            bars[kind] = segment_frames(features,
                                        self.num_segments).segment_ids
        truth = _field(sample, 'gt_frame_labels')
        if truth is not None and len(truth) == len(audio):
            bars['ground_truth'] = torch.as_tensor(truth).cpu().numpy()
        return visualizer.add_segment_bars(f'segments_{stem}', frames, bars,
                                           step, title=stem)

    def _reconstruction(self, runner, visualizer, stem, step, data_batch):
        model = runner.model.module if hasattr(runner.model, 'module') \
            else runner.model
        with torch.no_grad():
            data = model.data_preprocessor(data_batch, False)
        audio, frames = data['inputs']['audio'], data['inputs']['frames']
        if audio.ndim == 4:  # all frames: draw the middle one
            middle = audio.shape[1] // 2
            audio, frames = audio[:, middle], frames[:, middle]
        was_training = model.training
        picture = visualizer.add_reconstruction(
            f'reconstruction_{stem}', model, audio[:1], frames[:1], step,
            self.mask_ratio)
        model.train(was_training)
        return picture

    @staticmethod
    def _write(out_dir, pictures):
        from PIL import Image
        os.makedirs(out_dir, exist_ok=True)
        for file_stem, picture in pictures.items():
            Image.fromarray(np.asarray(picture)).save(
                osp.join(out_dir, f'{file_stem}.png'))
