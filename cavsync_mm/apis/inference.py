"""Build a model from a config (and checkpoint) and extract features from one clip."""
from pathlib import Path
from typing import Dict, Optional, Union

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import _load_checkpoint

from cavsync_mm.compat import mmengine_checkpoint_globals
from cavsync_mm.models.pretrainers.state_dict_mapping import (release_to_cavsync,
                                                              strip_module_prefix)
from cavsync_mm.registry import MODELS


def _is_release_layout(state_dict: Dict[str, torch.Tensor]) -> bool:
    return any(key.startswith(('blocks_u.', 'module.blocks_u.')) for key in state_dict)


def load_model_weights(model: torch.nn.Module, checkpoint: Union[str, Path],
                       strict: bool = True) -> None:
    """Load an MMEngine checkpoint, a plain state dict or an authors' release checkpoint.

    Authors' CAV-MAE (Sync) checkpoints (``blocks_u.0...`` keys, with or without
    ``module.``) are converted on the fly. With ``strict`` a missing or
    unexpected key is an error naming the file.
    """
    # A Runner checkpoint pickles MMEngine / numpy types that torch >= 2.6
    # refuses under weights_only=True: allow exactly those, for this load only
    # (no global patch; see cavsync_mm.compat).
    with mmengine_checkpoint_globals():
        loaded = _load_checkpoint(str(checkpoint), map_location='cpu')
    state_dict = loaded.get('state_dict', loaded.get('model', loaded)) \
        if isinstance(loaded, dict) else loaded
    if _is_release_layout(state_dict):
        state_dict = release_to_cavsync(state_dict)
    state_dict = strip_module_prefix(state_dict)
    incompatible = model.load_state_dict(state_dict, strict=False)
    if strict and (incompatible.missing_keys or incompatible.unexpected_keys):
        raise KeyError(f'{checkpoint}: does not fit the model: missing keys '
                       f'{incompatible.missing_keys[:10]}, unexpected keys '
                       f'{incompatible.unexpected_keys[:10]}')


def init_model(config: Union[str, Path, Config], checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu',
               cfg_options: Optional[dict] = None, strict: bool = True) -> torch.nn.Module:
    """Build ``config.model`` (a path or a ``Config``), load ``checkpoint``, eval mode.

    The config is attached as ``model.cfg``.
    """
    if isinstance(config, (str, Path)):
        config = Config.fromfile(str(config))
    elif not isinstance(config, Config):
        raise TypeError(f'config must be a file path or a Config, got {type(config).__name__}')
    if cfg_options:
        config.merge_from_dict(cfg_options)
    init_default_scope(config.get('default_scope', 'cavsync_mm'))
    model = MODELS.build(config.model)
    if checkpoint is not None:
        load_model_weights(model, checkpoint, strict=strict)
    else:
        model.init_weights()
    model.cfg = config
    return model.to(device).eval()


@torch.no_grad()
def extract_features(model: torch.nn.Module, audio: torch.Tensor,
                     frames: torch.Tensor) -> Dict[str, torch.Tensor]:
    """Features of ONE clip as the pipeline packs it.

    ``audio``: normalised fbank ``(L, F)`` (one frame) or ``(T, L, F)`` (all
    frames); ``frames``: uint8 RGB ``(3, H, W)`` or ``(T, 3, H, W)``. Returns
    ``global_audio`` / ``global_visual`` ``(D,)`` or ``(T, D)``, patch tokens
    and (with registers) register tokens, without the batch dimension.
    """
    data = model.data_preprocessor({'inputs': {'audio': [audio], 'frames': [frames]}})
    features = model.extract_feat(data['inputs']['audio'], data['inputs']['frames'])
    return {key: value[0] for key, value in features.items()}
