#!/usr/bin/env python
"""GPU readiness report of the ViT-B CAV-MAE Sync model, printed as one table.

    bash tools/analysis_tools/gpu_report.sh            # about 8 minutes at most
    bash tools/analysis_tools/gpu_report.sh --quick    # tiny smoke run

Rows, all on synthetic inputs of the config's shapes (``--config``, default
``configs/cavsync_as2m.py``: 128 x 416 fbank segments, 224 x 224 RGB frames):

- **train step** at ``--batch-size`` clips (default 64, the per-GPU batch of
  the config) in fp32, fp16 AMP and bf16 AMP, each eager and under
  ``torch.compile``: ``benchmark_train.make_train_step`` (data preprocessor,
  forward ``mode='loss'``, backward, Adam; fp16 with a ``GradScaler``) on one
  batch kept on the GPU. ``--warmup`` untimed steps (the first one compiles),
  then the median of ``--steps`` timed steps: seconds, clips/s, achieved
  TFLOP/s and MFU, and the peak memory (``torch.cuda.max_memory_allocated``).
- **feature extraction**: the encoder's forward (``extract_feat``, no decoder,
  no masking) on ``--extract-clips`` clips of ``--extract-frames`` frames and
  segments each, bf16 autocast, inference mode: clips/s.
- **faiss** (only where ``faiss`` with GPU support imports): a flat
  inner-product index (``GpuIndexFlatIP``) of ``--faiss-vectors`` unit-norm
  synthetic ``--faiss-dim``-d vectors, its build (add) time and the search
  time of ``--faiss-queries`` of them (top ``--faiss-k``).

FLOPs: ``get_flops.train_step_flops`` counted on this model at this batch
(3 x the forward pass). MFU = FLOPs per step / median step time / the GPU's
dense peak for the step's matmul dtype (``benchmark_train.PEAK_TFLOPS`` by
device name: bf16 / fp16 under AMP, fp32, or TF32 with ``--tf32``); ``n/a``
for GPUs not in that table.

Measurements run eager rows first, then extraction and faiss, then the
compiled rows; a row is skipped (and says so) when the time the last row of
its kind took (eager train step, compiled train step, ...) would carry it
past ``--time-budget`` seconds, and a row that fails (out of memory, a
compile error) says so in its note, so that the table is always printed. Without a CUDA GPU the script
prints a line saying so and exits 0. ``--device cpu`` runs the same
measurements on the CPU (for checking the script with a small config).
"""
import argparse
import copy
import gc
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, List, Optional, Tuple

import torch

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = REPO_ROOT / 'configs' / 'cavsync_as2m.py'
NO_GPU_MESSAGE = ('gpu_report: no CUDA GPU found (torch.cuda.is_available() '
                  'is False); nothing to measure')
# autocast dtype of each precision (None: float32, no autocast)
PRECISIONS = {'fp32': None, 'fp16': torch.float16, 'bf16': torch.bfloat16}
# key of benchmark_train.PEAK_TFLOPS for the matmuls of each precision
PEAK_KEYS = {'fp32': 'float32', 'fp16': 'float16', 'bf16': 'bfloat16'}
SKIPPED_NAMES = dict(train='train step', extract='feature extraction',
                     faiss='faiss GpuIndexFlatIP')
QUICK = dict(batch_size=4, warmup=1, steps=2, extract_clips=2,
             faiss_vectors=10_000, faiss_queries=100)


@dataclass
class Row:
    """One line of the report; ``None`` prints as ``-``."""
    measurement: str
    precision: str = '-'
    compiled: Optional[bool] = None
    batch: str = '-'
    seconds: Optional[float] = None
    rate: Optional[float] = None
    rate_unit: str = ''
    tflops: Optional[float] = None
    mfu: Optional[float] = None  # fraction of the peak; None: n/a
    peak_gib: Optional[float] = None
    note: str = ''


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='GPU readiness report of the ViT-B CAV-MAE Sync model: '
        'train-step clips/s, MFU and peak memory for fp32 / fp16 / bf16 AMP '
        'with and without torch.compile, feature-extraction clips/s and '
        'faiss GPU index times, as one table')
    parser.add_argument('--config', default=str(DEFAULT_CONFIG),
                        help='pretraining config (default: '
                        'configs/cavsync_as2m.py, ViT-B)')
    parser.add_argument('--batch-size', type=int, default=64,
                        help='clips per train step (per GPU)')
    parser.add_argument('--warmup', type=int, default=3,
                        help='untimed train steps first (the first compiles)')
    parser.add_argument('--steps', type=int, default=10,
                        help='timed train steps (median)')
    parser.add_argument('--precisions', nargs='+', default=list(PRECISIONS),
                        choices=list(PRECISIONS))
    parser.add_argument('--no-compile', action='store_true',
                        help='skip the torch.compile rows')
    parser.add_argument('--tf32', action='store_true',
                        help='fp32 rows with TF32 matmuls (MFU against the '
                        'TF32 peak)')
    parser.add_argument('--extract-clips', type=int, default=16,
                        help='clips per feature-extraction forward')
    parser.add_argument('--extract-frames', type=int, default=16,
                        help='frames (and audio segments) per clip, T')
    parser.add_argument('--faiss-vectors', type=int, default=100_000)
    parser.add_argument('--faiss-queries', type=int, default=10_000)
    parser.add_argument('--faiss-dim', type=int, default=768)
    parser.add_argument('--faiss-k', type=int, default=10)
    parser.add_argument('--time-budget', type=float, default=450.,
                        help='seconds the rows should end within: a row is '
                        'skipped when the last row of its kind took longer '
                        'than what is left')
    parser.add_argument('--quick', action='store_true',
                        help='tiny smoke run: ' + ', '.join(
                            f'{key.replace("_", "-")} {value}'
                            for key, value in QUICK.items()))
    parser.add_argument('--device', default='cuda', choices=['cuda', 'cpu'],
                        help='cpu: the same measurements on the CPU, to check '
                        'the script with a small --config')
    parser.add_argument('--json-out', help='also write the rows here')
    args = parser.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    return args


