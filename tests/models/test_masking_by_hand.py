"""MAE random masking (SPEC sec. 2: keep int(P * (1 - ratio)) tokens chosen by
argsort of uniform noise, per sample), checked against the same recipe
written out with numpy from the same noise."""
import numpy as np
import pytest
import torch

from cavsync_mm.models.layers import random_masking


@pytest.mark.parametrize('length,ratio,keep', [(10, 0.75, 2), (16, 0.75, 4),
                                               (7, 0.5, 3), (5, 0.0, 5),
                                               (12, 0.9, 1)])
def test_random_masking_equals_the_recipe(length, ratio, keep):
    batch, dims = 3, 2
    tokens = torch.randn(batch, length, dims, generator=torch.Generator().manual_seed(1))
    kept, mask, ids_restore = random_masking(
        tokens, ratio, generator=torch.Generator().manual_seed(7))
    assert int(length * (1 - ratio)) == keep
    noise = torch.rand(batch, length, generator=torch.Generator().manual_seed(7)).numpy()
    for n in range(batch):
        order = np.argsort(noise[n], kind='stable')       # smallest noise first
        np.testing.assert_array_equal(kept[n].numpy(), tokens[n].numpy()[order[:keep]])
        expected_mask = np.ones(length)
        expected_mask[order[:keep]] = 0                    # 0 = kept, 1 = removed
        np.testing.assert_array_equal(mask[n].numpy(), expected_mask)
        # ids_restore is the inverse permutation of the noise order
        np.testing.assert_array_equal(ids_restore[n].numpy(), np.argsort(order))
    assert kept.shape == (batch, keep, dims)
    assert mask.dtype == torch.float32 and mask.sum().item() == batch * (length - keep)


def test_mask_ratio_must_be_in_0_1():
    tokens = torch.zeros(1, 4, 2)
    for bad in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match='mask_ratio'):
            random_masking(tokens, bad)
