"""What the pinned OpenMMLab releases need to run on current torch / numpy.

Nothing here happens on ``import cavsync_mm``. The fixes are applied by
:func:`apply` (idempotent), which the project's tools call first
(``tools/train.py``, ``tools/test.py``, the analysis tools, the quickstart).
Another program applies them with ``cavsync_mm.compat.apply()``, or from a
config with ``custom_imports=dict(imports=['cavsync_mm.compat_apply'])`` (a
module whose import calls :func:`apply`). Each fix is small and only changes
behaviour where the old release breaks; each says when it can go.

1. Checkpoints under ``weights_only=True`` (torch >= 2.6).
   ``torch.load`` now refuses every pickled global that is not on an
   allow-list, and mmengine 0.10.7 calls it with the default, so MMEngine
   cannot read its own checkpoints (``load_checkpoint``, ``load_from``,
   ``resume``). A real Runner checkpoint holds, besides tensors and plain
   containers, these globals (found by training a toy model with the Runner
   and listing what ``torch.load(..., weights_only=True)`` rejects):

   - ``mmengine.logging.history_buffer.HistoryBuffer`` (message hub scalars),
   - ``builtins.getattr`` applied to ``HistoryBuffer`` and the name of one of
     its statistics methods (``min``, ``max``, ``current``, ``mean``),
   - ``numpy.ndarray``, ``numpy.dtype``, the concrete dtype classes
     (``numpy.dtypes.Float64DType``, ...),
     ``numpy._core.multiarray._reconstruct`` and
     ``numpy._core.multiarray.scalar`` (numpy arrays and scalars, e.g. the ETA
     in the runtime info); files written with numpy 1.x name the last two
     ``numpy.core.multiarray.*``, accepted as aliases.

   :func:`mmengine_checkpoint_globals` allow-lists exactly these while
   mmengine's ``CheckpointLoader.load_checkpoint`` runs (every mmengine load
   path goes through it); ``weights_only`` stays ``True``. ``getattr`` is
   replaced by :func:`_history_buffer_getattr`, which resolves nothing but
   those statistics methods. A plain ``torch.load`` outside mmengine is not
   affected. A refused file raises :class:`CheckpointRefusedError` naming the
   file and the offending global; nothing in it is executed.
   Can go when mmengine allow-lists its own checkpoint types (no release does
   as of 0.10.7).

2. ``AmpOptimWrapper`` on CPU. mmengine 0.10.7 asserts that a GPU/NPU/MLU
   is present, although ``torch.autocast`` runs on CPU with ``bfloat16``.
   On a machine without an accelerator the wrapper is built with a disabled
   loss scaler (bfloat16 has float32's range and needs no scaling) and
   ``dtype`` defaulting to ``bfloat16``; asking for ``float16`` on CPU is a
   clear error. With an accelerator, mmengine's own code runs unchanged.
   Can go when mmengine's ``AmpOptimWrapper`` accepts CPU (it only matters
   for ``--amp`` runs on CPU, i.e. tests and the toy quickstart).

3. ``init_dist('pytorch')`` on CPU. mmengine 0.10.7 calls
   ``torch.cuda.set_device`` unconditionally, which raises on a machine
   without CUDA, so multi-process CPU runs (``gloo``) could not start. Without
   CUDA the device is no longer set; with CUDA, mmengine's code runs
   unchanged. Can go when mmengine skips ``set_device`` without CUDA.

4. ``MMDistributedDataParallel`` of a CPU model. The Runner always passes
   ``device_ids=[LOCAL_RANK]``, which torch's ``DistributedDataParallel``
   rejects for a module on CPU; the ids are dropped for CPU modules only.
   Can go together with 3 (GPU runs never need it).

5. ``_base_ = 'cavsync_mm::<folder>/<config>.py'``. MMEngine resolves a
   ``package::`` base only for the packages in its fixed
   ``mmengine.config.utils.MODULE2PACKAGE`` table, and finds the package with
   ``get_installed_path``, which for a PEP 660 editable install
   (``pip install -e .``) returns ``site-packages/cavsync_mm``, a folder that
   does not exist. ``cavsync_mm`` is added to the table, and a path that does
   not exist falls back to where Python imports the package from. The
   configs themselves are shipped as ``cavsync_mm/.mim/configs`` by
   ``setup.py`` (as mmpretrain does). Can go when mmengine lets packages
   declare themselves (no release does) and resolves editable installs.

6. ``import mmaction.models`` with the mmaction2 1.2.0 wheel. The wheel on
   PyPI lacks the ``mmaction/models/localizers/drn`` folder that
   ``mmaction/models/localizers/__init__.py`` imports, so ``mmaction.models``
   (and any model build with ``default_scope='mmaction'``, which imports it)
   raises ``ModuleNotFoundError``. Where the folder is missing, an empty
   ``mmaction.models.localizers.drn.drn`` module is put in ``sys.modules``
   whose ``DRN`` raises a clear error when built; every other mmaction model
   imports and registers normally. Nothing is done where the folder exists.
   mmaction's multimodal (VindLU) models are imported when ``transformers``
   is installed, but they also need ``timm``, which mmaction does not check:
   without ``timm`` they get mmaction's own placeholders (as without
   ``transformers``). Can go with an mmaction2 wheel that ships ``drn`` and
   checks ``timm`` (1.2.0 is the latest).
   Why it is kept although the toolkit itself never imports
   ``mmaction.models`` (its configs use ``default_scope='cavsync_mm'`` and
   only mmaction's transforms, ``tests/test_compat.py`` scans for it): on
   the first model build under ``default_scope='mmaction'`` MMEngine imports
   the scope's model location, ``mmaction.models``, whatever type is built,
   so without this fix nothing can be built in an mmaction2 project on the
   PyPI wheel, a ``cavsync_mm.*`` part composed there included (the
   composition under the ``mmaction`` scope), nor an mmaction recognizer
   around a cavsync_mm backbone. ``tests/test_compat.py::
   test_apply_makes_mmaction_models_importable`` shows the build failing
   before :func:`apply` and working after it.
"""
import contextlib
import importlib.util
import os
import pickle
import re
import sys
import types
from typing import Iterator, List

