"""Sound-prompted segmentation data (ADE20K-Sound style, paper Sec. 3.5.3).

Annotation file (``docs/interfaces.md``, ``docs/segmentation.md``)::

    {"metainfo": {"classes": ["name0", ...]},
     "data_list": [{"image": "images/<n>.jpg", "mask": "masks/<n>.png",
                    "audio": "audio/<n>.wav", "label": 3}, ...]}

Paths are relative to ``data_root``. ``mask`` is a single-channel PNG,
non-zero on the pixels of the prompted class; ``audio`` is the prompt clip.

The pipeline loads the image as a one-frame ``imgs`` list (so mmaction's
``Resize`` / ``CenterCrop`` apply), the mask as ``gt_seg_map``, replays the
image's resize and crop on the mask (:class:`AlignMaskWithImage`, nearest
neighbour), and cuts one audio segment of the prompt with cavsync's audio
transforms (``LoadAudio``, ``ComputeFbank``, ``FrameAlignedSegments``,
``NormalizeFbank``): the segment aligned with frame ``prompt_frame`` of
``num_frames`` (the middle one by default).
"""
import json
import os.path as osp
from typing import List, Optional

import numpy as np
import torch
from mmengine.dataset import BaseDataset
from PIL import Image

from cavsync_mm.registry import DATASETS, TRANSFORMS
from .errors import ClipError
from .transforms.base import ClipTransform
from .transforms.formatting import PackAudioVisualInputs
from .transforms.video import read_image


