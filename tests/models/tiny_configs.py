"""Tiny model configs shared by the model tests (width 32-64, 1-2 blocks, 32 px)."""
import copy


def tiny_cavsync(**backbone_options) -> dict:
    backbone = dict(type='AudioVisualEncoder', embed_dims=32, encoder_depth=2, num_heads=4,
                    image_size=32, audio_length=64, num_register_tokens=8)
    backbone.update(backbone_options)
    return dict(type='CAVMAESync', backbone=backbone,
                neck=dict(type='AudioVisualMAEDecoder', decoder_embed_dims=16,
                          decoder_depth=1, decoder_num_heads=4),
                contrastive_loss=dict(type='InfoNCELoss'),
                reconstruction_loss=dict(type='MaskedReconstructionLoss'))


def tiny_cavmae() -> dict:
    cfg = tiny_cavsync(use_global_token=False, num_register_tokens=0)
    cfg['contrastive_loss'] = dict(type='InfoNCELoss', loss_weight=0.01)
    return copy.deepcopy(cfg)