import numpy as np
import torch
import torch.serialization

__all__ = [
    'apply', 'CheckpointRefusedError', 'mmengine_checkpoint_globals',
    'MMENGINE_CHECKPOINT_GLOBALS'
]


# --------------------------------------------------------------------------
# 1. checkpoints under weights_only=True
# --------------------------------------------------------------------------
class CheckpointRefusedError(pickle.UnpicklingError):
    """A checkpoint holds a pickled global outside the allow-list."""


def _history_buffer_getattr(owner, name):
    """``getattr`` for checkpoints: only ``HistoryBuffer.<statistics method>``.

    MMEngine's message hub pickles ``HistoryBuffer.min`` & co. as
    ``getattr(HistoryBuffer, 'min')``; any other attribute lookup in a
    checkpoint is refused.
    """
    from mmengine.logging import HistoryBuffer
    attribute = vars(HistoryBuffer).get(name) if owner is HistoryBuffer \
        else None
    if not isinstance(attribute, types.FunctionType) or name.startswith('_'):
        owner_name = (f'{owner.__module__}.{owner.__qualname__}'
                      if isinstance(owner, type) else type(owner).__name__)
        raise pickle.UnpicklingError(
            f'Unsupported global: GLOBAL builtins.getattr({owner_name}, '
            f'{name!r}): only the statistics methods of mmengine '
            'HistoryBuffer may be looked up')
    return attribute


