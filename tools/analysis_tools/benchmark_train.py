#!/usr/bin/env python
"""Training-step speed and memory of a pretraining config's model on synthetic inputs.

    python tools/analysis_tools/benchmark_train.py configs/cavsync/cavsync_vit-base-p16_8xb64-25e_as2m.py \
        --batch-size 2 --device cpu --steps 5

One step = data preprocessor + forward (mode='loss') + backward + Adam step of
the real model, on random audio segments and uint8 frames of the config's
sizes (no data loading). Prints the median step time, clips/s and the peak
memory (CUDA: ``torch.cuda.max_memory_allocated``; CPU: the process's peak
resident set size, ``resource.getrusage`` ru_maxrss, which includes the Python
runtime and the model).

``--guard`` also times every step with NonFiniteGuardHook's checks (loss
terms, gradients before the step, weights after it), alternating guarded and
plain steps in the same process, and prints the guarded / plain ratio.

On a GPU it also prints the model FLOPs utilisation: the train step's FLOPs
(``get_flops.py``: 3 x the forward pass, counted on this model) per median
step time, over the GPU's dense peak for the step's dtype (bfloat16 with
--amp, float32 without; ``--peak-tflops`` for GPUs not in ``PEAK_TFLOPS``).
"""
import argparse
import resource
import statistics
import time
from contextlib import nullcontext
from typing import Callable, Optional

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from tqdm import tqdm

import cavsync_mm  # noqa: F401  (registers the components)
from cavsync_mm.engine import NonFiniteGuardHook
from cavsync_mm import compat
from cavsync_mm.registry import MODELS
from get_flops import train_step_flops  # this folder (sys.path[0])

# Dense peak TFLOP/s from the vendors' data sheets (SXM parts; the A100's
# PCIe part has the same peaks). tfloat32: float32 matmuls run as TF32.
PEAK_TFLOPS = {
    'H200': dict(bfloat16=989.4, float16=989.4, tfloat32=494.7, float32=66.9),
    'H100': dict(bfloat16=989.4, float16=989.4, tfloat32=494.7, float32=66.9),
    'A100': dict(bfloat16=312.0, float16=312.0, tfloat32=156.0, float32=19.5),
}
# parts whose name holds a key of PEAK_TFLOPS but whose peaks are lower
OTHER_PARTS = ('H100 PCIe', 'H100 NVL')


def peak_tflops(device_name: str, dtype: str) -> Optional[float]:
    """Dense peak TFLOP/s of the GPU called ``device_name`` (as
    ``torch.cuda.get_device_name`` gives it) for matmuls in ``dtype``
    (a key of the PEAK_TFLOPS entries), None for GPUs not in the table."""
    if any(part.lower() in device_name.lower() for part in OTHER_PARTS):
        return None
    for key, peaks in PEAK_TFLOPS.items():
        if key in device_name.upper():
            return peaks.get(dtype)
    return None


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='benchmark a pretraining step')
    parser.add_argument('config')
    parser.add_argument('--batch-size', type=int, default=2, help='clips per step')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--amp', action='store_true',
                        help='bfloat16 autocast (as AmpOptimWrapper dtype=bfloat16)')
    parser.add_argument('--compile', action='store_true', help='torch.compile the model')
    parser.add_argument('--steps', type=int, default=5, help='timed steps')
    parser.add_argument('--warmup', type=int, default=1, help='untimed steps first')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument('--guard', action='store_true',
                        help='also time steps guarded by NonFiniteGuardHook (alternating)')
    parser.add_argument('--peak-tflops', type=float, default=None,
                        help='the GPU\'s dense peak for the step\'s dtype (MFU); default: '
                        'PEAK_TFLOPS by device name')
    return parser.parse_args(argv)


def synthetic_batch(model, batch_size, generator):
    audio_size, frame_shape = model.backbone.input_sizes
    return {'inputs': {
        'audio': torch.randn(batch_size, *audio_size, generator=generator),
        'frames': torch.randint(0, 256, (batch_size, *frame_shape), generator=generator,
                                dtype=torch.uint8)}}


def build_model(cfg, device):
    """The config's model, in train mode, on ``device``."""
    init_default_scope(cfg.get('default_scope', 'cavsync_mm'))
    return MODELS.build(cfg.model).to(device).train()


def build_optimizer(model, cfg):
    """Adam with the lr, betas and weight decay of the config's optimizer."""
    optimizer_cfg = cfg.optim_wrapper.optimizer
    return torch.optim.Adam(model.parameters(), lr=optimizer_cfg.get('lr', 2e-4),
                            betas=tuple(optimizer_cfg.get('betas', (0.9, 0.999))),
                            weight_decay=optimizer_cfg.get('weight_decay', 0.))


