"""tools/data/pack_shards.py and ShardedAudioVisualDataset on the real
clips: parity with the CAV-MAE layout, resumable after SIGKILL, splitting
across tasks, failures, bad shards, disjoint ranks under dist_train.sh."""
import json
import os
import os.path as osp
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from mmengine.dataset import DefaultSampler
from mmengine.registry import init_default_scope

from cavsync_mm.datasets import AudioVisualDataset, ShardedAudioVisualDataset
from cavsync_mm.datasets.errors import ClipError
from cavsync_mm.datasets.preprocessing import resize_frame
from cavsync_mm.registry import TRANSFORMS
from repo_paths import REPO_ROOT
from tool_loader import load_tool

init_default_scope(TRANSFORMS.scope)
T = 4
PACK = REPO_ROOT / 'tools' / 'data' / 'pack_shards.py'
SEGMENTS = [dict(type='ComputeFbank'), dict(type='FrameAlignedSegments')]
SHARD_PIPELINE = [dict(type='DecodeShardAudio')] + SEGMENTS + [
    dict(type='DecodeShardFrames')]


pack_shards = load_tool('pack_shards')


def raw_datafile(real_data_dir, path, copies=1):
    """A raw-video datafile of the real clips, each ``copies`` times."""
    videos = sorted(str(p) for p in real_data_dir.glob('*.mp4'))
    entries = [dict(video_id=f'c{k}_{osp.basename(v)[:4]}', video=v,
                    labels='') for k in range(copies) for v in videos]
    path.write_text(json.dumps({'data': entries}))
    return str(path)


def shard_dataset(out, **kwargs):
    kwargs.setdefault('pipeline', SHARD_PIPELINE)
    return ShardedAudioVisualDataset(str(out), num_frames=T,
                                     sampling='all_frames', test_mode=True,
                                     **kwargs)


@pytest.fixture(scope='module')
def extracted(real_data_dir, tmp_path_factory):
    out = str(tmp_path_factory.mktemp('extracted'))
    assert load_tool('extract_av').main(
        [str(real_data_dir), out, '--num-frames', str(T), '--timeout',
         '0']) == 0
    return out


@pytest.fixture(scope='module')
def packed(extracted, tmp_path_factory):
    out = tmp_path_factory.mktemp('shards') / 'out'
    assert pack_shards.main([osp.join(extracted, 'datafile.json'), str(out),
                             '--num-frames', str(T), '--clips-per-part',
                             '1', '--timeout', '0']) == 0
    return out


def test_shards_equal_the_cavmae_layout(extracted, packed):
    layout = AudioVisualDataset(
        osp.join(extracted, 'datafile.json'), num_frames=T,
        sampling='all_frames', test_mode=True,
        pipeline=[dict(type='LoadAudio')] + SEGMENTS + [
            dict(type='LoadFrames')])
    shards = shard_dataset(packed)
    assert len(shards) == len(layout) == 2
    for k in range(2):
        a, b = shards[k], layout[k]
        assert a['video_id'] == b['video_id']
        assert torch.equal(a['audio'], b['audio'])  # the same float16 fbank
        assert a['fbank_num_frames'] == b['fbank_num_frames']
        for img, full in zip(a['imgs'], b['imgs']):
            assert img.shape == (224, 224, 3)  # resize + centre crop
            ref = np.asarray(resize_frame(full, 224, True), dtype=float)
            assert np.abs(img.astype(float) - ref).mean() < 3  # JPEG only
    assert 'shard_record' not in shards[0]  # the bytes were dropped


def test_raw_videos_with_waveforms(real_data_dir, tmp_path):
    out = tmp_path / 'raw'
    assert pack_shards.main([raw_datafile(real_data_dir, tmp_path / 'r.json'),
                             str(out), '--num-frames', str(T), '--audio',
                             'both', '--image-size', '64',
                             '--timeout', '0']) == 0
    computed = AudioVisualDataset(
        str(tmp_path / 'r.json'), num_frames=T, sampling='all_frames',
        test_mode=True, pipeline=[dict(type='LoadAudio')] + SEGMENTS)
    from_fbank = shard_dataset(out)
    from_wave = shard_dataset(out, pipeline=[
        dict(type='DecodeShardAudio', prefer='waveform')] + SEGMENTS)
    for k in range(2):
        ref = computed[k]['audio']
        error = (from_fbank[k]['audio'] - ref).abs()
        assert bool((error <= ref.abs() * 2.0**-11 + 1e-6).all())
        wave = from_wave[k]
        assert 'waveform' in wave and len(wave['waveform']) > 150000
        # PCM16 wav in the shard: the fbank is close, not equal
        assert float((wave['audio'] - ref).abs().median()) < 0.05
    assert from_fbank[0]['imgs'][0].shape == (64, 64, 3)


