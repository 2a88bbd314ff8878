"""Pictures through MMEngine: AVVisualizer + AVVisualizationHook reach the
configured vis backends (local PNGs, TensorBoard event files)."""
from glob import glob

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from PIL import Image

from cavsync_mm.visualization import AVVisualizer
from tiny_av import make_tiny_toy, tiny_model, tiny_pipeline


@pytest.fixture(scope='module')
def toy_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('toy_vis')
    make_tiny_toy(root, num_clips=4, val_clips=2)
    return root


def test_visualizer_sends_a_heatmap_to_local_files(tmp_path):
    visualizer = AVVisualizer(
        name='heatmap_probe', save_dir=str(tmp_path),
        vis_backends=[dict(type='LocalVisBackend')])
    image = torch.zeros(3, 16, 16, dtype=torch.uint8)
    heatmap = torch.zeros(16, 16)
    heatmap[4:8, 4:8] = 1
    mask = heatmap.bool()
    panel = visualizer.add_heatmap('heatmap_x1', image, heatmap, step=3,
                                   mask=mask, title='dog')
    files = glob(str(tmp_path / 'vis_data' / 'vis_image' / 'heatmap_x1_3.png'))
    assert len(files) == 1
    written = np.asarray(Image.open(files[0]).convert('RGB'))
    assert np.array_equal(written, panel)  # same RGB picture on disk
    # image | overlay, the 16 px image enlarged 12x to the 192 px minimum,
    # under a 14 px caption band
    assert panel.shape == (14 + 192, 2 * 192, 3)
    assert panel[14:, :192].max() == 0  # the black image
    overlay = panel[14:, 192:].astype(int)
    hot, cold = overlay[6 * 12, 6 * 12], overlay[12 * 12, 12 * 12]
    assert hot[0] > hot[2] and cold[2] > cold[0]  # jet: red hot, blue cold


def test_hook_writes_pictures_and_tensorboard_events(tmp_path, toy_root):
    dataset = dict(type='AudioVisualDataset', data_root=str(toy_root),
                   label_file='class_labels_indices.csv', num_frames=16,
                   pipeline=tiny_pipeline())
    cfg = Config(dict(
        default_scope='cavsync_mm',
        work_dir=str(tmp_path / 'work'),
        model=tiny_model(),
        train_dataloader=dict(
            batch_size=2, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            dataset=dict(dataset, ann_file='train.json',
                         sampling='random_frame')),
        val_dataloader=dict(
            batch_size=2, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(dataset, ann_file='val.json', sampling='all_frames',
                         test_mode=True)),
        val_evaluator=dict(type='RetrievalMetric'),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=2,
                       val_interval=2),
        val_cfg=dict(type='ValLoop'),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3)),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(type='CheckpointHook', interval=-1),
            visualization=dict(type='AVVisualizationHook', enable=True)),
        # the one line that adds TensorBoard
        visualizer=dict(type='AVVisualizer',
                        vis_backends=[dict(type='LocalVisBackend'),
                                      dict(type='TensorboardVisBackend')]),
        log_level='WARNING'))
    runner = Runner.from_cfg(cfg)
    runner.train()

    vis_data = glob(str(tmp_path / 'work' / '*' / 'vis_data'))
    assert len(vis_data) == 1
    images = sorted(p.split('/')[-1]
                    for p in glob(f'{vis_data[0]}/vis_image/*.png'))
    kinds = {p.split('_')[0] for p in images}
    assert kinds == {'reconstruction', 'segments'}, images
    assert sum(p.startswith('segments_') for p in images) == 2
    assert all(p.endswith('_2.png') for p in images)  # step = iteration

    from tensorboard.backend.event_processing.event_accumulator import \
        EventAccumulator
    events = glob(f'{vis_data[0]}/events.out.tfevents.*')
    assert len(events) == 1
    accumulator = EventAccumulator(events[0])
    accumulator.Reload()
    tags = accumulator.Tags()
    assert 'loss' in tags['scalars']
    assert len(accumulator.Scalars('loss')) == 2
    image_tags = tags['images']
    assert sum(t.startswith('segments_') for t in image_tags) == 2
    assert sum(t.startswith('reconstruction_') for t in image_tags) == 1
    picture = accumulator.Images(image_tags[0])[0]
    assert picture.step == 2 and picture.width > 100
