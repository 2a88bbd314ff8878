"""Data health (issue 12, item 5): skips counted across DataLoader workers and
gloo ranks, the max_skip_ratio stop, val/test skipping, scored-clip counts and
the extraction-settings check. Real clips in tmp dirs, a real Runner with 2
workers, 2 real gloo processes."""
import glob
import json
import multiprocessing
import os
import os.path as osp
import re

import pytest
import torch
import torch.distributed as dist
from av_test_files import short_pipeline, use_cavsync_scope, write_json
from mmengine.dataset import pseudo_collate
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn

from cavsync_mm.datasets import AudioVisualDataset
from cavsync_mm.engine import DataHealthError, DataHealthHook
from cavsync_mm.evaluation.metrics import RetrievalMetric


def _datafile(small_clips, name, broken=('broken', )):
    with open(small_clips['frames_json']) as f:
        good = json.load(f)['data']
    bad = [dict(video_id=b, wav=f'audio/{b}_missing.wav',
                video_path='frames/') for b in broken]
    entries = good[:1] + bad + good[1:]
    return write_json(osp.join(small_clips['root'], name), entries)


def _dataset(small_clips, name, broken=('broken', ), **kwargs):
    use_cavsync_scope()
    return AudioVisualDataset(
        ann_file=_datafile(small_clips, name, broken),
        data_root=small_clips['root'], on_error='skip',
        pipeline=short_pipeline(crop=16), **kwargs)


class _TinyModel(BaseModel):
    """Fits one number to the mean audio value: just enough to train."""

    def __init__(self):
        super().__init__(data_preprocessor=dict(
            type='cavsync_mm.AudioVisualDataPreprocessor'))
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        loss = (self.weight - inputs['audio'].mean()) ** 2
        return {'loss': loss.sum()} if mode == 'loss' else [loss]


def _train(small_clips, work_dir, max_skip_ratio):
    use_cavsync_scope()
    # A name of its own: two Runners built within one second would share the
    # timestamp-named MMLogger instance, and the second run's log would land
    # in the first run's work_dir.
    runner = Runner(
        model=_TinyModel(), work_dir=str(work_dir), default_scope='cavsync_mm',
        experiment_name=f'health_{osp.basename(str(work_dir))}',
        train_dataloader=dict(
            batch_size=2, num_workers=2, persistent_workers=False,
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='pseudo_collate'),
            dataset=dict(type='cavsync_mm.AudioVisualDataset',
                         ann_file=_datafile(small_clips, 'health.json'),
                         data_root=small_clips['root'], on_error='skip',
                         pipeline=short_pipeline(crop=16))),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(checkpoint=None, logger=None),
        custom_hooks=[dict(type='DataHealthHook',
                           max_skip_ratio=max_skip_ratio)],
        randomness=dict(seed=0))
    runner.train()
    log = glob.glob(osp.join(str(work_dir), '*', '*.log'))
    return open(log[0]).read()


def test_skips_in_dataloader_workers_stop_the_run_with_the_cause(
        small_clips, tmp_path):
    """1 broken clip of 4: every epoch visits it, > 1 % fail -> stop."""
    with pytest.raises(DataHealthError) as error:
        _train(small_clips, tmp_path / 'strict', max_skip_ratio=0.01)
    message = str(error.value)
    found = re.search(r'train epoch 1: (\d+) of (\d+) clip visits skipped',
                      message)
    assert found, message
    skipped, visits = int(found[1]), int(found[2])
    assert skipped >= 1 and visits == 4 + skipped  # 4 served + the skips
    assert "wav: cannot read audio from <path>" in message
    assert 'broken: cannot read audio from' in message  # an example clip
    assert 'max_skip_ratio=0.01' in message
    # a looser limit trains and reports the same count
    log = _train(small_clips, tmp_path / 'loose', max_skip_ratio=0.5)
    assert re.search(r'data health, train epoch 1: [1-9] of \d+ clip visits '
                     r'skipped', log), log[-2000:]


def test_datafile_entries_dropped_while_parsing_count_too(tmp_path):
    entries = [dict(video_id=f'v{k}', video=f'v{k}.mp4') for k in range(9)]
    entries.append(dict(video_id='no_media'))
    dataset = AudioVisualDataset(write_json(tmp_path / 'd.json', entries),
                                 on_error='skip')
    assert dataset.num_entries == 10 and len(dataset) == 9

    class _Loader:
        pass
    loader = _Loader()
    loader.dataset = dataset
    runner = type('R', (), {'train_dataloader': loader})()
    with pytest.raises(DataHealthError, match=r'1 of 10 datafile entries '
                       r'were dropped .*\n  clip no_media'):
        DataHealthHook(max_skip_ratio=0.05).before_train(runner)
    DataHealthHook(max_skip_ratio=0.1).before_train(runner)