def test_failures_are_reported_and_the_rest_packed(extracted, tmp_path):
    with open(osp.join(extracted, 'datafile.json')) as f:
        entries = json.load(f)['data']
    broken = dict(entries[0], video_id='broken',
                  wav=entries[0]['wav'] + '.missing')
    broken.pop('fbank')
    datafile = tmp_path / 'd.json'
    datafile.write_text(json.dumps({'data': [broken] + entries}))
    out = tmp_path / 'out'
    rc = pack_shards.main([str(datafile), str(out), '--num-frames', str(T),
                           '--timeout', '0'])
    assert rc == 1
    report = json.loads((out / 'pack_failures.json').read_text())
    assert report['num_failed'] == 1
    assert report['failures'][0]['video_id'] == 'broken'
    assert 'No such file' in report['failures'][0]['error']
    assert [shard_dataset(out)[k]['video_id'] for k in range(2)] == \
        [e['video_id'] for e in entries]


def test_tasks_of_an_array_then_merge(extracted, packed, tmp_path):
    out = tmp_path / 'array'
    args = [osp.join(extracted, 'datafile.json'), str(out), '--num-frames',
            str(T), '--clips-per-part', '1', '--timeout', '0']
    for k in (1, 0):
        assert pack_shards.main(args + ['--num-shards', '2', '--shard-index',
                                        str(k), '--no-merge']) == 0
    assert not (out / 'index.json').exists()
    assert pack_shards.main(args + ['--merge-only']) == 0
    single = json.loads((packed / 'clips.json').read_text())['clips']
    merged = json.loads((out / 'clips.json').read_text())['clips']
    assert [c['video_id'] for c in merged] == [c['video_id'] for c in single]


def test_resumes_after_sigkill_without_half_written_shards(real_data_dir,
                                                           tmp_path):
    datafile = raw_datafile(real_data_dir, tmp_path / 'r.json', copies=2)
    out = tmp_path / 'out'
    command = [sys.executable, str(PACK), datafile, str(out), '--num-frames',
               str(T), '--clips-per-part', '1', '--image-size', '64',
               '--timeout', '0']
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 120
    while not (out / 'parts' / 'part-000001.json').exists():
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (out / 'index.json').exists()  # readers see nothing yet
    committed = {}
    for part in sorted((out / 'parts').glob('part-*.json')):
        for chunk in json.loads(part.read_text())['chunks']:
            committed[chunk['filename']] = part
    assert {'part-000000-chunk-0-0.bin',
            'part-000001-chunk-0-0.bin'} <= set(committed)
    before = {p: p.stat().st_mtime_ns for p in set(committed.values())}

    assert subprocess.run(command, env=env, capture_output=True
                          ).returncode == 0
    assert {p: p.stat().st_mtime_ns for p in before} == before  # not redone
    assert not list(out.glob('.tmp-part-*'))
    dataset = shard_dataset(out)
    ids = [dataset[k]['video_id'] for k in range(len(dataset))]
    with open(datafile) as f:
        assert ids == [e['video_id'] for e in json.load(f)['data']]


def test_truncated_chunk_names_shard_and_clip(packed, tmp_path):
    import shutil
    out = tmp_path / 'copy'
    shutil.copytree(packed, out)
    clips = json.loads((out / 'clips.json').read_text())['clips']
    chunk = out / clips[1]['shard']
    chunk.write_bytes(chunk.read_bytes()[:3000])
    with pytest.raises(ClipError) as info:
        shard_dataset(out)[1]
    assert info.value.clip == f'{clips[1]["shard"]}:{clips[1]["video_id"]}'
    assert info.value.field == 'shard'
    skipping = shard_dataset(out, on_error='skip')
    assert skipping[1]['video_id'] == clips[0]['video_id']  # the next one
    assert skipping.num_skipped == 1


def test_member_missing_its_audio_or_frames(packed, tmp_path):
    from litdata.streaming.writer import BinaryWriter
    reader = shard_dataset(packed).reader()
    records = [{key: bytes(value) if isinstance(value, memoryview) else value
                for key, value in reader[k].items()} for k in range(2)]
    records[0]['fbank'] = b''
    records[1]['frame_02'] = b''
    out = tmp_path / 'holes'
    writer = BinaryWriter(str(out), chunk_bytes='64MB')
    for k, record in enumerate(records):
        writer.add_item(k, record)
    writer.done()
    writer.merge()
    clips = json.loads((packed / 'clips.json').read_text())
    (out / 'clips.json').write_text(json.dumps(clips))
    dataset = shard_dataset(out)
    for k, member in ((0, 'fbank'), (1, 'frame_02')):
        with pytest.raises(ClipError, match=f"no '{member}' member") as info:
            dataset[k]
        assert info.value.field == member
        assert clips['clips'][k]['video_id'] in info.value.clip


