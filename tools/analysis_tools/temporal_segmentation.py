"""Temporal segmentation of one clip with a model's per-frame features
(paper Sec. 11, Fig. 6).

Examples::

    # a video file (decoded by the config's test pipeline)
    python tools/analysis_tools/temporal_segmentation.py \
        configs/cavsync/benchmarks/vit-toy_retrieval_toy.py CKPT clip.mp4 \
        --out work_dirs/segments.png
    # a clip of a CAV-MAE datafile (frames + wav); the synthetic clips' entries
    # carry frame_labels, so the agreement score is printed too
    python tools/analysis_tools/temporal_segmentation.py \
        configs/cavsync/benchmarks/vit-toy_retrieval_toy.py CKPT data/toy/val.json \
        --video-id val_00000 --num-segments 5

The PNG shows the T frames, the clip's spectrogram and one bar per feature
kind (visual, audio-visual, audio; plus the ground truth when known).
"""
import argparse
import json
import os
import os.path as osp
import tempfile

import numpy as np

KINDS = ('visual', 'audio_visual', 'audio')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('video', help='a video file, or a CAV-MAE datafile '
                        '(json) together with --video-id')
    parser.add_argument('--video-id', help='the datafile entry to use '
                        '(default: the first)')
    parser.add_argument('--data-root', help='folder the datafile paths are '
                        "relative to (default: the datafile's folder)")
    parser.add_argument('--ground-truth', help='npz with frame_labels (T,) '
                        '(the synthetic clips write ground_truth/<id>.npz)')
    parser.add_argument('--num-segments', type=int, default=5)
    parser.add_argument('--linkage', default='ward',
                        choices=('ward', 'average', 'complete', 'single'))
    parser.add_argument('--out', help='PNG path (default: '
                        'work_dirs/temporal_segmentation/<video_id>.png)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing --out file')
    parser.add_argument('--device', default='cpu')
    return parser.parse_args()


def _datafile_entry(path, video_id):
    with open(path, encoding='utf-8') as f:
        entries = json.load(f).get('data', [])
    if not entries:
        raise SystemExit(f'datafile {path} has no "data" entries')
    if video_id is None:
        return entries[0]
    for entry in entries:
        if str(entry.get('video_id')) == video_id:
            return entry
    raise SystemExit(f'datafile {path} has no entry with video_id '
                     f'{video_id!r}')


def load_clip(model, cfg, args):
    """Features, frames, data info and data sample of the one clip."""
    from cavsync_mm.apis.retrieval import (build_clip_dataset,
                                           extract_clip_features)
    if args.video.endswith('.json'):
        entry = _datafile_entry(args.video, args.video_id)
        data_root = args.data_root or osp.dirname(osp.abspath(args.video))
    else:
        if not osp.isfile(args.video):
            raise SystemExit(f'video {args.video} does not exist')
        entry = dict(video=osp.abspath(args.video),
                     video_id=args.video_id or osp.splitext(
                         osp.basename(args.video))[0])
        data_root = ''
    with tempfile.TemporaryDirectory() as tmp:
        datafile = osp.join(tmp, 'clip.json')
        with open(datafile, 'w') as f:
            json.dump(dict(data=[entry]), f)
        dataset = build_clip_dataset(cfg, datafile, data_root)
        features = extract_clip_features(model, dataset, progress=False,
                                         keep_frames=True)
        info = dataset.get_data_info(0)
    return features, info


def clip_spectrogram(info):
    """The whole clip's log-Mel fbank (1024 x 128) for the picture."""
    from cavsync_mm.datasets.transforms.audio import (LoadAudio,
                                                      kaldi_fbank, load_audio)
    _, path = LoadAudio.audio_source(info)
    waveform = load_audio(path)
    return kaldi_fbank(waveform - waveform.mean()).numpy()


def ground_truth_labels(args, features):
    if args.ground_truth:
        with np.load(args.ground_truth) as data:
            if 'frame_labels' not in data:
                raise SystemExit(f'{args.ground_truth} has no frame_labels')
            return np.asarray(data['frame_labels'])
    sample = features.data_samples[0]
    if 'gt_frame_labels' in sample:
        return sample.gt_frame_labels.numpy()
    return None


def main():
    args = parse_args()
    from mmengine.config import Config

    from cavsync_mm.apis import init_model
    from cavsync_mm.evaluation.temporal_segmentation import (
        segment_agreement, segment_clip)
    from cavsync_mm.visualization import draw_temporal_segmentation

    cfg = Config.fromfile(args.config)
    model = init_model(cfg, args.checkpoint, device=args.device)
    features, info = load_clip(model, cfg, args)
    video_id = features.video_ids[0]
    out = args.out or osp.join('work_dirs', 'temporal_segmentation',
                               f'{video_id}.png')
    if osp.exists(out) and not args.overwrite:
        raise SystemExit(f'{out} exists; pass --overwrite to replace it')

    audio, visual = features.global_audio[0], features.global_visual[0]
    if audio.dim() != 2 or audio.shape[0] < args.num_segments:
        raise SystemExit(f'clip {video_id}: the model gave tokens of shape '
                         f'{tuple(audio.shape)}; temporal segmentation needs '
                         f'(T, D) with T >= {args.num_segments} (all_frames)')
    results = segment_clip(audio, visual, args.num_segments, KINDS,
                           args.linkage)
    truth = ground_truth_labels(args, features)
    bars = {kind: results[kind].cluster_labels for kind in KINDS}
    print(f'clip {video_id}: T = {audio.shape[0]} frames, '
          f'{args.num_segments} segments wanted')
    for kind in KINDS:
        result = results[kind]
        line = (f'  {kind:<13} {result.num_segments} segments '
                f'({result.method}) {[(s, e) for s, e, _ in result.segments]}')
        if truth is not None:
            line += (f'  ARI vs ground truth '
                     f'{segment_agreement(result.cluster_labels, truth):.3f}')
        print(line)
    if truth is not None:
        bars['ground_truth'] = truth
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    draw_temporal_segmentation(features.frames[0], clip_spectrogram(info),
                               bars, out, title=video_id)
    print(f'wrote {out}')


if __name__ == '__main__':
    main()