def make_train_step(model, optimizer, batch_size: int, device,
                    amp_dtype: Optional[torch.dtype] = None, compile: bool = False,
                    generator: Optional[torch.Generator] = None,
                    batch: Optional[dict] = None) -> Callable[[], None]:
    """One train step of ``model`` as a function without arguments.

    The step runs the data preprocessor, the forward pass ``mode='loss'``
    (``torch.compile``'d with ``compile``) under ``amp_dtype`` autocast
    (None: float32), the backward pass of the summed loss terms and the
    optimizer step; float16 scales the loss with a ``GradScaler``, as
    ``AmpOptimWrapper`` does. On CUDA it waits for the GPU before returning.
    Every step draws a new synthetic batch from ``generator``
    (:func:`synthetic_batch`), or reuses ``batch`` when one is given (e.g. a
    batch kept on the GPU, so that only the model is timed).
    """
    device_type = torch.device(device).type
    forward = torch.compile(model) if compile else model
    autocast = (torch.autocast(device_type, dtype=amp_dtype) if amp_dtype is not None
                else nullcontext())
    scaler = torch.amp.GradScaler(device_type) if amp_dtype == torch.float16 else None
    if generator is None:
        generator = torch.Generator().manual_seed(0)

    def step():
        inputs = batch if batch is not None else synthetic_batch(model, batch_size, generator)
        data = model.data_preprocessor(inputs, True)
        with autocast:
            losses = forward(**data, mode='loss')
        loss = sum(value for key, value in losses.items() if 'loss' in key)
        optimizer.zero_grad(set_to_none=True)
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        if device_type == 'cuda':
            torch.cuda.synchronize()

    return step


def main(argv=None):
    compat.apply()  # fixes the pinned OpenMMLab releases need (see compat)
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: no CUDA device is available')
    cfg = Config.fromfile(args.config)
    model = build_model(cfg, args.device)
    optimizer = build_optimizer(model, cfg)
    parameters = sum(p.numel() for p in model.parameters())
    state_values = sum(v.numel() for v in model.state_dict().values())
    step = make_train_step(model, optimizer, args.batch_size, args.device,
                           torch.bfloat16 if args.amp else None, args.compile)

    if args.device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    guard = NonFiniteGuardHook() if args.guard else None

    def guarded_step():
        guard.attach(model, [optimizer])
        step()
        guard.check_model_weights()
        if args.device == 'cuda':
            torch.cuda.synchronize()
        guard.detach()

    times, guarded_times = [], []
    for index in tqdm(range(args.warmup + args.steps), desc='train steps'):
        for run, record in ((step, times), (guarded_step, guarded_times))[:1 + bool(guard)]:
            start = time.perf_counter()
            run()
            if index >= args.warmup:
                record.append(time.perf_counter() - start)
    median = statistics.median(times)
    if args.device == 'cuda':
        peak = f'{torch.cuda.max_memory_allocated() / 2**30:.2f} GiB (max_memory_allocated)'
    else:
        peak = f'{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB (peak RSS)'
    print(f'config: {args.config}')
    print(f'parameters: {parameters:,} values in model.parameters(); state dict: '
          f'{len(model.state_dict())} tensors, {state_values:,} values '
          '(+ the fixed sin-cos position embeddings)')
    print(f'device: {args.device}, threads: {torch.get_num_threads()}, batch: {args.batch_size}, '
          f'amp: {args.amp}, compile: {args.compile}')
    print(f'median step: {median:.3f} s over {len(times)} steps '
          f'(min {min(times):.3f}, max {max(times):.3f})')
    print(f'throughput: {args.batch_size / median:.2f} clips/s')
    print(f'peak memory: {peak}')
    if guard:
        guarded = statistics.median(guarded_times)
        print(f'median guarded step (NonFiniteGuardHook checks): {guarded:.3f} s, '
              f'{guarded / median:.3f} x the plain step')
    if args.device == 'cuda':
        report_mfu(model, args, median)


def report_mfu(model, args, median):
    """Model FLOPs utilisation of the median step."""
    flops = train_step_flops(model, args.batch_size)['train_step_flops']
    dtype = 'bfloat16' if args.amp else 'float32'
    name = torch.cuda.get_device_name()
    peak = args.peak_tflops
    if peak is None:
        peak = peak_tflops(name, dtype)
    achieved = flops / median / 1e12
    print(f'train step: {flops / 1e9:.1f} GFLOPs (get_flops.py), achieved '
          f'{achieved:.1f} TFLOP/s')
    if peak is None:
        print(f'MFU: unknown peak for {name!r}; pass --peak-tflops')
    else:
        print(f'MFU: {100 * achieved / peak:.1f} % of {peak:.1f} TFLOP/s '
              f'({name}, {dtype} dense peak)')


if __name__ == '__main__':
    main()
