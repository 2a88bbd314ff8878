"""The pretrainer in its three modes, its options and a short training run."""
import pytest
import torch
from tiny_configs import tiny_cavmae, tiny_cavsync

from cavsync_mm.models.layers import (patchify, random_masking, sincos_2d,
                                      spectrogram_to_image, unpatchify)
from cavsync_mm.registry import MODELS
from cavsync_mm.structures import AVDataSample


def build(cfg, seed=0):
    torch.manual_seed(seed)
    model = MODELS.build(cfg)
    model.backbone.init_weights()
    model.neck.init_weights()
    return model


def batch(n=4, frames_per_clip=None, seed=0):
    generator = torch.Generator().manual_seed(seed)
    lead = (n,) if frames_per_clip is None else (n, frames_per_clip)
    audio = torch.randn(*lead, 64, 128, generator=generator)
    frames = torch.randint(0, 256, (*lead, 3, 32, 32), generator=generator, dtype=torch.uint8)
    return {'inputs': {'audio': list(audio), 'frames': list(frames)},
            'data_samples': [AVDataSample(metainfo=dict(video_id=f'clip{i}')) for i in range(n)]}


def test_data_preprocessor_normalises_frames_and_stacks():
    model = build(tiny_cavsync())
    data = batch()
    out = model.data_preprocessor(data)
    frames = torch.stack(data['inputs']['frames']).float()
    expected = (frames[:, 0] - 123.675) / 58.395
    torch.testing.assert_close(out['inputs']['frames'][:, 0], expected)
    assert out['inputs']['audio'].shape == (4, 64, 128)
    with pytest.raises(ValueError, match='audio'):
        bad = batch()
        bad['inputs']['audio'][1] = torch.zeros(32, 128)
        model.data_preprocessor(bad)


def test_three_modes_and_feature_shapes():
    model = build(tiny_cavsync(num_register_tokens=4))
    data = model.data_preprocessor(batch())
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_contrastive', 'contrastive_accuracy',
                           'loss_reconstruction_audio', 'loss_reconstruction_visual'}
    assert all(torch.isfinite(value) for value in losses.values())
    features = model(**data, mode='tensor')
    assert features['global_audio'].shape == (4, 32)
    assert features['audio_patches'].shape == (4, 8 * 4, 32)   # 128/16 x 64/16
    assert features['visual_patches'].shape == (4, 4, 32)      # 32/16 x 32/16
    assert features['audio_registers'].shape == (4, 4, 32)
    samples = model(**data, mode='predict')
    assert samples[0].global_audio.shape == (32,)
    torch.testing.assert_close(samples[2].global_visual, features['global_visual'][2])


def test_predict_on_all_frames_writes_t_by_d():
    model = build(tiny_cavsync()).eval()
    data = model.data_preprocessor(batch(n=2, frames_per_clip=3))
    samples = model(**data, mode='predict')
    assert samples[0].global_audio.shape == (3, 32)
    assert samples[1].global_visual.shape == (3, 32)
    # each frame is encoded on its own: equal to the single-frame features
    single = model.extract_feat(data['inputs']['audio'][1], data['inputs']['frames'][1])
    torch.testing.assert_close(samples[1].global_audio, single['global_audio'], atol=1e-5, rtol=1e-5)


def test_global_token_off_uses_patch_means():
    model = build(tiny_cavmae()).eval()
    data = model.data_preprocessor(batch())
    features = model.extract_feat(**data['inputs'])
    assert not hasattr(model.backbone, 'audio_global_token')
    assert 'audio_registers' not in features
    torch.testing.assert_close(features['global_audio'], features['audio_patches'].mean(1))
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['loss_contrastive'])


@pytest.mark.parametrize('registers,keep', [(0, False), (4, False), (4, True)])
def test_registers_do_not_change_token_counts(registers, keep):
    model = build(tiny_cavsync(num_register_tokens=registers, keep_register_tokens=keep)).eval()
    data = model.data_preprocessor(batch(n=2))
    features = model.extract_feat(**data['inputs'])
    assert features['audio_patches'].shape[1] == 32
    if registers:
        assert features['visual_registers'].shape == (2, registers, 32)
        assert model.backbone.register_tokens.shape == (2 * registers, 32)
    else:
        assert 'visual_registers' not in features
    out = model.backbone(data['inputs']['audio'], data['inputs']['frames'], 0.75, 0.75,
                         joint_pass=True)
    assert out['joint_tokens'].shape[1] == int(32 * 0.25) + int(4 * 0.25)  # registers removed
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['loss_reconstruction_visual'])


