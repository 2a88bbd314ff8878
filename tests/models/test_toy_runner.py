"""A real MMEngine Runner run of configs/cavsync/cavsync_vit-toy_1xb64-38e_toy.py on a few generated clips."""
import json

import torch
from mmengine.config import Config
from mmengine.runner import Runner

from cavsync_mm.apis import init_model
from cavsync_mm.datasets.synthetic import make_toy_dataset


def test_toy_pretraining_runs_validates_and_saves(repo_root, tmp_path):
    data_root = tmp_path / 'toy'
    make_toy_dataset(str(data_root), num_clips=8, val_clips=4, num_classes=4,
                     workers=1, progress=False, seg_per_class=1)
    cfg = Config.fromfile(str(repo_root / 'configs' / 'cavsync' / 'cavsync_vit-toy_1xb64-38e_toy.py'))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_cfg.max_epochs = 2
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].update(batch_size=4, num_workers=0, persistent_workers=False)
        cfg[loader].dataset.data_root = str(data_root)
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.logger.interval = 1
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True)]
    runner = Runner.from_cfg(cfg)
    runner.train()
    checkpoint = tmp_path / 'work' / 'epoch_2.pth'
    assert checkpoint.is_file()
    logs = [json.loads(line) for path in (tmp_path / 'work').rglob('*.json')
            for line in path.read_text().splitlines() if line.strip()]
    assert any('loss_contrastive' in entry for entry in logs)
    assert any(any(key.startswith('retrieval') or 'R@1' in key or 'r1' in key.lower()
                   for key in entry) for entry in logs), logs[-1]
    model = init_model(cfg, str(checkpoint))
    assert model.backbone.register_tokens.shape == (16, 64)
    assert torch.isfinite(model.backbone.audio_global_token).all()
