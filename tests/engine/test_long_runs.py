"""Fault injection for days-long runs (issue 12): a real SIGKILL in the middle
of an epoch followed by ``--resume`` must equal the uninterrupted run exactly.

The run is real: a tiny CAV-MAE Sync (random masking), the toy clips decoded
by 2 DataLoader workers with random frames and random time shifts, the
MMEngine Runner started by ``tools/train.py`` in a subprocess, killed with
SIGKILL by the process itself at a chosen iteration.
"""
import json
import os
import runpy
import signal
import subprocess
import sys

import pytest
import torch

from repo_paths import FIXTURES_DIR, REPO_ROOT

ITERS_PER_EPOCH = 6  # 12 clips, batch 2
MAX_EPOCHS = 2


@pytest.fixture(scope='module')
def toy_root(tmp_path_factory):
    from cavsync_mm.datasets.synthetic import make_toy_dataset
    root = tmp_path_factory.mktemp('long_runs') / 'toy'
    make_toy_dataset(str(root), num_clips=12, val_clips=4, num_classes=4,
                     frame_size=32, workers=1, progress=False,
                     seg_per_class=1)
    return root


def write_config(path, toy_root, custom_hooks, max_keep_ckpts=1, **extra):
    """A tiny CAV-MAE Sync on the toy clips, inheriting the toy config (so
    the loop, hooks and schedule are the shipped ones)."""
    lines = [
        f"_base_ = [{str(REPO_ROOT / 'configs/cavsync/cavsync_vit-toy_1xb64-38e_toy.py')!r}]",
        "custom_imports = dict(imports=['run_faults'],"
        " allow_failed_imports=False)",
        'model = dict(backbone=dict(embed_dims=32, encoder_depth=1,'
        ' num_heads=4, image_size=32, num_register_tokens=2),'
        ' neck=dict(decoder_embed_dims=16, decoder_depth=1,'
        ' decoder_num_heads=4))',
        "pipeline = _base_.test_pipeline[:4] + [dict(type='RandomTimeShift')]"
        " + _base_.test_pipeline[4:5] + [dict(type='mmaction.Resize',"
        " scale=(-1, 32)), dict(type='mmaction.CenterCrop', crop_size=32),"
        " dict(type='PackAudioVisualInputs')]",
        f'train_dataloader = dict(batch_size=2, num_workers=2,'
        f' dataset=dict(data_root={str(toy_root)!r}, pipeline=pipeline))',
        f'val_dataloader = dict(batch_size=4, num_workers=0,'
        f' persistent_workers=False, dataset=dict(data_root='
        f'{str(toy_root)!r}, pipeline=_base_.test_pipeline[:5] + '
        "pipeline[5:]))",
        'test_dataloader = val_dataloader',
        f'train_cfg = dict(max_epochs={MAX_EPOCHS}, val_interval=1)',
        'param_scheduler = [dict(type="LinearLR", start_factor=0.1,'
        ' by_epoch=False, begin=0, end=8)]',
        'default_hooks = dict(logger=dict(interval=1), checkpoint=dict('
        f'interval=1, iter_interval=4, max_keep_ckpts={max_keep_ckpts}))',
        f'custom_hooks = {custom_hooks!r}',
    ]
    lines += [f'{key} = {value!r}' for key, value in extra.items()]
    path.write_text('\n'.join(lines) + '\n')
    return path


def train(config, work_dir, *args):
    """``tools/train.py CONFIG --work-dir W ARGS`` in this process."""
    main = runpy.run_path(str(REPO_ROOT / 'tools' / 'train.py'))['main']
    main([str(config), '--work-dir', str(work_dir), *args])