def mfu(flops_per_step: Optional[float], seconds: float,
        peak_tflops: Optional[float]) -> Tuple[Optional[float],
                                               Optional[float]]:
    """Achieved TFLOP/s of ``flops_per_step`` FLOPs in ``seconds``, and the
    model FLOPs utilisation (its fraction of ``peak_tflops``); ``None`` for
    what cannot be computed (FLOPs or peak unknown)."""
    if flops_per_step is None or not seconds > 0:
        return None, None
    achieved = flops_per_step / seconds / 1e12
    if not peak_tflops:
        return achieved, None
    return achieved, achieved / peak_tflops


def _cell(value, fmt: str) -> str:
    return '-' if value is None else format(value, fmt)


def format_table(rows: List[Row]) -> str:
    """The rows as a Markdown table (MFU ``n/a`` where the FLOPs were
    counted but the peak is unknown)."""
    lines = ['| measurement | precision | compile | batch | seconds '
             '| throughput | TFLOP/s | MFU | peak memory GiB | note |',
             '|---|---|---|---|---|---|---|---|---|---|']
    for row in rows:
        compiled = '-' if row.compiled is None else (
            'yes' if row.compiled else 'no')
        rate = '-' if row.rate is None else f'{row.rate:,.1f} {row.rate_unit}'
        if row.mfu is not None:
            utilisation = f'{100 * row.mfu:.1f} %'
        else:
            utilisation = 'n/a' if row.tflops is not None else '-'
        lines.append(
            f'| {row.measurement} | {row.precision} | {compiled} '
            f'| {row.batch} | {_cell(row.seconds, ".4f")} | {rate} '
            f'| {_cell(row.tflops, ".1f")} | {utilisation} '
            f'| {_cell(row.peak_gib, ".2f")} | {row.note} |')
    return '\n'.join(lines)


def _synchronize(device: str) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()


def _reset_memory(device: str) -> None:
    gc.collect()
    if device == 'cuda':
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def _peak_gib(device: str) -> Optional[float]:
    if device == 'cuda':
        return torch.cuda.max_memory_allocated() / 2**30
    return None


def time_calls(run: Callable[[], None], warmup: int, steps: int,
               device: str) -> Tuple[float, List[float]]:
    """Seconds of the first call (compilation included) and of each of
    ``steps`` calls after ``warmup`` untimed ones (the first included)."""
    first = None
    times = []
    for index in range(max(warmup, 1) + steps):
        start = time.perf_counter()
        run()
        _synchronize(device)
        seconds = time.perf_counter() - start
        if index == 0:
            first = seconds
        elif index >= max(warmup, 1):
            times.append(seconds)
    return first, times


def _tf32(args) -> bool:
    """float32 matmuls run as TF32 (``--tf32`` or set by the environment)."""
    return args.device == 'cuda' and torch.backends.cuda.matmul.allow_tf32


def _failed(row: Row, error: BaseException) -> Row:
    if isinstance(error, torch.cuda.OutOfMemoryError):
        row.note = 'out of memory'
    else:
        message = str(error).strip().splitlines()
        row.note = (f'failed: {type(error).__name__}'
                    f'{": " + message[0][:100] if message else ""}')
    return row


