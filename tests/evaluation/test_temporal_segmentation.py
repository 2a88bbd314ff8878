"""Temporal segmentation: recovery of known segments, the k-means fallback,
the agreement score and the PNG."""
import numpy as np
import pytest
from PIL import Image

from cavsync_mm.evaluation.temporal_segmentation import (contiguous_runs,
                                                         frame_features,
                                                         segment_agreement,
                                                         segment_clip,
                                                         segment_frames)
from cavsync_mm.visualization import draw_temporal_segmentation

RUN_LENGTHS = [3, 4, 2, 4, 3]  # five segments over T = 16 frames


def piecewise_features(run_lengths=RUN_LENGTHS, dim=32, noise=0.05, seed=0,
                       centres=None):
    rng = np.random.default_rng(seed)
    if centres is None:
        centres = rng.normal(size=(len(run_lengths), dim))
    labels = np.repeat(np.arange(len(run_lengths)), run_lengths)
    features = centres[labels] + noise * rng.normal(size=(len(labels), dim))
    return features, labels


def test_contiguous_runs_count_a_repeated_cluster_twice():
    assert contiguous_runs([2, 2, 0, 0, 2, 1]) == [(0, 2, 2), (2, 4, 0),
                                                   (4, 5, 2), (5, 6, 1)]


@pytest.mark.parametrize('linkage', ['ward', 'average'])
def test_recovers_known_segments(linkage):
    features, labels = piecewise_features()
    result = segment_frames(features, num_segments=5, linkage=linkage)
    assert result.method == 'agglomerative'
    assert result.distance_threshold > 0
    assert [(s, e) for s, e, _ in result.segments] == [(0, 3), (3, 7),
                                                       (7, 9), (9, 13),
                                                       (13, 16)]
    assert segment_agreement(result.cluster_labels, labels) == 1.0


def test_counts_runs_when_a_sound_comes_back():
    """A B A B C: two clusters already give five runs (the search stops at
    the largest threshold, i.e. the fewest clusters, that gives them)."""
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(3, 32))
    features, labels = piecewise_features(
        centres=centres[[0, 1, 0, 1, 2]], noise=0.02)
    result = segment_frames(features, num_segments=5)
    assert result.method == 'agglomerative'
    assert result.num_segments == 5
    assert len(set(result.cluster_labels.tolist())) < 5
    assert result.cluster_labels[0] == result.cluster_labels[7]  # A again
    assert segment_agreement(result.cluster_labels, labels) == 1.0


def test_falls_back_to_kmeans_when_no_threshold_gives_the_count():
    """Four constant blocks: thresholds give 1..4 runs, never 5."""
    features, labels = piecewise_features(run_lengths=[4, 4, 4, 4], noise=0)
    result = segment_frames(features, num_segments=5)
    assert result.method == 'kmeans'
    assert result.distance_threshold is None
    assert result.num_segments == 4
    assert segment_agreement(result.cluster_labels, labels) == 1.0
    # asking for four finds them with a threshold
    assert segment_frames(features, num_segments=4).method == 'agglomerative'


def test_audio_visual_features_and_agreement_score():
    audio, labels = piecewise_features(seed=2)
    visual = np.tile(np.random.default_rng(3).normal(size=(1, 24)), (16, 1))
    visual += 0.01 * np.random.default_rng(4).normal(size=visual.shape)
    joint = frame_features(audio, visual, 'audio_visual')
    assert joint.shape == (16, 56)
    np.testing.assert_allclose(np.linalg.norm(joint, axis=1), 1.0)
    results = segment_clip(audio, visual, num_segments=5)
    assert set(results) == {'audio', 'visual', 'audio_visual'}
    assert segment_agreement(results['audio'].cluster_labels, labels) == 1.0
    # a static picture carries no event boundaries
    assert segment_agreement(results['visual'].cluster_labels,
                             labels) < 0.5
    with pytest.raises(ValueError, match='needs visual features'):
        frame_features(audio, None, 'audio_visual')
    with pytest.raises(ValueError, match='num_segments must be in 1..16'):
        segment_frames(audio, num_segments=17)


def test_png_is_written(tmp_path):
    audio, labels = piecewise_features()
    results = segment_clip(audio, audio, num_segments=5)
    frames = np.random.default_rng(0).integers(0, 255, (16, 3, 32, 48),
                                               dtype=np.uint8)
    spectrogram = np.random.default_rng(1).normal(size=(1024, 128))
    bars = {kind: results[kind].cluster_labels
            for kind in ('visual', 'audio_visual', 'audio')}
    bars['ground_truth'] = labels
    out = draw_temporal_segmentation(frames, spectrogram, bars,
                                     str(tmp_path / 'segments.png'),
                                     title='clip0')
    image = Image.open(out)
    assert image.format == 'PNG' and image.width > 16 * 32
    with pytest.raises(ValueError, match="bar 'audio' has 3 labels"):
        draw_temporal_segmentation(frames, None, {'audio': [0, 1, 2]},
                                   str(tmp_path / 'bad.png'))


def test_tool_segments_a_synthetic_clip(tmp_path, capsys):
    """tools/analysis_tools/temporal_segmentation.py on a real synthetic clip
    (wav + jpg frames with ground-truth frame labels), tiny random model."""
    import importlib.util
    import sys
    from pathlib import Path

    import torch
    from mmengine.config import Config

    from cavsync_mm.registry import MODELS
    from cavsync_mm.datasets.synthetic import make_toy_dataset
    repo = Path(__file__).resolve().parents[2]
    root = tmp_path / 'toy'
    make_toy_dataset(str(root), num_clips=0, val_clips=1, seg_per_class=0,
                     frame_size=32, workers=1, progress=False)
    config = str(repo / 'configs/cavsync/benchmarks/vit-toy_retrieval_toy.py')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(config).model)
    checkpoint = tmp_path / 'tiny.pth'
    torch.save(dict(state_dict=model.state_dict(), meta={}), checkpoint)
    spec = importlib.util.spec_from_file_location(
        'temporal_segmentation_tool',
        repo / 'tools/analysis_tools/temporal_segmentation.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tmp_path / 'segments.png'
    old_argv = sys.argv
    sys.argv = ['temporal_segmentation.py', config, str(checkpoint),
                str(root / 'val.json'), '--out', str(out)]
    try:
        tool.main()
    finally:
        sys.argv = old_argv
    printed = capsys.readouterr().out
    assert 'ARI vs ground truth' in printed  # frame_labels were found
    for kind in ('visual', 'audio_visual', 'audio'):
        assert kind in printed
    assert Image.open(out).format == 'PNG'
