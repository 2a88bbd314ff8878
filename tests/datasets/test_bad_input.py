"""Bad input: every broken file or entry gives an error naming the clip and
the field, or (``on_error='skip'``) a logged and counted skip. Each test makes
its broken file in tmp_path."""
import json
import os
import shutil

import numpy as np
import pytest
import soundfile
from av_test_files import (CapturedLog, extract_cavmae_layout, make_video,
                           short_pipeline, use_cavsync_scope, write_json,
                           write_label_csv)

from cavsync_mm.datasets import AudioVisualDataset, ClipError
from cavsync_mm.datasets.transforms import (ComputeFbank, FrameAlignedSegments,
                                            LoadAudio, LoadFrames)

use_cavsync_scope()


def _video_results(path, frames=(0, )):
    return dict(video_id='bad', video_file=str(path), num_frames=16,
                frame_indices=list(frames), sampling='random_frame')


def test_corrupt_video(tmp_path):
    path = tmp_path / 'bad.mp4'
    path.write_bytes(np.random.default_rng(0).bytes(20000))
    with pytest.raises(ClipError, match=r"clip bad: field 'video': cannot "
                       r'decode frames from .*bad\.mp4'):
        LoadFrames()(_video_results(path))
    with pytest.raises(ClipError, match=r"clip bad: field 'video': cannot "
                       r'read audio from .*bad\.mp4'):
        LoadAudio()(_video_results(path))


