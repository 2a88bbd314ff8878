"""Every full config loads, and its pipelines feed the model the sizes it
was built for (frame size and audio segment length)."""
from pathlib import Path

import pytest
from mmengine.config import Config

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted(p for p in (REPO_ROOT / 'configs').rglob('*.py')
                 if '_base_' not in p.parts and not p.name.startswith('_'))
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _encoder(model):
    """The AudioVisualEncoder settings inside any of our model wrappers."""
    while model is not None and model.get('type') != 'AudioVisualEncoder':
        model = model.get('backbone')
    return model


def _pipelines(cfg):
    for name in LOADERS:
        loader = cfg.get(name)
        if not loader:
            continue
        dataset = loader.dataset
        while 'pipeline' not in dataset and 'dataset' in dataset:
            dataset = dataset.dataset
        yield name, dataset.get('pipeline', [])


def test_there_are_configs():
    assert len(CONFIGS) > 30


@pytest.mark.parametrize('path', CONFIGS,
                         ids=[str(p.relative_to(REPO_ROOT)) for p in CONFIGS])
def test_pipeline_sizes_match_the_model(path):
    cfg = Config.fromfile(str(path))
    assert cfg.get('default_scope') == 'cavsync_mm'
    encoder = _encoder(cfg.get('model'))
    if encoder is None:  # e.g. probes on cached features, centre prior
        return
    image_size = encoder.get('image_size', 224)
    audio_length = encoder.get('audio_length', 416)
    for loader, pipeline in _pipelines(cfg):
        for step in pipeline:
            kind = step['type'].split('.')[-1]
            if kind == 'FrameAlignedSegments':
                assert step.get('segment_length', 416) == audio_length, (
                    f'{loader}: segments of {step.get("segment_length")} '
                    f'fbank frames for a model built for {audio_length}')
            if kind in ('CenterCrop', 'RandomResizedCrop'):
                size = step.get('crop_size', step.get('scale'))
                size = size if isinstance(size, int) else size[0]
                assert size == image_size, (
                    f'{loader}: {kind} to {size} px for a model built for '
                    f'{image_size} px')
