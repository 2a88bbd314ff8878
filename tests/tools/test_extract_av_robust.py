"""extract_av.py against hostile input: unsafe video ids, a clip that hangs,
a worker killed with SIGKILL (as the out-of-memory killer does)."""
import json
import os
import os.path as osp
import signal
import threading
import time

import pytest

from cavsync_mm.datasets.layout import safe_video_id
from cavsync_mm.datasets.preprocessing import (VideoItem, collect_videos,
                                               extract_clip, extract_clips)
from cavsync_mm.datasets.process_pool import WorkerFailure, supervised_map


@pytest.mark.parametrize('name,expected', [
    ('../../../x', '_________x'),
    ('a/b\\c', 'a_b_c'),
    ('..', '__'),
    ('.hidden', '_hidden'),
    ('-rf', '_rf'),
    ('ok_id-1.000', 'ok_id-1.000'),
])
def test_safe_video_id(name, expected):
    out = safe_video_id(name)
    assert out == expected
    assert '/' not in out and '\\' not in out and '..' not in out


def test_unsafe_id_stays_inside_output_dir(real_data_dir, tmp_path):
    video = str(next(real_data_dir.glob('00W1*.mp4')))
    source = tmp_path / 'raw.json'
    source.write_text(json.dumps({'data': [
        {'video_id': '../../escaped', 'video': video}]}))
    items = collect_videos(str(source))
    assert items[0].video_id == '______escaped'
    assert items[0].source_id == '../../escaped'
    out = tmp_path / 'deep' / 'out'
    result = extract_clip(video, str(out), video_id='../../escaped',
                          num_frames=2)
    assert result.status == 'done'
    written = [osp.join(d, f) for d, _, fs in os.walk(tmp_path) for f in fs]
    assert not any('escaped' in p and not p.startswith(str(out))
                   for p in written)
    assert osp.isfile(out / 'audio' / '______escaped.wav')


def test_ids_that_collide_once_made_safe_are_refused(tmp_path):
    listing = tmp_path / 'list.json'
    listing.write_text(json.dumps({'data': [
        {'video_id': 'a/b', 'video': 'x.mp4'},
        {'video_id': 'a_b', 'video': 'y.mp4'}]}))
    with pytest.raises(ValueError, match="'a_b' appears twice"):
        collect_videos(str(listing))


def _sleep_or_die(item):
    if item == 'die':
        os.kill(os.getpid(), signal.SIGKILL)
    if item == 'hang':
        time.sleep(60)
    return item * 2


def test_pool_reports_a_killed_worker_and_a_timeout_and_goes_on():
    items = ['a', 'die', 'b', 'hang', 'c']
    start = time.monotonic()
    results = dict(supervised_map(_sleep_or_die, items, workers=2,
                                  timeout=3, poll=0.2))
    assert time.monotonic() - start < 30
    assert sorted(results) == list(range(5))
    assert results[0] == 'aa' and results[2] == 'bb' and results[4] == 'cc'
    assert isinstance(results[1], WorkerFailure)
    assert 'SIGKILL' in results[1].message
    assert isinstance(results[3], WorkerFailure)
    assert 'timed out after 3 s' in results[3].message


def _children():
    """Pids of this process's child processes."""
    pids = []
    for pid in os.listdir('/proc'):
        if pid.isdigit():
            try:
                with open(f'/proc/{pid}/stat') as f:
                    ppid = int(f.read().rsplit(')', 1)[1].split()[1])
            except OSError:
                continue
            if ppid == os.getpid():
                pids.append(int(pid))
    return pids


def _real_items(real_data_dir):
    # the 1280x720 clip first: it takes over a second, time to be killed
    videos = sorted((str(p) for p in real_data_dir.glob('*.mp4')),
                    key=lambda v: 'KlsG' not in v)
    return [VideoItem(osp.splitext(osp.basename(v))[0], v) for v in videos]


def test_extraction_survives_sigkill_of_a_worker(real_data_dir, tmp_path):
    """The one worker, busy with the first clip, gets a real SIGKILL from
    outside (as from the OOM killer): that clip is reported failed, a new
    worker extracts the second one, the run ends."""
    items = _real_items(real_data_dir)
    before = set(_children())
    killed = []

    def killer():
        for _ in range(400):
            pids = set(_children()) - before
            if pids:
                pid = min(pids)
                time.sleep(0.2)  # inside the decoding of the first clip
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.02)

    thread = threading.Thread(target=killer)
    thread.start()
    results = {r.video_id: r for r in extract_clips(
        items, str(tmp_path / 'out'), workers=1, timeout=120,
        progress=False, num_frames=16)}
    thread.join()
    assert killed
    first, second = (results[i.video_id] for i in items)
    assert first.status == 'failed' and 'SIGKILL' in first.error
    assert second.status == 'done'


def test_extraction_times_out_a_slow_clip(real_data_dir, tmp_path):
    items = _real_items(real_data_dir)[:1]  # 1280x720: over a second
    start = time.monotonic()
    results = list(extract_clips(items, str(tmp_path / 'out'), workers=1,
                                 timeout=0.3, progress=False, num_frames=16))
    assert time.monotonic() - start < 10
    assert results[0].status == 'failed'
    assert 'timed out after 0.3 s' in results[0].error
