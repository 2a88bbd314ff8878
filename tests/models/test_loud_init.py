"""Weights that do not fit the model stop the run (issue 12, item 4).

Before: ``load_from`` an unconverted release or MAE file, or a checkpoint of
another width, exited 0 after 78 size-mismatch warnings and trained from
random weights. Now ``load_from`` (through the Runner, CheckpointFitHook),
``init_cfg=dict(type='Pretrained')`` and a probe's ``pretrained`` fail with a
message naming the converter, unless partial loading is asked for; the
MAE-converted init loads with exactly its declared gaps.
"""
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from test_converters import load_script, tiny_mae_state_dict
from tiny_configs import tiny_cavsync

from cavsync_mm.models.checkpoint_fit import CheckpointMismatchError
from cavsync_mm.models.pretrainers import cavsync_to_release
from cavsync_mm.registry import MODELS


def runner_loading(repo_root, tmp_path, load_from, allow_partial=False):
    cfg = Config.fromfile(str(repo_root / 'configs/cavsync/cavsync_vit-toy_1xb64-38e_toy.py'))
    cfg.model = tiny_cavsync()
    cfg.work_dir = str(tmp_path / 'work')
    cfg.load_from = str(load_from)
    cfg.default_hooks.checkpoint_fit.allow_partial = allow_partial
    return Runner.from_cfg(cfg)


def save(path, state_dict, **extra):
    torch.save(dict(state_dict=state_dict, **extra), path)
    return path


def tiny_state(**options):
    torch.manual_seed(1)
    return MODELS.build(tiny_cavsync(**options)).state_dict()


def test_unconverted_release_file_names_the_official_converter(repo_root,
                                                               tmp_path):
    path = tmp_path / 'release.pth'
    torch.save(cavsync_to_release(tiny_state()), path)
    runner = runner_loading(repo_root, tmp_path, path)
    with pytest.raises(CheckpointMismatchError, match=(
            r'does not fit the model: \d+ parameters missing from the file '
            r'.*authors\' release layout: convert it with python '
            r'tools/model_converters/official_to_cavsync.py SRC DST.*'
            r'default_hooks.checkpoint_fit.allow_partial=True')):
        runner.load_or_resume()


def test_raw_mae_file_names_the_mae_converter_and_the_converted_init_loads(
        repo_root, tmp_path):
    raw = tmp_path / 'mae.pth'
    mae = tiny_mae_state_dict()
    torch.save({'model': mae}, raw)
    with pytest.raises(CheckpointMismatchError,
                       match='ImageNet MAE ViT checkpoint: convert it with '
                       'python tools/model_converters/mae_to_cavsync.py'):
        runner_loading(repo_root, tmp_path, raw).load_or_resume()

    converted = tmp_path / 'init.pth'
    load_script(repo_root, 'mae_to_cavsync').main(
        [str(raw), str(converted), '--encoder-depth', '2'])
    runner = runner_loading(repo_root, tmp_path, converted)
    runner.load_or_resume()
    torch.testing.assert_close(
        runner.model.backbone.visual_encoder[1].attn.qkv.weight,
        mae['blocks.1.attn.qkv.weight'])

    # the declared gaps are the only ones allowed: one more missing key fails
    init = torch.load(converted, weights_only=True)
    del init['state_dict']['neck.norm.bias']
    save(converted, init['state_dict'], meta=init['meta'])
    with pytest.raises(CheckpointMismatchError,
                       match=r'1 parameters missing from the file '
                       r'\(neck.norm.bias\)'):
        runner_loading(repo_root, tmp_path, converted).load_or_resume()


def test_other_width_fails_unless_partial_loading_is_asked_for(repo_root,
                                                               tmp_path):
    path = save(tmp_path / 'wide.pth', tiny_state(embed_dims=64))
    with pytest.raises(CheckpointMismatchError,
                       match=r'\d+ shape mismatches \(backbone\.\S+ '
                       r'\(1, 1, 64\) vs the model\'s \(1, 1, 32\)'):
        runner_loading(repo_root, tmp_path, path).load_or_resume()
    runner = runner_loading(repo_root, tmp_path, path, allow_partial=True)
    runner.load_or_resume()  # warns, loads the matching part
    torch.testing.assert_close(runner.model.neck.norm.weight,
                               tiny_state(embed_dims=64)['neck.norm.weight'])


def test_init_cfg_pretrained_and_probe_pretrained_are_checked(tmp_path):
    full = save(tmp_path / 'full.pth', tiny_state())
    cfg = tiny_cavsync()
    backbone = dict(cfg['backbone'], init_cfg=dict(
        type='Pretrained', checkpoint=str(full)))
    model = MODELS.build(backbone)
    # the whole model's keys (backbone.*) do not fit the backbone alone
    with pytest.raises(CheckpointMismatchError,
                       match=r'allow_partial=True in the init_cfg'):
        model.init_weights()
    backbone['init_cfg']['prefix'] = 'backbone.'
    model = MODELS.build(backbone)
    model.init_weights()
    torch.testing.assert_close(model.register_tokens,
                               tiny_state()['backbone.register_tokens'])

    wide = save(tmp_path / 'wide.pth', tiny_state(embed_dims=64))
    probe = MODELS.build(dict(
        type='AudioVisualClassifier',
        backbone=dict(cfg['backbone'], init_cfg=dict(
            type='Pretrained', checkpoint=str(wide), prefix='backbone.')),
        head=dict(type='mmpretrain.MultiLabelLinearClsHead', num_classes=3,
                  in_channels=64)))
    with pytest.raises(CheckpointMismatchError,
                       match=r'shape mismatches.*allow_partial=True in the '
                       r'init_cfg'):
        probe.init_weights()


def test_models_that_rename_keys_or_have_no_weights_load_as_before(tmp_path):
    """The localizer renames a bare pretraining checkpoint under
    ``backbone.`` (a load pre-hook); the centre-prior baseline has no
    weights and ignores the checkpoint it is given."""
    from cavsync_mm.models.checkpoint_fit import check_checkpoint_fit
    pretrained = dict(state_dict=tiny_state())
    localizer = MODELS.build(dict(type='SoundPromptedLocalizer',
                                  backbone=tiny_cavsync()))
    check_checkpoint_fit(localizer, pretrained, 'pretrain.pth')
    centre_prior = MODELS.build(dict(
        type='SoundPromptedLocalizer', backbone=None,
        heatmap='center_prior'))
    check_checkpoint_fit(centre_prior, pretrained, 'pretrain.pth')
    del pretrained['state_dict']['neck.norm.bias']
    with pytest.raises(CheckpointMismatchError, match=r'\(backbone\.neck'
                       r'\.norm\.bias\)'):
        check_checkpoint_fit(localizer, pretrained, 'pretrain.pth')