def _numpy_globals() -> List:
    """The numpy types that arrays, dtypes and scalars pickle to."""
    from numpy._core import multiarray
    dtype_classes = [
        type(np.dtype(code))
        for code in '?bhilqBHILQefdgFDGUS'  # bool, ints, floats, complex, str
    ]
    return [
        np.ndarray, np.dtype, *dict.fromkeys(dtype_classes),
        multiarray._reconstruct, multiarray.scalar,
        (multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
        (multiarray.scalar, 'numpy.core.multiarray.scalar'),
    ]


def _mmengine_checkpoint_globals() -> List:
    from mmengine.logging import HistoryBuffer
    return [
        HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr'),
        *_numpy_globals()
    ]


MMENGINE_CHECKPOINT_GLOBALS = _mmengine_checkpoint_globals()


@contextlib.contextmanager
def mmengine_checkpoint_globals() -> Iterator[None]:
    """Allow-list, for the ``with`` block, what MMEngine puts in checkpoints.

    Entries the user allow-listed already are left in place on exit.
    """
    present = set(torch.serialization.get_safe_globals())
    missing = [g for g in MMENGINE_CHECKPOINT_GLOBALS if g not in present]
    with torch.serialization.safe_globals(missing):
        yield


def _offending_global(message: str) -> str:
    for pattern in (r'GLOBAL (builtins\.getattr\([^)]*\))', r'GLOBAL ([\w.]+)',
                    r'unrecognized function (.+?)(?: which|$)',
                    r'but got (<class [^>]+>)'):
        found = re.search(pattern, message, flags=re.MULTILINE)
        if found:
            return found.group(1)
    return '<unknown>'


def _refusal(filename,
             error: pickle.UnpicklingError) -> CheckpointRefusedError:
    message = str(error)
    reason = message.split('WeightsUnpickler error:')[-1].strip().splitlines()
    return CheckpointRefusedError(
        f'Refused to load checkpoint {filename!r}: it contains the pickled '
        f'global {_offending_global(message)!r}, which is not one of the '
        'types MMEngine and numpy write into checkpoints, so it may run code '
        'when unpickled. torch.load keeps weights_only=True and executed '
        'nothing. If you trust this file, allow-list that type with '
        'torch.serialization.add_safe_globals([...]) and load it again. '
        f'(torch: {reason[0] if reason else message})')


def _patch_checkpoint_loader() -> None:
    from mmengine.runner.checkpoint import CheckpointLoader
    original = CheckpointLoader.load_checkpoint.__func__
    if getattr(original, '_cavsync_compat', False):
        return

    def load_checkpoint(cls, filename, map_location=None, logger='current'):
        try:
            with mmengine_checkpoint_globals():
                return original(cls, filename, map_location, logger)
        except CheckpointRefusedError:
            raise
        except pickle.UnpicklingError as error:
            raise _refusal(filename, error) from None

    load_checkpoint._cavsync_compat = True
    load_checkpoint.__doc__ = original.__doc__
    CheckpointLoader.load_checkpoint = classmethod(load_checkpoint)


# --------------------------------------------------------------------------
# 2. AmpOptimWrapper on CPU
# --------------------------------------------------------------------------
def _has_accelerator() -> bool:
    from mmengine.device import (is_cuda_available, is_mlu_available,
                                 is_musa_available, is_npu_available)
    return (is_cuda_available() or is_npu_available() or is_mlu_available()
            or is_musa_available())


def _patch_amp_optim_wrapper() -> None:
    from mmengine.optim import AmpOptimWrapper, OptimWrapper
    original = AmpOptimWrapper.__init__
    if getattr(original, '_cavsync_compat', False):
        return

    def __init__(self, loss_scale='dynamic', dtype=None, use_fsdp=False,
                 **kwargs):
        if _has_accelerator():
            return original(self, loss_scale=loss_scale, dtype=dtype,
                            use_fsdp=use_fsdp, **kwargs)
        dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
        dtype = torch.bfloat16 if dtype is None else dtype
        if dtype is not torch.bfloat16:
            raise ValueError(
                'AmpOptimWrapper: mixed precision on CPU supports only '
                f'dtype="bfloat16", got optim_wrapper.dtype={dtype}')
        OptimWrapper.__init__(self, **kwargs)
        self._scale_update_param = None
        self.loss_scaler = torch.amp.GradScaler('cpu', enabled=False)
        self.cast_dtype = dtype

    __init__._cavsync_compat = True
    __init__.__doc__ = original.__doc__
    AmpOptimWrapper.__init__ = __init__


# --------------------------------------------------------------------------
# 3. init_dist('pytorch') without CUDA
# --------------------------------------------------------------------------
def _patch_init_dist_pytorch() -> None:
    import torch.distributed as torch_dist
    from mmengine.dist import utils as dist_utils
    original = dist_utils._init_dist_pytorch
    if getattr(original, '_cavsync_compat', False):
        return

    def _init_dist_pytorch(backend, init_backend='torch', **kwargs):
        if _has_accelerator() or init_backend != 'torch':
            return original(backend, init_backend=init_backend, **kwargs)
        torch_dist.init_process_group(backend=backend, **kwargs)

    _init_dist_pytorch._cavsync_compat = True
    dist_utils._init_dist_pytorch = _init_dist_pytorch


# --------------------------------------------------------------------------
# 4. MMDistributedDataParallel of a CPU model
# --------------------------------------------------------------------------
def _patch_ddp_device_ids_on_cpu() -> None:
    from mmengine.model import MMDistributedDataParallel
    original = MMDistributedDataParallel.__init__
    if getattr(original, '_cavsync_compat', False):
        return

    def __init__(self, module, detect_anomalous_params=False, **kwargs):
        on_cpu = all(p.device.type == 'cpu' for p in module.parameters())
        if on_cpu and kwargs.get('output_device') is None:
            kwargs.pop('device_ids', None)
        original(self, module,
                 detect_anomalous_params=detect_anomalous_params, **kwargs)

    __init__._cavsync_compat = True
    __init__.__doc__ = original.__doc__
    MMDistributedDataParallel.__init__ = __init__


# --------------------------------------------------------------------------
# 5. _base_ = 'cavsync_mm::...'
# --------------------------------------------------------------------------
def _register_config_package() -> None:
    from mmengine.config import config as config_module
    from mmengine.config import utils as config_utils
    config_utils.MODULE2PACKAGE.setdefault('cavsync_mm', 'cavsync_mm')
    original = config_module.get_installed_path
    if getattr(original, '_cavsync_compat', False):
        return

    def get_installed_path(package: str) -> str:
        path = original(package)
        if not os.path.isdir(path):
            spec = importlib.util.find_spec(package.replace('-', '_'))
            if spec is not None and spec.origin is not None:
                return os.path.dirname(spec.origin)
        return path

    get_installed_path._cavsync_compat = True
    config_module.get_installed_path = get_installed_path


# --------------------------------------------------------------------------
# 6. import mmaction.models with the 1.2.0 wheel
# --------------------------------------------------------------------------
class _MissingDRN:
    """Stand-in for mmaction's DRN, which the PyPI wheel does not ship."""

    def __init__(self, *args, **kwargs):
        raise ImportError(
            'mmaction2 1.2.0 from PyPI lacks mmaction/models/localizers/drn; '
            'install mmaction2 from source to use DRN')


def _complete_mmaction_wheel() -> None:
    spec = importlib.util.find_spec('mmaction')
    if spec is None or spec.origin is None:
        return  # mmaction2 not installed: nothing to complete
    drn_dir = os.path.join(os.path.dirname(spec.origin), 'models',
                           'localizers', 'drn')
    if importlib.util.find_spec('timm') is None:
        from mmaction.utils import dependency
        dependency.WITH_MULTIMODAL = False  # VindLU imports timm
    name = 'mmaction.models.localizers.drn'
    if os.path.isdir(drn_dir) or name in sys.modules:
        return
    package = types.ModuleType(name)
    package.__path__ = []
    module = types.ModuleType(f'{name}.drn')
    module.DRN = _MissingDRN
    package.drn = module
    sys.modules[name] = package
    sys.modules[f'{name}.drn'] = module


_applied = False


def apply() -> None:
    """Apply every fix above (once; later calls do nothing)."""
    global _applied
    if _applied:
        return
    _patch_checkpoint_loader()
    _patch_amp_optim_wrapper()
    _patch_init_dist_pytorch()
    _patch_ddp_device_ids_on_cpu()
    _register_config_package()
    _complete_mmaction_wheel()
    _applied = True
