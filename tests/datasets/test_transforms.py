"""Transforms on real wav/mp4/jpg files written by the tests."""
import uuid

import numpy as np
import pytest
import soundfile
import torch
from mmengine.dataset import Compose

from cavsync_mm.datasets.transforms import (
    ComputeFbank, FrameAlignedSegments, LoadAudio, LoadFrames, NormalizeFbank,
    PackAudioVisualInputs, RandomTimeShift, SpecAugment,
    frame_aligned_segment_bounds, kaldi_fbank, load_audio, num_fbank_frames)
from cavsync_mm.registry import TRANSFORMS
from cavsync_mm.structures import AVDataSample

from av_test_files import frame_grey, make_video, use_cavsync_scope

use_cavsync_scope()


def _sine(rate, seconds, freq=440.0, amplitude=0.3):
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_load_audio_stereo_48k_is_mixed_to_mono_and_resampled(tmp_path):
    left = _sine(48000, 1.0)
    path = str(tmp_path / 'stereo48k.wav')
    soundfile.write(path, np.stack([left, 0.5 * left], axis=1), 48000,
                    subtype='FLOAT')
    expected = _sine(16000, 1.0)
    mean = load_audio(path)
    first = load_audio(path, mono='first')
    assert mean.dtype == np.float32 and mean.shape == (16000, )
    inner = slice(200, -200)  # resampling filter edges
    np.testing.assert_allclose(mean[inner], 0.75 * expected[inner], atol=2e-3)
    np.testing.assert_allclose(first[inner], expected[inner], atol=2e-3)


def test_load_audio_flac_and_container(tmp_path):
    flac = str(tmp_path / 'a.flac')
    soundfile.write(flac, _sine(16000, 0.5), 16000)
    assert load_audio(flac).shape == (8000, )
    video = make_video(tmp_path / 'v.mp4', num_frames=10, fps=10)
    audio = load_audio(video)  # 48 kHz stereo AAC -> 16 kHz mono
    assert abs(len(audio) - 16000) < 600  # AAC adds priming samples
    spectrum = np.abs(np.fft.rfft(audio[2000:14000]))
    peak_hz = np.argmax(spectrum) * 16000 / 12000
    assert abs(peak_hz - 440) < 3
    assert 0.75 * 0.3 * 0.9 < np.abs(audio[2000:14000]).max() < 0.75 * 0.3 * 1.1


def test_load_audio_transform_removes_mean(tmp_path):
    path = str(tmp_path / 'offset.wav')
    soundfile.write(path, _sine(16000, 1.0) + 0.2, 16000, subtype='FLOAT')
    results = LoadAudio()(dict(video_id='x', audio_path=path))
    assert abs(results['waveform'].mean()) < 1e-6
    assert results['sample_rate'] == 16000
    assert results['audio_duration'] == pytest.approx(1.0)
    kept = LoadAudio(remove_mean=False)(dict(video_id='x', audio_path=path))
    assert kept['waveform'].mean() == pytest.approx(0.2, abs=1e-3)


def test_kaldi_fbank_pads_and_cuts():
    five_s = _sine(16000, 5.0)
    fbank = kaldi_fbank(five_s)
    real = num_fbank_frames(len(five_s))
    assert real == 498
    assert fbank.shape == (1024, 128) and fbank.dtype == torch.float32
    assert torch.all(fbank[real:] == 0) and torch.all(fbank[:real] != 0)
    long = kaldi_fbank(_sine(16000, 12.0))
    assert long.shape == (1024, 128)
    np.testing.assert_allclose(long[:498].numpy(), fbank[:498].numpy(),
                               atol=1e-4)
    natural = kaldi_fbank(five_s, target_length=None)
    assert natural.shape == (498, 128)
    # 440 Hz on the HTK Mel scale (20 Hz .. 8 kHz, 128 bins) falls in bin 23
    assert int(natural.mean(0).argmax()) == 23


