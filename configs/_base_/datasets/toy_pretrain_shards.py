# The synthetic toy clips (data/toy) packed into shards; everything else is
# ./toy_pretrain.py:
#   python tools/data/pack_shards.py data/toy/train.json data/toy/shards_train \
#       --data-root data/toy --image-size 64
#   python tools/data/pack_shards.py data/toy/val.json data/toy/shards_val \
#       --data-root data/toy --image-size 64
_base_ = ['./toy_pretrain.py']
train_shards = 'shards_train'  # relative to data_root
val_shards = 'shards_val'
_shard_steps = dict(LoadAudio=dict(type='DecodeShardAudio'),
                    LoadFrames=dict(type='DecodeShardFrames'))
train_pipeline = [_shard_steps.get(step['type'], step)
                  for step in _base_.train_pipeline]
test_pipeline = [_shard_steps.get(step['type'], step)
                 for step in _base_.test_pipeline]
train_dataloader = dict(dataset=dict(
    type='ShardedAudioVisualDataset', ann_file=train_shards,
    pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(
    type='ShardedAudioVisualDataset', ann_file=val_shards,
    pipeline=test_pipeline))
test_dataloader = val_dataloader
