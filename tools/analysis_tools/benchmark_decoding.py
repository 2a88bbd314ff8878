"""Measure bounded decoding and the two frame-resize backends.

1. Resize: ``ResizeFrames(backend='pillow')`` (the release's antialiased PIL
   bicubic) against ``backend='cv2'`` (= ``mmaction.Resize``, OpenCV, not
   antialiased): mean |diff| (0..255 grey levels) after short side 224 +
   centre crop, over the T = 16 frames of the real clips.
2. Decoding cost of one training sample from a long clip (written here with
   PyAV: ``--minutes`` of 320x180 video at 10 fps with 48 kHz stereo AAC):
   the pre-bounds path (decord frames + the whole audio track) against the
   bounded one (``LoadFrames``: PyAV seek; ``LoadAudio(read_seconds=10.255)``),
   each in a fresh process: wall time and peak resident memory.

Usage::

    python tools/analysis_tools/benchmark_decoding.py [--minutes 10]
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
import tempfile

import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
REAL = osp.join(REPO, '..', 'shared', 'data', 'real')

# one sample, in a fresh interpreter: prints {"seconds", "max_rss_mb"}
SAMPLE = r'''
import json, resource, sys, time
sys.path.insert(0, {repo!r})
import cavsync_mm  # noqa
from cavsync_mm.datasets.transforms import LoadAudio, LoadFrames, load_audio
path, mode = {path!r}, {mode!r}
start = time.perf_counter()
if mode == 'unbounded':
    import decord
    reader = decord.VideoReader(path, num_threads=1)
    reader.get_batch([int(15 * len(reader) / 16)]).asnumpy()
    load_audio(path)
else:
    results = dict(video_id='long', video_file=path, frame_indices=[15],
                   num_frames=16)
    LoadFrames(frame_index='uniform')(results)
    LoadAudio(read_seconds=10.255)(results)
seconds = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(dict(seconds=seconds, max_rss_mb=rss)))
'''


def resize_differences():
    from cavsync_mm.datasets.transforms import LoadFrames, ResizeFrames
    from mmaction.datasets.transforms import CenterCrop
    print('resize: mean |pillow - cv2| (0..255) after short side 224 + '
          'centre crop 224, 16 frames')
    for name in ('KlsG1EnBEjc_000361.mp4', '00W1lcxW-WU_40.000.mp4'):
        path = osp.join(REAL, name)
        if not osp.isfile(path):
            print(f'  {name}: not found')
            continue
        frames = LoadFrames()(dict(video_id=name, video_file=path,
                                   frame_indices=list(range(16)),
                                   num_frames=16))
        out = {}
        for backend in ('pillow', 'cv2'):
            results = dict(frames, imgs=list(frames['imgs']))
            results = ResizeFrames(scale=(-1, 224), backend=backend)(results)
            out[backend] = np.stack(CenterCrop(224)(results)['imgs']).astype(
                np.float32)
        diff = np.abs(out['pillow'] - out['cv2'])
        h, w = frames['imgs'][0].shape[:2]
        print(f'  {name} ({w}x{h}): mean {diff.mean():.2f}, per-frame max of '
              f'the mean {diff.mean(axis=(1, 2, 3)).max():.2f}, '
              f'99th percentile {np.percentile(diff, 99):.1f}')


def write_long_clip(path: str, minutes: float):
    import av
    from tqdm import tqdm
    fps, rate = 10, 48000
    seconds = int(minutes * 60)
    rng = np.random.default_rng(0)
    with av.open(path, 'w') as container:
        video = container.add_stream('libx264', rate=fps)
        video.width, video.height, video.pix_fmt = 320, 180, 'yuv420p'
        video.options = {'preset': 'ultrafast'}
        audio = container.add_stream('aac', rate=rate)
        audio.layout = 'stereo'
        for second in tqdm(range(seconds), desc='writing the long clip',
                           unit='s'):
            for k in range(fps):
                img = np.full((180, 320, 3), (second * fps + k) % 256,
                              np.uint8)
                frame = av.VideoFrame.from_ndarray(img, format='rgb24')
                for packet in video.encode(frame):
                    container.mux(packet)
            data = (0.1 * rng.standard_normal((2, rate))).astype(np.float32)
            for start in range(0, rate, 1024):
                chunk = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(data[:, start:start + 1024]),
                    format='fltp', layout='stereo')
                chunk.sample_rate = rate
                chunk.pts = second * rate + start
                for packet in audio.encode(chunk):
                    container.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode():
                container.mux(packet)


def decoding_cost(minutes: float):
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'long.mp4')
        write_long_clip(path, minutes)
        print(f'one sample (frame 15 of 16 + its audio) of a {minutes:g} min '
              'clip, 320x180 10 fps, 48 kHz stereo AAC; fresh process each:')
        baseline = None
        for mode in ('unbounded', 'bounded'):
            code = SAMPLE.format(repo=REPO, path=path, mode=mode)
            out = subprocess.run([sys.executable, '-c', code], check=True,
                                 capture_output=True, text=True).stdout
            result = json.loads(out.strip().splitlines()[-1])
            baseline = baseline or result
            print(f'  {mode:9s}: {result["seconds"]:6.2f} s, peak RSS '
                  f'{result["max_rss_mb"]:7.0f} MB  (time x'
                  f'{result["seconds"] / baseline["seconds"]:.3f} of '
                  'unbounded)')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--minutes', type=float, default=10)
    parser.add_argument('--skip-long', action='store_true')
    args = parser.parse_args()
    sys.path.insert(0, REPO)
    resize_differences()
    if not args.skip_long:
        decoding_cost(args.minutes)


if __name__ == '__main__':
    main()
