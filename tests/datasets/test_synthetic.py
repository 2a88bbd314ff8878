"""The synthetic toy dataset: real files that decode, ground truth that
matches the pixels and the waveform, determinism, and folder safety."""
import csv
import glob
import json
import os
import os.path as osp

import decord
import numpy as np
import pytest
import soundfile as sf
from PIL import Image
from scipy.signal import stft

from cavsync_mm.datasets.synthetic import (ToyDatasetConfig, make_classes,
                                           make_toy_dataset)
from cavsync_mm.datasets.synthetic.classes import (BAND_HALF_WIDTH,
                                                   MAX_PARTIAL_HZ,
                                                   PITCH_DEVIATION)
from cavsync_mm.registry import FUNCTIONS

SMALL = dict(num_clips=4, val_clips=2, frame_size=40, seg_per_class=2,
             progress=False)


@pytest.fixture(scope='module')
def toy_dir(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('toy') / 'toy')
    summary = make_toy_dataset(out, workers=2, **SMALL)
    assert not summary['skipped']
    return out


def _entries(root, name):
    with open(osp.join(root, name), encoding='utf-8') as f:
        return json.load(f)['data']


def _all_entries(root):
    return _entries(root, 'train.json') + _entries(root, 'val.json')


def _colour_class(pixels, classes):
    """Class whose colour points the same way as the mean of ``pixels``."""
    mean = pixels.reshape(-1, 3).mean(0)
    colours = np.array([c.colour for c in classes], dtype=float)
    cosine = colours @ mean / np.linalg.norm(colours, axis=1) / np.linalg.norm(
        mean)
    return int(np.argmax(cosine))


def test_layout_and_decoding(toy_dir):
    cfg = ToyDatasetConfig(**{k: v for k, v in SMALL.items()
                              if k != 'progress'})
    train, val = _entries(toy_dir, 'train.json'), _entries(toy_dir, 'val.json')
    assert [e['video_id'] for e in train] == [
        f'train_{i:05d}' for i in range(4)]
    assert len(val) == 2
    with open(osp.join(toy_dir, 'class_labels_indices.csv')) as f:
        rows = list(csv.DictReader(f))
    assert [r['mid'] for r in rows] == [f'toy_{k}' for k in range(8)]
    assert list(rows[0]) == ['index', 'mid', 'display_name']
    videos = (_entries(toy_dir, 'train_videos.json') +
              _entries(toy_dir, 'val_videos.json'))
    for entry, video_entry in zip(train + val, videos):
        vid = entry['video_id']
        assert video_entry['video_id'] == vid
        assert video_entry['labels'] == entry['labels']
        assert video_entry['frame_labels'] == entry['frame_labels']
        # wav: 16 kHz mono, 10 s
        wave, rate = sf.read(osp.join(toy_dir, entry['wav']))
        assert rate == 16000 and wave.ndim == 1 and len(wave) == 160000
        # frames: CAV-MAE layout, T = 16 RGB jpgs
        for i in range(cfg.num_frames):
            path = osp.join(toy_dir, entry['video_path'], f'frame_{i}',
                            f'{vid}.jpg')
            with Image.open(path) as image:
                assert image.mode == 'RGB' and image.size == (40, 40)
        # mp4: H.264 video and AAC audio through decord
        mp4 = osp.join(toy_dir, video_entry['video'])
        reader = decord.VideoReader(mp4)
        assert len(reader) == cfg.duration * cfg.fps
        assert reader[0].shape == (40, 40, 3)
        audio = decord.AudioReader(mp4, sample_rate=16000, mono=True)
        samples = audio[:].asnumpy()
        assert samples.shape[0] == 1
        assert abs(samples.shape[1] / 16000 - 10) < 0.2
        # the extracted frame i is the mp4 frame at time i * 10 / T
        with Image.open(osp.join(toy_dir, 'frames', 'frame_3',
                                 f'{vid}.jpg')) as image:
            jpg = np.asarray(image, dtype=float)
        decoded = reader[int(3 * len(reader) / 16)].asnumpy().astype(float)
        assert np.abs(jpg - decoded).mean() < 8


