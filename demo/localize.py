"""Where does the sound come from? Heatmaps on the T frames of a video.

    python demo/localize.py CONFIG CHECKPOINT VIDEO [--out-dir DIR]

CONFIG is a CAV-MAE Sync model config (e.g. configs/cavsync/...py), or a
segmentation / probing config whose model holds one; CHECKPOINT its weights.
Writes ``<video>_localization.png`` (a grid of the T overlays) and
``<video>_localization.mp4`` (the overlays at the clip's pace) to
``--out-dir``. For frame i the global audio token of its frame-aligned
audio segment is compared with every visual patch token of the frame.
"""
import argparse
import os.path as osp
import sys

import torch


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Sound-source heatmaps for the frames of a video')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('video', help='video with an audio track')
    parser.add_argument('--out-dir', default='outputs/localize',
                        help='folder for the PNG grid and the mp4')
    parser.add_argument('--num-frames', type=int, default=16, help='T')
    parser.add_argument('--columns', type=int, default=4,
                        help='frames per row of the PNG grid')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace existing outputs')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from cavsync_mm.apis import init_model, localize_video, save_localization
    if not osp.isfile(args.video):
        sys.exit(f'video not found: {args.video}')
    model = init_model(args.config, args.checkpoint, device=args.device)
    result = localize_video(model, args.video, num_frames=args.num_frames)
    paths = save_localization(result, args.out_dir, args.columns,
                              overwrite=args.overwrite)
    peaks = [tuple(int(v) for v in divmod(int(h.argmax()), h.shape[1]))
             for h in torch.as_tensor(result['heatmaps'])]
    print(f'{result["video_id"]}: {len(peaks)} frames, strongest patch '
          f'(row, column) per frame: {peaks}')
    print(f'wrote {paths["png"]}')
    print(f'wrote {paths["mp4"]}')


if __name__ == '__main__':
    main()
