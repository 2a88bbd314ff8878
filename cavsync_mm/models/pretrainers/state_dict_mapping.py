"""Key mapping between this toolkit's state dicts and the authors' / MAE checkpoints.

Our keys use the paper's words (``backbone.audio_global_token``,
``backbone.joint_block``, ``neck.audio_prediction``...). The authors' CAV-MAE
Sync and CAV-MAE releases use ``cls_token_a``, ``blocks_u.0``,
``decoder_pred_a``... and were saved from ``DataParallel`` (prefix ``module.``).
"""
import re
from collections import OrderedDict
from typing import Dict, Iterable, List, Tuple

import torch

# (release name, our name): exact names, or prefixes when ending with '.'
RELEASE_TO_OURS: List[Tuple[str, str]] = [
    ('modality_a', 'backbone.audio_modality_embedding'),
    ('modality_v', 'backbone.visual_modality_embedding'),
    ('pos_embed_a', 'backbone.audio_position_embedding'),
    ('pos_embed_v', 'backbone.visual_position_embedding'),
    ('cls_token_a', 'backbone.audio_global_token'),
    ('cls_token_v', 'backbone.visual_global_token'),
    ('register_tokens', 'backbone.register_tokens'),
    ('patch_embed_a.', 'backbone.audio_patch_embed.'),
    ('patch_embed_v.', 'backbone.visual_patch_embed.'),
    ('blocks_a.', 'backbone.audio_encoder.'),
    ('blocks_v.', 'backbone.visual_encoder.'),
    ('blocks_u.0.', 'backbone.joint_block.'),
    ('norm_a.', 'backbone.audio_norm.'),
    ('norm_v.', 'backbone.visual_norm.'),
    ('norm.', 'backbone.joint_norm.'),
    ('constrative_head_audio.', 'backbone.audio_contrastive_head.'),
    ('constrative_head_visual.', 'backbone.visual_contrastive_head.'),
    ('decoder_embed.', 'neck.decoder_embed.'),
    ('mask_token', 'neck.mask_token'),
    ('decoder_modality_a', 'neck.audio_modality_embedding'),
    ('decoder_modality_v', 'neck.visual_modality_embedding'),
    ('decoder_pos_embed_a', 'neck.audio_position_embedding'),
    ('decoder_pos_embed_v', 'neck.visual_position_embedding'),
    ('decoder_blocks.', 'neck.blocks.'),
    ('decoder_norm.', 'neck.norm.'),
    ('decoder_pred_a.', 'neck.audio_prediction.'),
    ('decoder_pred_v.', 'neck.visual_prediction.'),
]
# LayerNorm names inside a block
BLOCK_NORMS = [('norm1_a.', 'norm1_audio.'), ('norm1_v.', 'norm1_visual.'),
               ('norm2_a.', 'norm2_audio.'), ('norm2_v.', 'norm2_visual.')]
BLOCK_PARTS = ('norm1.', 'norm2.', 'norm1_audio.', 'norm1_visual.', 'norm2_audio.',
               'norm2_visual.', 'attn.qkv.', 'attn.proj.', 'mlp.fc1.', 'mlp.fc2.')
BLOCK_PREFIXES = ('blocks_a.', 'blocks_v.', 'blocks_u.0.', 'constrative_head_audio.',
                  'constrative_head_visual.', 'decoder_blocks.')


def strip_module_prefix(state_dict: Dict[str, torch.Tensor]) -> 'OrderedDict[str, torch.Tensor]':
    """Remove the ``module.`` prefix that ``DataParallel`` / DDP checkpoints carry."""
    return OrderedDict((key[len('module.'):] if key.startswith('module.') else key, value)
                       for key, value in state_dict.items())


def _rename(key: str, rules: List[Tuple[str, str]], norms: List[Tuple[str, str]],
            block_prefixes: Iterable[str]) -> str:
    for source, target in rules:
        if source.endswith('.'):
            if not key.startswith(source):
                continue
            rest = key[len(source):]
            if any(source == prefix for prefix in block_prefixes):
                for norm_source, norm_target in norms:
                    rest = re.sub(r'(^|\.)' + re.escape(norm_source), r'\g<1>' + norm_target,
                                  rest, count=1)
            return target + rest
        if key == source:
            return target
    raise KeyError(key)


def detect_release(state_dict: Dict[str, torch.Tensor]) -> str:
    """``'cavmae_sync'`` (global or register tokens present) or ``'cavmae'``."""
    keys = set(strip_module_prefix(state_dict))
    if {'cls_token_a', 'register_tokens'} & keys:
        return 'cavmae_sync'
    return 'cavmae'


