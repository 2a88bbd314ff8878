# A small CAV-MAE Sync for CPU runs on the synthetic toy clips (quickstart,
# tests): width 64, 2 encoder blocks per modality + 1 joint block, 4 heads,
# decoder 32-d x 1 block x 4 heads, 128 px frames (the 64 px toy frames
# enlarged: an 8 x 8 patch grid), 4.16 s segments (416 fbank frames = 8 x 26
# audio patches), 8 registers, global tokens. Every other choice is the ViT-B
# model's (./cavsync_vitb.py), except two:
#   PyTorch's default initialisation of the linear / patch-embedding weights
#   (weight_init='pytorch') instead of the release's xavier-uniform. At toy
#   scale the release init keeps the contrastive loss at uniform logits for
#   the whole 304-step budget (V->A R@1 5.0 % vs 20.5 % with PyTorch init,
#   cosine schedule, seed 0; docs/toy_study.md). Tokens are drawn as in the
#   release either way. The ViT-B configs keep weight_init='release'.
#   symmetric InfoNCE. The paper's eq. 1 (and the release) takes visual
#   queries against audio candidates only. At this scale that leaves the audio
#   tokens untrained as queries: A->V retrieval stays at chance and the
#   sound-prompted heatmaps (global audio token vs visual patches) fall below
#   an audio-free centre prior (measured with `python tools/quickstart.py
#   --cfg-options model.contrastive_loss.symmetric=False`, docs/getting_started.md).
#   Both toy models (CAV-MAE Sync and CAV-MAE) use the same loss direction.
# No top-level image_size / segment_length here: the toy dataset bases define
# them and MMEngine forbids a key in two bases of one config.
_base_ = ['./cavsync_vitb.py']
model = dict(
    backbone=dict(embed_dims=64, encoder_depth=2, num_heads=4,
                  image_size=128, audio_length=416, weight_init='pytorch'),
    neck=dict(decoder_embed_dims=32, decoder_depth=1, decoder_num_heads=4),
    contrastive_loss=dict(symmetric=True))