def test_kept_registers_change_the_features():
    dropped = build(tiny_cavsync(num_register_tokens=4)).eval()
    kept = build(tiny_cavsync(num_register_tokens=4, keep_register_tokens=True)).eval()
    kept.load_state_dict(dropped.state_dict())
    data = dropped.data_preprocessor(batch(n=2))
    a = dropped.extract_feat(**data['inputs'])['global_audio']
    b = kept.extract_feat(**data['inputs'])['global_audio']
    assert not torch.allclose(a, b)


def test_masking_invariants():
    tokens = torch.arange(2 * 10 * 3, dtype=torch.float).reshape(2, 10, 3)
    kept, mask, ids_restore = random_masking(tokens, 0.75)
    assert kept.shape == (2, 2, 3)            # int(10 * 0.25)
    assert mask.sum(1).tolist() == [8., 8.]   # 1 = removed
    for sample in range(2):
        kept_rows = ((kept[sample, :, 0] - 30 * sample) / 3).long()
        assert mask[sample, kept_rows].sum() == 0
        # unshuffling [kept ; removed placeholders] restores the patch order of the kept ones
        full = torch.cat([kept[sample], torch.full((8, 3), -1.)])[ids_restore[sample]]
        assert torch.equal(full[mask[sample] == 0], tokens[sample][mask[sample] == 0])


def test_patchify_layout_is_frequency_major():
    audio = torch.zeros(1, 64, 128)          # (N, L time, F mel)
    audio[0, 16:32, 0:16] = 1.               # time patch 1, frequency patch 0
    patches = patchify(spectrogram_to_image(audio), 16)
    assert patches.shape == (1, 8 * 4, 256)
    assert patches[0].sum(-1).nonzero().flatten().tolist() == [1]   # f * (L/16) + t = 0 * 4 + 1
    frames = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(unpatchify(patchify(frames, 16), 16, 3, (2, 2)), frames)


def test_sincos_matches_the_mae_formula():
    embedding = sincos_2d(8, 2, 3)            # 2 rows x 3 columns
    row, col = 1, 2
    omega = 1. / 10000 ** (torch.arange(2, dtype=torch.float64) / 2.)
    expected = torch.cat([torch.sin(col * omega), torch.cos(col * omega),
                          torch.sin(row * omega), torch.cos(row * omega)]).float()
    torch.testing.assert_close(embedding[row * 3 + col], expected)


def test_multi_mask_ratio_is_per_batch_and_in_range():
    cfg = tiny_cavsync()
    cfg.update(mask_ratio='multi', mask_ratio_seed=3)
    model = build(cfg)
    ratios = [model.mask_ratio_sampler() for _ in range(20)]
    assert all(0.6 <= r <= 0.9 for pair in ratios for r in pair)
    assert len({pair for pair in ratios}) == 20
    again = build(cfg).mask_ratio_sampler
    assert [again() for _ in range(20)] == ratios  # same seed + step -> same ratio on every rank
    losses = model(**model.data_preprocessor(batch()), mode='loss')
    assert 0.6 <= float(losses['audio_mask_ratio']) <= 0.9


def structured_batch(generator, n=8, classes=4):
    """Clips of ``classes`` kinds: a class-specific audio band and frame colour, plus noise."""
    labels = torch.randint(0, classes, (n,), generator=generator)
    audio = torch.randn(n, 64, 128, generator=generator) * 0.1
    frames = torch.rand(n, 3, 32, 32, generator=generator) * 20
    for index, label in enumerate(labels.tolist()):
        audio[index, :, 32 * label:32 * label + 32] += 2.
        frames[index, label % 3] += 150
        frames[index, :, :, (label // 3) * 16:(label // 3) * 16 + 16] += 40
    return {'inputs': {'audio': audio, 'frames': frames.clamp(0, 255)}}


def test_short_training_lowers_both_losses():
    cfg = tiny_cavsync(num_register_tokens=4)
    # structured inputs have flat patches: per-patch normalised targets would be pure noise
    cfg['reconstruction_loss'] = dict(type='MaskedReconstructionLoss', norm_pix_loss=False)
    model = build(cfg)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.95, 0.999))
    generator = torch.Generator().manual_seed(0)
    history = []
    for _ in range(40):
        data = model.data_preprocessor(structured_batch(generator), training=True)
        losses = model(**data, mode='loss')
        total = losses['loss_contrastive'] + losses['loss_reconstruction_audio'] + \
            losses['loss_reconstruction_visual']
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        history.append((losses['loss_contrastive'].item(),
                        losses['loss_reconstruction_audio'].item() +
                        losses['loss_reconstruction_visual'].item()))
    first = torch.tensor(history[:5]).mean(0)
    last = torch.tensor(history[-5:]).mean(0)
    assert last[0] < first[0] * 0.9, (first, last)
    assert last[1] < first[1] * 0.9, (first, last)


