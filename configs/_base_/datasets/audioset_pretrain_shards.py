# AudioSet-2M pretraining from packed shards (tools/data/pack_shards.py:
# LitData chunks of 16 JPEG frames at 224 x 224 + the float16 fbank per clip;
# docs/data.md). Everything else is ./audioset_pretrain.py: the pipelines read
# the shard sample (DecodeShardAudio / DecodeShardFrames) instead of the wav
# and jpgs, and only the sampled frame is decoded.
#   python tools/data/pack_shards.py data/audioset/audioset_2m_cleaned.json \
#       data/audioset/shards_2m --data-root data/audioset --workers 16
# Shards on object storage: data_root='' and train_shards='s3://bucket/...'
# (read by LitData), with shard_cache_dir a local folder for the chunks.
_base_ = ['./audioset_pretrain.py']
train_shards = 'shards_2m'  # relative to data_root
val_shards = 'shards_eval'
shard_cache_dir = None
_shard_steps = dict(LoadAudio=dict(type='DecodeShardAudio'),
                    LoadFrames=dict(type='DecodeShardFrames'))
train_pipeline = [_shard_steps.get(step['type'], step)
                  for step in _base_.train_pipeline]
test_pipeline = [_shard_steps.get(step['type'], step)
                 for step in _base_.test_pipeline]
train_dataloader = dict(dataset=dict(
    type='ShardedAudioVisualDataset', ann_file=train_shards,
    cache_dir=shard_cache_dir, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(
    type='ShardedAudioVisualDataset', ann_file=val_shards,
    cache_dir=shard_cache_dir, pipeline=test_pipeline))
test_dataloader = val_dataloader
