"""tools/data/extract_av.py on the real clips (read in place) and broken ones."""
import json
import os
import os.path as osp

import av
import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio
from PIL import Image

from cavsync_mm.datasets.layout import FAILURE_REPORT, frame_path, wav_path
from cavsync_mm.datasets.preprocessing import collect_videos, frame_indices

from repo_paths import REAL_DATA_DIR, REPO_ROOT
from tool_loader import load_tool

REPO = str(REPO_ROOT)
REAL = str(REAL_DATA_DIR)  # <repo>/../shared/data/real, read in place
SMALL = osp.join(REAL, '00W1lcxW-WU_40.000.mp4')  # 256x144, 12.5 fps
LARGE = osp.join(REAL, 'KlsG1EnBEjc_000361.mp4')  # 1280x720, 29.97 fps
T = 16

extract_av = load_tool('extract_av')


def output_mtimes(out, video_id):
    paths = [frame_path(out, video_id, i) for i in range(T)]
    return {p: os.stat(p).st_mtime_ns for p in paths + [wav_path(out, video_id)]}


@pytest.fixture(scope='module')
def extracted(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('extracted'))
    labels = osp.join(out, '..', 'labels.csv')
    with open(labels, 'w') as f:
        f.write('video_id,labels\n00W1lcxW-WU_40.000,"/m/09x0r,/m/04rlf"\n')
    rc = extract_av.main([REAL, out, '--labels', labels, '--workers', '2'])
    assert rc == 0
    return out


def test_frames_follow_cavmae_indices(extracted):
    for video, size in ((SMALL, (256, 144)), (LARGE, (1280, 720))):
        video_id = osp.splitext(osp.basename(video))[0]
        # every frame FFmpeg shows (decord counts 400 in LARGE: 101 more,
        # its edit list's pre-roll before time 0)
        with av.open(video) as container:
            fps = float(container.streams.video[0].average_rate)
            decoded = [f.to_ndarray(format='rgb24')
                       for f in container.decode(video=0)]
        indices = frame_indices(len(decoded), T, fps)  # the release's
        span = min(len(decoded), int(fps * 10))
        assert indices[1] == int(span / T) - 1 and indices[0] == 0
        for i in (0, 7, T - 1):
            image = Image.open(frame_path(extracted, video_id, i))
            assert image.size == size and image.mode == 'RGB'
            expected = decoded[indices[i]].astype(np.float32)
            error = np.abs(np.asarray(image, np.float32) - expected).mean()
            assert error < 4, f'frame {i} differs from decoded frame {indices[i]}'
        assert osp.isfile(frame_path(extracted, video_id, T - 1))
        assert not osp.exists(frame_path(extracted, video_id, T))


def decode_channels_packed(video):
    """Reference decode: PyAV converts to interleaved int16 stereo."""
    chunks = []
    with av.open(video) as container:
        rate = container.streams.audio[0].sample_rate
        resampler = av.AudioResampler(format='s16', layout='stereo')
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                chunks.append(np.frombuffer(out.planes[0], np.int16,
                                            count=out.samples * 2))
    channels = np.concatenate(chunks).reshape(-1, 2).T / 32768.0
    return channels, rate


def test_audio_is_16k_mono_mean_of_channels(extracted):
    for video in (SMALL, LARGE):
        video_id = osp.splitext(osp.basename(video))[0]
        samples, rate = sf.read(wav_path(extracted, video_id), always_2d=True)
        assert rate == 16000 and samples.shape[1] == 1
        assert abs(len(samples) / rate - 10.0) < 0.1
        channels, native_rate = decode_channels_packed(video)
        assert np.abs(channels[0] - channels[1]).max() > 1e-3  # real stereo
        reference = torchaudio.functional.resample(
            torch.from_numpy(channels.mean(0)), native_rate, 16000).numpy()
        assert len(reference) == len(samples)
        np.testing.assert_allclose(samples[:, 0], reference, atol=1e-4)


def test_datafile_in_cavmae_layout(extracted):
    with open(osp.join(extracted, 'datafile.json')) as f:
        entries = json.load(f)['data']
    assert [e['video_id'] for e in entries] == ['00W1lcxW-WU_40.000',
                                                 'KlsG1EnBEjc_000361']
    assert entries[0]['labels'] == '/m/09x0r,/m/04rlf'
    assert entries[1]['labels'] == ''
    for entry in entries:
        assert set(entry) == {'video_id', 'wav', 'video_path', 'labels',
                              'fbank', 'fbank_num_frames'}  # stored fbank
        assert osp.isfile(entry['wav'])
        for i in range(T):
            assert osp.isfile(osp.join(entry['video_path'], f'frame_{i}',
                                       entry['video_id'] + '.jpg'))
    with open(osp.join(extracted, FAILURE_REPORT)) as f:
        assert json.load(f)['num_failed'] == 0


