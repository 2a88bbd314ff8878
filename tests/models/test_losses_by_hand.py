"""Eq. 1 (InfoNCE) and eqs. 2-4 (masked reconstruction) against values
computed independently (``tests/fixtures/paper_math.py``: numpy, float64,
written from the paper) and against closed forms worked out by hand."""
import datetime
import math
import os

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from paper_math import infonce, masked_mse, patches_nhwpqc
from tiny_configs import tiny_cavsync

from cavsync_mm.models.losses import InfoNCELoss, MaskedReconstructionLoss
from cavsync_mm.registry import MODELS


def features(n=6, d=4, seed=0):
    """Audio / visual features with very different row norms (so a missing
    L2 normalisation shows) and some agreement between the pairs."""
    rng = np.random.default_rng(seed)
    visual = rng.normal(size=(n, d)) * rng.uniform(0.2, 5, size=(n, 1))
    audio = 0.7 * visual / np.linalg.norm(visual, axis=1, keepdims=True) + \
        0.5 * rng.normal(size=(n, d))
    audio *= rng.uniform(0.2, 5, size=(n, 1))
    return audio, visual


def run_loss(loss_fn, audio, visual):
    loss, accuracy = loss_fn(torch.tensor(audio, dtype=torch.float32),
                             torch.tensor(visual, dtype=torch.float32))
    return loss.item(), accuracy.item()


# ------------------------------------------------------------------ eq. 1
def test_infonce_defaults_are_the_papers():
    loss_fn = InfoNCELoss()
    assert (loss_fn.temperature, loss_fn.symmetric, loss_fn.loss_weight) == \
        (0.05, False, 0.1)
    audio, visual = features()
    expected, expected_accuracy = infonce(audio, visual)  # tau 0.05, v->a, 0.1
    loss, accuracy = run_loss(loss_fn, audio, visual)
    assert loss == pytest.approx(expected, rel=1e-5)
    assert accuracy == pytest.approx(expected_accuracy)


@pytest.mark.parametrize('temperature', [0.05, 0.07, 1.0])
@pytest.mark.parametrize('symmetric', [False, True])
@pytest.mark.parametrize('loss_weight', [0.1, 0.01, 1.0])
def test_infonce_equals_eq1(temperature, symmetric, loss_weight):
    audio, visual = features(seed=1)
    expected, expected_accuracy = infonce(audio, visual, temperature,
                                          symmetric, loss_weight)
    loss, accuracy = run_loss(InfoNCELoss(temperature, symmetric, loss_weight),
                              audio, visual)
    assert loss == pytest.approx(expected, rel=1e-5)
    assert accuracy == pytest.approx(expected_accuracy)


def test_the_reference_tells_the_variants_apart():
    """The comparisons above can fail: temperature, direction, normalisation
    and candidate order each change the value by far more than 1e-5."""
    audio, visual = features(seed=1)
    base = infonce(audio, visual)[0]
    assert abs(infonce(audio, visual, temperature=0.07)[0] - base) > 1e-3
    assert abs(infonce(visual, audio)[0] - base) > 1e-3  # a->v direction
    assert abs(infonce(audio, visual, symmetric=True)[0] - base) > 1e-3
    flipped = audio[::-1]  # positives misaligned
    assert abs(infonce(flipped, visual)[0] - base) > 1e-3
    # without L2 normalisation of the audio the value moves
    unit_v = visual / np.linalg.norm(visual, axis=1, keepdims=True)
    logits = unit_v @ audio.T / 0.05
    raw = np.mean(np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1))
                  + logits.max(1) - np.diag(logits)) * 0.1
    assert abs(raw - base) > 1e-3


