#!/usr/bin/env python
"""Curves and training time from MMEngine logs (``vis_data/scalars.json``).

    # one panel per key, one line per run (a work dir or a scalars.json)
    python tools/analysis_tools/analyze_logs.py plot_curve \
        work_dirs/cavsync_toy work_dirs/cavmae_toy --keys loss_contrastive \
        --legend sync mae --out curves.png
    # seconds per iteration: mean, slowest and fastest logged interval
    python tools/analysis_tools/analyze_logs.py cal_train_time work_dirs/cavsync_toy
"""
import argparse
import json
import os.path as osp

import numpy as np

from cavsync_mm.visualization.curves import read_scalars, save_loss_curves


def _records(log):
    if osp.isfile(log):
        with open(log, encoding='utf-8') as f:
            records = [json.loads(line) for line in f if line.strip()]
        return [r for r in records if 'loss' in r and 'iter' in r]
    return read_scalars(log)


def cal_train_time(logs):
    results = {}
    for log in logs:
        times = np.array([r['time'] for r in _records(log) if 'time' in r])
        if times.size == 0:
            raise SystemExit(f'{log}: no "time" in the training records')
        results[log] = dict(mean=float(times.mean()),
                            slowest=float(times.max()),
                            fastest=float(times.min()))
        print(f'{log}: {times.mean():.4f} s/iter on average, slowest '
              f'{times.max():.4f}, fastest {times.min():.4f} '
              f'({times.size} logged intervals)')
    return results


def plot_curve(logs, keys, legend, out):
    legend = legend or [osp.basename(osp.normpath(log)) for log in logs]
    if len(legend) != len(logs):
        raise SystemExit(f'{len(legend)} legend entries for {len(logs)} logs')
    for log in logs:
        records = _records(log)
        missing = [k for k in keys if not any(k in r for r in records)]
        if missing:
            raise SystemExit(f'{log}: no records of {missing}; logged keys: '
                             f'{sorted(set().union(*records))}')
    save_loss_curves(dict(zip(legend, logs)), out, keys, reader=_records)
    print(out)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description='analyse training logs')
    commands = parser.add_subparsers(dest='command', required=True)
    plot = commands.add_parser('plot_curve', help='draw logged scalars')
    plot.add_argument('logs', nargs='+',
                      help='work dirs or vis_data/scalars.json files')
    plot.add_argument('--keys', nargs='+', default=['loss'])
    plot.add_argument('--legend', nargs='+')
    plot.add_argument('--out', required=True, help='PNG file')
    timing = commands.add_parser('cal_train_time',
                                 help='seconds per iteration')
    timing.add_argument('logs', nargs='+')
    args = parser.parse_args(argv)
    if args.command == 'plot_curve':
        return plot_curve(args.logs, args.keys, args.legend, args.out)
    return cal_train_time(args.logs)


if __name__ == '__main__':
    main()