def test_test_mode_skip_serves_the_next_clip_and_metric_counts_scored(
        small_clips):
    dataset = _dataset(small_clips, 'val.json', test_mode=True,
                       sampling='all_frames')
    sample = dataset[1]  # 'broken' -> the next clip, with the skip noted
    assert sample['data_samples'].video_id == 'clip1'
    skips = sample['data_samples'].skipped_clips
    assert [(clip, field) for clip, field, _ in skips] == [('broken', 'wav')]
    assert dataset[0]['data_samples'].skipped_clips == []
    # the metric scores each clip once: the stand-in is a duplicate
    metric = RetrievalMetric()
    outputs = []
    for idx in range(len(dataset)):
        data_sample = dataset[idx]['data_samples']
        tokens = torch.randn(16, 8)
        outputs.append(dict(sample_idx=data_sample.sample_idx,
                            video_id=data_sample.video_id,
                            global_visual=tokens, global_audio=tokens))
    metric.process(None, outputs)
    result = metric.compute_metrics(metric.results)
    assert result['num_clips'] == 3  # of 4 entries, 1 broken
    assert result['v2a_R@1'] == 100.0


def _rank_worker(rank, init_file, datafile, root, out_file):
    dist.init_process_group('gloo', init_method=f'file://{init_file}',
                            rank=rank, world_size=2)
    try:
        use_cavsync_scope()
        dataset = AudioVisualDataset(
            ann_file=datafile, data_root=root, on_error='skip',
            test_mode=True, sampling='middle_frame',
            pipeline=short_pipeline(crop=16))
        hook = DataHealthHook(max_skip_ratio=0.2)
        hook.before_train_epoch(None)
        indices = [0, 1] if rank == 0 else [3, 4]  # 1: two broken, then
        hook._count('train', pseudo_collate([dataset[i] for i in indices]))
        try:
            hook._check(None, 'train', final=True, where='train epoch 1')
            outcome = 'passed'
        except DataHealthError as err:
            outcome = str(err)
        with open(out_file, 'w') as f:
            f.write(outcome)
    finally:
        dist.destroy_process_group()


def test_skips_are_summed_over_two_gloo_ranks(small_clips, tmp_path):
    datafile = _datafile(small_clips, 'ranks.json',
                         broken=('broken_a', 'broken_b'))
    context = multiprocessing.get_context('fork')
    outputs = [str(tmp_path / f'rank{r}.txt') for r in range(2)]
    processes = [context.Process(
        target=_rank_worker, args=(r, str(tmp_path / 'init'), datafile,
                                   small_clips['root'], outputs[r]))
        for r in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [p.exitcode for p in processes] == [0, 0]
    for out in outputs:  # both ranks stop, with rank 0's causes
        text = open(out).read()
        assert '2 of 6 clip visits skipped (33.33 %) over 2 rank(s)' in text
        assert '2 x wav: cannot read audio from <path>' in text
        assert 'broken_a: ' in text


def test_extraction_settings_refuse_another_t(small_clips, tmp_path):
    root = tmp_path / 'extracted'
    os.makedirs(root / 'frames')
    with open(root / 'extract_av_settings.json', 'w') as f:
        json.dump(dict(num_frames=10, image_size=None), f)
    datafile = write_json(tmp_path / 'd.json', [dict(
        video_id='a', wav='audio/a.wav', video_path='frames/')])
    use_cavsync_scope()
    with pytest.raises(ValueError, match=r'extracted with num_frames=10 .*'
                       r'reads 16 extracted frames \(num_frames=16\).*'
                       r'LoadFrames\(extracted_frames=10\)'):
        AudioVisualDataset(datafile, data_root=str(root), num_frames=16,
                           pipeline=[dict(type='LoadFrames')])
    # sampling T = 16 of the 10 extracted frames, or T = 10
    AudioVisualDataset(datafile, data_root=str(root), num_frames=16,
                       pipeline=[dict(type='LoadFrames', extracted_frames=10)])
    AudioVisualDataset(datafile, data_root=str(root), num_frames=10)
    AudioVisualDataset(datafile, data_root=str(root), num_frames=16,
                       check_extraction=False)


def test_wrong_data_root_fails_with_the_cause(small_clips, tmp_path):
    use_cavsync_scope()
    dataset = AudioVisualDataset(
        ann_file=small_clips['frames_json'], data_root=str(tmp_path),
        on_error='skip', max_refetch=3, pipeline=short_pipeline(crop=16))
    with pytest.raises(RuntimeError, match=r"no readable clip after 4 tries; "
                       r"4 skips so far in this process; the last: clip "
                       r"clip\d: field 'wav': cannot read audio from "
                       r'.*no such file.*\(a wrong data_root\?\)'):
        dataset[0]


def test_mixup_wrapper_passes_the_skips_on(small_clips):
    from cavsync_mm.datasets import AudioVisualMixupDataset
    inner = _dataset(small_clips, 'mix.json', test_mode=True,
                     sampling='all_frames')
    inner.pipeline.transforms.pop()  # stop before packing, as mixup needs
    wrapper = AudioVisualMixupDataset(
        inner, [dict(type='PackAudioVisualInputs')], prob=0.0)
    sample = wrapper[1]['data_samples']
    assert [s[0] for s in sample.skipped_clips] == ['broken']
