"""ClassBalancedSampler: weights, determinism, and real 2-process gloo
sharding."""
import json
import multiprocessing
import os

import pytest
import torch
import torch.distributed as dist
from av_test_files import use_cavsync_scope, write_json, write_label_csv

from cavsync_mm.datasets import AudioVisualDataset, ClassBalancedSampler
from cavsync_mm.datasets.samplers import class_balanced_weights
from cavsync_mm.registry import DATA_SAMPLERS

use_cavsync_scope()


def _imbalanced_dataset(tmp_path):
    """18 clips of class c0, 2 of class c1 (datafile only, no media read)."""
    entries = [dict(video_id=f'v{k}', video=f'v{k}.mp4',
                    labels='c1' if k < 2 else 'c0') for k in range(20)]
    return AudioVisualDataset(
        write_json(tmp_path / 'data.json', entries),
        label_file=write_label_csv(tmp_path / 'labels.csv', ['c0', 'c1']))


def test_weights_are_inverse_to_class_frequency():
    weights = class_balanced_weights([[0], [0], [0], [1], [0, 1]])
    assert weights[0] == pytest.approx(1 / 4.01)
    assert weights[3] == pytest.approx(1 / 2.01)
    assert weights[4] == pytest.approx(1 / 4.01 + 1 / 2.01)


def test_sampler_balances_classes_and_is_deterministic(tmp_path):
    dataset = _imbalanced_dataset(tmp_path)
    sampler = DATA_SAMPLERS.build(
        dict(type='ClassBalancedSampler', num_samples=4000, seed=3),
        default_args=dict(dataset=dataset))
    assert isinstance(sampler, ClassBalancedSampler) and len(sampler) == 4000
    drawn = list(sampler)
    rare = sum(dataset.get_cat_ids(i) == [1] for i in drawn) / len(drawn)
    assert 0.45 < rare < 0.55  # 10 % of the clips, half of the draws
    assert list(sampler) == drawn
    sampler.set_epoch(1)
    assert list(sampler) != drawn


def _rank_worker(rank, init_file, tmp_dir, out_file):
    dist.init_process_group('gloo', init_method=f'file://{init_file}',
                            rank=rank, world_size=2)
    try:
        from cavsync_mm.datasets import AudioVisualDataset as Dataset
        dataset = Dataset(os.path.join(tmp_dir, 'data.json'),
                          label_file=os.path.join(tmp_dir, 'labels.csv'))
        sampler = ClassBalancedSampler(dataset, num_samples=101, seed=7)
        sampler.set_epoch(2)
        with open(out_file, 'w') as f:
            json.dump(dict(indices=list(sampler), length=len(sampler)), f)
    finally:
        dist.destroy_process_group()


def test_sampler_shards_across_two_gloo_ranks(tmp_path):
    dataset = _imbalanced_dataset(tmp_path)
    context = multiprocessing.get_context('fork')
    init_file = str(tmp_path / 'dist_init')
    outputs = [str(tmp_path / f'rank{r}.json') for r in range(2)]
    processes = [context.Process(target=_rank_worker,
                                 args=(r, init_file, str(tmp_path), outputs[r]))
                 for r in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    shards = [json.load(open(path)) for path in outputs]
    assert [shard['length'] for shard in shards] == [51, 51]
    # one global draw from seed + epoch, rank r keeps [r::2]
    single = ClassBalancedSampler(dataset, num_samples=102, seed=7)
    single.set_epoch(2)
    merged = [None] * 102
    merged[0::2], merged[1::2] = shards[0]['indices'], shards[1]['indices']
    assert merged == list(single)
    assert shards[0]['indices'] != shards[1]['indices']


def test_sampler_needs_labels(tmp_path):
    entries = [dict(video_id='v', video='v.mp4')]
    dataset = AudioVisualDataset(write_json(tmp_path / 'd.json', entries))
    with pytest.raises(ValueError, match='no clip has a label'):
        ClassBalancedSampler(dataset, seed=0)
    assert torch.is_tensor(class_balanced_weights([[0]]))
