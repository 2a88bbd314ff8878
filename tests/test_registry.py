"""Another OpenMMLab project reaches cavsync components from its own config:
``custom_imports=dict(imports=['cavsync_mm'])`` and ``type='cavsync_mm.<Name>'``
through MMEngine's root registries."""
import subprocess
import sys
import textwrap

import pytest
from mmengine.config import Config
from mmengine.registry import DATASETS as ROOT_DATASETS
from mmengine.registry import METRICS as ROOT_METRICS
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import TRANSFORMS as ROOT_TRANSFORMS
from mmengine.registry import DefaultScope
from torch import nn

from cavsync_mm import registry as cavsync_registry

# What an outside project's config file looks like: nothing from cavsync_mm
# is imported by hand; the scope prefix routes each type to the cavsync tree.
EXTERNAL_CONFIG = """
custom_imports = dict(imports=['cavsync_mm'], allow_failed_imports=False)
default_scope = {default_scope!r}
model = dict(type='cavsync_mm.{model}', width=3)
pretrainer = dict(type='cavsync_mm.CAVMAESync')
dataset = dict(type='cavsync_mm.AudioVisualDataset')
segments = dict(type='cavsync_mm.FrameAlignedSegments')
metric = dict(type='cavsync_mm.RetrievalMetric')
"""


def write_external_config(tmp_path, model_name, default_scope='mmpretrain'):
    path = tmp_path / 'other_project' / 'external_config.py'
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        textwrap.dedent(
            EXTERNAL_CONFIG.format(
                model=model_name, default_scope=default_scope)))
    return path


@pytest.fixture
def throwaway_model():
    """A class registered into cavsync's MODELS for this test only."""
    name = 'ThrowawayRegistryProbe'

    class ThrowawayRegistryProbe(nn.Module):

        def __init__(self, width):
            super().__init__()
            self.width = width

    cavsync_registry.MODELS.register_module(
        name=name, module=ThrowawayRegistryProbe, force=True)
    yield ThrowawayRegistryProbe
    cavsync_registry.MODELS._module_dict.pop(name, None)


@pytest.mark.parametrize('default_scope', ['mmpretrain', 'mmengine'])
def test_scoped_type_builds_through_root_registry(tmp_path, throwaway_model,
                                                  default_scope):
    """The mechanism: a foreign default scope still reaches cavsync_mm.X."""
    cfg = Config.fromfile(
        write_external_config(tmp_path, throwaway_model.__name__,
                              default_scope))
    assert cavsync_registry.MODELS.scope == 'cavsync_mm'
    assert 'cavsync_mm' in ROOT_MODELS.children
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = ROOT_MODELS.build(cfg.model)
    assert type(model) is throwaway_model and model.width == 3


def test_unknown_cavsync_type_is_a_clear_error(tmp_path):
    cfg = Config.fromfile(write_external_config(tmp_path, 'NoSuchModel'))
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        with pytest.raises(KeyError, match='NoSuchModel'):
            ROOT_MODELS.build(cfg.model)


# The contract with the other parts (docs/interfaces.md): ``import cavsync_mm``
# registers these names. Cheap ones are built with their defaults too.
REGISTERED = [
    ('pretrainer', ROOT_MODELS, 'CAVMAESync', False),
    ('dataset', ROOT_DATASETS, 'AudioVisualDataset', False),
    ('segments', ROOT_TRANSFORMS, 'FrameAlignedSegments', True),
    ('metric', ROOT_METRICS, 'RetrievalMetric', True),
]


@pytest.mark.parametrize('key, root, name, build', REGISTERED,
                         ids=[name for _, _, name, _ in REGISTERED])
def test_import_cavsync_mm_registers(tmp_path, key, root, name, build):
    cfg = Config.fromfile(write_external_config(tmp_path, 'Unused'))
    assert cfg[key].type == f'cavsync_mm.{name}'
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        component = root.get(cfg[key].type)
        assert component is not None, (
            f'{cfg[key].type} is not registered by import cavsync_mm')
        assert component.__module__.startswith('cavsync_mm.')
        if build:
            assert type(root.build(cfg[key])) is component


def test_custom_imports_alone_registers_in_a_fresh_interpreter(tmp_path):
    """No ``import cavsync_mm`` by hand: custom_imports in the config does
    it."""
    config = write_external_config(tmp_path, 'Unused', 'mmengine')
    script = textwrap.dedent(f"""
        import sys
        from mmengine.config import Config
        from mmengine.registry import METRICS, DefaultScope
        assert 'cavsync_mm' not in sys.modules
        cfg = Config.fromfile({str(config)!r})
        assert 'cavsync_mm' in sys.modules
        with DefaultScope.overwrite_default_scope(cfg.default_scope):
            metric = METRICS.build(cfg.metric)
        print(type(metric).__module__, type(metric).__name__)
        """)
    result = subprocess.run([sys.executable, '-c', script], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    module, name = result.stdout.split()[-2:]
    assert module.startswith('cavsync_mm.') and name == 'RetrievalMetric'
