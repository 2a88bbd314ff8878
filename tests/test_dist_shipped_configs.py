"""The shipped configs, run as users run them, with several processes.

Every trainable config of ``configs/`` and ``projects/*/configs`` trains under
two gloo processes with DistributedDataParallel (``tools/train.py`` as
``tools/dist_train.sh`` starts it; ViT-B configs at width 32, real input
sizes), on synthetic clips laid out under the file names the config reads
(``tests/fixtures/shipped_configs.py``); every evaluation config runs through
``tools/test.py`` on two processes. One DDP step equals one process on the
same global batch; a resumed two-process run equals the uninterrupted one;
a real-width ViT-B config trains with ``tools/dist_train.sh``; two "nodes"
of two processes each train together.
"""
import json
import os
import subprocess
import sys

import pytest
import torch

from repo_paths import FIXTURES_DIR, REPO_ROOT
from shipped_configs import (ShapedData, cfg_options_argv, is_trainable,
                             is_vit_b, load, rel, shipped_config_paths,
                             toy_width_options)
from test_tools import free_port, tool_env

TOY_CONFIG = REPO_ROOT / 'configs/cavsync/cavsync_vit-toy_1xb64-38e_toy.py'
AS2M_CONFIG = REPO_ROOT / 'configs/cavsync_as2m.py'
# the first test that uses the sweep fixture runs it (4-5 min on 2 cores)
pytestmark = pytest.mark.timeout(1200)
FROZEN_NORMS = ('norm1_audio', 'norm2_audio', 'norm1_visual', 'norm2_visual')


def torchrun(args, cwd, nproc=2, timeout=900, env=None):
    command = [sys.executable, '-m', 'torch.distributed.run',
               f'--nproc_per_node={nproc}', f'--master_port={free_port()}',
               *map(str, args)]
    env = dict(tool_env(), PYTHONPATH=os.pathsep.join(
        [str(REPO_ROOT), tool_env()['PYTHONPATH']]), **(env or {}))
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=timeout)
    return result, result.stdout + result.stderr


def run_sequence(runs, folder):
    """All ``runs`` in one two-process launch; the per-run records."""
    results = folder / 'results.json'
    plan = folder / 'runs.json'
    plan.write_text(json.dumps(dict(results=str(results), runs=runs)))
    result, log = torchrun([FIXTURES_DIR / 'run_tool_sequence.py', plan],
                           folder)
    records = json.loads(results.read_text()) if results.is_file() else {}
    assert result.returncode == 0, (
        f'stopped in {records.get("running")}:\n{log[-6000:]}')
    return {record['name']: record for record in records['done']}


def train_argv(path, cfg, data, work_dir, **extra):
    options = dict(toy_width_options(cfg), **data.options(cfg))
    options.update({'load_from': None, 'train_cfg.max_epochs': 1}, **extra)
    return [str(path), '--work-dir', str(work_dir), '--launcher',
            'pytorch'] + cfg_options_argv(options)


# --------------------------------------------------------------- the model
def _toy_width(path):
    cfg = load(path)
    cfg.merge_from_dict(toy_width_options(cfg))
    return cfg


@pytest.mark.parametrize('config', [
    'configs/cavsync/cavsync_vit-toy_1xb64-38e_toy.py',
    'configs/cavsync_as2m.py',
    'configs/cavsync/cavsync_vit-base-p16-contrastive-heads_8xb64-25e_as2m.py',
    'configs/cavsync/cavsync_vit-base-p16-keep-registers_8xb64-25e_as2m.py',
    'configs/cavmae/cavmae_vit-base-p16_8xb64-25e_as2m.py',
])
def test_every_trainable_parameter_learns_and_unused_norms_are_frozen(config):
    """One step: every parameter that requires a gradient gets one; the
    unused norm pairs of encoder, head and decoder blocks are frozen, keep
    their state-dict keys, get no optimizer state and do not move."""
    from mmengine.optim import build_optim_wrapper

    import cavsync_mm  # noqa: F401
    from cavsync_mm.registry import MODELS
    cfg = _toy_width(REPO_ROOT / config)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    audio_size, frame_shape = model.backbone.input_sizes
    data = dict(inputs=dict(
        audio=torch.randn(4, *audio_size),
        frames=torch.randint(0, 256, (4, *frame_shape), dtype=torch.uint8)))
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    parsed = model.parse_losses(model(**model.data_preprocessor(data, True),
                                      mode='loss'))[0]
    parsed.backward()
    frozen = {name for name, p in model.named_parameters()
              if not p.requires_grad}
    without_grad = {name for name, p in model.named_parameters()
                    if p.requires_grad and p.grad is None}
    assert without_grad == set()
    expected = {name for name, _ in model.named_parameters()
                if any(f'.{norm}.' in name for norm in FROZEN_NORMS)
                and '.joint_block.' not in name}
    assert frozen == expected and frozen
    optim_wrapper.step()
    assert set(model.state_dict()) == set(before)
    state = optim_wrapper.optimizer.state
    params = dict(model.named_parameters())
    assert not any(params[name] in state for name in frozen)
    after = model.state_dict()
    assert all(torch.equal(after[name], before[name]) for name in frozen)


