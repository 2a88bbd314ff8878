"""Fixtures for the dataset tests: small real mp4/wav/jpg files in tmp_path."""
import os

import pytest
from av_test_files import (extract_cavmae_layout, make_video, write_json,
                           write_label_csv)


@pytest.fixture(scope='session')
def small_clips(tmp_path_factory):
    """Three 10 s test clips (80 frames at 8 fps) in both layouts, with labels.

    10 s, the paper's clip length: the configs' 1024-frame fbank (10.24 s)
    then holds the whole clip and no segment is mostly padding.

    Returns a dict with ``root``, ``videos_json``, ``frames_json``,
    ``labels_csv`` (mids ``c0..c2``) and ``videos`` (paths).
    """
    root = tmp_path_factory.mktemp('small_clips')
    os.makedirs(root / 'videos')
    videos, frame_entries, video_entries = [], [], []
    for k in range(3):
        video = make_video(root / 'videos' / f'clip{k}.mp4', num_frames=80,
                           fps=8, freq=300.0 + 100 * k)
        videos.append(video)
        entry = extract_cavmae_layout(video, root, video_id=f'clip{k}')
        entry['labels'] = f'c{k}'
        frame_entries.append(entry)
        video_entries.append({'video_id': f'clip{k}',
                              'video': f'videos/clip{k}.mp4',
                              'labels': f'c{k}',
                              'frame_labels': list(range(16))})
    return dict(root=str(root),
                frames_json=write_json(root / 'frames.json', frame_entries),
                videos_json=write_json(root / 'videos.json', video_entries),
                labels_csv=write_label_csv(root / 'labels.csv',
                                           ['c0', 'c1', 'c2']),
                videos=videos)
