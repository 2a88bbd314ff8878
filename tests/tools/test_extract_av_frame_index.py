"""extract_av.py --frame-index: recorded in the settings, followed, and a
change of it is refused on an existing output directory."""
import importlib.util
import json
import os.path as osp
import sys

import av
import numpy as np
from PIL import Image

from cavsync_mm.datasets.layout import SETTINGS_FILE, frame_path
from cavsync_mm.datasets.preprocessing import frame_indices

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SMALL = osp.join(osp.dirname(REPO), 'shared', 'data', 'real',
                 '00W1lcxW-WU_40.000.mp4')  # 256x144, 12.5 fps, 10 s
T = 4


def load_extract_av():
    spec = importlib.util.spec_from_file_location(
        'extract_av', osp.join(REPO, 'tools', 'data', 'extract_av.py'))
    module = importlib.util.module_from_spec(spec)
    sys.modules['extract_av'] = module
    spec.loader.exec_module(module)
    return module


def test_uniform_frame_index_is_recorded_followed_and_enforced(tmp_path):
    extract_av = load_extract_av()
    listing = tmp_path / 'list.txt'
    listing.write_text(SMALL + '\n')
    out = str(tmp_path / 'out')
    assert extract_av.main([str(listing), out, '--num-frames', str(T),
                            '--frame-index', 'uniform', '--no-store-fbank',
                            '--workers', '1']) == 0
    with open(osp.join(out, SETTINGS_FILE)) as f:
        assert json.load(f)['frame_index'] == 'uniform'

    with av.open(SMALL) as container:
        fps = float(container.streams.video[0].average_rate)
        decoded = [f.to_ndarray(format='rgb24')
                   for f in container.decode(video=0)]
    uniform = frame_indices(len(decoded), T, fps, 'uniform')
    release = frame_indices(len(decoded), T, fps, 'release')
    assert uniform != release  # the two modes pick different frames here
    video_id = osp.splitext(osp.basename(SMALL))[0]
    for i in range(1, T):
        image = np.asarray(Image.open(frame_path(out, video_id, i)), np.float32)
        to_uniform = np.abs(image - decoded[uniform[i]]).mean()
        to_release = np.abs(image - decoded[release[i]]).mean()
        assert to_uniform < 4 and to_uniform < to_release, i

    try:
        extract_av.main([str(listing), out, '--num-frames', str(T),
                         '--no-store-fbank'])
    except SystemExit as exc:
        assert "frame_index: 'uniform' -> 'release'" in str(exc)
    else:
        raise AssertionError('a change of --frame-index was not refused')