def test_truncated_video(tmp_path):
    whole = make_video(tmp_path / 'whole.mp4', noisy=True, faststart=True)
    data = open(whole, 'rb').read()
    path = tmp_path / 'bad.mp4'
    path.write_bytes(data[:len(data) * 6 // 10])
    assert LoadFrames()(_video_results(whole))['imgs']  # intact file reads
    with pytest.raises(ClipError, match=r"clip bad: field 'video'"):
        LoadFrames()(_video_results(path, frames=range(16)))


def test_missing_frame_file(small_clips, tmp_path):
    root = tmp_path / 'layout'
    entry = extract_cavmae_layout(small_clips['videos'][0], root,
                                  video_id='bad')
    os.remove(root / 'frames' / 'frame_7' / 'bad.jpg')
    results = dict(video_id='bad', frame_dir=str(root / 'frames'),
                   num_frames=16, frame_indices=list(range(16)))
    with pytest.raises(ClipError, match=r"clip bad: field 'video_path': "
                       r'cannot read frame 7 of 16 from .*frame_7.bad\.jpg'):
        LoadFrames()(results)
    assert entry['video_path'] == 'frames/'


def test_video_without_audio_track(tmp_path):
    path = make_video(tmp_path / 'bad.mp4', audio_rate=None)
    assert LoadFrames()(_video_results(path))['imgs']
    with pytest.raises(ClipError, match=r"clip bad: field 'video': .*has no "
                       'audio track'):
        LoadAudio()(_video_results(path))


def _wav(path, waveform, rate=16000):
    soundfile.write(str(path), waveform, rate, subtype='FLOAT')
    return dict(video_id='bad', audio_path=str(path), num_frames=16,
                frame_indices=[15], sampling='random_frame')


def test_audio_shorter_than_one_segment(tmp_path):
    t = np.arange(int(1.2 * 16000)) / 16000
    results = _wav(tmp_path / 'bad.wav', 0.1 * np.sin(2 * np.pi * 300 * t))
    results = ComputeFbank()(LoadAudio()(results))
    with pytest.raises(ClipError, match=r"clip bad: field 'wav': audio is "
                       r'1\.20 s \(118 fbank frames\), needs at least 4\.16 '
                       r's \(416 frames\)'):
        FrameAlignedSegments()(dict(results))
    with CapturedLog() as log:
        padded = FrameAlignedSegments(pad_short_audio=True)(dict(results))
    assert 'clip bad: audio is 1.20 s' in log.text()
    assert 'zero-padded' in log.text()
    # the last frame's segment is the exact window [608, 1024): padding only
    assert padded['audio_segments'] == [(608, 1024)]
    assert padded['audio'].shape == (416, 128)


def test_silent_audio(tmp_path):
    results = _wav(tmp_path / 'bad.wav', np.zeros(16000 * 5))
    with pytest.raises(ClipError, match=r"clip bad: field 'wav': audio in "
                       r'.*bad\.wav is silent'):
        LoadAudio()(dict(results))
    allowed = LoadAudio(allow_silent=True)(dict(results))
    assert not allowed['waveform'].any()


def test_stereo_48k_audio_is_mixed_and_resampled(tmp_path):
    t = np.arange(48000 * 5) / 48000
    left = 0.4 * np.sin(2 * np.pi * 500 * t)
    right = 0.2 * np.sin(2 * np.pi * 500 * t + np.pi / 2)
    results = _wav(tmp_path / 'bad.wav', np.stack([left, right], 1), 48000)
    out = LoadAudio()(dict(results))
    assert out['waveform'].shape == (16000 * 5, ) and out['sample_rate'] == \
        16000
    t16 = np.arange(16000 * 5) / 16000
    expected = 0.5 * (0.4 * np.sin(2 * np.pi * 500 * t16) +
                      0.2 * np.sin(2 * np.pi * 500 * t16 + np.pi / 2))
    np.testing.assert_allclose(out['waveform'][500:-500],
                               expected[500:-500], atol=2e-3)
    first = LoadAudio(mono='first')(dict(results))
    np.testing.assert_allclose(first['waveform'][500:-500],
                               0.4 * np.sin(2 * np.pi * 500 * t16)[500:-500],
                               atol=2e-3)


def _datafile(tmp_path, entries):
    return write_json(tmp_path / 'data.json', entries)


def test_label_id_missing_from_csv(small_clips, tmp_path):
    entries = [dict(video_id='good', video='a.mp4', labels='c0'),
               dict(video_id='bad', video='b.mp4', labels='c0,zz9')]
    csv = write_label_csv(tmp_path / 'labels.csv', ['c0', 'c1'])
    with pytest.raises(ClipError, match=r"clip bad: field 'labels': label "
                       r"id\(s\) \['zz9'\] not in"):
        AudioVisualDataset(_datafile(tmp_path, entries), label_file=csv)
    dataset = AudioVisualDataset(_datafile(tmp_path, entries),
                                 label_file=csv, on_error='skip')
    assert len(dataset) == 1 and dataset.num_skipped == 1
    assert 'zz9' in dataset.skipped_clips['bad']


def test_empty_datafile(tmp_path):
    with pytest.raises(ValueError, match=r'datafile .*data\.json has no '
                       'clips'):
        AudioVisualDataset(_datafile(tmp_path, []))
    empty_dir = tmp_path / 'no_videos'
    empty_dir.mkdir()
    with pytest.raises(ValueError, match='folder .*no_videos has no clips'):
        AudioVisualDataset(str(empty_dir))


def test_malformed_datafile(tmp_path):
    entries = [dict(video_id='bad', video_path='frames/', labels='c0')]
    with pytest.raises(ClipError, match=r"clip bad: field 'wav': missing "
                       'key'):
        AudioVisualDataset(_datafile(tmp_path, entries))
    with pytest.raises(ClipError, match=r"clip #0: field 'video_id'"):
        AudioVisualDataset(_datafile(tmp_path, [dict(wav='a.wav')]))
    path = tmp_path / 'not_a_datafile.json'
    path.write_text(json.dumps([{'video_id': 'x'}]))
    with pytest.raises(ValueError, match='expected an object with a "data" '
                       'list'):
        AudioVisualDataset(str(path))
    path.write_text('{"data": [')
    with pytest.raises(ValueError, match='not valid json'):
        AudioVisualDataset(str(path))


def test_skip_logs_counts_and_serves_another_clip(small_clips, tmp_path):
    root = tmp_path / 'clips'
    shutil.copytree(os.path.join(small_clips['root'], 'videos'),
                    root / 'videos')
    (root / 'videos' / 'clip1.mp4').write_bytes(b'not a video at all')
    entries = [dict(video_id=f'clip{k}', video=f'videos/clip{k}.mp4')
               for k in range(3)]
    ann = write_json(root / 'data.json', entries)
    pipeline = short_pipeline(crop=16)
    strict = AudioVisualDataset(ann, data_root=str(root), pipeline=pipeline)
    with pytest.raises(ClipError, match="clip clip1: field 'video'"):
        strict[1]
    for test_mode in (False, True):
        dataset = AudioVisualDataset(ann, data_root=str(root),
                                     pipeline=pipeline, on_error='skip',
                                     test_mode=test_mode)
        with CapturedLog() as log:
            sample = dataset[1]
        assert sample['data_samples'].video_id in ('clip0', 'clip2')
        # training may draw clip1 again at random: every skip is counted
        assert dataset.num_skipped >= 1
        assert list(dataset.skipped_clips) == ['clip1']
        assert "skipped clip clip1: field 'video'" in log.text()
        assert f'{dataset.num_skipped} skips, 1 distinct clips so far' in \
            log.text()
        if test_mode:  # the next clip, deterministically
            assert dataset.num_skipped == 1
            assert sample['data_samples'].video_id == 'clip2'