@pytest.mark.parametrize('rounding,expected', [
    ('floor', {0: (0, 416), 7: (240, 656), 15: (608, 1024)}),
    ('round', {0: (0, 416), 7: (240, 656), 15: (608, 1024)}),
])
def test_segment_bounds_paper_values(rounding, expected):
    for i, bounds in expected.items():
        assert frame_aligned_segment_bounds(i, 16, 1024, 416,
                                            rounding) == bounds


def test_segment_bounds_floor_and_round_differ():
    # 7 * 998 / 16 = 436.625: floor 436, round 437
    assert frame_aligned_segment_bounds(7, 16, 998, 416, 'floor') == (228,
                                                                       644)
    assert frame_aligned_segment_bounds(7, 16, 998, 416, 'round') == (229,
                                                                       645)
    # window kept inside [0, S)
    for i in range(16):
        start, end = frame_aligned_segment_bounds(i, 16, 998, 416, 'round')
        assert 0 <= start and end <= 998 and end - start == 416
    with pytest.raises(ValueError, match='rounding'):
        frame_aligned_segment_bounds(0, 16, 1024, 416, 'ceil')
    with pytest.raises(ValueError, match='outside'):
        frame_aligned_segment_bounds(16, 16, 1024, 416)


def _fbank_results(frame_indices, sampling):
    fbank = torch.arange(1024, dtype=torch.float32)[:, None].repeat(1, 128)
    return dict(video_id='x', fbank=fbank, fbank_num_frames=1000,
                frame_indices=frame_indices, num_frames=16, sampling=sampling)


def test_frame_aligned_segments_single_and_all():
    one = FrameAlignedSegments()(_fbank_results([7], 'random_frame'))
    assert one['audio'].shape == (416, 128)
    assert one['audio'][0, 0] == 240 and one['audio'][-1, 0] == 655
    every = FrameAlignedSegments()(_fbank_results(list(range(16)),
                                                  'all_frames'))
    assert every['audio'].shape == (16, 416, 128)
    assert every['audio'][15, 0, 0] == 608
    assert every['audio_segments'][0] == (0, 416)
    whole = FrameAlignedSegments(segment_length=1024)(
        _fbank_results([3], 'middle_frame'))
    assert whole['audio'][0, 0] == 0 and whole['audio'].shape == (1024, 128)


def test_normalize_fbank():
    out = NormalizeFbank()(dict(audio=torch.full((4, 128), -5.081 + 4.4849)))
    torch.testing.assert_close(out['audio'], torch.ones(4, 128))


def test_random_time_shift_rolls_and_adds_bounded_noise():
    audio = torch.arange(416, dtype=torch.float32)[:, None].repeat(1, 128)
    np.random.seed(0)
    rolled = RandomTimeShift(noise_scale=0)(dict(audio=audio.clone()))['audio']
    shift = int(rolled[0, 0])  # value at 0 came from row -shift
    torch.testing.assert_close(rolled, torch.roll(audio, -shift, 0))
    assert not torch.equal(rolled, audio)
    noisy = RandomTimeShift(max_shift=0)(dict(audio=audio.clone()))['audio']
    diff = noisy - audio
    assert diff.min() >= 0 and diff.max() < 0.1 and diff.max() > 0
    stacked = RandomTimeShift()(dict(audio=audio.repeat(3, 1, 1)))['audio']
    assert stacked.shape == (3, 416, 128)


def test_spec_augment_masks_whole_rows_and_columns():
    torch.manual_seed(0)
    audio = torch.ones(416, 128)
    out = SpecAugment(freq_mask_param=40, time_mask_param=100)(
        dict(audio=audio.clone()))['audio']
    assert out.shape == audio.shape
    zero = out == 0
    assert zero.any()
    masked_rows = zero.all(1)  # time frames
    masked_cols = zero.all(0)  # mel bins
    assert torch.equal(zero, masked_rows[:, None] | masked_cols[None, :])
    assert torch.all(out[~zero] == 1)


