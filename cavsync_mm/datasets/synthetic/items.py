"""Make one item of the toy dataset: a clip or a segmentation example.

Both functions run in worker processes: they take the config and an index,
write their files under ``out_dir`` and return their datafile entries.
"""
import os.path as osp
from typing import Dict, Tuple

import numpy as np

from .audio import clip_soundtrack, prompt_sound
from .classes import make_classes
from .config import ToyDatasetConfig
from .scene import compose, place_object, sample_clip_scene, \
    textured_background
from .writer import (write_jpg, write_mp4, write_npy, write_npz,
                     write_png_mask, write_wav)

# parts of an item, each with its own random stream
_SCENE, _AUDIO, _PIXEL_NOISE, _PROMPT = 0, 1, 2, 3


def clip_id(split: str, index: int) -> str:
    return f'{split}_{index:05d}'


def frame_path(video_id: str, i: int) -> str:
    """CAV-MAE layout: ``frames/frame_{i}/{video_id}.jpg``."""
    return osp.join('frames', f'frame_{i}', f'{video_id}.jpg')


def make_clip(config: ToyDatasetConfig, split: str, index: int,
              out_dir: str) -> Tuple[Dict, Dict]:
    """Write one clip (mp4, frames, wav, ground truth); return its entries in
    the CAV-MAE datafile and in the raw-video datafile."""
    classes = make_classes(config.num_classes)
    video_id = clip_id(split, index)
    scene = sample_clip_scene(
        config.rng(split, index, _SCENE), classes, config.frame_size,
        config.duration, config.num_frames, config.num_events,
        config.event_length, config.min_gap, config.distractor_prob)
    wave = clip_soundtrack(scene.events, classes, config.duration,
                           config.sample_rate, config.snr_db,
                           config.rng(split, index, _AUDIO))

    def render(t: float):
        # the pixel noise of a moment depends on its nearest mp4 frame only,
        # so an extracted frame equals the mp4 frame at the same time
        j = int(round(t * config.fps))
        return scene.render(t, config.rng(split, index, _PIXEL_NOISE, j))

    num_video_frames = int(round(config.duration * config.fps))
    video = np.stack([render(j / config.fps)[0]
                      for j in range(num_video_frames)])
    masks = []
    for i in range(config.num_frames):
        image, mask = render(scene.frame_time(i))
        write_jpg(osp.join(out_dir, frame_path(video_id, i)), image)
        masks.append(mask)
    frame_labels = scene.frame_labels()

    write_wav(osp.join(out_dir, 'audio', f'{video_id}.wav'), wave,
              config.sample_rate)
    # the stored fbank (as tools/data/extract_av.py writes it): the loader
    # reads it instead of computing the Kaldi fbank on every visit
    from cavsync_mm.datasets.transforms.audio import compute_stored_fbank
    fbank, fbank_frames = compute_stored_fbank(
        osp.join(out_dir, 'audio', f'{video_id}.wav'), config.sample_rate)
    write_npy(osp.join(out_dir, 'fbank', f'{video_id}.npy'), fbank)
    write_mp4(osp.join(out_dir, 'videos', f'{video_id}.mp4'), video,
              config.fps, wave, config.sample_rate)
    write_npz(
        osp.join(out_dir, 'ground_truth', f'{video_id}.npz'),
        dict(frame_labels=frame_labels, sounding_masks=np.stack(masks),
             events=scene.events))

    labels = ','.join(classes[c].mid
                      for c in sorted(set(scene.events[:, 0].astype(int))))
    frame_label_list = [int(x) for x in frame_labels]
    cavmae_entry = dict(video_id=video_id,
                        wav=f'audio/{video_id}.wav',
                        video_path='frames',
                        fbank=f'fbank/{video_id}.npy',
                        fbank_num_frames=fbank_frames,
                        labels=labels,
                        frame_labels=frame_label_list)
    video_entry = dict(video_id=video_id,
                       video=f'videos/{video_id}.mp4',
                       labels=labels,
                       frame_labels=frame_label_list)
    return cavmae_entry, video_entry


def make_segmentation_example(config: ToyDatasetConfig, index: int,
                              out_dir: str) -> Dict:
    """Write one sound-prompted segmentation example: an image holding the
    prompted class's object (and maybe silent objects of other classes), the
    object's mask and a prompt recording of the class made on its own."""
    classes = make_classes(config.num_classes)
    label = index // config.seg_per_class
    rng = config.rng('segmentation', index, _SCENE)
    target = place_object(classes[label], config.frame_size, rng)
    others = rng.permutation(
        [c.index for c in classes if c.index != label])[:rng.integers(0, 3)]
    objects = [target]
    for other in others:
        obj = place_object(classes[int(other)], config.frame_size, rng,
                           avoid=objects)
        if obj is not None:
            objects.append(obj)
    background = textured_background(config.frame_size, rng)
    image = compose(background, objects[1:] + [target],
                    config.rng('segmentation', index, _PIXEL_NOISE))
    prompt_rng = config.rng('segmentation', index, _PROMPT)
    prompt = prompt_sound(classes[label],
                          prompt_rng.uniform(*config.prompt_length),
                          config.sample_rate, config.snr_db, prompt_rng)

    name = f'seg_{index:04d}'
    entry = dict(image=f'segmentation/images/{name}.jpg',
                 mask=f'segmentation/masks/{name}.png',
                 audio=f'segmentation/audio/{name}.wav',
                 label=label)
    write_jpg(osp.join(out_dir, entry['image']), image)
    write_png_mask(osp.join(out_dir, entry['mask']), target.mask)
    write_wav(osp.join(out_dir, entry['audio']), prompt, config.sample_rate)
    return entry
