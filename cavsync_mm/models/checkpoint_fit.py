"""Refuse to start from weights that do not fit the model.

MMEngine loads ``load_from`` and ``init_cfg=dict(type='Pretrained')`` with
``strict=False``: an unconverted release file, an ImageNet MAE file or a
checkpoint of another width loads nothing, logs size-mismatch warnings and
trains from random weights with exit status 0. :func:`check_checkpoint_fit`
compares keys and shapes first and raises :class:`CheckpointMismatchError`
naming the converter that produces a fitting file. Partial loading stays
possible, but only when asked for (``allow_partial=True``); a file converted
by ``mae_to_cavsync.py`` lists in its meta the parameters it leaves to the
model's initialisation, and only those may be missing from it.
"""
import logging
import re
from typing import Dict, Iterable, List, Optional

import torch
from mmengine.logging import print_log

OFFICIAL_CONVERTER = 'tools/model_converters/official_to_cavsync.py'
MAE_CONVERTER = 'tools/model_converters/mae_to_cavsync.py'


class CheckpointMismatchError(ValueError):
    """A checkpoint's keys or shapes do not fit the model."""


def checkpoint_state_dict(checkpoint: dict) -> Dict[str, torch.Tensor]:
    """The weights of a loaded checkpoint (``state_dict`` / ``model`` entry
    or the dict itself), without a ``module.`` prefix."""
    for key in ('state_dict', 'model'):
        if isinstance(checkpoint.get(key), dict):
            checkpoint = checkpoint[key]
            break
    return {re.sub(r'^module\.', '', k): v for k, v in checkpoint.items()
            if isinstance(v, torch.Tensor)}


def _converter_hint(keys: Iterable[str]) -> str:
    keys = set(keys)
    if {'cls_token_a', 'register_tokens', 'patch_embed_a.proj.weight'} & keys:
        return (f'it is in the authors\' release layout: convert it with '
                f'python {OFFICIAL_CONVERTER} SRC DST')
    if any(k.startswith(('blocks.', 'decoder_blocks.')) for k in keys) and \
            'patch_embed.proj.weight' in keys:
        return ('it is an ImageNet MAE ViT checkpoint: convert it with '
                f'python {MAE_CONVERTER} SRC DST')
    return (f'release files of the authors need python {OFFICIAL_CONVERTER}'
            f' SRC DST, ImageNet MAE files python {MAE_CONVERTER} SRC DST; '
            'a checkpoint of another model or width cannot be converted')


def _examples(items: List[str], limit: int = 5) -> str:
    more = f', ... ({len(items)} in all)' if len(items) > limit else ''
    return ', '.join(items[:limit]) + more


def _as_the_model_reads_it(model: torch.nn.Module,
                           weights: Dict[str, torch.Tensor]
                           ) -> Dict[str, torch.Tensor]:
    """``weights`` after the model's load-state-dict pre-hooks, which may
    rename keys (e.g. a localizer accepting a bare backbone checkpoint).

    ``Module.load_state_dict`` runs each module's pre-hooks, parent before
    children, with the module's key prefix; the same is done here on a
    shallow copy (tensors are not touched).
    """
    weights = dict(weights)
    for name, module in model.named_modules():
        hooks = getattr(module, '_load_state_dict_pre_hooks', {})
        for hook in list(hooks.values()):
            hook(weights, f'{name}.' if name else '', {}, True, [], [], [])
    return weights


def check_checkpoint_fit(model: torch.nn.Module,
                         checkpoint: dict, source: str,
                         allow_partial: bool = False,
                         partial_flag: str = 'allow_partial=True') -> None:
    """Raise :class:`CheckpointMismatchError` unless ``checkpoint`` fills
    every entry of ``model.state_dict()`` with a tensor of the same shape
    and holds nothing else (after the model's own key renaming on load).

    Args:
        model: the module the checkpoint is loaded into.
        checkpoint: the loaded file (a dict with ``state_dict`` and ``meta``,
            or a bare state dict).
        source: the file, named in the message.
        allow_partial: log the differences as a warning instead.
        partial_flag: the config setting that allows partial loading,
            named in the message.
    """
    model_state = model.state_dict()
    if not model_state:  # e.g. the centre-prior baseline: nothing to load
        print_log(f'{source}: not used, the model has no weights',
                  logger='current')
        return
    weights = _as_the_model_reads_it(model, checkpoint_state_dict(checkpoint))
    meta = checkpoint.get('meta') if isinstance(checkpoint.get('meta'),
                                                dict) else {}
    left_to_model = [re.compile(p) for p in
                     meta.get('left_to_model_init', [])]
    missing = [k for k in model_state if k not in weights
               and not any(p.search(k) for p in left_to_model)]
    unexpected = [k for k in weights if k not in model_state]
    mismatched = [f'{k} {tuple(weights[k].shape)} vs the model\'s '
                  f'{tuple(model_state[k].shape)}' for k in weights
                  if k in model_state
                  and weights[k].shape != model_state[k].shape]
    if not (missing or unexpected or mismatched):
        if left_to_model:
            kept = [k for k in model_state if k not in weights]
            print_log(f'{source}: loaded; left to the model\'s own '
                      f'initialisation as the file declares: '
                      f'{_examples(kept, 10)}', logger='current')
        return
    parts = [f'{len(label_items)} {label} ({_examples(label_items)})'
             for label, label_items in (
                 ('parameters missing from the file', missing),
                 ('entries the model does not have', unexpected),
                 ('shape mismatches', mismatched)) if label_items]
    message = (f'checkpoint {source} does not fit the model: '
               f'{"; ".join(parts)}. Loading it would leave these weights '
               f'at their random initialisation. '
               f'{_converter_hint(weights)}.')
    if not allow_partial:
        raise CheckpointMismatchError(
            f'{message} To load the matching part on purpose, set '
            f'{partial_flag}.')
    print_log(f'{message} Loading the matching part ({partial_flag}).',
              logger='current', level=logging.WARNING)


def load_pretrained_checked(
        module: torch.nn.Module, init_cfg: dict,
        partial_flag: str = 'allow_partial=True in the init_cfg') -> None:
    """``init_cfg=dict(type='Pretrained', checkpoint=..., prefix=None,
    allow_partial=False)`` for a module: checks the fit, then loads."""
    from mmengine.runner.checkpoint import _load_checkpoint, load_state_dict
    source = init_cfg['checkpoint']
    prefix: Optional[str] = init_cfg.get('prefix')
    checkpoint = _load_checkpoint(source, map_location='cpu')
    if prefix is not None:
        # as MMEngine's _load_checkpoint_with_prefix, after the removal of
        # a DDP ``module.`` prefix, with the file named when nothing matches
        prefix = prefix if prefix.endswith('.') else prefix + '.'
        checkpoint = {key[len(prefix):]: value for key, value in
                      checkpoint_state_dict(checkpoint).items()
                      if key.startswith(prefix)}
        if not checkpoint:
            raise CheckpointMismatchError(
                f'checkpoint {source} holds no weights under {prefix!r} '
                f'(init_cfg prefix)')
    allow_partial = bool(init_cfg.get('allow_partial', False))
    check_checkpoint_fit(module, checkpoint, source,
                         allow_partial=allow_partial,
                         partial_flag=partial_flag)
    load_state_dict(module, checkpoint_state_dict(checkpoint), strict=False,
                    logger='current')
