#!/usr/bin/env python
"""FLOPs of a pretraining config's train step (forward + backward).

    python tools/analysis_tools/get_flops.py configs/cavsync/cavsync_vit-base-p16_8xb64-25e_as2m.py

The forward pass of one training step (``mode='loss'``: the masked encoders,
the joint block, the decoder and the losses, with the config's mask ratio) is
counted by MMEngine's ``FlopAnalyzer`` (fvcore's jit-trace counter), which
counts one multiply-add as one "flop" (a MAC); attention through torch's
``scaled_dot_product_attention`` is added by :func:`sdpa_macs`. The printed figures convert to
FLOPs (x 2). The backward pass costs about twice the forward (the gradients
with respect to the activations and to the weights), so a train step is
3 x the forward; optimizer and data preprocessing are not counted.
``tools/analysis_tools/benchmark_train.py`` divides these FLOPs by the
measured step time to report the model FLOPs utilisation (MFU) on a GPU.
"""
import argparse
from typing import Dict

import torch
from mmengine.config import Config
from torch import nn

import cavsync_mm  # noqa: F401  (registers the components)
from cavsync_mm import compat
from cavsync_mm.registry import MODELS, package_scope


def sdpa_macs(inputs, outputs) -> int:
    """Multiply-adds of ``aten::scaled_dot_product_attention`` (which
    FlopAnalyzer does not count): ``q @ k^T`` and ``softmax @ v``."""
    from mmengine.analysis.jit_handles import get_shape
    query, key, value = (get_shape(v) for v in inputs[:3])
    *batch, length, dims = query
    source = key[-2]
    count = 1
    for size in batch:
        count *= size
    return count * length * source * (dims + value[-1])


class _TrainForward(nn.Module):
    """``model(inputs, mode='loss')`` summed to one tensor, for jit tracing."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, audio, frames):
        losses = self.model({'audio': audio, 'frames': frames}, mode='loss')
        return sum(v for k, v in losses.items() if k.startswith('loss'))


def train_step_flops(model, batch_size: int = 1) -> Dict[str, float]:
    """``forward_macs``, ``forward_flops`` and ``train_step_flops`` (3 x
    forward) of one step on ``batch_size`` clips of the model's input sizes,
    traced on the device the model's parameters are on.
    """
    from mmengine.analysis import FlopAnalyzer
    audio_size, frame_shape = model.backbone.input_sizes
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(0)
    audio = torch.randn(batch_size, *audio_size,
                        generator=generator).to(device)
    frames = torch.randn(batch_size, *frame_shape,
                         generator=generator).to(device)
    was_training = model.training
    model.train()
    try:
        analyzer = FlopAnalyzer(_TrainForward(model), (audio, frames))
        analyzer.set_op_handle(
            'aten::scaled_dot_product_attention', sdpa_macs)
        analyzer.unsupported_ops_warnings(False)
        analyzer.uncalled_modules_warnings(False)
        macs = float(analyzer.total())
    finally:
        model.train(was_training)
    return dict(forward_macs=macs, forward_flops=2 * macs,
                train_step_flops=3 * 2 * macs)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='FLOPs of one pretraining step of a config\'s model')
    parser.add_argument('config')
    parser.add_argument('--batch-size', type=int, default=1,
                        help='clips per step (FLOPs grow linearly)')
    return parser.parse_args(argv)


def main(argv=None):
    compat.apply()
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    with package_scope():
        model = MODELS.build(cfg.model)
    flops = train_step_flops(model, args.batch_size)
    parameters = sum(p.numel() for p in model.parameters())
    print(f'config: {args.config}')
    print(f'parameters: {parameters / 1e6:.2f} M')
    print(f'batch: {args.batch_size} clip(s), mask ratio as configured')
    print(f'forward: {flops["forward_macs"] / 1e9:.4g} GMACs = '
          f'{flops["forward_flops"] / 1e9:.4g} GFLOPs')
    print(f'train step (forward + backward = 3 x forward): '
          f'{flops["train_step_flops"] / 1e9:.4g} GFLOPs')
    return flops


if __name__ == '__main__':
    main()