def test_load_frames_from_container_release_and_uniform_index(tmp_path):
    video = make_video(tmp_path / 'v.mp4', num_frames=40, fps=10,
                       audio_rate=None)
    base = dict(video_id='v', video_file=video,
                frame_indices=list(range(16)), num_frames=16)
    # default: CAV-MAE's extractor, N = min(40, 10 * 10), index - 1
    results = LoadFrames()(dict(base))
    assert len(results['imgs']) == 16
    for i, img in enumerate(results['imgs']):
        assert img.shape == (48, 64, 3) and img.dtype == np.uint8
        k = max(int(i * 40 / 16) - 1, 0)
        assert abs(float(img.mean()) - frame_grey(k)) < 3, (i, k)
    assert results['img_shape'] == (48, 64) and results['modality'] == 'RGB'
    uniform = LoadFrames(frame_index='uniform')(dict(base))
    for i, img in enumerate(uniform['imgs']):
        k = int(i * 40 / 16)
        assert abs(float(img.mean()) - frame_grey(k)) < 3, (i, k)


def test_load_frames_extracted_layout_and_extracted_frames(tmp_path):
    from PIL import Image
    for k in range(10):
        (tmp_path / f'frame_{k}').mkdir()
        Image.fromarray(np.full((8, 12, 3), frame_grey(k), np.uint8)).save(
            tmp_path / f'frame_{k}' / 'c.jpg', quality=100)
    base = dict(video_id='c', frame_dir=str(tmp_path), num_frames=16)
    out = LoadFrames(extracted_frames=10)(dict(base, frame_indices=[15]))
    assert abs(int(out['imgs'][0][0, 0, 0]) - frame_grey(9)) <= 1
    out = LoadFrames()(dict(base, frame_indices=[3]))
    assert abs(int(out['imgs'][0][0, 0, 0]) - frame_grey(3)) <= 1


def test_frames_and_stored_fbank_are_read_through_mmengine_fileio(tmp_path):
    """LoadFrames' jpgs and LoadAudio's stored fbank are read with
    mmengine.fileio.get(path, backend_args): a registered backend (here the
    local disk with a log of what it served) sees every read, in order, and
    backend_args=dict(backend='local') gives the same arrays."""
    from mmengine.fileio import LocalBackend, register_backend
    from PIL import Image
    served = []
    # A name of its own per run: mmengine caches backend instances by their
    # arguments, so a second run under the same name would get the first
    # run's backend (and its log list).
    name = f'cavsync_test_logged_local_{uuid.uuid4().hex}'

    @register_backend(name)
    class LoggedLocalBackend(LocalBackend):
        def get(self, filepath):
            served.append(str(filepath))
            return super().get(filepath)

    for k in range(3):
        (tmp_path / f'frame_{k}').mkdir()
        Image.fromarray(np.full((8, 12, 3), frame_grey(k), np.uint8)).save(
            tmp_path / f'frame_{k}' / 'c.jpg', quality=100)
    fbank = (np.random.default_rng(0).standard_normal((1024, 128)) * 3
             ).astype(np.float16)
    np.save(tmp_path / 'c.npy', fbank)
    logged = dict(backend=name)
    results = dict(video_id='c', frame_dir=str(tmp_path), num_frames=3,
                   frame_indices=[2, 0])
    out = LoadFrames(backend_args=logged)(dict(results))
    assert served == [str(tmp_path / 'frame_2' / 'c.jpg'),
                      str(tmp_path / 'frame_0' / 'c.jpg')]
    assert [abs(int(img[0, 0, 0]) - frame_grey(k)) <= 1
            for img, k in zip(out['imgs'], (2, 0))] == [True, True]
    local = LoadFrames(backend_args=dict(backend='local'))(dict(results))
    assert all(np.array_equal(a, b) for a, b in zip(local['imgs'],
                                                    out['imgs']))
    audio = dict(video_id='c', fbank_path=str(tmp_path / 'c.npy'))
    out = LoadAudio(backend_args=logged)(dict(audio))
    assert served[-1] == str(tmp_path / 'c.npy') and len(served) == 3
    torch.testing.assert_close(out['fbank'],
                               torch.from_numpy(fbank.astype(np.float32)))
    local = LoadAudio(backend_args=dict(backend='local'))(dict(audio))
    assert torch.equal(local['fbank'], out['fbank'])
    with pytest.raises(Exception, match="frame 1 of 3"):  # names the frame
        (tmp_path / 'frame_1' / 'c.jpg').unlink()
        LoadFrames(backend_args=logged)(dict(results, frame_indices=[1]))


