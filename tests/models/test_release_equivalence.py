"""A converted release checkpoint computes what the authors' model computes."""
import pytest
import torch
from release_layout import (CAVMAE_TSV, SYNC_TSV, count_values, random_state_dict,
                            read_layout, shrink_layout)
from release_reference import release_forward_feat
from tiny_configs import tiny_cavmae, tiny_cavsync

from cavsync_mm.models.pretrainers import cavsync_to_release, release_to_cavsync
from cavsync_mm.models.pretrainers.state_dict_mapping import detect_release
from cavsync_mm.registry import MODELS


def tiny_release(tsv, seed=0):
    rows = shrink_layout(read_layout(tsv), dims=32, decoder_dims=16, num_audio_patches=32,
                         num_visual_patches=4, encoder_depth=2, decoder_depth=1)
    return random_state_dict(rows, seed=seed)


@pytest.mark.parametrize('tsv,cfg,keep', [
    (SYNC_TSV, tiny_cavsync(), False),
    (SYNC_TSV, tiny_cavsync(keep_register_tokens=True), True),
    (CAVMAE_TSV, tiny_cavmae(), False),
])
def test_converted_release_matches_reference_math(tsv, cfg, keep):
    release = tiny_release(tsv)
    model = MODELS.build(cfg).eval()
    model.load_state_dict(release_to_cavsync(release), strict=True)
    generator = torch.Generator().manual_seed(1)
    audio = torch.randn(3, 64, 128, generator=generator)
    frames = torch.randn(3, 3, 32, 32, generator=generator)
    with torch.no_grad():
        ours = model.extract_feat(audio, frames)
        reference = release_forward_feat(release, audio, frames, heads=4, keep_registers=keep)
    for name, expected in zip(('global_audio', 'global_visual', 'audio_patches',
                               'visual_patches'), reference):
        torch.testing.assert_close(ours[name], expected, atol=1e-5, rtol=1e-5, msg=name)
    # and back: our weights in the release layout are the release's weights
    back = cavsync_to_release(model.state_dict())
    assert set(back) == set(release)
    assert all(torch.equal(back[key], release[key]) for key in release)


@pytest.mark.parametrize('tsv,variant,options', [
    (SYNC_TSV, 'cavmae_sync', {}),
    (CAVMAE_TSV, 'cavmae', dict(audio_length=1024, use_global_token=False,
                                num_register_tokens=0)),
])
def test_vitb_layout_round_trip(tsv, variant, options):
    """Our ViT-B model has exactly the release's tensors (meta device: no memory)."""
    rows = read_layout(tsv)
    with torch.device('meta'):
        model = MODELS.build(dict(type='CAVMAESync',
                                  backbone=dict(type='AudioVisualEncoder', **options),
                                  neck=dict(type='AudioVisualMAEDecoder')))
    ours = model.state_dict()
    release = cavsync_to_release(ours)
    assert {key: tuple(value.shape) for key, value in release.items()} == \
        {'module.' + key: shape for key, shape in rows}
    assert sum(value.numel() for value in ours.values()) == count_values(rows)
    assert detect_release(release) == variant
    converted = release_to_cavsync(release)
    assert list(converted) == list(ours)


def test_vitb_sync_counts():
    rows = read_layout(SYNC_TSV)
    assert len(rows) == 650 and count_values(rows) == 190_660_864


def test_unknown_and_missing_keys_fail_clearly():
    release = tiny_release(SYNC_TSV)
    release['module.extra_head.weight'] = torch.zeros(1)
    with pytest.raises(KeyError, match='extra_head'):
        release_to_cavsync(release)
    release = tiny_release(SYNC_TSV)
    del release['module.blocks_u.0.norm1_a.weight']
    with pytest.raises(KeyError, match='blocks_u.0.norm1_a.weight'):
        release_to_cavsync(release)