def test_infonce_closed_forms():
    """By hand. Identical features: all logits equal, loss = log N for every
    temperature. Orthonormal pairs a_i = v_i (any norm): logits 1/tau on the
    diagonal and 0 elsewhere: loss = log(1 + (N - 1) exp(-1/tau))."""
    n = 4
    same = np.ones((n, 3))
    for tau in (0.05, 0.5):
        loss, _ = run_loss(InfoNCELoss(tau, loss_weight=1.0), same, same)
        assert loss == pytest.approx(math.log(n), rel=1e-6)
    tau = 0.5
    eye = np.eye(n) * np.array([[1.], [3.], [0.5], [7.]])
    loss, accuracy = run_loss(InfoNCELoss(tau, loss_weight=1.0), eye * 2, eye)
    assert loss == pytest.approx(math.log(1 + (n - 1) * math.exp(-1 / tau)),
                                 rel=1e-6)
    assert accuracy == 1.0
    # the direction, by hand: visual v1 = v2 = e0, audio a1 = e0, a2 = e1.
    # v->a: both queries see logits (1/tau, 0); query 1's positive scores
    # 1/tau, query 2's scores 0. a->v: a1 sees (1/tau, 1/tau), a2 sees (0, 0):
    # log 2 each.
    audio = np.array([[1., 0.], [0., 1.]])
    visual = np.array([[1., 0.], [1., 0.]])
    v2a = (math.log(1 + math.exp(-1 / tau)) +
           math.log(1 + math.exp(1 / tau))) / 2
    a2v = (math.log(2) + math.log(2)) / 2  # a2 is orthogonal to both
    loss, accuracy = run_loss(InfoNCELoss(tau, loss_weight=1.0), audio, visual)
    assert loss == pytest.approx(v2a, rel=1e-6) and accuracy == 0.5
    loss, _ = run_loss(InfoNCELoss(tau, symmetric=True, loss_weight=1.0),
                       audio, visual)
    assert loss == pytest.approx((v2a + a2v) / 2, rel=1e-6)


def test_infonce_gradient_equals_autograd_of_eq1():
    """The gradient w.r.t. the raw features: autograd of eq. 1 written in
    plain torch (float64) versus the module."""
    audio, visual = features(seed=2)
    a64 = torch.tensor(audio, requires_grad=True)
    v64 = torch.tensor(visual, requires_grad=True)
    an, vn = a64 / a64.norm(dim=1, keepdim=True), v64 / v64.norm(dim=1, keepdim=True)
    logits = vn @ an.T / 0.05
    reference = 0.1 * -(logits.diag() - logits.logsumexp(dim=1)).mean()
    reference.backward()
    a32 = torch.tensor(audio, dtype=torch.float32, requires_grad=True)
    v32 = torch.tensor(visual, dtype=torch.float32, requires_grad=True)
    InfoNCELoss()(a32, v32)[0].backward()
    torch.testing.assert_close(a32.grad.double(), a64.grad, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(v32.grad.double(), v64.grad, rtol=1e-4, atol=1e-6)


def test_infonce_options_and_bad_input():
    loss_fn = InfoNCELoss()
    assert loss_fn.gather_across_ranks is True  # negatives from every rank
    assert repr(loss_fn) == ('InfoNCELoss(temperature=0.05, symmetric=False, '
                             'loss_weight=0.1)')
    # without gathering (one process either way) the value is still eq. 1
    audio, visual = features(seed=3)
    loss, accuracy = run_loss(InfoNCELoss(gather_across_ranks=False),
                              audio, visual)
    assert loss == pytest.approx(infonce(audio, visual)[0], rel=1e-5)
    assert accuracy == pytest.approx(infonce(audio, visual)[1])
    for temperature in (0, -0.05):
        with pytest.raises(ValueError, match='temperature must be positive'):
            InfoNCELoss(temperature)
    with pytest.raises(ValueError, match=r'both be \(N, D\)'):
        loss_fn(torch.zeros(3, 4), torch.zeros(3, 5))
    with pytest.raises(ValueError, match=r'both be \(N, D\)'):
        loss_fn(torch.zeros(2, 3, 4), torch.zeros(2, 3, 4))


# ----------------------------------------------------- eq. 1 on two ranks
WORLD_SIZE, LOCAL_BATCH = 2, 3


def _rank_worker(rank, out_dir):
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{out_dir}/rendezvous',
                            rank=rank, world_size=WORLD_SIZE,
                            timeout=datetime.timedelta(seconds=120))
    # every rank makes only ITS OWN clips (rank-seeded), never the others'
    audio, visual = features(LOCAL_BATCH, 4, seed=100 + rank)
    results = {}
    for symmetric in (False, True):
        a = torch.tensor(audio, dtype=torch.float32, requires_grad=True)
        v = torch.tensor(visual, dtype=torch.float32, requires_grad=True)
        loss, accuracy = InfoNCELoss(symmetric=symmetric)(a, v)
        loss.backward()
        results[symmetric] = dict(loss=loss.item(), accuracy=accuracy.item(),
                                  audio_grad=a.grad.double(),
                                  visual_grad=v.grad.double())
    torch.save(results, os.path.join(out_dir, f'rank{rank}.pth'))
    dist.destroy_process_group()