def test_ground_truth_matches_frames(toy_dir):
    classes = make_classes(8)
    for entry in _all_entries(toy_dir):
        vid = entry['video_id']
        truth = np.load(osp.join(toy_dir, 'ground_truth', f'{vid}.npz'))
        labels, masks = truth['frame_labels'], truth['sounding_masks']
        events = truth['events']
        assert labels.tolist() == entry['frame_labels']
        assert masks.dtype == bool and masks.shape == (16, 40, 40)
        # a mask exactly where something sounds
        assert (masks.any(axis=(1, 2)) == (labels >= 0)).all()
        # events: 2-4, distinct classes, ordered, non-overlapping, >= 1.5 s
        assert 2 <= len(events) <= 4
        assert len(set(events[:, 0])) == len(events)
        assert (events[:, 2] - events[:, 1] >= 1.5 - 1e-3).all()
        assert (events[1:, 1] > events[:-1, 2]).all()
        assert entry['labels'] == ','.join(
            f'toy_{int(c)}' for c in sorted(events[:, 0]))
        # frame i shows the class sounding at i * 10 / 16
        for i, label in enumerate(labels):
            t = i * 10 / 16
            active = events[(events[:, 1] <= t) & (t < events[:, 2]), 0]
            assert label == (int(active[0]) if len(active) else -1)
            if label >= 0:
                with Image.open(osp.join(toy_dir, 'frames', f'frame_{i}',
                                         f'{vid}.jpg')) as image:
                    pixels = np.asarray(image, dtype=float)[masks[i]]
                assert _colour_class(pixels, classes) == label, (vid, i)


def test_audio_band_energy_follows_events(toy_dir):
    """Energy in a class's signature band is high during its events and low
    elsewhere (computed from the wav)."""
    classes = make_classes(8)
    for entry in _all_entries(toy_dir):
        wave, rate = sf.read(osp.join(toy_dir, entry['wav']))
        freqs, times, spec = stft(wave, fs=rate, nperseg=2048)
        power = np.abs(spec)**2
        events = np.load(
            osp.join(toy_dir, 'ground_truth',
                     f'{entry["video_id"]}.npz'))['events']
        for class_index, start, end in events:
            low, high = classes[int(class_index)].signature_band
            band = power[(freqs >= low) & (freqs <= high)].sum(0)
            inside = (times > start + 0.15) & (times < end - 0.15)
            near = (times > start - 0.15) & (times < end + 0.15)
            assert band[inside].mean() > 30 * band[~near].mean(), (
                entry['video_id'], class_index)


def test_same_seed_same_bytes_other_seed_differs(toy_dir, tmp_path):
    again = str(tmp_path / 'again')
    make_toy_dataset(again, workers=1, **SMALL)  # other worker count
    names = sorted(
        osp.relpath(p, toy_dir)
        for p in glob.glob(osp.join(toy_dir, '**', '*'), recursive=True)
        if osp.isfile(p))
    assert names == sorted(
        osp.relpath(p, again)
        for p in glob.glob(osp.join(again, '**', '*'), recursive=True)
        if osp.isfile(p))
    for name in names:
        first, second = osp.join(toy_dir, name), osp.join(again, name)
        if name.endswith('.mp4'):
            # container metadata may differ, and so may the encoded pixels by
            # a few grey levels (seen in some full-suite runs on 2 busy cores;
            # cause not found: the rgb -> yuv420p conversion / x264 path, not
            # the rendering, whose jpg frames below stay byte-equal): the
            # decoded clips must agree within 2 grey levels on average
            a, b = decord.VideoReader(first), decord.VideoReader(second)
            a, b = a[:].asnumpy().astype(np.int16), b[:].asnumpy().astype(np.int16)
            assert a.shape == b.shape, name
            assert np.abs(a - b).mean() < 2, name
            continue
        with open(first, 'rb') as f, open(second, 'rb') as g:
            assert f.read() == g.read(), name

    other = str(tmp_path / 'other')
    make_toy_dataset(other, seed=1, num_clips=1, val_clips=0,
                     frame_size=40, seg_per_class=1, progress=False)
    for name in ('audio/train_00000.wav', 'frames/frame_8/train_00000.jpg'):
        with open(osp.join(toy_dir, name), 'rb') as f, \
                open(osp.join(other, name), 'rb') as g:
            assert f.read() != g.read(), name


