"""Extract T frames + 16 kHz mono audio from videos into the CAV-MAE layout.

Examples::

    # a directory of AudioSet/VGGSound mp4s -> data/vggsound/{frames,audio} + datafile
    python tools/data/extract_av.py /path/to/videos data/vggsound \
        --labels vggsound_labels.csv --workers 8

    # a list file (one video path per line) or a raw-video datafile ("video" key)
    python tools/data/extract_av.py videos.txt data/mine --num-frames 16

Outputs in ``OUTPUT_DIR``: ``frames/frame_{i}/{video_id}.jpg``,
``audio/{video_id}.wav``, ``fbank/{video_id}.npy`` (the wav's Kaldi fbank,
float16 1024 x 128, which the dataset reads instead of computing it;
``--no-store-fbank`` leaves it out), the datafile (``--datafile``, default
``OUTPUT_DIR/datafile.json``), ``extract_failures.json`` (the clips that failed
and why) and ``extract_av_settings.json`` (the settings, checked on resume).
Rerunning the same command skips clips whose outputs are complete. The input
videos are only read. Video ids become file names only after
``safe_video_id`` (no separators, no ``..``). A clip that runs past
``--timeout`` or whose worker dies (e.g. killed by the out-of-memory killer)
is recorded as failed and the run goes on. Exit status 1 when a clip failed
(``--allow-failures`` gives 0).
"""
import argparse
import os.path as osp
import sys

from cavsync_mm.datasets.layout import FAILURE_REPORT
from cavsync_mm.datasets.preprocessing import (CHANNEL_MODES, FBANK_SETTINGS,
                                               check_no_collision,
                                               collect_videos, datafile_entry,
                                               extract_clips, read_labels,
                                               save_settings,
                                               settings_mismatch,
                                               write_datafile,
                                               write_failure_report)
from cavsync_mm.datasets.process_pool import add_worker_arguments
from cavsync_mm.datasets.transforms.video import FRAME_INDEX_MODES


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Extract frames + 16 kHz mono wav from videos into the '
        'CAV-MAE layout and write a CAV-MAE datafile.')
    parser.add_argument('input', help='a directory of videos, a list file '
                        '(one path per line) or a raw-video datafile (.json '
                        'with a "video" key per entry)')
    parser.add_argument('output_dir', help='where frames/, audio/ and the '
                        'datafile go (must not be the input directory)')
    parser.add_argument('--datafile', help='datafile to write (default: '
                        'OUTPUT_DIR/datafile.json)')
    parser.add_argument('--labels', help='csv "video_id,labels" (labels '
                        'comma-separated in quotes); default: labels of the '
                        'raw-video datafile, else empty')
    parser.add_argument('--video-root', help='joined with relative paths of a '
                        'list file / datafile (default: its directory)')
    parser.add_argument('--recursive', action='store_true',
                        help='search the input directory recursively')
    parser.add_argument('--num-frames', type=int, default=16,
                        help='T frames per clip (which frames: --frame-index)')
    parser.add_argument('--frame-index', choices=FRAME_INDEX_MODES,
                        default='release',
                        help='"release" (default): frame max(int(i * N / T) - 1, '
                        '0) with N = min(frame count, fps x 10), as CAV-MAE\'s '
                        'extractor reads it; "uniform": the frame at time '
                        'i * duration / T over the whole clip')
    parser.add_argument('--image-size', type=int, default=None,
                        help='resize the shorter side to this many pixels '
                        '(bicubic); default: keep the original size')
    parser.add_argument('--center-crop', action='store_true',
                        help='after --image-size, crop the centre square '
                        '(with --image-size 224: the release extractor\'s frames)')
    parser.add_argument('--sample-rate', type=int, default=16000)
    parser.add_argument('--channel', choices=CHANNEL_MODES, default='mean',
                        help='"mean": average the audio channels (default); '
                        '"first": keep the first channel as the authors\' '
                        'release extractor does')
    parser.add_argument('--jpeg-quality', type=int, default=95)
    parser.add_argument('--relative-paths', action='store_true',
                        help='write datafile paths relative to the datafile\'s '
                        'directory (use it as data_root); default: absolute')
    parser.add_argument('--store-fbank', action=argparse.BooleanOptionalAction,
                        default=True,
                        help='also store each clip\'s Kaldi fbank (float16 '
                        '1024 x 128, fbank/{video_id}.npy) and name it in the '
                        'datafile; the dataset then reads it instead of '
                        'computing it (default: on)')
    add_worker_arguments(parser)
    parser.add_argument('--overwrite', action='store_true',
                        help='re-extract clips whose outputs already exist')
    parser.add_argument('--allow-failures', action='store_true',
                        help='exit 0 even when some clips failed')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    items = collect_videos(args.input, args.video_root, args.recursive)
    if args.labels:
        labels = read_labels(args.labels)
        for item in items:
            item.labels = labels.get(item.source_id,
                                     labels.get(item.video_id, item.labels))
    datafile = args.datafile or osp.join(args.output_dir, 'datafile.json')
    report = osp.join(args.output_dir, FAILURE_REPORT)
    check_no_collision(items, args.output_dir, args.input,
                       extra_outputs=[datafile, report])

    settings = dict(num_frames=args.num_frames, image_size=args.image_size,
                    center_crop=args.center_crop,
                    frame_index=args.frame_index,
                    sample_rate=args.sample_rate, channel=args.channel)
    mismatch = settings_mismatch(args.output_dir, settings)
    if mismatch and not args.overwrite:
        sys.exit(f'{args.output_dir} was extracted with other settings '
                 f'({mismatch}); use another output dir or --overwrite')
    # the stored fbank is named per clip in the datafile, so it is not part
    # of the settings a resumed run must match; it is recorded for reference
    save_settings(args.output_dir, dict(
        settings, fbank=FBANK_SETTINGS if args.store_fbank else None))

    results = {r.video_id: r for r in extract_clips(
        items, args.output_dir, workers=args.workers,
        timeout=args.timeout or None, jpeg_quality=args.jpeg_quality,
        overwrite=args.overwrite, store_fbank=args.store_fbank, **settings)}

    relative_to = osp.dirname(osp.abspath(datafile)) if args.relative_paths else None
    entries = [datafile_entry(args.output_dir, item.video_id, item.labels,
                              relative_to, store_fbank=args.store_fbank)
               for item in items if results[item.video_id].status != 'failed']
    write_datafile(datafile, entries)
    failures = write_failure_report(report, results.values())

    counts = {s: sum(r.status == s for r in results.values())
              for s in ('done', 'skipped', 'failed')}
    print(f'extracted {counts["done"]}, skipped {counts["skipped"]} (already '
          f'complete), failed {counts["failed"]} of {len(items)} clips')
    print(f'datafile: {datafile} ({len(entries)} clips)')
    if failures:
        print(f'failures ({report}):')
        for failure in failures:
            print(f'  {failure["video_id"]} ({failure["video"]}): {failure["error"]}')
        if not args.allow_failures:
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
