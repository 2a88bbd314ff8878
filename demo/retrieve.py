"""Rank the clips of a folder for a query clip, both ways.

Example::

    python demo/retrieve.py configs/cavsync/benchmarks/vit-toy_retrieval_toy.py \
        work_dirs/toy/epoch_1.pth data/toy/videos/toy_val_0000.mp4 \
        data/toy/videos --direction both --top 5 --out-dir work_dirs/retrieve

V->A ranks the folder's audio tracks for the query's frames, A->V the
folder's frames for the query's audio. Prints a table per direction and
writes a PNG strip (the query's middle frame, then the top results').
"""
import argparse
import os
import os.path as osp

STRATEGIES = ('diagonal_mean', 'diagonal_max', 'block_mean', 'block_max')
TITLES = {'v2a': 'V->A (audio of these clips)',
          'a2v': 'A->V (frames of these clips)'}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('query_clip', help='video file (mp4, mkv, webm)')
    parser.add_argument('folder', help='folder of candidate videos')
    parser.add_argument('--direction', choices=('v2a', 'a2v', 'both'),
                        default='both')
    parser.add_argument('--strategy', choices=STRATEGIES,
                        default='diagonal_mean')
    parser.add_argument('--top', type=int, default=5)
    parser.add_argument('--out-dir', default='work_dirs/retrieve')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing PNG of the same name')
    parser.add_argument('--device', default='cpu')
    return parser.parse_args()


def print_table(direction, ranking, query_index, top):
    print(f'\n{TITLES[direction]}')
    print(f'{"rank":>4}  {"score":>7}  video_id')
    for row in ranking[:top]:
        mark = '  <- query clip' if row['index'] == query_index else ''
        print(f'{row["rank"]:>4}  {row["score"]:>7.4f}  '
              f'{row["video_id"]}{mark}')
    truth = next(r['rank'] for r in ranking if r['index'] == query_index)
    print(f'the query clip itself ranks {truth} of {len(ranking)}')


def save_strip(features, query_index, rankings, top, out_file):
    """One row per direction: the query's middle frame, then the top
    results' middle frames with their scores."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    frames = features.middle_frames.numpy().transpose(0, 2, 3, 1)
    columns = 1 + top
    figure, axes = plt.subplots(len(rankings), columns,
                                figsize=(2.2 * columns,
                                         2.4 * len(rankings)),
                                squeeze=False)
    for row, (direction, ranking) in enumerate(rankings.items()):
        cells = [(query_index, f'query\n{features.video_ids[query_index]}',
                  'black')]
        cells += [(r['index'], f'#{r["rank"]} {r["score"]:.3f}\n'
                   f'{r["video_id"]}',
                   'green' if r['index'] == query_index else 'black')
                  for r in ranking[:top]]
        for column in range(columns):
            axis = axes[row, column]
            axis.set_axis_off()
            if column >= len(cells):
                continue
            index, label, colour = cells[column]
            axis.imshow(frames[index])
            axis.set_title(label, fontsize=7, color=colour)
        axes[row, 0].text(-0.1, 0.5, TITLES[direction], rotation=90,
                          transform=axes[row, 0].transAxes, ha='right',
                          va='center', fontsize=8)
    figure.tight_layout()
    figure.savefig(out_file, dpi=100)
    plt.close(figure)


def main():
    args = parse_args()
    if args.top < 1:
        raise SystemExit('--top must be at least 1')
    from mmengine.config import Config

    from cavsync_mm.apis import init_model, retrieve
    directions = ('v2a', 'a2v') if args.direction == 'both' else (
        args.direction, )
    query_id = osp.splitext(osp.basename(args.query_clip))[0]
    out_file = osp.join(args.out_dir, f'{query_id}_{args.strategy}.png')
    if osp.exists(out_file) and not args.overwrite:
        raise SystemExit(f'{out_file} exists; pass --overwrite to replace '
                         'it or choose another --out-dir')
    cfg = Config.fromfile(args.config)
    model = init_model(cfg, args.checkpoint, device=args.device)
    features, query_index, rankings = retrieve(
        model, cfg, args.query_clip, args.folder, directions, args.strategy)
    for direction, ranking in rankings.items():
        print_table(direction, ranking, query_index, args.top)
    os.makedirs(args.out_dir, exist_ok=True)
    save_strip(features, query_index, rankings,
               min(args.top, len(features.video_ids)), out_file)
    print(f'\nwrote {out_file}')


if __name__ == '__main__':
    main()