def test_pretraining_rejects_all_frames_inputs():
    model = build(tiny_cavsync())
    data = model.data_preprocessor(batch(n=2, frames_per_clip=2))
    with pytest.raises(ValueError, match='one frame per clip'):
        model(**data, mode='loss')


def test_reconstruction_picture(tmp_path):
    from PIL import Image

    from cavsync_mm.visualization import save_reconstruction
    model = build(tiny_cavsync())
    data = model.data_preprocessor(batch(n=2))
    results = model.reconstruct(**data['inputs'], mask_ratio=0.75)
    assert results['audio'].shape == (2, 64, 128) and results['frames'].shape == (2, 3, 32, 32)
    # visible patches are the input itself
    visible = results['visual_mask'][0] == 0
    torch.testing.assert_close(results['frames'][0][:, visible], data['inputs']['frames'][0][:, visible])
    assert results['audio_mask'][0].mean() == pytest.approx(1 - int(32 * 0.25) / 32)
    out = save_reconstruction(model, **data['inputs'], out_file=tmp_path / 'recon.png')
    assert Image.open(out).size[0] > 100
    with pytest.raises(FileExistsError):
        save_reconstruction(model, **data['inputs'], out_file=out)


def test_wrong_input_sizes_name_the_setting_to_fix():
    from cavsync_mm.models.backbones.audio_visual_encoder import \
        AudioVisualEncoder
    encoder = AudioVisualEncoder(embed_dims=32, encoder_depth=1, num_heads=2,
                                 image_size=32, audio_length=64)
    with pytest.raises(ValueError, match='segment_length'):
        encoder(torch.zeros(1, 128, 128), torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match='crop size'):
        encoder(torch.zeros(1, 64, 128), torch.zeros(1, 3, 64, 64))


def test_weight_init_release_or_pytorch_defaults():
    """'release' redraws every linear with xavier-uniform and zero biases;
    'pytorch' keeps the modules' own (kaiming-uniform) draws; both draw the
    tokens with normal(0.02) and pass the choice to the decoder."""
    with pytest.raises(ValueError, match='weight_init'):
        MODELS.build(tiny_cavsync(weight_init='lecun'))
    models = {}
    for weight_init in ('release', 'pytorch'):
        torch.manual_seed(0)
        model = MODELS.build(tiny_cavsync(weight_init=weight_init))
        built = {k: v.clone() for k, v in model.state_dict().items()}
        model.init_weights()
        models[weight_init] = (built, model)
    built, model = models['pytorch']
    assert model.neck.weight_init == 'pytorch'
    qkv = model.backbone.audio_encoder[0].attn.qkv
    assert torch.equal(qkv.weight, built['backbone.audio_encoder.0.attn.qkv.weight'])
    assert torch.equal(model.neck.decoder_embed.weight, built['neck.decoder_embed.weight'])
    assert qkv.bias.abs().sum() > 0  # PyTorch's uniform bias
    built, model = models['release']
    qkv = model.backbone.audio_encoder[0].attn.qkv
    assert not torch.equal(qkv.weight, built['backbone.audio_encoder.0.attn.qkv.weight'])
    assert qkv.bias.abs().sum() == 0
    bound = (6 / sum(qkv.weight.shape)) ** .5  # xavier-uniform
    assert qkv.weight.abs().max() <= bound
    for name in ('release', 'pytorch'):
        token = models[name][1].backbone.audio_global_token
        assert 0.005 < float(token.std()) < 0.05