def measure_train(base_model, cfg, precision: str, compiled: bool, args,
                  flops: Optional[float], peak: Optional[float]) -> Row:
    """Median train step of a copy of ``base_model`` on ``args.device``."""
    from benchmark_train import build_optimizer, make_train_step, \
        synthetic_batch
    label = precision
    if precision == 'fp32' and _tf32(args):
        label = 'fp32 (tf32)'
    row = Row('train step', label, compiled, f'{args.batch_size} clips',
              rate_unit='clips/s')
    _reset_memory(args.device)
    if compiled:
        torch._dynamo.reset()
    model = optimizer = step = None
    try:
        model = copy.deepcopy(base_model).to(args.device).train()
        optimizer = build_optimizer(model, cfg)
        generator = torch.Generator().manual_seed(0)
        batch = synthetic_batch(model, args.batch_size, generator)
        batch = {'inputs': {key: value.to(args.device)
                            for key, value in batch['inputs'].items()}}
        step = make_train_step(model, optimizer, args.batch_size,
                               args.device, PRECISIONS[precision], compiled,
                               batch=batch)
        first, times = time_calls(step, args.warmup, args.steps, args.device)
        row.seconds = statistics.median(times)
        row.rate = args.batch_size / row.seconds
        row.tflops, row.mfu = mfu(flops, row.seconds, peak)
        row.peak_gib = _peak_gib(args.device)
        row.note = f'{"compile + " if compiled else ""}first step {first:.1f} s'
    except Exception as error:  # noqa: BLE001  (reported in the table)
        _failed(row, error)
    finally:
        del model, optimizer, step
        if compiled:
            torch._dynamo.reset()  # drop the compiled graphs with the model
        _reset_memory(args.device)
    return row


def measure_extraction(base_model, args) -> Row:
    """Encoder forward (``extract_feat``) of all-frames clips, bf16."""
    clips, frames_per_clip = args.extract_clips, args.extract_frames
    row = Row(f'feature extraction (encoder forward, T={frames_per_clip})',
              'bf16', False, f'{clips} clips', rate_unit='clips/s')
    _reset_memory(args.device)
    model = None
    try:
        model = copy.deepcopy(base_model).to(args.device).eval()
        audio_size, frame_shape = model.backbone.input_sizes
        generator = torch.Generator().manual_seed(0)
        raw = {'audio': torch.randn(clips, frames_per_clip, *audio_size,
                                    generator=generator),
               'frames': torch.randint(0, 256,
                                       (clips, frames_per_clip, *frame_shape),
                                       generator=generator,
                                       dtype=torch.uint8)}
        raw = {key: value.to(args.device) for key, value in raw.items()}
        inputs = model.data_preprocessor({'inputs': raw}, False)['inputs']

        def forward():
            with torch.inference_mode(), torch.autocast(
                    args.device, dtype=torch.bfloat16):
                model.extract_feat(inputs['audio'], inputs['frames'])

        _, times = time_calls(forward, args.warmup, args.steps, args.device)
        row.seconds = statistics.median(times)
        row.rate = clips / row.seconds
        row.peak_gib = _peak_gib(args.device)
        row.note = f'{clips * frames_per_clip / row.seconds:,.0f} frames/s'
    except Exception as error:  # noqa: BLE001
        _failed(row, error)
    finally:
        del model
        _reset_memory(args.device)
    return row


