# configs/cavsync/benchmarks/vit-base-p16_temporal-probe_1xb48-15e_as20k.py reading packed shards (docs/data.md). Mixup
# mixes waveforms, so the training shards hold them (--audio both):
#   python tools/data/pack_shards.py data/audioset/audioset_20k_cleaned.json \
#       data/audioset/shards_20k --data-root data/audioset --audio both
#   python tools/data/pack_shards.py data/audioset/audioset_eval_cleaned.json \
#       data/audioset/shards_eval --data-root data/audioset
_base_ = ['./vit-base-p16_temporal-probe_1xb48-15e_as20k.py']
train_shards = 'shards_20k'  # relative to data_root
val_shards = 'shards_eval'
shard_cache_dir = None
_shard_steps = dict(LoadAudio=dict(type='DecodeShardAudio', prefer='waveform'),
                    LoadFrames=dict(type='DecodeShardFrames'))
mixup_load_pipeline = [_shard_steps.get(step['type'], step)
                       for step in _base_.mixup_load_pipeline]
test_pipeline = [dict(type='DecodeShardAudio')] + [
    _shard_steps.get(step['type'], step) for step in _base_.test_pipeline[1:]]
train_dataloader = dict(dataset=dict(dataset=dict(
    type='ShardedAudioVisualDataset', ann_file=train_shards,
    cache_dir=shard_cache_dir, pipeline=mixup_load_pipeline)))
val_dataloader = dict(dataset=dict(
    type='ShardedAudioVisualDataset', ann_file=val_shards,
    cache_dir=shard_cache_dir, pipeline=test_pipeline))
test_dataloader = val_dataloader