def expected_release_keys(state_dict: Dict[str, torch.Tensor]) -> List[str]:
    """Keys a complete release checkpoint of the same depths/options must have."""
    keys = set(state_dict)

    def depth(prefix):
        indices = {int(key[len(prefix):].split('.')[0]) for key in keys
                   if key.startswith(prefix)}
        return max(indices) + 1 if indices else 0

    def block(prefix):
        parts = ['norm1', 'norm1_a', 'norm1_v', 'attn.qkv', 'attn.proj',
                 'norm2', 'norm2_a', 'norm2_v', 'mlp.fc1', 'mlp.fc2']
        return [f'{prefix}{part}.{kind}' for part in parts for kind in ('weight', 'bias')]

    expected = ['modality_a', 'modality_v', 'pos_embed_a', 'pos_embed_v', 'mask_token',
                'decoder_modality_a', 'decoder_modality_v', 'decoder_pos_embed_a',
                'decoder_pos_embed_v']
    if 'cls_token_a' in keys or 'cls_token_v' in keys:
        expected += ['cls_token_a', 'cls_token_v']
    if 'register_tokens' in keys:
        expected.append('register_tokens')
    for name in ('patch_embed_a.proj', 'patch_embed_v.proj', 'norm_a', 'norm_v', 'norm',
                 'decoder_embed', 'decoder_norm', 'decoder_pred_a', 'decoder_pred_v'):
        expected += [f'{name}.weight', f'{name}.bias']
    for prefix in ('blocks_a.', 'blocks_v.', 'decoder_blocks.', 'constrative_head_audio.',
                   'constrative_head_visual.'):
        for index in range(depth(prefix)):
            expected += block(f'{prefix}{index}.')
    expected += block('blocks_u.0.')
    return expected


def release_to_cavsync(state_dict: Dict[str, torch.Tensor]) -> 'OrderedDict[str, torch.Tensor]':
    """Authors' CAV-MAE Sync / CAV-MAE state dict -> this toolkit's ``CAVMAESync`` keys.

    Raises ``KeyError`` naming every unknown or missing key.
    """
    state_dict = strip_module_prefix(state_dict)
    unknown, converted = [], OrderedDict()
    for key, value in state_dict.items():
        try:
            converted[_rename(key, RELEASE_TO_OURS, BLOCK_NORMS, BLOCK_PREFIXES)] = value
        except KeyError:
            unknown.append(key)
    missing = [key for key in expected_release_keys(state_dict) if key not in state_dict]
    if unknown or missing:
        raise KeyError(f'not a CAV-MAE (Sync) release state dict: unknown keys {unknown[:20]}'
                       f'{" ..." if len(unknown) > 20 else ""}, missing keys {missing[:20]}'
                       f'{" ..." if len(missing) > 20 else ""}')
    return converted


def cavsync_to_release(state_dict: Dict[str, torch.Tensor],
                       module_prefix: bool = True) -> 'OrderedDict[str, torch.Tensor]':
    """This toolkit's ``CAVMAESync`` state dict -> the authors' layout (``module.`` prefixed)."""
    ours_to_release = [(ours, release) for release, ours in RELEASE_TO_OURS]
    norms = [(ours, release) for release, ours in BLOCK_NORMS]
    block_prefixes = [ours for release, ours in RELEASE_TO_OURS if release in BLOCK_PREFIXES]
    # longest prefixes first so that e.g. 'backbone.audio_norm.' is not shadowed
    ours_to_release.sort(key=lambda pair: -len(pair[0]))
    unknown, converted = [], OrderedDict()
    prefix = 'module.' if module_prefix else ''
    for key, value in state_dict.items():
        try:
            converted[prefix + _rename(key, ours_to_release, norms, block_prefixes)] = value
        except KeyError:
            unknown.append(key)
    if unknown:
        raise KeyError(f'keys without a release name: {unknown[:20]}')
    return converted


# Parameters the MAE recipe leaves to the model's own initialisation (regular
# expressions on cavsync_mm keys); tools/model_converters/mae_to_cavsync.py
# writes them into the converted file's meta, where the load check reads them.
MAE_INIT_LEFT_TO_MODEL = (r'(^|\.)(audio|visual)_modality_embedding$',
                          r'(^|\.)(audio|visual)_global_token$',
                          r'(^|\.)register_tokens$',
                          r'(^|\.)audio_position_embedding$')


