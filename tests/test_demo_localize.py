"""demo/localize.py on a real clip with a tiny random CAV-MAE Sync."""
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import cavsync_mm  # noqa: F401
from cavsync_mm.registry import MODELS

CLIP = '00W1lcxW-WU_40.000.mp4'  # AudioSet, 256x144, 12.5 fps, 10 s
TINY_MODEL = """
default_scope = 'cavsync_mm'
model = dict(
    type='CAVMAESync',
    backbone=dict(type='AudioVisualEncoder', embed_dims=32, encoder_depth=1,
                  num_heads=4, image_size=32, audio_length=416,
                  num_register_tokens=2),
    neck=dict(type='AudioVisualMAEDecoder', decoder_embed_dims=16,
              decoder_depth=1, decoder_num_heads=4))
"""


def test_demo_writes_png_grid_and_mp4(real_data_dir, tmp_path, repo_root):
    import decord
    config = tmp_path / 'tiny.py'
    config.write_text(TINY_MODEL)
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    init_default_scope('cavsync_mm')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(str(config)).model)
    model.init_weights()
    checkpoint = tmp_path / 'tiny.pth'
    torch.save(dict(state_dict=model.state_dict()), checkpoint)
    out_dir = tmp_path / 'out'
    command = [sys.executable, 'demo/localize.py', str(config),
               str(checkpoint), str(real_data_dir / CLIP),
               '--out-dir', str(out_dir)]
    result = subprocess.run(command, cwd=repo_root, capture_output=True,
                            text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    stem = CLIP[:-len('.mp4')]
    png = out_dir / f'{stem}_localization.png'
    mp4 = out_dir / f'{stem}_localization.mp4'
    with Image.open(png) as image:
        assert image.format == 'PNG'
        grid = np.asarray(image)
    # 16 frames of 32 px (+ a caption band) in 4 columns x 4 rows
    assert grid.shape[1] == 4 * 32 and grid.shape[0] > 4 * 32
    video = decord.VideoReader(str(mp4))
    assert len(video) == 16 and video[0].shape == (32, 32, 3)
    assert abs(video.get_avg_fps() - 1.6) < 0.05  # 16 frames over 10 s
    # an existing output is never overwritten without --overwrite
    import runpy
    demo = runpy.run_path(str(repo_root / 'demo' / 'localize.py'))
    before = png.stat().st_mtime_ns
    with pytest.raises(FileExistsError, match='overwrite'):
        demo['main'](command[2:])
    assert png.stat().st_mtime_ns == before
