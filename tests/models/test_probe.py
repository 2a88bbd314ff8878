"""Linear probing: necks and mmpretrain heads, the frozen-encoder
classifier, the feature cache and probe training / testing with the MMEngine
Runner."""
import json
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

import cavsync_mm  # noqa: F401
from cavsync_mm.registry import MODELS
from cavsync_mm.structures import AVDataSample
from tiny_configs import tiny_cavsync

REAL_CLIPS = ('00W1lcxW-WU_40.000.mp4', 'KlsG1EnBEjc_000361.mp4')


def _samples(labels, num_classes):
    return [AVDataSample(metainfo=dict(num_classes=num_classes,
                                       video_id=f'clip{k}')).set_gt_label(lab)
            for k, lab in enumerate(labels)]


def _classifier(**kwargs):
    neck = kwargs.pop('neck', dict(type='TemporalTransformerNeck',
                                   in_channels=64, num_frames=4,
                                   num_heads=4))
    head = kwargs.pop('head', dict(type='mmpretrain.LinearClsHead',
                                   num_classes=3, in_channels=64))
    model = MODELS.build(dict(type='AudioVisualClassifier',
                              backbone=tiny_cavsync()['backbone'], neck=neck,
                              head=head, **kwargs))
    model.init_weights()
    return model