def mae_to_cavsync(mae_state_dict: Dict[str, torch.Tensor],
                   encoder_depth: int = 11,
                   audio_prediction_size: int = 256,
                   cls_to_global_tokens: bool = True
                   ) -> 'OrderedDict[str, torch.Tensor]':
    """ImageNet MAE (ViT with decoder, facebookresearch/mae names) -> pretraining init.

    The CAV-MAE recipe: MAE blocks ``0..encoder_depth-1`` initialise both
    modality encoders, block ``encoder_depth`` the joint block (its norm1/norm2
    also into the audio and visual norms); the final norm initialises
    ``audio_norm``, ``visual_norm`` and ``joint_norm``; the visual position
    embedding is MAE's without its cls row; the audio patch embedding is the
    RGB one summed over channels; the decoder is copied, the audio decoder
    head is the first ``audio_prediction_size`` rows of the RGB head.
    With ``cls_to_global_tokens`` (default, as CAV-MAE's adapt script does
    for its modality tokens) MAE's ``cls_token`` initialises both global
    tokens; False leaves them to the model's init (and suits a model without
    global tokens).
    Not initialised (left to the model's own init): modality embeddings,
    register tokens, audio position embeddings.
    Every block gets its norm1/norm2 in all three norm sets (the unused
    audio/visual norms of the encoder and decoder blocks included).
    """
    sd = strip_module_prefix(mae_state_dict)
    num_blocks = len({key.split('.')[1] for key in sd if key.startswith('blocks.')})
    if num_blocks != encoder_depth + 1:
        raise ValueError(f'the MAE checkpoint has {num_blocks} blocks, the encoders need '
                         f'{encoder_depth} + 1 (joint block)')
    required = ['pos_embed', 'patch_embed.proj.weight', 'patch_embed.proj.bias', 'norm.weight',
                'decoder_embed.weight', 'mask_token', 'decoder_pos_embed', 'decoder_norm.weight',
                'decoder_pred.weight']
    missing = [key for key in required if key not in sd]
    if missing:
        raise KeyError(f'not an MAE checkpoint with decoder: missing {missing}')
    out = OrderedDict()

    def copy_block(source: str, target: str):
        for key, value in sd.items():
            if not key.startswith(source):
                continue
            rest = key[len(source):]
            out[target + rest] = value.clone()
            for shared in ('norm1.', 'norm2.'):
                if rest.startswith(shared):
                    for modality in ('audio', 'visual'):
                        out[target + shared[:-1] + '_' + modality + '.' +
                            rest[len(shared):]] = value.clone()

    weight = sd['patch_embed.proj.weight']
    out['backbone.audio_patch_embed.proj.weight'] = weight.sum(dim=1, keepdim=True)
    out['backbone.audio_patch_embed.proj.bias'] = sd['patch_embed.proj.bias'].clone()
    out['backbone.visual_patch_embed.proj.weight'] = weight.clone()
    out['backbone.visual_patch_embed.proj.bias'] = sd['patch_embed.proj.bias'].clone()
    out['backbone.visual_position_embedding'] = sd['pos_embed'][:, 1:].clone()
    if cls_to_global_tokens:
        if 'cls_token' not in sd:
            raise KeyError('the MAE checkpoint has no cls_token to copy into '
                           'the global tokens (cls_to_global_tokens=False '
                           'leaves them random)')
        for modality in ('audio', 'visual'):
            out[f'backbone.{modality}_global_token'] = sd['cls_token'].clone()
    for index in range(encoder_depth):
        copy_block(f'blocks.{index}.', f'backbone.audio_encoder.{index}.')
        copy_block(f'blocks.{index}.', f'backbone.visual_encoder.{index}.')
    copy_block(f'blocks.{encoder_depth}.', 'backbone.joint_block.')
    for name in ('audio_norm', 'visual_norm', 'joint_norm'):
        out[f'backbone.{name}.weight'] = sd['norm.weight'].clone()
        out[f'backbone.{name}.bias'] = sd['norm.bias'].clone()
    out['neck.decoder_embed.weight'] = sd['decoder_embed.weight'].clone()
    out['neck.decoder_embed.bias'] = sd['decoder_embed.bias'].clone()
    out['neck.mask_token'] = sd['mask_token'].clone()
    out['neck.visual_position_embedding'] = sd['decoder_pos_embed'][:, 1:].clone()
    for index in sorted({int(key.split('.')[1]) for key in sd if key.startswith('decoder_blocks.')}):
        copy_block(f'decoder_blocks.{index}.', f'neck.blocks.{index}.')
    out['neck.norm.weight'] = sd['decoder_norm.weight'].clone()
    out['neck.norm.bias'] = sd['decoder_norm.bias'].clone()
    out['neck.visual_prediction.weight'] = sd['decoder_pred.weight'].clone()
    out['neck.visual_prediction.bias'] = sd['decoder_pred.bias'].clone()
    out['neck.audio_prediction.weight'] = sd['decoder_pred.weight'][:audio_prediction_size].clone()
    out['neck.audio_prediction.bias'] = sd['decoder_pred.bias'][:audio_prediction_size].clone()
    return out