def test_segmentation_annotations(toy_dir):
    classes = make_classes(8)
    with open(osp.join(toy_dir, 'segmentation', 'annotations.json')) as f:
        annotations = json.load(f)
    assert annotations['metainfo']['classes'] == [
        c.display_name for c in classes]
    items = annotations['data_list']
    assert sorted(item['label'] for item in items) == sorted(
        list(range(8)) * 2)
    for item in items:
        with Image.open(osp.join(toy_dir, item['image'])) as image:
            assert image.size == (40, 40)
            pixels = np.asarray(image.convert('RGB'), dtype=float)
        with Image.open(osp.join(toy_dir, item['mask'])) as mask_image:
            assert mask_image.mode == 'L'
            mask = np.asarray(mask_image) > 0
        assert mask.any()
        assert _colour_class(pixels[mask], classes) == item['label']
        prompt, rate = sf.read(osp.join(toy_dir, item['audio']))
        assert rate == 16000 and prompt.ndim == 1
        assert 4.5 <= len(prompt) / rate <= 6
        # the prompt carries its class's signature band
        freqs, _, spec = stft(prompt, fs=rate, nperseg=2048)
        power = (np.abs(spec)**2).mean(1)
        low, high = classes[item['label']].signature_band
        in_band = power[(freqs >= low) & (freqs <= high)].mean()
        assert in_band > 100 * np.median(power)


def test_rerun_skips_or_replaces_and_keeps_user_files(tmp_path):
    out = str(tmp_path / 'toy')
    tiny = dict(num_clips=2, val_clips=1, frame_size=32, seg_per_class=1,
                progress=False, workers=1)
    make_toy_dataset(out, **tiny)
    user_file = osp.join(out, 'notes.txt')
    with open(user_file, 'w') as f:
        f.write('mine')
    assert make_toy_dataset(out, **tiny)['skipped']
    # other arguments: the earlier generated files go, the user's stay
    make_toy_dataset(out, **dict(tiny, num_clips=1))
    assert not osp.exists(osp.join(out, 'audio', 'train_00001.wav'))
    assert osp.exists(osp.join(out, 'audio', 'train_00000.wav'))
    assert len(_entries(out, 'train.json')) == 1
    with open(user_file) as f:
        assert f.read() == 'mine'
    # a lost file makes the same arguments regenerate
    os.remove(osp.join(out, 'frames', 'frame_2', 'train_00000.jpg'))
    assert not make_toy_dataset(out, **dict(tiny, num_clips=1))['skipped']
    assert osp.exists(osp.join(out, 'frames', 'frame_2', 'train_00000.jpg'))


def test_refuses_a_folder_of_other_files(tmp_path):
    out = tmp_path / 'data'
    out.mkdir()
    (out / 'keep.txt').write_text('precious')
    with pytest.raises(FileExistsError, match='not empty'):
        make_toy_dataset(str(out), num_clips=1, val_clips=0, frame_size=32,
                         seg_per_class=1, progress=False)
    assert sorted(os.listdir(out)) == ['keep.txt']
    make_toy_dataset(str(out), num_clips=1, val_clips=0, frame_size=32,
                     seg_per_class=1, progress=False, overwrite=True)
    assert (out / 'keep.txt').read_text() == 'precious'
    assert (out / 'train.json').exists()


@pytest.mark.parametrize('num_classes', [8, 16])
def test_classes_are_distinct(num_classes):
    classes = make_classes(num_classes)
    assert len({(c.shape, c.colour) for c in classes}) == num_classes
    if num_classes <= 8:
        assert len({c.shape for c in classes}) == num_classes
        assert len({c.colour for c in classes}) == num_classes
    # no partial of one class can enter another class's signature band
    for c in classes:
        for p, amplitude in enumerate(c.harmonics, start=1):
            if amplitude == 0:
                continue
            assert p * c.f0 <= MAX_PARTIAL_HZ or p == 1
            for other in classes:
                if other is not c:
                    distance = abs(np.log(p * c.f0 / other.f0))
                    assert distance > BAND_HALF_WIDTH + PITCH_DEVIATION


def test_bad_arguments_and_registration(tmp_path):
    with pytest.raises(ValueError, match='frame_size'):
        ToyDatasetConfig(frame_size=33)
    with pytest.raises(ValueError, match='do not fit'):
        ToyDatasetConfig(duration=4.0)
    # decord 0.6.0 misreads 48 px wide H.264: refused before writing anything
    with pytest.raises(ValueError, match='decord'):
        make_toy_dataset(str(tmp_path / 'toy'), frame_size=48, progress=False)
    assert not (tmp_path / 'toy').exists()
    assert FUNCTIONS.get('make_toy_dataset') is make_toy_dataset