@DATASETS.register_module()
class SoundPromptedSegmentationDataset(BaseDataset):
    """Images, class masks and prompt sounds for sound-prompted segmentation.

    Args:
        ann_file: the annotation json.
        data_root: the folder the entries' paths are relative to.
        num_frames: T of the prompt's timeline (16).
        prompt_frame: which frame's aligned segment of the prompt is used
            (default ``num_frames // 2``, the middle of the clip).
        **kwargs: ``pipeline``, ``test_mode``, ... of ``BaseDataset``.
    """

    def __init__(self, ann_file: str, data_root: str = '',
                 num_frames: int = 16, prompt_frame: Optional[int] = None,
                 **kwargs):
        self.num_frames = num_frames
        self.prompt_frame = num_frames // 2 if prompt_frame is None \
            else prompt_frame
        if not 0 <= self.prompt_frame < num_frames:
            raise ValueError(f'prompt_frame {self.prompt_frame} is outside '
                             f'0..{num_frames - 1}')
        kwargs.setdefault('test_mode', True)
        super().__init__(ann_file=ann_file, data_root=data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        with open(self.ann_file) as f:
            annotations = json.load(f)
        classes = annotations.get('metainfo', {}).get('classes')
        if not classes:
            raise ValueError(f'{self.ann_file}: metainfo.classes is missing')
        self._metainfo.update(classes=list(classes),
                              num_classes=len(classes))
        entries = annotations.get('data_list')
        if not isinstance(entries, list) or not entries:
            raise ValueError(f'{self.ann_file}: data_list is missing or empty')
        data_list = []
        for position, entry in enumerate(entries):
            data_list.append(self._parse_entry(position, entry, classes))
        return data_list

    def _parse_entry(self, position: int, entry: dict, classes) -> dict:
        name = osp.splitext(osp.basename(str(entry.get('image', ''))))[0] \
            or f'entry {position}'
        info = dict(video_id=name, num_classes=len(classes),
                    num_frames=self.num_frames,
                    frame_indices=[self.prompt_frame],
                    sampling='middle_frame')
        for field, key in (('image', 'img_path'), ('mask', 'mask_path'),
                           ('audio', 'audio_path')):
            if not entry.get(field):
                raise ClipError(name, field, f'entry {position} of '
                                f'{self.ann_file} has no {field!r}')
            path = osp.join(self.data_root, entry[field])
            if not osp.isfile(path):
                raise ClipError(name, field, f'file not found: {path}')
            info[key] = path
        label = entry.get('label')
        if not isinstance(label, int) or not 0 <= label < len(classes):
            raise ClipError(name, 'label', f'{label!r} is not a class index '
                            f'in 0..{len(classes) - 1}')
        info['gt_label'] = label
        return info

    def get_cat_ids(self, idx: int) -> List[int]:
        return [self.get_data_info(idx)['gt_label']]


@TRANSFORMS.register_module()
class LoadSegmentationImage(ClipTransform):
    """Read ``img_path`` (RGB) as a one-frame ``imgs`` list.

    Adds ``imgs``, ``img_shape``, ``original_shape`` and ``modality='RGB'``,
    the keys mmaction's ``Resize`` / ``CenterCrop`` work on.
    """

    def transform(self, results: dict) -> dict:
        try:
            image = read_image(results['img_path'])
        except Exception as err:
            raise ClipError(self.clip_name(results), 'image',
                            f'cannot read {results["img_path"]}: {err}'
                            ) from err
        results['imgs'] = [image]
        results['img_shape'] = image.shape[:2]
        results['original_shape'] = image.shape[:2]
        results['modality'] = 'RGB'
        return results


@TRANSFORMS.register_module()
class LoadSegmentationMask(ClipTransform):
    """Read ``mask_path`` (single channel; non-zero = the prompted class) as
    bool ``gt_seg_map``; it must have the image's size."""

    def transform(self, results: dict) -> dict:
        clip = self.clip_name(results)
        try:
            with Image.open(results['mask_path']) as mask:
                if mask.mode not in ('1', 'L', 'P', 'I', 'I;16'):
                    raise ValueError(f'mode {mask.mode}, expected a '
                                     'single-channel PNG')
                mask = np.asarray(mask) != 0
        except Exception as err:
            raise ClipError(clip, 'mask', f'cannot read '
                            f'{results["mask_path"]}: {err}') from err
        image_shape = tuple(results.get('original_shape', mask.shape))
        if mask.shape != image_shape:
            raise ClipError(clip, 'mask', f'mask is {mask.shape[1]}x'
                            f'{mask.shape[0]}, the image {image_shape[1]}x'
                            f'{image_shape[0]}')
        results['gt_seg_map'] = mask
        return results


@TRANSFORMS.register_module()
class AlignMaskWithImage(ClipTransform):
    """Replay mmaction's ``Resize`` (``scale_factor``) and ``CenterCrop``
    (``crop_bbox``) on ``gt_seg_map`` with nearest-neighbour sampling, so the
    mask stays aligned with the image."""

    def transform(self, results: dict) -> dict:
        mask = results['gt_seg_map']
        height, width = mask.shape
        if 'scale_factor' in results:
            scale_w, scale_h = results['scale_factor']
            size = (int(round(width * scale_w)), int(round(height * scale_h)))
            mask = np.asarray(Image.fromarray(mask).resize(size,
                                                           Image.NEAREST))
        if 'crop_bbox' in results:
            left, top, right, bottom = (int(v) for v in results['crop_bbox'])
            mask = mask[top:bottom, left:right]
        if mask.shape != tuple(results['img_shape']):
            raise ClipError(self.clip_name(results), 'mask',
                            f'aligned mask is {mask.shape}, the image '
                            f'{tuple(results["img_shape"])}; put '
                            'AlignMaskWithImage after the resize and crop')
        results['gt_seg_map'] = np.ascontiguousarray(mask)
        return results


@TRANSFORMS.register_module()
class PackSegmentationInputs(PackAudioVisualInputs):
    """``PackAudioVisualInputs`` plus ``gt_mask`` (bool ``(H, W)``) and the
    ``img_path`` metainfo: ``inputs`` = prompt segment ``(L, n_mels)`` and
    image ``(3, H, W)`` uint8."""

    def __init__(self, meta_keys=('img_path', 'mask_path', 'audio_path',
                                  'audio_segments')):
        super().__init__(meta_keys=meta_keys)

    def transform(self, results: dict) -> dict:
        packed = super().transform(results)
        packed['data_samples'].set_field(
            torch.from_numpy(np.asarray(results['gt_seg_map'], dtype=bool)),
            'gt_mask', dtype=torch.Tensor)
        return packed