def test_sound_event_encoder_freezes_its_visual_branch():
    """projects/sound_event_classification trains the audio path only: the
    visual branch and the joint block's shared / visual norms are frozen,
    every other parameter gets a gradient."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(str(
        REPO_ROOT / 'projects/sound_event_classification/configs/'
        'cavsync-audio-tiny_1xb32-10e_toy-sed.py'))
    sys.path.insert(0, str(REPO_ROOT))
    try:
        import projects.sound_event_classification.models  # noqa: F401
    finally:
        sys.path.remove(str(REPO_ROOT))
    init_default_scope('mmpretrain')
    backbone = MODELS.build(cfg.model.backbone)
    backbone.init_weights()
    backbone(torch.randn(2, 1024, 128))[0].sum().backward()
    trainable = {n for n, p in backbone.named_parameters() if p.requires_grad}
    assert {n for n, p in backbone.named_parameters()
            if p.requires_grad and p.grad is None} == set()
    assert not any(n.startswith(('visual_', 'joint_norm')) for n in trainable)
    assert 'joint_block.norm1_audio.weight' in trainable
    assert 'joint_block.norm1.weight' not in trainable


@pytest.mark.parametrize('config', [
    'configs/cavsync/cavsync_vit-toy_1xb64-38e_toy.py',
    'configs/cavmae/cavmae_vit-base-p16_8xb64-25e_as2m.py',
])
def test_one_ddp_step_equals_one_process_on_the_global_batch(config,
                                                            tmp_path):
    """Two processes x 4 clips with the Runner's DDP wrapper (gradients
    averaged, InfoNCE negatives gathered across ranks) take the step one
    process takes on the 8 clips (plain SGD, lr 1: the step is the gradient).
    """
    script = FIXTURES_DIR / 'ddp_one_step.py'
    options = [f'{k}={v}' for k, v in
               toy_width_options(load(REPO_ROOT / config)).items()]
    one = subprocess.run(
        [sys.executable, str(script), str(REPO_ROOT / config),
         str(tmp_path / 'one.pth'), '--sgd', *options], cwd=tmp_path,
        env=tool_env(), capture_output=True, text=True, timeout=300)
    assert one.returncode == 0, one.stderr[-4000:]
    two, log = torchrun([script, REPO_ROOT / config, tmp_path / 'two.pth',
                         '--sgd', *options], tmp_path, timeout=300)
    assert two.returncode == 0, log[-4000:]
    one = torch.load(tmp_path / 'one.pth', weights_only=False)
    two = torch.load(tmp_path / 'two.pth', weights_only=False)
    moved = [k for k in one['after']
             if not torch.equal(one['after'][k], one['initial'][k])]
    assert len(moved) > 50
    for key in one['after']:
        torch.testing.assert_close(two['after'][key], one['after'][key],
                                   rtol=1e-4, atol=1e-6, msg=key)


# --------------------------------------------------- every shipped config
@pytest.fixture(scope='module')
def sweep(tmp_path_factory):
    """Launch 1: every trainable config but the probes (one epoch, three
    iterations of 2 x 2 clips; the project's two), plus a two-epoch run of
    the toy and the ViT-B config and their resumption from epoch 1. Then the
    toy probe's feature cache. Launch 2: the probes (two epochs, from launch
    1's checkpoints) and every evaluation config through tools/test.py."""
    root = tmp_path_factory.mktemp('shipped')
    data = ShapedData(root / 'data')
    configs = [(p, load(p)) for p in shipped_config_paths()]
    trainable = [(p, c) for p, c in configs if is_trainable(c)]
    probes = [(p, c) for p, c in trainable
              if c.model.type == 'AudioVisualClassifier']
    pretrain = [(p, c) for p, c in trainable if (p, c) not in probes]
    work = root / 'work'

    runs, expected_iters = [], {}
    for path, cfg in pretrain:
        epochs = 2 if 'projects' in path.parts else 1  # its warmup: 1 epoch
        runs.append(dict(name=rel(path), tool='train', argv=train_argv(
            path, cfg, data, work / path.stem,
            **{'train_cfg.max_epochs': epochs})))
        expected_iters[rel(path)] = 3 * epochs
    for path in (TOY_CONFIG, AS2M_CONFIG):
        cfg = load(path)
        full, resumed = work / f'{path.stem}_2e', work / f'{path.stem}_resumed'
        every_epoch = {'train_cfg.max_epochs': 2,
                       'default_hooks.checkpoint.interval': 1,
                       'default_hooks.checkpoint.max_keep_ckpts': 2}
        runs.append(dict(name=f'{rel(path)} 2 epochs', tool='train',
                         argv=train_argv(path, cfg, data, full,
                                         **every_epoch)))
        runs.append(dict(
            name=f'{rel(path)} resumed', tool='train',
            argv=train_argv(path, cfg, data, resumed, **every_epoch) +
            ['--resume', str(full / 'epoch_1.pth')]))
    first = run_sequence(runs, root)

    checkpoints = dict(toy=work / TOY_CONFIG.stem / 'epoch_1.pth',
                       vitb=work / AS2M_CONFIG.stem / 'epoch_1.pth',
                       cavmae_vitb=work / 'cavmae_vit-base-p16_8xb64-25e_as2m'
                       / 'epoch_1.pth',
                       cavmae_toy=work / 'cavmae_vit-toy_1xb64-38e_toy' /
                       'epoch_1.pth')
    toy_probe = REPO_ROOT / 'configs/cavsync/benchmarks/' \
        'vit-toy_temporal-probe_toy.py'
    cache = root / 'feature_cache'
    built = subprocess.run(
        [sys.executable,
         str(REPO_ROOT / 'tools/analysis_tools/build_feature_cache.py'),
         str(toy_probe), str(checkpoints['toy']), '--out-dir', str(cache),
         '--cfg-options', *cfg_options_argv(data.options(load(toy_probe)))[1:]],
        cwd=root, env=tool_env(), capture_output=True, text=True,
        timeout=300)
    assert built.returncode == 0, built.stderr[-4000:]

    runs = []
    for path, cfg in probes:
        extra = {'train_cfg.max_epochs': 2}  # the probes warm up 1-2 epochs
        for index, hook in enumerate(cfg.get('custom_hooks', [])):
            if hook.get('begin_epoch', 0) > 1:  # weight averaging from epoch 1
                extra[f'custom_hooks.{index}.begin_epoch'] = 1
        if cfg.model.get('backbone') is not None:
            extra['model.backbone.init_cfg.checkpoint'] = str(
                checkpoints['vitb' if is_vit_b(cfg) else 'toy'])
        argv = train_argv(path, cfg, data, work / path.stem, **extra)
        if cfg.model.get('backbone') is None:  # reads the feature cache
            argv += [f'{loader}.dataset.ann_file={cache}/{split}/index.json'
                     for loader, split in (('train_dataloader', 'train'),
                                           ('val_dataloader', 'val'),
                                           ('test_dataloader', 'val'))]
        runs.append(dict(name=rel(path), tool='train', argv=argv))
        expected_iters[rel(path)] = 6
    evaluations = [(p, c) for p, c in configs if not is_trainable(c)]
    for path, cfg in evaluations:
        if cfg.model.get('backbone', 'missing') is None:
            checkpoint = 'none'
        else:
            family = 'cavmae' if 'cavmae' in path.parts else ''
            size = 'vitb' if is_vit_b(cfg) else 'toy'
            checkpoint = str(checkpoints[f'{family}_{size}'.lstrip('_')])
        options = dict(toy_width_options(cfg), **data.options(cfg))
        runs.append(dict(name=rel(path), tool='test', argv=[
            str(path), checkpoint, '--work-dir', str(work / path.stem),
            '--launcher', 'pytorch'] + cfg_options_argv(options)))
    second = run_sequence(runs, root)
    return dict(records={**first, **second}, expected_iters=expected_iters,
                evaluations=[rel(p) for p, _ in evaluations], work=work,
                data=data, checkpoints=checkpoints, root=root)


def test_every_shipped_trainable_config_trains_on_two_processes(sweep):
    records = sweep['records']
    assert len(sweep['expected_iters']) >= 45
    for name, iters in sweep['expected_iters'].items():
        assert records[name]['iter'] == iters, name


def test_resumed_two_process_run_equals_the_uninterrupted_one(sweep):
    for path in (TOY_CONFIG, AS2M_CONFIG):
        assert sweep['records'][f'{rel(path)} resumed']['iter'] == 6
        full = torch.load(sweep['work'] / f'{path.stem}_2e' / 'epoch_2.pth',
                          map_location='cpu', weights_only=False)
        resumed = torch.load(
            sweep['work'] / f'{path.stem}_resumed' / 'epoch_2.pth',
            map_location='cpu', weights_only=False)
        for key, value in full['state_dict'].items():
            assert torch.equal(resumed['state_dict'][key], value), key


def test_every_shipped_evaluation_config_runs_on_two_processes(sweep):
    assert len(sweep['evaluations']) >= 11
    for name in sweep['evaluations']:
        metrics = sweep['records'][name]['metrics']
        wanted = 'retrieval/v2a_R@1' if 'retrieval' in name else \
            'sound_prompted_segmentation/mIoU'
        assert any(key.startswith(wanted) for key in metrics), (name, metrics)


def test_vit_b_retrieval_readme_command_matches_two_processes(sweep,
                                                             tmp_path):
    """``python tools/test.py <ViT-B VGGSound retrieval config> CKPT`` (the
    README's retrieval command) on one process gives the ranks of two."""
    name = 'configs/cavsync/benchmarks/vit-base-p16_retrieval_vggsound-eval.py'
    cfg = load(REPO_ROOT / name)
    out = tmp_path / 'metrics.json'
    options = dict(toy_width_options(cfg), **sweep['data'].options(cfg))
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / 'tools/test.py'),
         str(REPO_ROOT / name), str(sweep['checkpoints']['vitb']),
         '--work-dir', str(tmp_path / 'work'), '--out', str(out)] +
        cfg_options_argv(options), cwd=tmp_path, env=tool_env(),
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    one = json.loads(out.read_text())
    two = sweep['records'][name]['metrics']
    assert {k: v for k, v in one.items() if k in two} == pytest.approx(two)


