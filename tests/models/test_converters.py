"""The converter scripts on files, init_model on their output, and the MAE initialisation."""
import importlib.util

import pytest
import torch
from mmengine.config import Config
from release_layout import SYNC_TSV, random_state_dict, read_layout, shrink_layout
from release_reference import release_forward_feat
from tiny_configs import tiny_cavsync

from cavsync_mm.apis import extract_features, init_model
from cavsync_mm.models.pretrainers import mae_to_cavsync
from cavsync_mm.registry import MODELS


def load_script(repo_root, name):
    path = repo_root / 'tools' / 'model_converters' / f'{name}.py'
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def release_file(tmp_path):
    rows = shrink_layout(read_layout(SYNC_TSV), dims=32, decoder_dims=16, num_audio_patches=32,
                         num_visual_patches=4, encoder_depth=2, decoder_depth=1)
    state_dict = random_state_dict(rows, seed=5)
    path = tmp_path / 'release.pth'
    torch.save(state_dict, path)
    return path, state_dict


def test_official_converter_round_trip_and_init_model(repo_root, tmp_path, release_file):
    path, release = release_file
    script = load_script(repo_root, 'official_to_cavsync')
    ours_path, back_path = tmp_path / 'ours.pth', tmp_path / 'back.pth'
    script.main([str(path), str(ours_path)])
    script.main([str(ours_path), str(back_path), '--reverse'])
    back = torch.load(back_path, weights_only=True)
    assert set(back) == set(release)
    assert all(torch.equal(back[key], release[key]) for key in release)

    config = Config(dict(model=tiny_cavsync(), default_scope='cavsync_mm'))
    generator = torch.Generator().manual_seed(0)
    audio = torch.randn(2, 64, 128, generator=generator)
    frames = torch.randint(0, 256, (2, 3, 32, 32), generator=generator, dtype=torch.uint8)
    normalised = (frames.float() - torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)) / \
        torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)
    reference = release_forward_feat(release, audio, normalised, heads=4)
    # the converted file (MMEngine layout) and the raw release file load alike
    for checkpoint in (ours_path, path):
        model = init_model(config, str(checkpoint))
        features = extract_features(model, audio[1], frames[1])
        torch.testing.assert_close(features['global_audio'], reference[0][1], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(features['global_visual'], reference[1][1], atol=1e-5, rtol=1e-5)


def test_converter_refuses_to_overwrite(repo_root, tmp_path, release_file):
    path, _ = release_file
    script = load_script(repo_root, 'official_to_cavsync')
    existing = tmp_path / 'existing.pth'
    existing.write_bytes(b'user data')
    with pytest.raises(SystemExit, match='exists'):
        script.main([str(path), str(existing)])
    assert existing.read_bytes() == b'user data'


def test_init_model_rejects_a_checkpoint_of_another_model(tmp_path, release_file):
    path, _ = release_file
    config = Config(dict(model=tiny_cavsync(num_register_tokens=4), default_scope='cavsync_mm'))
    with pytest.raises(RuntimeError, match='register_tokens'):
        init_model(config, str(path))


def tiny_mae_state_dict(dims=32, decoder_dims=16, blocks=3, decoder_blocks=1, patches=4):
    generator = torch.Generator().manual_seed(0)

    def rand(*shape):
        return torch.randn(*shape, generator=generator)

    sd = {'cls_token': rand(1, 1, dims), 'pos_embed': rand(1, patches + 1, dims),
          'patch_embed.proj.weight': rand(dims, 3, 16, 16), 'patch_embed.proj.bias': rand(dims),
          'norm.weight': rand(dims), 'norm.bias': rand(dims),
          'decoder_embed.weight': rand(decoder_dims, dims), 'decoder_embed.bias': rand(decoder_dims),
          'mask_token': rand(1, 1, decoder_dims),
          'decoder_pos_embed': rand(1, patches + 1, decoder_dims),
          'decoder_norm.weight': rand(decoder_dims), 'decoder_norm.bias': rand(decoder_dims),
          'decoder_pred.weight': rand(768, decoder_dims), 'decoder_pred.bias': rand(768)}
    for prefix, count, width in (('blocks', blocks, dims), ('decoder_blocks', decoder_blocks,
                                                              decoder_dims)):
        for index in range(count):
            for part, shape in (('norm1', (width,)), ('norm2', (width,)),
                                ('attn.qkv', (3 * width, width)), ('attn.proj', (width, width)),
                                ('mlp.fc1', (4 * width, width)), ('mlp.fc2', (width, 4 * width))):
                sd[f'{prefix}.{index}.{part}.weight'] = rand(*shape)
                sd[f'{prefix}.{index}.{part}.bias'] = rand(shape[0])
    return sd


def test_mae_initialisation_follows_the_cavmae_recipe(repo_root, tmp_path):
    mae = tiny_mae_state_dict()
    src = tmp_path / 'mae.pth'
    torch.save({'model': mae}, src)
    dst = tmp_path / 'init.pth'
    load_script(repo_root, 'mae_to_cavsync').main([str(src), str(dst), '--encoder-depth', '2'])
    converted = torch.load(dst, weights_only=True)['state_dict']
    model = MODELS.build(tiny_cavsync())
    result = model.load_state_dict(converted, strict=False)
    assert not result.unexpected_keys
    assert set(result.missing_keys) == {
        'backbone.audio_modality_embedding', 'backbone.visual_modality_embedding',
        'backbone.register_tokens', 'backbone.audio_position_embedding',
        'neck.audio_modality_embedding', 'neck.visual_modality_embedding',
        'neck.audio_position_embedding'}
    backbone, neck = model.backbone, model.neck
    torch.testing.assert_close(backbone.audio_patch_embed.proj.weight,
                               mae['patch_embed.proj.weight'].sum(1, keepdim=True))
    torch.testing.assert_close(backbone.visual_position_embedding, mae['pos_embed'][:, 1:])
    # CAV-MAE's adapt script: MAE's cls_token starts both modality tokens
    torch.testing.assert_close(backbone.audio_global_token, mae['cls_token'])
    torch.testing.assert_close(backbone.visual_global_token, mae['cls_token'])
    for encoder in (backbone.audio_encoder, backbone.visual_encoder):
        torch.testing.assert_close(encoder[1].attn.qkv.weight, mae['blocks.1.attn.qkv.weight'])
    for norm in ('norm1', 'norm1_audio', 'norm1_visual'):
        torch.testing.assert_close(getattr(backbone.joint_block, norm).weight,
                                   mae['blocks.2.norm1.weight'])
    for norm in (backbone.audio_norm, backbone.visual_norm, backbone.joint_norm):
        torch.testing.assert_close(norm.weight, mae['norm.weight'])
    torch.testing.assert_close(neck.audio_prediction.weight, mae['decoder_pred.weight'][:256])
    torch.testing.assert_close(neck.visual_prediction.bias, mae['decoder_pred.bias'])
    with pytest.raises(ValueError, match='3 blocks'):
        mae_to_cavsync(mae, encoder_depth=11)


def test_mae_initialisation_without_cls_token_suits_cavmae(repo_root, tmp_path):
    mae = tiny_mae_state_dict()
    src, dst = tmp_path / 'mae.pth', tmp_path / 'init.pth'
    torch.save({'model': mae}, src)
    load_script(repo_root, 'mae_to_cavsync').main(
        [str(src), str(dst), '--encoder-depth', '2', '--no-cls-token'])
    converted = torch.load(dst, weights_only=True)['state_dict']
    assert not any('global_token' in key for key in converted)
    model = MODELS.build(tiny_cavsync(use_global_token=False, num_register_tokens=0))
    assert not model.load_state_dict(converted, strict=False).unexpected_keys
    del mae['cls_token']
    with pytest.raises(KeyError, match='cls_token'):
        mae_to_cavsync(mae, encoder_depth=2)
