"""The attention of every block is mmpretrain's MultiheadAttention: same
state-dict keys and bit-exact outputs as the hand-written layer it replaced
(fused qkv -> torch SDPA -> proj)."""
import torch
import torch.nn.functional as F
from mmpretrain.models.utils import MultiheadAttention

from cavsync_mm.models.layers import MultiheadSelfAttention


def hand_written_attention(layer, tokens):
    """The replaced implementation, kept here as the reference."""
    batch, length, dims = tokens.shape
    qkv = layer.qkv(tokens).reshape(batch, length, 3, layer.num_heads,
                                    dims // layer.num_heads)
    query, key, value = qkv.permute(2, 0, 3, 1, 4).unbind(0)
    attended = F.scaled_dot_product_attention(query, key, value)
    return layer.proj(attended.transpose(1, 2).reshape(batch, length, dims))


def test_mmpretrain_attention_is_bit_exact_with_the_same_keys():
    torch.manual_seed(0)
    layer = MultiheadSelfAttention(64, 4)
    assert isinstance(layer, MultiheadAttention)
    assert sorted(layer.state_dict()) == [
        'proj.bias', 'proj.weight', 'qkv.bias', 'qkv.weight']
    tokens = torch.randn(3, 17, 64)
    for mode in (layer.train, layer.eval):  # no dropout in either mode
        mode()
        assert torch.equal(layer(tokens), hand_written_attention(layer, tokens))
