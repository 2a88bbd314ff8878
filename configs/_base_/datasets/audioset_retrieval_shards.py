# AudioSet zero-shot retrieval from packed shards (docs/data.md); everything
# else is ./audioset_retrieval.py:
#   python tools/data/pack_shards.py data/audioset/audioset_eval_retrieval_subset.json \
#       data/audioset/shards_retrieval --data-root data/audioset
_base_ = ['./audioset_retrieval.py']
shards = 'shards_retrieval'  # relative to data_root (or a URL, data_root='')
shard_cache_dir = None
_shard_steps = dict(LoadAudio=dict(type='DecodeShardAudio'),
                    LoadFrames=dict(type='DecodeShardFrames'))
test_pipeline = [_shard_steps.get(step['type'], step)
                 for step in _base_.test_pipeline]
test_dataloader = dict(dataset=dict(
    type='ShardedAudioVisualDataset', ann_file=shards,
    cache_dir=shard_cache_dir, path_placeholder=None,
    pipeline=test_pipeline))
# retrieval is evaluated by tools/test.py only: no validation during a run
# (a Runner takes val_dataloader, val_cfg and val_evaluator together or none)
val_dataloader = None