@pytest.fixture(scope='module')
def rank_results(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp('infonce_by_hand')
    mp.spawn(_rank_worker, args=(str(out_dir),), nprocs=WORLD_SIZE, join=True)
    return [torch.load(out_dir / f'rank{r}.pth') for r in range(WORLD_SIZE)]


@pytest.mark.parametrize('symmetric', [False, True])
def test_two_ranks_with_different_data_equal_eq1_on_the_global_batch(
        rank_results, symmetric):
    parts = [features(LOCAL_BATCH, 4, seed=100 + r) for r in range(WORLD_SIZE)]
    audio = np.concatenate([p[0] for p in parts])
    visual = np.concatenate([p[1] for p in parts])
    for rank, result in enumerate(rank_results):
        # rank r's queries are global rows r*n .. r*n+n-1, scored against all
        # 2n candidates; its positives sit at those global indices
        rows = np.arange(rank * LOCAL_BATCH, (rank + 1) * LOCAL_BATCH)
        loss, accuracy = infonce(audio, visual, symmetric=symmetric,
                                 query_rows=rows)
        assert result[symmetric]['loss'] == pytest.approx(loss, rel=1e-5)
        assert result[symmetric]['accuracy'] == pytest.approx(accuracy)
    whole, _ = infonce(audio, visual, symmetric=symmetric)
    assert np.mean([r[symmetric]['loss'] for r in rank_results]) == \
        pytest.approx(whole, rel=1e-5)

    # gradients: each rank's features receive the gradient of the SUM of the
    # ranks' losses, i.e. world_size x the gradient of the global-batch mean
    a = torch.tensor(audio, requires_grad=True)
    v = torch.tensor(visual, requires_grad=True)
    an, vn = a / a.norm(dim=1, keepdim=True), v / v.norm(dim=1, keepdim=True)
    labels = torch.arange(len(a))
    logits = vn @ an.T / 0.05
    reference = torch.nn.functional.cross_entropy(logits, labels)
    if symmetric:
        reference = (reference + torch.nn.functional.cross_entropy(
            an @ vn.T / 0.05, labels)) / 2
    (0.1 * reference).backward()
    for rank, result in enumerate(rank_results):
        local = slice(rank * LOCAL_BATCH, (rank + 1) * LOCAL_BATCH)
        torch.testing.assert_close(result[symmetric]['audio_grad'],
                                   WORLD_SIZE * a.grad[local],
                                   rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(result[symmetric]['visual_grad'],
                                   WORLD_SIZE * v.grad[local],
                                   rtol=1e-4, atol=1e-6)


# -------------------------------------------------------------- eqs. 2-4
def reconstruction_problem(seed=0, n=2, p=6, k=8):
    rng = np.random.default_rng(seed)
    prediction = rng.normal(size=(n, p, k))
    target = rng.normal(size=(n, p, k)) * 3 + 2
    mask = np.zeros((n, p))
    mask[0, [1, 4]] = 1
    mask[1, [0, 2, 3]] = 1
    return prediction, target, mask


@pytest.mark.parametrize('norm_pix', [True, False])
@pytest.mark.parametrize('loss_weight', [1.0, 0.5])
def test_masked_reconstruction_equals_eqs_2_4(norm_pix, loss_weight):
    prediction, target, mask = reconstruction_problem()
    loss_fn = MaskedReconstructionLoss(norm_pix, loss_weight)
    as_t = lambda x: torch.tensor(x, dtype=torch.float32)  # noqa: E731
    value = loss_fn(as_t(prediction), as_t(target), as_t(mask)).item()
    expected = masked_mse(prediction, target, mask, norm_pix, loss_weight)
    assert value == pytest.approx(expected, rel=1e-5)
    # the masked mean is not the all-patch mean (the check can fail)
    assert abs(masked_mse(prediction, target, None, norm_pix, loss_weight)
               - expected) > 1e-3
    no_mask = loss_fn(as_t(prediction), as_t(target)).item()
    assert no_mask == pytest.approx(
        masked_mse(prediction, target, None, norm_pix, loss_weight), rel=1e-5)


def test_masked_reconstruction_by_hand():
    """One sample, two patches of K = 2, patch 1 masked. Without norm_pix:
    ((1 - 0)^2 + (3 - 1)^2) / 2 = 2.5; the visible patch does not count.
    With norm_pix the target (0, 2) becomes (-1, 1)/sqrt(2 + 1e-6)."""
    prediction = torch.tensor([[[9., 9.], [1., 3.]]])
    target = torch.tensor([[[5., 5.], [0., 1.]]])
    mask = torch.tensor([[0., 1.]])
    assert MaskedReconstructionLoss(False)(prediction, target, mask).item() == \
        pytest.approx(2.5)
    target = torch.tensor([[[5., 5.], [0., 2.]]])
    std = math.sqrt(2 + 1e-6)  # unbiased variance of (0, 2) is 2
    expected = ((1 + 1 / std) ** 2 + (3 - 1 / std) ** 2) / 2
    assert MaskedReconstructionLoss(True)(prediction, target, mask).item() == \
        pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize('contrastive_features', ['global', 'global_and_local'])
def test_model_losses_recomputed_from_its_outputs(contrastive_features):
    """CAVMAESync.loss: every term recomputed independently from the
    backbone's outputs and the decoder's predictions (captured with hooks):
    L_c on the global tokens (and, for 'global_and_local', the average with
    the patch-mean loss), L_r per modality on the masked patches of the
    frequency-major audio patches and the RGB patches, each with its weight."""
    cfg = tiny_cavsync()
    cfg['contrastive_features'] = contrastive_features
    cfg['contrastive_loss'] = dict(type='InfoNCELoss', loss_weight=0.3)
    cfg['reconstruction_loss'] = dict(type='MaskedReconstructionLoss',
                                      loss_weight=0.7)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    captured = {}
    model.backbone.register_forward_hook(
        lambda m, i, out: captured.update(backbone=out))
    model.neck.register_forward_hook(
        lambda m, i, out: captured.update(neck=out))
    generator = torch.Generator().manual_seed(1)
    audio = torch.randn(3, 64, 128, generator=generator)
    frames = torch.randn(3, 3, 32, 32, generator=generator)
    with torch.no_grad():
        losses = model.loss(dict(audio=audio, frames=frames))
    out = {k: v.double().numpy() for k, v in captured['backbone'].items()
           if torch.is_tensor(v)}
    audio_prediction, visual_prediction = (p.double().numpy()
                                           for p in captured['neck'])

    expected_c, accuracy = infonce(out['global_audio'], out['global_visual'],
                                   loss_weight=0.3)
    if contrastive_features == 'global_and_local':
        local = infonce(out['audio_patches'].mean(1),
                        out['visual_patches'].mean(1), loss_weight=0.3)[0]
        assert abs(local - expected_c) > 1e-4  # the two terms differ
        expected_c = (expected_c + local) / 2
    assert losses['loss_contrastive'].item() == pytest.approx(expected_c,
                                                              rel=1e-4)
    assert losses['contrastive_accuracy'].item() == pytest.approx(accuracy)

    # audio (N, L, F) -> image (1, F, L): 8 frequency rows x L/16 time columns
    audio_target = np.stack([patches_nhwpqc(a.numpy().T[None], 16) for a in audio])
    visual_target = np.stack([patches_nhwpqc(f.numpy(), 16) for f in frames])
    assert audio_target.shape == (3, 8 * 4, 256)
    for name, prediction, target in (('audio', audio_prediction, audio_target),
                                     ('visual', visual_prediction, visual_target)):
        mask = out[f'{name}_mask']
        assert mask.sum() == 3 * int(mask.shape[1] * 0.75)
        expected = masked_mse(prediction, target, mask, True, 0.7)
        assert losses[f'loss_reconstruction_{name}'].item() == pytest.approx(
            expected, rel=1e-4)
