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


def test_ablation_presets_name_existing_configs():
    """ablate.py's presets point at configs that exist (they moved into the
    model-zoo layout: configs/cavsync/cavsync_vit-toy-<variant>_...)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'ablate', REPO_ROOT / 'tools' / 'analysis_tools' / 'ablate.py')
    ablate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ablate)
    # a preset entry is a run spec: CONFIG[;KEY=VALUE...]
    paths = {spec.split(';')[0] for configs in ablate.PRESETS.values()
             for spec in configs}
    assert len(paths) == 16
    for path in paths:
        assert (REPO_ROOT / path) in CONFIGS, path


def test_segment_sweep_sets_every_segment_step():
    """The sweep configs' shared helper reaches every FrameAlignedSegments
    step (train and val/test) and the encoder, and changes nothing else."""
    base = Config.fromfile(str(
        REPO_ROOT / 'configs/cavsync/cavsync_vit-toy_1xb64-38e_toy.py'))
    cfg = Config.fromfile(str(
        REPO_ROOT / 'configs/cavsync/cavsync_vit-toy-segment192_1xb64-38e_toy.py'))
    assert _encoder(cfg.model).audio_length == 192
    steps = [step for _, pipeline in _pipelines(cfg) for step in pipeline
             if step['type'] == 'FrameAlignedSegments']
    assert len(steps) == 3 and {s.segment_length for s in steps} == {192}
    for name, pipeline in _pipelines(cfg):
        base_pipeline = dict(_pipelines(base))[name]
        assert pipeline == [
            dict(s, segment_length=192) if s['type'] == 'FrameAlignedSegments'
            else s for s in base_pipeline]
