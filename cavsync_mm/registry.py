"""Child registries of MMEngine's roots, all in the ``cavsync_mm`` scope.

``import cavsync_mm`` registers every component; another OpenMMLab project can
reach them with ``custom_imports=dict(imports=['cavsync_mm'])`` and
``type='cavsync_mm.<Name>'`` whatever its ``default_scope`` is.

The scope is named after the package, as MMEngine expects: when it switches to
a scope it imports ``<scope>.registry``, which is this module.

Everything a cavsync_mm component builds itself (its default data
preprocessor, losses, neck, the wrapped dataset of a mixup dataset, ...) is
built through these registries, and their ``build`` runs inside the
``cavsync_mm`` scope: unqualified types in a cavsync_mm component's config
resolve here (then in MMEngine's roots) even when the Runner's default scope is
``mmpretrain`` or ``mmaction``. Parts of other codebases inside a cavsync_mm
component keep their prefix (``type='mmpretrain.LinearClsHead'``) and are
built in their own scope, so that their own unqualified defaults (the
``CrossEntropyLoss`` an mmpretrain head builds) resolve in their codebase. An
explicit ``_scope_`` in a config still wins.

``cavsync.<Name>`` (the scope's name before 0.2) is kept as a deprecated alias
for ``type`` strings; ``default_scope`` must be ``'cavsync_mm'``.
"""
import contextlib
from typing import Callable

from mmengine.registry import DefaultScope
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import \
    WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

SCOPE = 'cavsync_mm'
#: Deprecated scope prefix, still accepted in ``type='cavsync.<Name>'``.
ALIAS_SCOPE = 'cavsync'


@contextlib.contextmanager
def package_scope():
    """Make ``cavsync_mm`` the default scope for the ``with`` block."""
    current = DefaultScope.get_current_instance()
    if current is not None and current.scope_name == SCOPE:
        yield
        return
    with DefaultScope.overwrite_default_scope(SCOPE):
        yield


def _build_in_package_scope(inherited: Callable) -> Callable:
    """The parent's build function, run inside the ``cavsync_mm`` scope."""

    def build(cfg, *args, **kwargs):
        kind = cfg.get('type') if isinstance(cfg, dict) else None
        if isinstance(kind, str) and '.' in kind and '_scope_' not in cfg:
            scope = kind.split('.', 1)[0]
            if scope not in (SCOPE, ALIAS_SCOPE):  # another codebase's part
                cfg = cfg.copy()
                cfg['_scope_'] = scope
        with package_scope():
            return inherited(cfg, *args, **kwargs)

    return build


def _child(name, parent, location):
    registry = Registry(name, parent=parent, scope=SCOPE,
                        locations=[f'cavsync_mm.{location}'],
                        build_func=_build_in_package_scope(parent.build_func))
    # MMEngine has no public alias for a scope. ``Registry.get('scope.Name')``
    # looks the scope up in the root's ``_children`` dict, so a second key
    # pointing at the same registry keeps old ``cavsync.<Name>`` types working
    # (nothing is registered twice, no module is faked).
    parent._children.setdefault(ALIAS_SCOPE, registry)
    return registry


RUNNERS = _child('runner', MMENGINE_RUNNERS, 'engine')
LOOPS = _child('loop', MMENGINE_LOOPS, 'engine')
HOOKS = _child('hook', MMENGINE_HOOKS, 'engine')
LOG_PROCESSORS = _child('log processor', MMENGINE_LOG_PROCESSORS, 'engine')
OPTIMIZERS = _child('optimizer', MMENGINE_OPTIMIZERS, 'engine')
OPTIM_WRAPPERS = _child('optim wrapper', MMENGINE_OPTIM_WRAPPERS, 'engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
                                    'engine')
PARAM_SCHEDULERS = _child('parameter scheduler', MMENGINE_PARAM_SCHEDULERS,
                          'engine')
DATASETS = _child('dataset', MMENGINE_DATASETS, 'datasets')
DATA_SAMPLERS = _child('data sampler', MMENGINE_DATA_SAMPLERS, 'datasets')
TRANSFORMS = _child('transform', MMENGINE_TRANSFORMS, 'datasets.transforms')
FUNCTIONS = _child('function', MMENGINE_FUNCTIONS, 'datasets')
MODELS = _child('model', MMENGINE_MODELS, 'models')
MODEL_WRAPPERS = _child('model_wrapper', MMENGINE_MODEL_WRAPPERS, 'models')
WEIGHT_INITIALIZERS = _child('weight initializer',
                             MMENGINE_WEIGHT_INITIALIZERS, 'models')
TASK_UTILS = _child('task util', MMENGINE_TASK_UTILS, 'models')
METRICS = _child('metric', MMENGINE_METRICS, 'evaluation')
EVALUATOR = _child('evaluator', MMENGINE_EVALUATOR, 'evaluation')
VISUALIZERS = _child('visualizer', MMENGINE_VISUALIZERS, 'visualization')
VISBACKENDS = _child('vis_backend', MMENGINE_VISBACKENDS, 'visualization')
