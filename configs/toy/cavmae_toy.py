# The CAV-MAE baseline at toy size (the quickstart's comparison): the toy
# CAV-MAE Sync without global / register tokens, whole 10.24 s audio
# (1024 frames, 8 x 64 patches), lambda_c 0.01.
# Matches configs/retrieval/toy_retrieval_cavmae.py.
_base_ = ['./cavsync_toy.py']
segment_length = 1024
model = dict(
    backbone=dict(audio_length=segment_length, use_global_token=False,
                  num_register_tokens=0),
    contrastive_loss=dict(loss_weight=0.01))
train_dataloader = dict(dataset=dict(pipeline=[
    dict(step, segment_length=segment_length)
    if step['type'] == 'FrameAlignedSegments' else step
    for step in _base_.train_dataloader.dataset.pipeline]))
