"""Video ids never become paths outside the feature cache (issue 12, item 6):
the cache used to write ``<cache>/{video_id}.npz`` unsanitised, so a datafile
id ``../../../x`` wrote outside it. Names go through ``safe_video_id`` (the
one sanitiser, shared with extract_av.py and pack_shards.py, tested in
tests/tools/test_extract_av_robust.py)."""
import json
import os
import sys

import pytest
import torch

import cavsync_mm  # noqa: F401
from cavsync_mm.datasets.layout import safe_video_id
from repo_paths import REPO_ROOT


def test_feature_cache_stays_inside_its_folder(real_data_dir, tmp_path):
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    from cavsync_mm.datasets.feature_cache import (CachedFeatureDataset,
                                                   build_feature_cache)
    from cavsync_mm.registry import MODELS
    sys.path.insert(0, str(REPO_ROOT / 'tests' / 'models'))
    try:
        from tiny_configs import tiny_cavsync
    finally:
        sys.path.pop(0)
    init_default_scope('cavsync_mm')
    ids = ['../../../escape', 'sub/dir']
    clips = ['00W1lcxW-WU_40.000.mp4', 'KlsG1EnBEjc_000361.mp4']
    entries = [dict(video_id=i, video=str(real_data_dir / c))
               for i, c in zip(ids, clips)]
    (tmp_path / 'clips.json').write_text(json.dumps(dict(data=entries)))
    loader_cfg = dict(
        batch_size=2, num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(
            type='AudioVisualDataset', ann_file=str(tmp_path / 'clips.json'),
            sampling='all_frames', num_frames=2, test_mode=True,
            pipeline=[
                dict(type='LoadAudio'), dict(type='ComputeFbank'),
                dict(type='FrameAlignedSegments', segment_length=64),
                dict(type='NormalizeFbank'), dict(type='LoadFrames'),
                dict(type='mmaction.Resize', scale=(-1, 32)),
                dict(type='mmaction.CenterCrop', crop_size=32),
                dict(type='PackAudioVisualInputs')]))
    loader = Runner.build_dataloader(loader_cfg)
    torch.manual_seed(0)
    backbone = MODELS.build(tiny_cavsync())
    cache = tmp_path / 'deep' / 'er' / 'cache'
    index = build_feature_cache(backbone, loader, str(cache),
                                tokens=('global', ))
    before = sorted(p.relative_to(tmp_path).as_posix()
                    for p in tmp_path.rglob('*'))
    written = sorted(os.listdir(cache))
    assert written == sorted(['index.json'] + [f'{safe_video_id(i)}.npz'
                                               for i in ids])
    assert not (tmp_path / 'escape.npz').exists()
    assert not any('escape' in p and not p.startswith('deep/er/cache/')
                   for p in before)
    dataset = CachedFeatureDataset(index, token='global')
    assert [dataset[k]['data_samples'].video_id for k in range(2)] == ids

    # a tampered index cannot point outside the cache either
    data = json.loads(open(index).read())
    data['data_list'][0]['features'] = '../../../clips.json.npz'
    with open(index, 'w') as f:
        json.dump(data, f)
    with pytest.raises(ValueError, match=r"clip \.\./\.\./\.\./escape: field "
                       r"'features' is '\.\./\.\./\.\./clips\.json\.npz', "
                       'not a plain file name'):
        CachedFeatureDataset(index, token='global')

    # two ids that sanitise alike are refused, not silently overwritten
    (tmp_path / 'clips.json').write_text(json.dumps(dict(data=[
        dict(entries[0], video_id='a/b'), dict(entries[1], video_id='a_b')])))
    with pytest.raises(ValueError, match="clips 'a/b' and 'a_b': both video "
                       'ids become the cache file name a_b.npz'):
        build_feature_cache(backbone, Runner.build_dataloader(loader_cfg),
                            str(tmp_path / 'other'), tokens=('global', ))