def _clip_inputs(batch=3, num_frames=2, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return dict(audio=torch.randn(batch, num_frames, 64, 128,
                                  generator=generator),
                frames=torch.randn(batch, num_frames, 3, 32, 32,
                                   generator=generator))


@pytest.mark.parametrize('position', [True, False])
def test_temporal_transformer_neck_shapes(position):
    from mmpretrain.models.backbones.vision_transformer import \
        TransformerEncoderLayer
    neck = MODELS.build(dict(type='TemporalTransformerNeck', in_channels=48,
                             num_frames=16, num_heads=4,
                             temporal_position_embedding=position))
    neck.init_weights()
    (feature, ) = neck(torch.randn(5, 16, 48))
    assert feature.shape == (5, 48)
    assert neck((torch.randn(2, 3, 48), ))[0].shape == (2, 48)  # fewer steps
    assert len(neck.blocks) == 2
    assert all(isinstance(b, TransformerEncoderLayer) for b in neck.blocks)
    assert (neck.temporal_position_embedding is not None) == position
    with pytest.raises(ValueError, match='48'):
        neck(torch.randn(2, 16, 32))
    if position:
        with pytest.raises(ValueError, match='at most 16'):
            neck(torch.randn(2, 17, 48))


def test_mean_neck_averages_time():
    neck = MODELS.build(dict(type='TemporalMeanNeck', in_channels=8))
    tokens = torch.randn(3, 5, 8)
    torch.testing.assert_close(neck(tokens)[0], neck(tokens.mean(1))[0])
    assert neck(tokens)[0].shape == (3, 8)


@pytest.mark.parametrize('multi_label', [True, False])
def test_mmpretrain_heads_compute_the_releases_losses(multi_label):
    """The probe's losses are the release's: BCEWithLogitsLoss (mean over
    clips and classes; mmpretrain's head averages over clips only, so the
    configs set loss_weight=1/K) and soft-target cross-entropy (mean over
    clips), both against gt_score, which also carries mixup's scores."""
    import torch.nn.functional as F
    torch.manual_seed(0)
    num_classes = 5
    head = MODELS.build(dict(
        type='mmpretrain.MultiLabelLinearClsHead' if multi_label
        else 'mmpretrain.LinearClsHead', num_classes=num_classes,
        in_channels=8, loss=dict(
            type='mmpretrain.CrossEntropyLoss', use_sigmoid=multi_label,
            loss_weight=1 / num_classes if multi_label else 1.)))
    feature = torch.randn(4, 8)
    samples = _samples([[0, 2], [1], [4], [3]] if multi_label
                       else [0, 1, 4, 3], num_classes)
    samples[3].gt_score = torch.tensor([.3, 0., 0., .7, 0.])  # mixup
    logits = head((feature, ))
    targets = torch.stack([s.gt_score for s in samples])
    expected = F.binary_cross_entropy_with_logits(logits, targets) \
        if multi_label else F.cross_entropy(logits, targets)
    loss = head.loss((feature, ), samples)['loss']
    torch.testing.assert_close(loss, expected, rtol=1e-6, atol=0)
    predicted = head.predict((feature, ), _samples([0] * 4, num_classes))
    scores = torch.sigmoid(logits) if multi_label else logits.softmax(-1)
    torch.testing.assert_close(predicted[0].pred_score, scores[0])


@pytest.mark.parametrize('modality,token,width', [
    ('audio_visual', 'global', 64), ('audio', 'register', 32),
    ('visual', 'patch', 32)])
def test_classifier_token_and_modality_choices(modality, token, width):
    model = _classifier(modality=modality, token=token)
    tokens = model.extract_feat(_clip_inputs())
    assert tokens.shape == (3, 2, width)


def test_probe_input_is_the_releases_by_default():
    """CAVMAEFT: modality-encoder tokens (before the joint block and its
    norms), [audio ; visual], no temporal position embedding, LN eps 1e-5."""
    model = _classifier().eval()
    neck = model.neck
    assert neck.temporal_position_embedding is None
    assert all(norm.eps == 1e-5 for norm in neck.modules()
               if isinstance(norm, torch.nn.LayerNorm))
    inputs = _clip_inputs(batch=2, num_frames=2)
    tokens = model.extract_feat(inputs)
    backbone = model.backbone
    audio, frames = inputs['audio'].flatten(0, 1), inputs['frames'].flatten(0, 1)
    with torch.no_grad():
        audio_tokens = backbone._run(backbone.audio_encoder,
                                     backbone._add_special_tokens(
                                         backbone.embed_audio(audio), 'audio'))
        visual_tokens = backbone._run(backbone.visual_encoder,
                                      backbone._add_special_tokens(
                                          backbone.embed_frames(frames), 'visual'))
    expected = torch.cat([audio_tokens[:, 0], visual_tokens[:, 0]], dim=-1)
    torch.testing.assert_close(tokens.flatten(0, 1), expected)
    # the joint-block option: after norm_a / norm_v, optionally [visual ; audio]
    joint = _classifier(feature_source='joint',
                        modality_order='visual_first').eval()
    joint.load_state_dict(model.state_dict())
    with torch.no_grad():
        features = model.backbone(audio, frames)
    torch.testing.assert_close(
        joint.extract_feat(inputs).flatten(0, 1),
        torch.cat([features['global_visual'], features['global_audio']], -1))
    assert not torch.allclose(features['global_audio'],
                              features['encoder_global_audio'])
    with pytest.raises(ValueError, match='source'):
        _classifier(feature_source='decoder')
    with pytest.raises(ValueError, match='order'):
        _classifier(modality_order='random')


def test_probe_checkpoints_of_the_earlier_layout_load():
    """A probe checkpoint written before the probe used mmpretrain's heads
    (the whole pretrainer under backbone.backbone / backbone.neck, the
    hand-written head's blocks) loads into the neck + head layout, and the
    checkpoint-fit check accepts it; the decoder's weights are dropped."""
    from cavsync_mm.models.checkpoint_fit import check_checkpoint_fit
    model = _classifier().eval()
    earlier = {'backbone.neck.decoder_embed.weight': torch.zeros(16, 32),
               'backbone.neck.mask_token': torch.zeros(1, 1, 16)}
    for key, value in model.state_dict().items():
        if key.startswith('backbone.'):
            key = 'backbone.' + key
        elif key.startswith('neck.'):
            key = ('head.' + key[len('neck.'):]).replace(
                '.ln1.', '.norm1.').replace('.ln2.', '.norm2.').replace(
                '.ffn.layers.0.0.', '.mlp.fc1.').replace(
                '.ffn.layers.1.', '.mlp.fc2.')
        earlier[key] = value
    assert 'head.blocks.1.mlp.fc2.weight' in earlier
    fresh = _classifier().eval()
    check_checkpoint_fit(fresh, dict(state_dict=dict(earlier)), 'old.pth')
    fresh.load_state_dict(earlier, strict=True)
    inputs = _clip_inputs(batch=2, num_frames=2)
    with torch.no_grad():
        torch.testing.assert_close(fresh(inputs), model(inputs), rtol=0,
                                   atol=0)


def test_classifier_rejects_single_frame_inputs():
    model = _classifier()
    with pytest.raises(ValueError, match='all_frames'):
        model.extract_feat(dict(audio=torch.randn(2, 64, 128),
                                frames=torch.randn(2, 3, 32, 32)))


def test_frozen_backbone_stays_frozen_while_the_loss_falls():
    torch.manual_seed(0)
    model = _classifier()
    model.train()
    assert not model.backbone.training  # kept in eval mode
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert trainable and all(not p.requires_grad
                             for p in model.backbone.parameters())
    optimizer = torch.optim.Adam(trainable, lr=1e-3)
    inputs, samples = _clip_inputs(), _samples([0, 1, 2], 3)
    losses = []
    for _ in range(25):
        loss = model(inputs, samples, mode='loss')['loss']
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    assert losses[-1] < 0.5 * losses[0]
    assert all(p.grad is None for p in model.backbone.parameters())
    after = model.backbone.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_predictions_feed_mmpretrain_metrics():
    from mmengine.evaluator import Evaluator
    model = _classifier().eval()
    samples = model(_clip_inputs(), _samples([0, 1, 2], 3), mode='predict')
    assert samples[0].pred_score.shape == (3, )
    assert torch.allclose(samples[0].pred_score.sum(), torch.tensor(1.))
    evaluator = Evaluator([dict(type='mmpretrain.Accuracy', topk=(1, )),
                           dict(type='mmpretrain.AveragePrecision')])
    evaluator.process(samples)
    metrics = evaluator.evaluate(len(samples))
    assert 'accuracy/top1' in metrics and 'multi-label/mAP' in metrics


# ---------------------------------------------------------------- real clips
@pytest.fixture(scope='module')
def cached_probe(real_data_dir, tmp_path_factory):
    """A feature cache of the two real clips made by a tiny frozen model."""
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    from cavsync_mm.datasets.feature_cache import build_feature_cache
    init_default_scope('cavsync_mm')
    root = tmp_path_factory.mktemp('probe')
    (root / 'labels.csv').write_text(
        'index,mid,display_name\n0,c0,zero\n1,c1,one\n')
    entries = [dict(video_id=f'clip{k}', video=str(real_data_dir / name),
                    labels=f'c{k}') for k, name in enumerate(REAL_CLIPS)]
    (root / 'clips.json').write_text(json.dumps(dict(data=entries)))
    torch.manual_seed(0)
    backbone_cfg = tiny_cavsync(audio_length=416)
    backbone = MODELS.build(backbone_cfg)
    backbone.init_weights()
    checkpoint = root / 'tiny_pretrain.pth'
    torch.save(dict(state_dict=backbone.state_dict()), checkpoint)
    loader = Runner.build_dataloader(dict(
        batch_size=2, num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(
            type='AudioVisualDataset', ann_file=str(root / 'clips.json'),
            label_file=str(root / 'labels.csv'), sampling='all_frames',
            num_frames=4, test_mode=True,
            pipeline=[
                dict(type='LoadAudio'), dict(type='ComputeFbank'),
                dict(type='FrameAlignedSegments', segment_length=416),
                dict(type='NormalizeFbank'), dict(type='LoadFrames'),
                dict(type='mmaction.Resize', scale=(-1, 32)),
                dict(type='mmaction.CenterCrop', crop_size=32),
                dict(type='PackAudioVisualInputs')])))
    index = build_feature_cache(backbone, loader, str(root / 'cache'),
                                tokens=('global', 'register'))
    return dict(root=root, index=index, backbone=backbone,
                checkpoint=checkpoint, loader=loader)


def test_feature_cache_round_trip(cached_probe):
    from cavsync_mm.datasets.feature_cache import (CachedFeatureDataset,
                                                   build_feature_cache)
    index = json.loads(open(cached_probe['index']).read())
    assert index['metainfo']['num_classes'] == 2
    assert [e['gt_label'] for e in index['data_list']] == [[0], [1]]
    dataset = CachedFeatureDataset(cached_probe['index'], token='register',
                                   modality='audio_visual')
    sample = dataset[1]
    assert sample['inputs']['features'].shape == (4, 64)
    assert sample['data_samples'].gt_label.tolist() == [1]
    assert sample['data_samples'].gt_score.tolist() == [0., 1.]
    with pytest.raises(ValueError, match="'patch' is not cached"):
        CachedFeatureDataset(cached_probe['index'], token='patch')
    with pytest.raises(FileExistsError, match='overwrite'):
        build_feature_cache(cached_probe['backbone'], [], str(
            cached_probe['root'] / 'cache'))


def test_probe_encoder_loads_the_pretraining_checkpoint(cached_probe,
                                                        tmp_path):
    """The probe builds the encoder alone (no decoder, no losses) and loads
    it from a pretraining checkpoint with init_cfg=dict(type='Pretrained',
    prefix='backbone.'), keys and shapes checked; a DDP ``module.`` prefix is
    removed; the whole pretrainer as backbone is refused with the fix."""
    from cavsync_mm.datasets.feature_cache import with_checkpoint
    from cavsync_mm.models.checkpoint_fit import CheckpointMismatchError
    pretrainer = cached_probe['backbone']
    cfg = dict(type='AudioVisualClassifier',
               backbone=tiny_cavsync(audio_length=416)['backbone'],
               neck=dict(type='TemporalMeanNeck', in_channels=64),
               head=dict(type='mmpretrain.MultiLabelLinearClsHead',
                         num_classes=2, in_channels=64))
    expected = pretrainer.backbone.state_dict()
    state = pretrainer.state_dict()
    assert any(k.startswith('neck.') for k in state)  # the file has more
    ddp = tmp_path / 'ddp.pth'
    torch.save(dict(state_dict={f'module.{k}': v for k, v in state.items()}),
               ddp)
    for checkpoint in (cached_probe['checkpoint'], ddp):
        probe = MODELS.build(with_checkpoint(cfg, checkpoint))
        probe.init_weights()
        loaded = probe.backbone.state_dict()
        assert loaded.keys() == expected.keys()
        assert all(torch.equal(loaded[k], expected[k]) for k in expected)
    assert not any(k.startswith('backbone.neck') or 'decoder' in k
                   for k in probe.state_dict())
    with pytest.raises(ValueError, match="prefix='backbone.'"):
        MODELS.build(dict(cfg, backbone=tiny_cavsync()))
    encoder_only = tmp_path / 'encoder.pth'
    torch.save(dict(state_dict=expected), encoder_only)
    probe = MODELS.build(with_checkpoint(cfg, encoder_only))
    with pytest.raises(CheckpointMismatchError, match="under 'backbone.'"):
        probe.init_weights()


@pytest.mark.parametrize('modality', ['audio_visual', 'audio', 'visual'])
@pytest.mark.parametrize('token', ['global', 'register'])
def test_feature_cache_equals_a_raw_clip_probe(cached_probe, modality, token):
    """The cached features a probe reads are exactly what a probe on the raw
    clips computes: the same token type, [visual ; audio] in that order
    (paper Sec. 3.5.2), frame t of clip n at row t of sample n. The raw side
    runs the backbone one frame at a time, so frame and clip order are
    checked independently of the batched cache code."""
    from cavsync_mm.datasets.feature_cache import CachedFeatureDataset
    backbone = cached_probe['backbone'].eval()
    dataset = CachedFeatureDataset(cached_probe['index'], token=token,
                                   modality=modality)
    batch = next(iter(cached_probe['loader']))
    data = backbone.data_preprocessor(batch, False)
    audio, frames = data['inputs']['audio'], data['inputs']['frames']
    assert audio.shape[:2] == (2, 4)
    for n, sample in enumerate(data['data_samples']):
        cached = dataset[n]
        assert cached['data_samples'].video_id == sample.video_id == f'clip{n}'
        rows = []
        for t in range(4):
            with torch.no_grad():
                out = backbone.extract_feat(audio[n, t][None], frames[n, t][None])
            # the release's probe input: modality-encoder tokens, [audio ; visual]
            if token == 'global':
                a = out['encoder_global_audio'][0]
                v = out['encoder_global_visual'][0]
            else:
                a = out['encoder_audio_registers'][0].mean(0)
                v = out['encoder_visual_registers'][0].mean(0)
            rows.append({'audio_visual': torch.cat([a, v]), 'audio': a,
                         'visual': v}[modality])
        torch.testing.assert_close(cached['inputs']['features'],
                                   torch.stack(rows), rtol=1e-4, atol=1e-5)
    # the check can fail: the two clips and the frames within a clip differ
    features = [dataset[n]['inputs']['features'] for n in range(2)]
    assert not torch.allclose(features[0], features[1], atol=1e-3)
    assert not torch.allclose(features[0][0], features[0][1], atol=1e-4)


def _cached_probe_config(cached_probe, work_dir):
    cfg = Config.fromfile('configs/cavsync/benchmarks/vit-toy_cached-temporal-probe_toy.py')
    cfg.work_dir = str(work_dir)
    cfg.model.neck.update(in_channels=64)
    cfg.model.head.update(num_classes=2, in_channels=64)
    cfg.model.head.loss.loss_weight = 1 / 2  # 1 / K (see the config)
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        loader.dataset.ann_file = cached_probe['index']
        loader.batch_size = 2
    cfg.test_dataloader = cfg.val_dataloader
    cfg.train_cfg.update(max_epochs=20, val_interval=20)
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0)]
    cfg.custom_hooks[0].begin_epoch = 10
    cfg.default_hooks.checkpoint.update(interval=20, save_best=None)
    cfg.default_hooks.logger.interval = 1
    return cfg


def test_probe_runner_train_then_tools_test(cached_probe, tmp_path,
                                            repo_root):
    from mmengine.runner import Runner
    cfg = _cached_probe_config(cached_probe, tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    batch = next(iter(runner.train_dataloader))
    model = runner.model
    start = float(model(**model.data_preprocessor(batch, True),
                        mode='loss')['loss'])
    runner.train()
    end = float(model(**model.data_preprocessor(batch, True),
                      mode='loss')['loss'])
    assert end < start
    checkpoint = tmp_path / 'work' / 'epoch_20.pth'
    assert checkpoint.is_file()
    config_file = tmp_path / 'probe_cached.py'
    cfg.dump(str(config_file))
    out = tmp_path / 'metrics.json'
    result = subprocess.run(
        [sys.executable, 'tools/test.py', str(config_file), str(checkpoint),
         '--work-dir', str(tmp_path / 'test'), '--out', str(out)],
        cwd=repo_root, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads(out.read_text())
    assert metrics['multi-label/mAP'] == pytest.approx(100.0)