def test_rerun_skips_and_redoes_only_the_incomplete_clip(extracted, capsys):
    small_id, large_id = '00W1lcxW-WU_40.000', 'KlsG1EnBEjc_000361'
    before = {**output_mtimes(extracted, small_id),
              **output_mtimes(extracted, large_id)}
    assert extract_av.main([REAL, extracted]) == 0
    assert 'extracted 0, skipped 2' in capsys.readouterr().out
    assert {**output_mtimes(extracted, small_id),
            **output_mtimes(extracted, large_id)} == before

    os.remove(frame_path(extracted, small_id, 5))
    # a leftover of an interrupted write is not taken as the frame
    with open(frame_path(extracted, small_id, 5) + '.part', 'wb') as f:
        f.write(b'\xff\xd8 half a jpeg')
    assert extract_av.main([REAL, extracted]) == 0
    assert 'extracted 1, skipped 1' in capsys.readouterr().out
    redone = output_mtimes(extracted, small_id)
    assert all(redone[p] != before[p] for p in redone if p in before)
    assert output_mtimes(extracted, large_id) == {
        p: t for p, t in before.items() if large_id in p}
    Image.open(frame_path(extracted, small_id, 5)).verify()
    assert not osp.exists(frame_path(extracted, small_id, 5) + '.part')


def test_changed_settings_are_refused(extracted):
    with pytest.raises(SystemExit, match='num_frames: 16 -> 8'):
        extract_av.main([REAL, extracted, '--num-frames', '8'])


def make_video_without_audio(path):
    with av.open(path, 'w') as container:
        stream = container.add_stream('libx264', rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, 'yuv420p'
        for k in range(20):
            frame = av.VideoFrame.from_ndarray(
                np.full((48, 64, 3), k * 10, np.uint8), format='rgb24')
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_broken_clips_are_reported_and_good_ones_finish(tmp_path, capsys):
    corrupt = tmp_path / 'videos' / 'corrupt.mp4'
    silent = tmp_path / 'videos' / 'no_audio.mp4'
    corrupt.parent.mkdir()
    corrupt.write_bytes(np.random.default_rng(0).bytes(20000))
    make_video_without_audio(str(silent))
    list_file = tmp_path / 'videos.txt'
    list_file.write_text(f'{corrupt}\n{SMALL}\n# a comment\n{silent}\n')
    inputs = {p: p.read_bytes() for p in (corrupt, silent)}
    out = str(tmp_path / 'out')

    assert extract_av.main([str(list_file), out, '--image-size', '32',
                            '--workers', '2']) == 1
    printed = capsys.readouterr().out
    with open(osp.join(out, FAILURE_REPORT)) as f:
        report = json.load(f)
    reasons = {f['video_id']: f['error'] for f in report['failures']}
    assert report['num_failed'] == 2 and set(reasons) == {'corrupt', 'no_audio'}
    assert reasons['corrupt'].startswith('audio: not a readable video container')
    assert reasons['no_audio'] == 'audio: no audio track'
    assert 'corrupt' in printed and 'no audio track' in printed
    # nothing half-written for the failed clips, the good clip is complete
    assert not osp.exists(osp.join(out, 'frames', 'frame_0', 'no_audio.jpg'))
    assert Image.open(frame_path(out, '00W1lcxW-WU_40.000', 3)).size == (57, 32)
    with open(osp.join(out, 'datafile.json')) as f:
        assert [e['video_id'] for e in json.load(f)['data']] == ['00W1lcxW-WU_40.000']
    # inputs untouched; --allow-failures turns the exit status to 0
    assert all(p.read_bytes() == data for p, data in inputs.items())
    assert extract_av.main([str(list_file), out, '--image-size', '32',
                            '--allow-failures']) == 0


def test_output_dir_must_not_collide_with_inputs(tmp_path):
    videos = tmp_path / 'videos'
    videos.mkdir()
    make_video_without_audio(str(videos / 'clip.mp4'))
    before = sorted(os.listdir(videos))
    with pytest.raises(ValueError, match='is the input dir'):
        extract_av.main([str(videos), str(videos)])
    with pytest.raises(ValueError, match='lies inside the output dir'):
        extract_av.main([str(videos), str(tmp_path)])
    assert sorted(os.listdir(videos)) == before


def test_collect_videos_from_raw_video_datafile(tmp_path):
    datafile = tmp_path / 'videos.json'
    datafile.write_text(json.dumps({'data': [
        {'video_id': 'a', 'video': 'videos/a.mp4', 'labels': 'vgg_3'},
        {'video': '/abs/b.mkv'}]}))
    items = collect_videos(str(datafile))
    assert [(i.video_id, i.video, i.labels) for i in items] == [
        ('a', str(tmp_path / 'videos' / 'a.mp4'), 'vgg_3'),
        ('b', '/abs/b.mkv', '')]
    datafile.write_text(json.dumps({'data': [{'video': 'x/a.mp4'},
                                             {'video': 'y/a.mp4'}]}))
    with pytest.raises(ValueError, match="video id 'a' appears twice"):
        collect_videos(str(datafile))
