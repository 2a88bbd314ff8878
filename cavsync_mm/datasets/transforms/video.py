"""Loading the sampled video frames (extracted jpgs or a video container).

Frame ``i`` of ``T`` is ``{video_path}/frame_{i}/{video_id}.jpg`` in the
CAV-MAE layout, and the container frame ``int(i * total_frames / T)`` in
the raw-video layout (CAV-MAE's extractor). The result is a list of
``H x W x 3`` uint8 RGB arrays under ``imgs``, so mmaction's transforms
(``mmaction.Resize``, ``mmaction.CenterCrop``, ``mmaction.RandomResizedCrop``,
``mmaction.Flip``) apply to all frames of a sample alike.
"""
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
from PIL import Image

from cavsync_mm.registry import TRANSFORMS
from ..errors import ClipError
from .base import ClipTransform


def container_frame_index(i: int, total_frames: int, num_frames: int) -> int:
    """The container frame that frame ``i`` of ``T`` is: ``int(i*N/T)``."""
    return int(i * total_frames / num_frames)


def extracted_frame_path(video_path: str, video_id: str, i: int) -> str:
    """``{video_path}/frame_{i}/{video_id}.jpg`` (CAV-MAE layout)."""
    return osp.join(video_path, f'frame_{i}', f'{video_id}.jpg')


def read_video_frames(path: str, frame_indices: Sequence[int],
                      num_frames: int) -> List[np.ndarray]:
    """Decode frames ``i`` of ``T`` (``frame_indices``) from a container.

    Returns a list of ``H x W x 3`` uint8 RGB arrays. Raises ``ValueError``
    when the container cannot be decoded or has fewer than ``T`` frames.
    """
    import decord
    if not osp.isfile(path):
        raise FileNotFoundError(f'no such file: {path}')
    reader = decord.VideoReader(path, ctx=decord.cpu(0), num_threads=1)
    total = len(reader)
    if total < num_frames:
        raise ValueError(f'{path} has {total} video frames, fewer than the '
                         f'{num_frames} to sample')
    indices = [container_frame_index(i, total, num_frames)
               for i in frame_indices]
    frames = reader.get_batch(indices).asnumpy()
    return [np.ascontiguousarray(frame) for frame in frames]


def read_image(path: str) -> np.ndarray:
    """An image file as an ``H x W x 3`` uint8 RGB array."""
    with Image.open(path) as image:
        return np.asarray(image.convert('RGB'), dtype=np.uint8).copy()


@TRANSFORMS.register_module()
class LoadFrames(ClipTransform):
    """Load the frames named by ``frame_indices`` (``i`` of ``num_frames``).

    Reads extracted jpgs (``frame_dir`` + ``video_id``, from the datafile's
    ``video_path``) or decodes ``video_file`` with decord. Adds ``imgs``
    (list of ``H x W x 3`` uint8 RGB), ``img_shape``, ``original_shape`` and
    ``modality='RGB'`` (what mmaction's transforms expect).

    Args:
        extracted_frames (int | None): how many frames were extracted per
            clip in the CAV-MAE layout; frame ``i`` of T then reads
            ``frame_{int(i * extracted_frames / T)}``. Defaults to None
            (= T: frame ``i`` reads ``frame_{i}``). Set 10 for datasets
            extracted for the original CAV-MAE.
    """

    def __init__(self, extracted_frames: Optional[int] = None):
        self.extracted_frames = extracted_frames

    def transform(self, results: dict) -> dict:
        clip = self.clip_name(results)
        frame_indices = results['frame_indices']
        num_frames = results['num_frames']
        if results.get('frame_dir'):
            imgs = []
            for i in frame_indices:
                k = i if self.extracted_frames is None else \
                    container_frame_index(i, self.extracted_frames, num_frames)
                path = extracted_frame_path(results['frame_dir'],
                                            results['video_id'], k)
                try:
                    imgs.append(read_image(path))
                except Exception as err:
                    raise ClipError(clip, 'video_path',
                                    f'cannot read frame {i} of {num_frames} '
                                    f'from {path}: {err}') from err
        elif results.get('video_file'):
            path = results['video_file']
            try:
                imgs = read_video_frames(path, frame_indices, num_frames)
            except Exception as err:
                raise ClipError(clip, 'video',
                                f'cannot decode frames from {path}: {err}'
                                ) from err
        else:
            raise ClipError(clip, 'video_path',
                            "the entry has neither 'video_path' nor 'video'")
        shapes = {img.shape for img in imgs}
        if len(shapes) != 1:
            raise ClipError(clip, 'video_path',
                            f'frames differ in size: {sorted(shapes)}')
        results['imgs'] = imgs
        results['img_shape'] = imgs[0].shape[:2]
        results['original_shape'] = imgs[0].shape[:2]
        results['modality'] = 'RGB'
        return results
