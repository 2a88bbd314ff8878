"""An independent, compact re-statement of the authors' ``forward_feat`` math.

It works directly on a state dict in the authors' layout (``blocks_a.0.norm1_a``,
``cls_token_a``, ``register_tokens``...) with plain functional ops and a
hand-written softmax attention, so that a model loaded through the converter can
be checked against it. Written from the facts of SPEC.md, not from the release.
"""
import math
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F

NORM_NAMES = {None: ('norm1', 'norm2'), 'a': ('norm1_a', 'norm2_a'), 'v': ('norm1_v', 'norm2_v')}


def layer_norm(x, sd, name, eps):
    return F.layer_norm(x, x.shape[-1:], sd[f'{name}.weight'], sd[f'{name}.bias'], eps)


def block(x, sd, prefix, heads, modality, eps):
    norm1, norm2 = NORM_NAMES[modality]
    n, length, dims = x.shape
    h = layer_norm(x, sd, prefix + norm1, eps)
    qkv = h @ sd[prefix + 'attn.qkv.weight'].t() + sd[prefix + 'attn.qkv.bias']
    qkv = qkv.reshape(n, length, 3, heads, dims // heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(dims // heads), dim=-1)
    attended = (weights @ v).transpose(1, 2).reshape(n, length, dims)
    x = x + attended @ sd[prefix + 'attn.proj.weight'].t() + sd[prefix + 'attn.proj.bias']
    h = layer_norm(x, sd, prefix + norm2, eps)
    h = F.gelu(h @ sd[prefix + 'mlp.fc1.weight'].t() + sd[prefix + 'mlp.fc1.bias'])
    return x + h @ sd[prefix + 'mlp.fc2.weight'].t() + sd[prefix + 'mlp.fc2.bias']


def depth(sd, prefix):
    return len({key[len(prefix):].split('.')[0] for key in sd if key.startswith(prefix)})


def release_forward_feat(sd: Dict[str, torch.Tensor], audio: torch.Tensor, frames: torch.Tensor,
                         heads: int, eps: float = 1e-5, keep_registers: bool = False
                         ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """-> (global audio, global visual, audio patch tokens, visual patch tokens)."""
    sd = {key[7:] if key.startswith('module.') else key: value for key, value in sd.items()}
    a = audio.unsqueeze(1).transpose(2, 3)
    a = F.conv2d(a, sd['patch_embed_a.proj.weight'], sd['patch_embed_a.proj.bias'], stride=16)
    a = a.flatten(2).transpose(1, 2) + sd['pos_embed_a'] + sd['modality_a']
    v = F.conv2d(frames, sd['patch_embed_v.proj.weight'], sd['patch_embed_v.proj.bias'], stride=16)
    v = v.flatten(2).transpose(1, 2) + sd['pos_embed_v'] + sd['modality_v']
    n = a.shape[0]
    has_cls = 'cls_token_a' in sd
    registers: Optional[torch.Tensor] = sd.get('register_tokens')
    num_registers = 0 if registers is None else registers.shape[0] // 2
    if has_cls:
        a = torch.cat([sd['cls_token_a'].expand(n, -1, -1), a], dim=1)
        v = torch.cat([sd['cls_token_v'].expand(n, -1, -1), v], dim=1)
    if num_registers:
        a = torch.cat([a, registers[:num_registers].expand(n, -1, -1)], dim=1)
        v = torch.cat([v, registers[num_registers:].expand(n, -1, -1)], dim=1)
    for index in range(depth(sd, 'blocks_a.')):
        a = block(a, sd, f'blocks_a.{index}.', heads, None, eps)
    for index in range(depth(sd, 'blocks_v.')):
        v = block(v, sd, f'blocks_v.{index}.', heads, None, eps)
    if num_registers and not keep_registers:
        a, v = a[:, :-num_registers], v[:, :-num_registers]
    ca = layer_norm(block(a, sd, 'blocks_u.0.', heads, 'a', eps), sd, 'norm_a', eps)
    cv = layer_norm(block(v, sd, 'blocks_u.0.', heads, 'v', eps), sd, 'norm_v', eps)
    if num_registers and keep_registers:
        ca, cv = ca[:, :-num_registers], cv[:, :-num_registers]
    if has_cls:
        return ca[:, 0], cv[:, 0], ca[:, 1:], cv[:, 1:]
    return ca.mean(dim=1), cv.mean(dim=1), ca, cv