def test_index_to_clip_is_fixed_so_sampler_resume_is_exact(real_data_dir,
                                                          tmp_path):
    """As used with MMEngine: sample i is always the same clip (in any
    process or DataLoader worker), so a resumed epoch (same sampler seed,
    the first k indices skipped) neither repeats nor skips a clip."""
    datafile = raw_datafile(real_data_dir, tmp_path / 'r.json', copies=3)
    out = tmp_path / 'out'
    assert pack_shards.main([datafile, str(out), '--num-frames', str(T),
                             '--image-size', '32', '--timeout', '0']) == 0
    dataset = shard_dataset(out, pipeline=[dict(type='DecodeShardAudio')])

    def epoch_ids(skip=0):
        sampler = DefaultSampler(dataset, shuffle=True, seed=7)
        sampler.set_epoch(1)
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=1, sampler=sampler, num_workers=2,
            collate_fn=lambda batch: batch[0]['video_id'])
        return [video_id for k, video_id in enumerate(loader) if k >= skip]

    full = epoch_ids()
    assert sorted(full) == sorted(dataset[k]['video_id'] for k in range(6))
    assert len(set(full)) == 6
    assert full[:2] + epoch_ids(skip=2) == full


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_dist_train_ranks_read_disjoint_shard_data(real_data_dir, tmp_path):
    datafile = raw_datafile(real_data_dir, tmp_path / 'r.json', copies=4)
    shards = tmp_path / 'shards'
    assert pack_shards.main([datafile, str(shards), '--image-size', '64',
                             '--workers', '2', '--timeout', '0']) == 0
    work_dir = tmp_path / 'work'
    config = tmp_path / 'config.py'
    config.write_text(f'''
_base_ = [{str(REPO_ROOT / "configs/cavsync/cavsync_vit-toy-shards_1xb64-38e_toy.py")!r}]
custom_imports = dict(imports=['sample_recorder'], allow_failed_imports=False)
custom_hooks = [dict(type='RecordSampleIdsHook')]
model_wrapper_cfg = dict(type='MMDistributedDataParallel',
                         find_unused_parameters=True)
train_dataloader = dict(batch_size=2, num_workers=1, persistent_workers=False,
                        dataset=dict(ann_file={str(shards)!r},
                                     label_file=None))
train_cfg = dict(max_epochs=1, val_interval=100)
val_dataloader = None
val_cfg = None
val_evaluator = None
default_hooks = dict(checkpoint=dict(interval=100))
''')
    env = dict(os.environ, PORT=str(free_port()),
               PYTHONPATH=os.pathsep.join([str(REPO_ROOT),
                                           str(REPO_ROOT / 'tests' /
                                               'fixtures')]),
               OMP_NUM_THREADS='1', PYTHON=sys.executable)
    result = subprocess.run(
        ['bash', str(REPO_ROOT / 'tools' / 'dist_train.sh'), str(config), '2',
         '--work-dir', str(work_dir)], env=env, capture_output=True,
        text=True, timeout=400)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    seen = [(work_dir / f'sample_ids_rank{r}.txt').read_text().split()[1::2]
            for r in (0, 1)]
    assert len(seen[0]) == len(seen[1]) == 4  # 8 clips, 2 ranks
    assert not set(seen[0]) & set(seen[1])
    with open(datafile) as f:
        assert set(seen[0]) | set(seen[1]) == {
            e['video_id'] for e in json.load(f)['data']}


def test_unsafe_video_id_is_made_safe(real_data_dir, tmp_path):
    video = str(next(real_data_dir.glob('00W1*.mp4')))
    datafile = tmp_path / 'evil.json'
    datafile.write_text(json.dumps({'data': [
        {'video_id': '../../evil', 'video': video}]}))
    out = tmp_path / 'a' / 'b' / 'out'
    assert pack_shards.main([str(datafile), str(out), '--num-frames', '2',
                             '--image-size', '32', '--timeout', '0']) == 0
    written = [osp.join(d, f) for d, _, files in os.walk(tmp_path)
               for f in files]
    assert all(p.startswith(str(out)) or p == str(datafile)
               for p in written)
    dataset = ShardedAudioVisualDataset(
        str(out), num_frames=2, test_mode=True,
        pipeline=[dict(type='DecodeShardAudio')])
    assert dataset[0]['video_id'] == '______evil'