def test_mmaction_transforms_and_packing(tmp_path):
    video = make_video(tmp_path / 'v.mp4', num_frames=80, fps=8)
    pipeline = Compose([
        dict(type='LoadAudio'),
        dict(type='ComputeFbank'),
        dict(type='FrameAlignedSegments'),
        dict(type='NormalizeFbank'),
        dict(type='LoadFrames'),
        dict(type='mmaction.RandomResizedCrop', area_range=(0.08, 1.0),
             aspect_ratio_range=(0.9, 1.1)),
        dict(type='mmaction.Resize', scale=(32, 32), keep_ratio=False,
             interpolation='bicubic'),
        dict(type='mmaction.Flip', flip_ratio=0.5),
        dict(type='PackAudioVisualInputs'),
    ])
    base = dict(video_id='v', video_file=video, num_frames=16, gt_label=[2],
                num_classes=5, frame_labels=[k % 3 - 1 for k in range(16)])
    one = pipeline(dict(base, frame_indices=[5], sampling='random_frame'))
    assert one['inputs']['audio'].shape == (416, 128)
    assert one['inputs']['audio'].dtype == torch.float32
    assert one['inputs']['frames'].shape == (3, 32, 32)
    assert one['inputs']['frames'].dtype == torch.uint8
    sample = one['data_samples']
    assert isinstance(sample, AVDataSample)
    assert sample.video_id == 'v' and sample.frame_indices == [5]
    assert sample.num_frames == 16 and sample.gt_label.tolist() == [2]
    assert sample.gt_score.tolist() == [0, 0, 1, 0, 0]
    assert sample.gt_frame_labels.tolist() == [5 % 3 - 1]
    every = pipeline(dict(base, frame_indices=list(range(16)),
                          sampling='all_frames'))
    assert every['inputs']['audio'].shape == (16, 416, 128)
    assert every['inputs']['frames'].shape == (16, 3, 32, 32)
    assert every['data_samples'].gt_frame_labels.shape == (16, )


def test_eval_resize_center_crop_keeps_uint8_values(tmp_path):
    video = make_video(tmp_path / 'v.mp4', num_frames=40, fps=10,
                       audio_rate=None)
    pipeline = Compose([
        dict(type='LoadFrames'),
        dict(type='mmaction.Resize', scale=(-1, 24), interpolation='bicubic'),
        dict(type='mmaction.CenterCrop', crop_size=24),
    ])
    out = pipeline(dict(video_id='v', video_file=video, frame_indices=[8],
                        num_frames=16))
    img = out['imgs'][0]
    assert img.shape == (24, 24, 3) and img.dtype == np.uint8
    assert abs(float(img.mean()) - frame_grey(19)) < 3  # int(8*40/16) - 1


def test_transforms_build_from_registry_with_readable_repr():
    for name in ('LoadAudio', 'ComputeFbank', 'FrameAlignedSegments',
                 'NormalizeFbank', 'RandomTimeShift', 'SpecAugment',
                 'LoadFrames', 'PackAudioVisualInputs'):
        transform = TRANSFORMS.build(dict(type=f'cavsync.{name}'))
        assert repr(transform).startswith(f'{name}(')
    assert repr(FrameAlignedSegments(rounding='round')) == (
        "FrameAlignedSegments(segment_length=416, rounding='round', "
        'spec_length=None, pad_short_audio=False, short_audio_tolerance=32, '
        'max_segment_padding=0.5)')
    assert 'mean=-5.081' in repr(NormalizeFbank())
    assert 'target_length=1024' in repr(ComputeFbank())