def test_evaluation_config_without_its_data_names_the_files(tmp_path):
    name = 'configs/cavsync/benchmarks/vit-base-p16_retrieval_vggsound-eval.py'
    checkpoint = tmp_path / 'model.pth'
    checkpoint.write_bytes(b'')
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / 'tools/test.py'),
         str(REPO_ROOT / name), str(checkpoint)], cwd=tmp_path,
        env=tool_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert 'vgg_test_5_per_class_for_retrieval_template.json' in \
        result.stderr and 'class_labels_indices_vgg.csv' in result.stderr
    assert 'test_dataloader.dataset.data_root' in result.stderr
    assert 'Initialized' not in result.stderr  # nothing was built


def test_vit_b_config_at_full_width_with_dist_train(sweep, tmp_path):
    """The README's headline command in its real shape, ViT-B at full width,
    2 clips per process, three iterations, a checkpoint."""
    cfg = load(AS2M_CONFIG)
    options = dict(sweep['data'].options(cfg), load_from=None,
                   **{'train_cfg.max_epochs': 1, 'train_cfg.val_interval': 2})
    result = subprocess.run(
        ['bash', str(REPO_ROOT / 'tools/dist_train.sh'), str(AS2M_CONFIG),
         '2', '--work-dir', str(tmp_path / 'work')] +
        cfg_options_argv(options), cwd=tmp_path,
        env=dict(tool_env(), PORT=str(free_port())), capture_output=True,
        text=True, timeout=400)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    assert 'Epoch(train) [1][3/3]' in log
    assert (tmp_path / 'work' / 'epoch_1.pth').is_file()


def test_two_nodes_of_two_processes_train_together(sweep, tmp_path):
    """NNODES=2 with NODE_RANK 0 and 1 on this machine: 4 ranks, 12 clips =
    3 per rank, at 2 per batch 2 iterations per epoch."""
    cfg = load(TOY_CONFIG)
    options = dict(sweep['data'].options(cfg), **{'train_cfg.max_epochs': 3})
    port = str(free_port())
    nodes = [subprocess.Popen(
        ['bash', str(REPO_ROOT / 'tools/dist_train.sh'), str(TOY_CONFIG), '2',
         '--work-dir', str(tmp_path / 'work')] + cfg_options_argv(options),
        cwd=tmp_path, env=dict(tool_env(), NNODES='2', NODE_RANK=str(rank),
                               PORT=port, MASTER_ADDR='127.0.0.1'),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for rank in (0, 1)]
    logs = [node.communicate(timeout=300)[0] for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], logs[0][-4000:]
    assert 'GPU number: 4' in logs[0]  # MMEngine's name for the world size
    assert 'Epoch(train) [3][2/2]' in logs[0], [
        line for line in logs[0].splitlines() if 'Epoch(train)' in line]
    assert (tmp_path / 'work' / 'epoch_3.pth').is_file()