def measure_faiss(args) -> List[Row]:
    """Build and search times of a GPU flat inner-product index."""
    name = 'faiss GpuIndexFlatIP'
    try:
        import faiss
    except ImportError:
        return [Row(name, note='faiss not installed')]
    if not hasattr(faiss, 'StandardGpuResources') or \
            faiss.get_num_gpus() < 1:
        return [Row(name, note='faiss without GPU support')]
    import numpy as np
    num, dim, k = args.faiss_vectors, args.faiss_dim, args.faiss_k
    num_queries = min(args.faiss_queries, num)
    build = Row(f'{name} build (add)', 'fp32', batch=f'{num:,} x {dim}',
                rate_unit='vectors/s')
    search = Row(f'{name} search, top {k}', 'fp32',
                 batch=f'{num_queries:,} queries', rate_unit='queries/s')
    try:
        rng = np.random.default_rng(0)
        vectors = rng.standard_normal((num, dim), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        queries = np.ascontiguousarray(vectors[:num_queries])
        resources = faiss.StandardGpuResources()
        start = time.perf_counter()
        index = faiss.GpuIndexFlatIP(resources, dim)
        index.add(vectors)
        index.search(queries[:1], k)  # returns once the index is built
        build.seconds = time.perf_counter() - start
        build.rate = num / build.seconds
        times = []
        for _ in range(3):
            start = time.perf_counter()
            _, found = index.search(queries, k)
            times.append(time.perf_counter() - start)
        search.seconds = statistics.median(times)
        search.rate = num_queries / search.seconds
        self_first = float((found[:, 0] == np.arange(num_queries)).mean())
        search.note = f'median of 3; top-1 is the query itself for ' \
                      f'{100 * self_first:.1f} %'
    except Exception as error:  # noqa: BLE001
        _failed(search if build.seconds else build, error)
    return [build, search]


def _environment(args) -> List[str]:
    lines = [f'torch {torch.__version__}']
    if args.device == 'cuda':
        properties = torch.cuda.get_device_properties(0)
        lines[0] += f', CUDA {torch.version.cuda}'
        lines.append(f'GPU: {torch.cuda.get_device_name(0)} '
                     f'({properties.total_memory / 2**30:.0f} GiB), '
                     f'{torch.cuda.device_count()} visible')
    else:
        lines.append(f'device: cpu, {torch.get_num_threads()} threads')
    return lines


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.device == 'cuda' and not torch.cuda.is_available():
        print(NO_GPU_MESSAGE, flush=True)
        return 0
    started = time.perf_counter()
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:  # benchmark_train and get_flops live here
        sys.path.insert(0, here)
    from mmengine.config import Config

    from benchmark_train import build_model, peak_tflops
    from cavsync_mm import compat
    from get_flops import train_step_flops
    compat.apply()
    if args.tf32:
        torch.backends.cuda.matmul.allow_tf32 = True
    cfg = Config.fromfile(args.config)
    base_model = build_model(cfg, 'cpu')
    device_name = (torch.cuda.get_device_name(0) if args.device == 'cuda'
                   else 'cpu')
    header = _environment(args) + [
        f'config: {args.config}',
        f'parameters: {sum(p.numel() for p in base_model.parameters()) / 1e6:.1f} M']

    flops = None
    try:
        counted = copy.deepcopy(base_model).to(args.device)
        flops = train_step_flops(counted, args.batch_size)['train_step_flops']
        header.append(f'train step: {flops / 1e9 / args.batch_size:.4g} '
                      'GFLOPs per clip (get_flops.py: 3 x forward), '
                      f'{flops / 1e12:.2f} TFLOPs per step of '
                      f'{args.batch_size}')
    except Exception as error:  # noqa: BLE001
        reason = _failed(Row(''), error).note
        header.append(f'train step FLOPs: not counted ({reason}); MFU n/a')
    finally:
        counted = None
        _reset_memory(args.device)

    def peak_for(precision):
        key = PEAK_KEYS[precision]
        if precision == 'fp32' and _tf32(args):
            key = 'tfloat32'
        return peak_tflops(device_name, key)

    last_seconds = {}  # kind of row (train / compiled train / ...) -> s

    def fits(kind):
        """The row may start: the time it took the last row of its kind
        (0 for the first) still fits the budget."""
        elapsed = time.perf_counter() - started
        return elapsed + last_seconds.get(kind, 0.) < args.time_budget

    plan = [('train', precision, False) for precision in args.precisions]
    plan += [('extract', 'bf16', False), ('faiss', 'fp32', False)]
    if not args.no_compile:
        plan += [('train', precision, True) for precision in args.precisions]
    results = {}
    for kind, precision, compiled in plan:
        if not fits((kind, compiled)):
            skipped = Row(SKIPPED_NAMES[kind], precision,
                          compiled if kind == 'train' else None,
                          note=f'skipped: would not end within the '
                          f'{args.time_budget:.0f} s time budget')
            results[kind, precision, compiled] = [skipped]
            continue
        row_started = time.perf_counter()
        if kind == 'train':
            rows = [measure_train(base_model, cfg, precision, compiled, args,
                                  flops, peak_for(precision))]
        elif kind == 'extract':
            rows = [measure_extraction(base_model, args)]
        else:
            rows = measure_faiss(args) if args.device == 'cuda' else [
                Row('faiss GpuIndexFlatIP', note='not on the CPU')]
        results[kind, precision, compiled] = rows
        last_seconds[kind, compiled] = time.perf_counter() - row_started
        elapsed = time.perf_counter() - started
        for row in rows:
            print(f'[{elapsed:6.0f} s] {row.measurement}, {row.precision}'
                  f'{", compiled" if row.compiled else ""}: '
                  f'{_cell(row.seconds, ".4f")} s {row.note}', flush=True)

    # the table: each precision eager then compiled, extraction, faiss
    order = []
    for precision in args.precisions:
        order += [('train', precision, False), ('train', precision, True)]
    order += [('extract', 'bf16', False), ('faiss', 'fp32', False)]
    table = [row for key in order for row in results.get(key, [])]
    print()
    print('\n'.join(header))
    print(format_table(table))
    print(f'total {time.perf_counter() - started:.0f} s')
    if args.json_out:
        with open(args.json_out, 'w') as out:
            json.dump(dict(header=header, rows=[asdict(row) for row in table]),
                      out, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