def train_until_killed(config, work_dir):
    """``tools/train.py`` in a subprocess that SIGKILLs itself (the config's
    KillAtIterationHook); one torch thread, as this process has."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO_ROOT), str(FIXTURES_DIR)]), OMP_NUM_THREADS='1')
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / 'tools' / 'train.py'), str(config),
         '--work-dir', str(work_dir)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == -signal.SIGKILL, result.stdout[-3000:] + \
        result.stderr[-3000:]


def losses(work_dir):
    lines = (work_dir / 'losses.jsonl').read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_sigkill_mid_epoch_then_resume_equals_uninterrupted_run(toy_root,
                                                                  tmp_path):
    record = [dict(type='RecordLossesHook')]
    config = write_config(tmp_path / 'run.py', toy_root, record,
                          max_keep_ckpts=2)
    whole = tmp_path / 'whole'
    train(config, whole)

    kill_at = ITERS_PER_EPOCH + 4  # epoch 2, batch 4: after iter_8.pth
    killed_config = write_config(
        tmp_path / 'killed.py', toy_root,
        record + [dict(type='KillAtIterationHook', iteration=kill_at)])
    killed = tmp_path / 'killed'
    train_until_killed(killed_config, killed)
    last = (killed / 'last_checkpoint').read_text().strip()
    assert os.path.basename(last) == 'iter_8.pth'
    # mid-epoch checkpoints rotate on their own (newest kept), epoch ones too
    assert sorted(p.name for p in killed.glob('*.pth')) == [
        'epoch_1.pth', 'iter_8.pth']
    before_kill = losses(killed)
    assert [r['iter'] for r in before_kill] == list(range(1, kill_at))

    train(killed_config, killed, '--resume')
    log = '\n'.join(p.read_text() for p in killed.glob('*/*.log'))
    assert 'Exact resume: epoch 2, batch 2 of 6 (iteration 8)' in log
    resumed = losses(killed)[len(before_kill):]
    assert [r['iter'] for r in resumed] == list(
        range(9, MAX_EPOCHS * ITERS_PER_EPOCH + 1))

    uninterrupted = losses(whole)
    assert len(uninterrupted) == MAX_EPOCHS * ITERS_PER_EPOCH
    # the killed run's own iterations 9 and 10 were repeated after resume
    assert before_kill == uninterrupted[:kill_at - 1]
    assert resumed == uninterrupted[8:], 'resumed losses differ'
    # the losses do change from step to step (the comparison can fail)
    assert len({r['loss'] for r in uninterrupted}) == len(uninterrupted)

    # resuming from the epoch-end checkpoint (validation ran after it in
    # the uninterrupted run) is exact as well
    from_epoch = tmp_path / 'from_epoch'
    train(config, from_epoch, '--resume', str(whole / 'epoch_1.pth'))
    assert losses(from_epoch) == uninterrupted[ITERS_PER_EPOCH:]

    final_whole = torch.load(whole / 'epoch_2.pth', weights_only=False)
    final_resumed = torch.load(killed / 'epoch_2.pth', weights_only=False)
    for key, value in final_whole['state_dict'].items():
        assert torch.equal(value, final_resumed['state_dict'][key]), key
    state_whole = final_whole['optimizer']['state']
    state_resumed = final_resumed['optimizer']['state']
    for index, moments in state_whole.items():
        for name, value in moments.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(
                state_resumed[index][name])), (index, name)


# ------------------------------------------------------------ non-finite
def nan_runner(tmp_path, toy_root, custom_hooks, non_finite=None, **extra):
    from mmengine.config import Config
    from mmengine.runner import Runner
    config = write_config(tmp_path / 'nan.py', toy_root, custom_hooks,
                          **extra)
    cfg = Config.fromfile(str(config))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    cfg.default_hooks.non_finite.update(non_finite or {})
    return Runner.from_cfg(cfg)


def checkpoints(work_dir):
    names = sorted(p.name for p in work_dir.glob('*.pth'))
    for name in names:
        state = torch.load(work_dir / name, weights_only=False)['state_dict']
        assert all(torch.isfinite(v).all() for v in state.values()), name
    last = (work_dir / 'last_checkpoint').read_text().strip()
    return names, os.path.basename(last)


def test_nan_weight_stops_before_any_checkpoint_is_lost(toy_root, tmp_path):
    from cavsync_mm.engine import NonFiniteError
    # max_keep_ckpts=1: a NaN epoch 2 would have rotated out epoch_1.pth
    runner = nan_runner(tmp_path, toy_root, [dict(
        type='CorruptWeightHook', iteration=ITERS_PER_EPOCH + 1,
        name='backbone.audio_patch_embed.proj.weight')])
    with pytest.raises(NonFiniteError) as error:
        runner.train()
    message = str(error.value)
    assert 'iteration 7 (epoch 2, batch 1 of 6)' in message
    assert "non-finite loss term(s) ['loss_contrastive', " \
        "'loss_reconstruction_audio'" in message
    assert 'before backward' in message
    assert f"Last good checkpoint: {tmp_path / 'work' / 'epoch_1.pth'}" \
        in message
    assert checkpoints(tmp_path / 'work') == (
        ['epoch_1.pth', 'iter_4.pth'], 'epoch_1.pth')


def test_nan_weight_right_before_a_checkpoint_is_never_saved(toy_root,
                                                             tmp_path):
    from cavsync_mm.engine import NonFiniteError
    runner = nan_runner(tmp_path, toy_root, [dict(
        type='CorruptWeightHook', iteration=8, when='after', value='inf',
        name='neck.norm.weight')],
        non_finite=dict(check_weights=False))
    with pytest.raises(NonFiniteError, match=r"non-finite checkpoint "
                       r"state_dict \['neck.norm.weight'\] at "
                       r'iteration 8 .* the checkpoint was not written'):
        runner.train()
    assert checkpoints(tmp_path / 'work') == (
        ['epoch_1.pth', 'iter_4.pth'], 'epoch_1.pth')


def test_skip_mode_drops_a_nan_step_and_stops_past_its_limit(toy_root,
                                                             tmp_path):
    from cavsync_mm.engine import NonFiniteError
    runner = nan_runner(
        tmp_path, toy_root, [dict(type='CorruptBatchHook', iteration=3),
                             dict(type='RecordLossesHook')],
        non_finite=dict(mode='skip', max_skipped_steps=1),
        train_cfg=dict(max_epochs=1))
    runner.train()
    corrupt = next(h for h in runner.hooks if type(h).__name__ ==
                   'CorruptBatchHook')
    assert corrupt.changed is False  # weights and Adam state untouched
    record = losses(tmp_path / 'work')
    assert [r['iter'] for r in record] == list(range(1, 7))
    assert record[2]['loss'] != record[2]['loss']  # the NaN step
    assert all(r['loss'] == r['loss'] for i, r in enumerate(record) if i != 2)
    assert runner.message_hub.get_info('non_finite_skipped_steps') == 1
    assert checkpoints(tmp_path / 'work') == (
        ['epoch_1.pth', 'iter_4.pth'], 'epoch_1.pth')

    (tmp_path / 'limit').mkdir()
    runner = nan_runner(tmp_path / 'limit', toy_root,
                        [dict(type='CorruptBatchHook', iteration=2)],
                        non_finite=dict(mode='skip', max_skipped_steps=0))
    with pytest.raises(NonFiniteError, match=r'non-finite gradients of .* at '
                       r'iteration 2 .* step skipped 1 times, more than '
                       r'max_skipped_steps=0'):
        runner.train()


# ------------------------------------------------------------ configs
def test_every_training_config_guards_its_run():
    from mmengine.config import Config
    configs = [p for p in sorted((REPO_ROOT / 'configs').rglob('*.py'))
               if '_base_' not in p.parts]
    trained = 0
    for path in configs:
        cfg = Config.fromfile(str(path))
        if not cfg.get('train_dataloader') or 'train_cfg' not in cfg:
            continue
        trained += 1
        hooks = cfg.default_hooks
        assert cfg.train_cfg.type == 'ResumableEpochBasedTrainLoop', path
        assert hooks.non_finite.type == 'NonFiniteGuardHook', path
        assert hooks.checkpoint_fit.allow_partial is False, path
        assert hooks.checkpoint.type == 'MidEpochCheckpointHook', path
        # the AudioSet-2M / VGGSound pretraining configs (and the alias
        # users type); downstream benchmarks/ configs end in a dataset too
        large = path.name == 'cavsync_as2m.py' or (
            path.name.startswith(('cavsync_', 'cavmae_'))
            and path.stem.endswith(('_as2m', '_vggsound')))
        assert (hooks.checkpoint.iter_interval is not None) == large, path
        assert cfg.optim_wrapper.get('clip_grad') is None, path  # the paper's
    assert trained >= 30
