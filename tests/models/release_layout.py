"""Random state dicts in the authors' layout, built from the reference tsv files."""
import math
from pathlib import Path
from typing import Dict, List, Tuple

import torch

REFERENCE_DIR = Path(__file__).resolve().parents[2].parent / 'shared' / 'reference'
SYNC_TSV = 'official_cavmaesync_state_dict.tsv'
CAVMAE_TSV = 'official_cavmae_state_dict.tsv'


def read_layout(name: str) -> List[Tuple[str, Tuple[int, ...]]]:
    """``[(key, shape)]`` of a reference tsv (without the ``module.`` prefix)."""
    rows = []
    for line in (REFERENCE_DIR / name).read_text().splitlines():
        if not line.strip() or line.startswith('#'):
            continue
        key, shape = line.split('\t')
        rows.append((key, tuple(int(dim) for dim in shape.strip('()').split(',') if dim.strip())))
    return rows


def shrink_layout(rows, dims: int, decoder_dims: int, num_audio_patches: int,
                  num_visual_patches: int, encoder_depth: int, decoder_depth: int):
    """The same keys at a tiny width: 768 -> dims, 512 -> decoder_dims, fewer blocks."""
    full = {768: dims, 2304: 3 * dims, 3072: 4 * dims, 512: decoder_dims,
            1536: 3 * decoder_dims, 2048: 4 * decoder_dims, 196: num_visual_patches}
    small = []
    for key, shape in rows:
        parts = key.split('.')
        if parts[0] in ('blocks_a', 'blocks_v') and int(parts[1]) >= encoder_depth:
            continue
        if parts[0] == 'decoder_blocks' and int(parts[1]) >= decoder_depth:
            continue
        if key.startswith('decoder_pred'):  # patch values stay 256 / 768
            shape = (shape[0],) + tuple(full.get(dim, dim) for dim in shape[1:])
        elif key in ('pos_embed_a', 'decoder_pos_embed_a'):  # (1, patches, width)
            shape = (1, num_audio_patches, full[shape[2]])
        else:
            shape = tuple(full.get(dim, dim) for dim in shape)
        small.append((key, shape))
    return small


def random_state_dict(rows, seed: int = 0, dtype=torch.float32,
                      module_prefix: bool = True) -> Dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    state_dict = {}
    for key, shape in rows:
        value = torch.randn(shape, generator=generator) * 0.2
        if key.endswith('.weight') and len(shape) == 1:  # LayerNorm scale
            value = value + 1.
        name = ('module.' if module_prefix else '') + key
        state_dict[name] = value.to(dtype)
    return state_dict


def count_values(rows) -> int:
    return sum(math.prod(shape) for _, shape in rows)
