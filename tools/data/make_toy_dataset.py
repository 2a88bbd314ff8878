"""Write the synthetic audio-visual toy dataset (the quickstart's data).

Example::

    python tools/data/make_toy_dataset.py --out data/toy --num-clips 500

See docs/synthetic_data.md for what the clips hold and the layout.
"""
import argparse
import sys
import time

from cavsync_mm.datasets.synthetic import make_toy_dataset


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='data/toy', help='output folder')
    parser.add_argument('--num-clips', type=int, default=500,
                        help='training clips')
    parser.add_argument('--val-clips', type=int, default=200,
                        help='validation clips')
    parser.add_argument('--num-classes', type=int, default=8,
                        help='sound-object classes K')
    parser.add_argument('--frame-size', type=int, default=64,
                        help='frame side in pixels (even)')
    parser.add_argument('--num-frames', type=int, default=16,
                        help='extracted frames T per clip')
    parser.add_argument('--duration', type=float, default=10.0,
                        help='clip length in seconds')
    parser.add_argument('--sample-rate', type=int, default=16000,
                        help='audio sample rate (wav and AAC)')
    parser.add_argument('--fps', type=int, default=8,
                        help='frame rate of the mp4 videos')
    parser.add_argument('--seg-per-class', type=int, default=12,
                        help='sound-prompted segmentation images per class')
    parser.add_argument('--distractor-prob', type=float, default=0.3,
                        help='chance of a silent distractor object in each '
                        'frame interval')
    parser.add_argument('--snr-db', type=float, default=10.0,
                        help='level of a sounding class above the noise')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--workers', type=int, default=2,
                        help='worker processes')
    parser.add_argument('--overwrite', action='store_true',
                        help='write into a non-empty folder that is not a '
                        'toy dataset (files with generated names are '
                        'replaced, others kept)')
    return parser.parse_args()


def main():
    args = parse_args()
    start = time.perf_counter()
    try:
        summary = make_toy_dataset(
            args.out,
            num_clips=args.num_clips,
            num_classes=args.num_classes,
            frame_size=args.frame_size,
            seed=args.seed,
            workers=args.workers,
            overwrite=args.overwrite,
            val_clips=args.val_clips,
            num_frames=args.num_frames,
            duration=args.duration,
            sample_rate=args.sample_rate,
            fps=args.fps,
            seg_per_class=args.seg_per_class,
            distractor_prob=args.distractor_prob,
            snr_db=args.snr_db)
    except (FileExistsError, ValueError) as error:
        sys.exit(f'error: {error}')
    if not summary['skipped']:
        clips = args.num_clips + args.val_clips
        print(f'wrote {clips} clips and '
              f'{args.seg_per_class * args.num_classes} segmentation '
              f'examples to {args.out} in '
              f'{time.perf_counter() - start:.1f} s')
    for key in ('train', 'val', 'train_videos', 'val_videos', 'label_csv',
                'segmentation'):
        print(f'  {key:13s}{summary[key]}')


if __name__ == '__main__':
    main()
