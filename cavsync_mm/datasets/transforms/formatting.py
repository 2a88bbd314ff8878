"""Pack a pipeline's results into the sample the model receives.

See ``docs/interfaces.md``: ``{'inputs': {'audio', 'frames'},
'data_samples': AVDataSample}``.
"""
import numpy as np
import torch

from cavsync_mm.registry import TRANSFORMS
from cavsync_mm.structures import AVDataSample
from .base import ClipTransform, is_multi_frame


@TRANSFORMS.register_module()
class PackAudioVisualInputs(ClipTransform):
    """Build ``inputs`` and the ``AVDataSample``.

    ``audio`` is float32 ``(L, n_mels)`` / ``(T, L, n_mels)``; ``frames`` is
    uint8 ``(3, H, W)`` / ``(T, 3, H, W)``. Metainfo: ``video_id``,
    ``frame_indices``, ``num_frames``, ``num_classes`` and ``meta_keys``
    present in the results. Ground truth: ``gt_label`` (and ``gt_score``; a
    soft ``gt_score`` from mixup replaces the multi-hot one),
    ``gt_frame_labels`` from the entry's ``frame_labels`` at the sampled
    frames, ``gt_masks`` when present.

    Args:
        meta_keys (tuple[str]): further result keys to copy into metainfo.
    """

    BASE_META_KEYS = ('video_id', 'frame_indices', 'num_frames',
                      'num_classes', 'sampling',
                      'skipped_clips')  # for DataHealthHook (wrapped datasets)

    def __init__(self, meta_keys=('audio_segments', 'sample_idx',
                                  'mixup_lambda', 'mixup_video_id')):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        inputs = {}
        if 'audio' in results:
            inputs['audio'] = torch.as_tensor(results['audio'],
                                              dtype=torch.float32)
        if 'imgs' in results:
            frames = np.stack(results['imgs'])  # (T, H, W, 3)
            if frames.dtype != np.uint8:
                frames = np.clip(np.round(frames), 0, 255).astype(np.uint8)
            frames = torch.from_numpy(
                np.ascontiguousarray(frames.transpose(0, 3, 1, 2)))
            inputs['frames'] = frames if is_multi_frame(results) \
                else frames[0]

        sample = AVDataSample()
        metainfo = {key: results[key] for key in
                    self.BASE_META_KEYS + self.meta_keys if key in results}
        sample.set_metainfo(metainfo)
        if results.get('gt_label') is not None:
            sample.set_gt_label(results['gt_label'],
                                results.get('num_classes'))
        if results.get('gt_score') is not None:
            sample.set_field(torch.as_tensor(results['gt_score'],
                                             dtype=torch.float32),
                             'gt_score', dtype=torch.Tensor)
        if results.get('frame_labels') is not None:
            labels = np.asarray(results['frame_labels'])
            sample.set_field(
                torch.as_tensor(labels[list(results['frame_indices'])],
                                dtype=torch.long), 'gt_frame_labels',
                dtype=torch.Tensor)
        if results.get('gt_masks') is not None:
            sample.set_field(torch.as_tensor(results['gt_masks']).bool(),
                             'gt_masks', dtype=torch.Tensor)
        return {'inputs': inputs, 'data_samples': sample}
