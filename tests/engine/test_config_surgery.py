"""The one place configs are changed for shorter runs, other data and other
encoders (cavsync_mm.engine.runner_config), on the shipped configs."""
from mmengine.config import Config

from cavsync_mm.engine.runner_config import (set_data_root, set_encoder_options,
                                             set_epochs, warmup_schedule)

CACHED_PROBE = 'configs/cavsync/benchmarks/vit-toy_cached-temporal-probe_toy.py'
TOY = 'configs/cavsync/cavsync_vit-toy_1xb64-38e_toy.py'
LOCALIZER = 'configs/cavsync/benchmarks/vit-toy_sound-prompted-seg_toy.py'
PROBE = 'configs/cavsync/benchmarks/vit-toy_temporal-probe_toy.py'


def test_resizing_keeps_the_warmup_and_ends_the_rest_at_the_new_length(
        repo_root):
    cfg = set_epochs(Config.fromfile(str(repo_root / CACHED_PROBE)), 5)
    warmup, cosine = cfg.param_scheduler
    assert (warmup.type, warmup.begin, warmup.end) == ('LinearLR', 0, 2)
    assert (cosine.begin, cosine.end, cosine.T_max) == (2, 5, 3)
    assert cfg.train_cfg == dict(type='EpochBasedTrainLoop', max_epochs=5,
                                 val_interval=6)
    # the SWA hook would begin after the run (epoch 10): it begins at 4
    assert cfg.custom_hooks[0].begin_epoch == 4


def test_a_run_shorter_than_its_warmup_is_all_warmup(repo_root):
    cfg = set_epochs(Config.fromfile(str(repo_root / CACHED_PROBE)), 1)
    warmup, cosine = cfg.param_scheduler
    assert warmup.end == 1 and (cosine.begin, cosine.end) == (1, 1)
    assert cfg.custom_hooks[0].begin_epoch == 0


def test_the_full_length_leaves_the_schedule_as_shipped(repo_root):
    shipped = Config.fromfile(str(repo_root / CACHED_PROBE))
    cfg = set_epochs(Config.fromfile(str(repo_root / CACHED_PROBE)),
                     shipped.train_cfg.max_epochs, val_interval=50)
    assert cfg.param_scheduler == shipped.param_scheduler
    assert cfg.custom_hooks == shipped.custom_hooks


def test_a_warmup_or_decay_gives_the_toy_schedule(repo_root):
    cfg = set_epochs(Config.fromfile(str(repo_root / TOY)), 6,
                     warmup_epochs=1)
    assert cfg.param_scheduler == warmup_schedule(6, 1, cfg.get('lr_decay',
                                                                'cosine'))
    cfg = set_epochs(Config.fromfile(str(repo_root / TOY)), 6,
                     decay='constant')
    assert [s['type'] for s in cfg.param_scheduler] == ['LinearLR']


def test_data_root_reaches_the_dataset_inside_wrappers(repo_root):
    cfg = Config.fromfile(str(repo_root / TOY))
    cfg.train_dataloader.dataset = dict(type='MixupDataset',
                                        dataset=cfg.train_dataloader.dataset)
    set_data_root(cfg, '/elsewhere', loaders=('train_dataloader',
                                              'no_such_dataloader'))
    assert cfg.train_dataloader.dataset.dataset.data_root == '/elsewhere'


def test_encoder_options_reach_the_encoder_however_deep(repo_root):
    for config, path in ((TOY, ('backbone', )),
                         (LOCALIZER, ('backbone', 'backbone')),
                         (PROBE, ('backbone', ))):
        cfg = set_encoder_options(Config.fromfile(str(repo_root / config)),
                                  dict(use_global_token=False))
        node = cfg.model
        for key in path:
            node = node[key]
        assert node.type.endswith('AudioVisualEncoder'), config
        assert node.use_global_token is False, config
