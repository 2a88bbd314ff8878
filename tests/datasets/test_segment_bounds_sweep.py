"""Frame-aligned segment bounds (paper Sec. 3.3) for every frame of every
(T, S, L) of the grid, both roundings, against formulas written separately
from SPEC.md (``paper_math.segment_bounds``: integer arithmetic, exact
halves to even) and from the release (``round(i * S / T)`` in floats)."""
import itertools

import numpy as np
import pytest
import torch
from paper_math import normalise_fbank, segment_bounds

from cavsync_mm.datasets.errors import ClipError
from cavsync_mm.datasets.transforms import (FrameAlignedSegments,
                                            NormalizeFbank,
                                            frame_aligned_segment_bounds,
                                            frame_aligned_segments)

GRID = list(itertools.product((10, 16), (998, 1024), (192, 416, 1024)))


def release_bounds(i, T, S, L):
    """The release's expression: Python's round of the float centre (ties to
    even), window clipped into the spectrogram by shifting."""
    centre = int(round(i * S / T))
    start = max(centre - L // 2, 0)
    start = min(start, S - L)
    return start, start + L


@pytest.mark.parametrize('T,S,L', GRID)
def test_every_frame_of_the_grid(T, S, L):
    for i in range(T):
        if L > S:
            with pytest.raises(ValueError, match='exceeds'):
                frame_aligned_segment_bounds(i, T, S, L, 'floor')
            continue
        floor = frame_aligned_segment_bounds(i, T, S, L, 'floor')
        rounded = frame_aligned_segment_bounds(i, T, S, L, 'round')
        assert floor == segment_bounds(i, T, S, L, 'floor'), (i, 'floor')
        assert rounded == segment_bounds(i, T, S, L, 'round'), (i, 'round')
        assert rounded == release_bounds(i, T, S, L), (i, 'release')
        # the default is the paper's floor
        assert frame_aligned_segment_bounds(i, T, S, L) == floor


def test_the_grid_holds_the_cases_that_tell_roundings_apart():
    """The sweep can fail: it meets frames where floor and round differ, and
    an exact half where round-half-to-even and round-half-up differ
    (i = 12, S = 998, T = 16: 748.5 -> 748, not 749)."""
    floor_vs_round = half_cases = 0
    for T, S, L in GRID:
        for i in range(T):
            if L <= S and segment_bounds(i, T, S, L, 'floor') != \
                    segment_bounds(i, T, S, L, 'round'):
                floor_vs_round += 1
            if (2 * i * S) % T == 0 and (i * S) % T != 0:
                half_cases += 1
    assert floor_vs_round > 10 and half_cases > 0
    assert 12 * 998 / 16 == 748.5
    assert segment_bounds(12, 16, 998, 416, 'round') == (748 - 208, 748 + 208)
    assert frame_aligned_segment_bounds(12, 16, 998, 416, 'round') == (540, 956)


@pytest.mark.parametrize('T', [10, 16])
@pytest.mark.parametrize('rounding', ['floor', 'round'])
def test_transform_cuts_exactly_those_frames(T, rounding):
    """FrameAlignedSegments on an fbank whose row k holds k: every segment's
    rows are start .. end - 1 of the reference bounds, in frame order."""
    S, L = 998, 416
    fbank = torch.arange(S, dtype=torch.float32)[:, None].repeat(1, 4)
    out = FrameAlignedSegments(segment_length=L, rounding=rounding)(dict(
        video_id='x', fbank=fbank, fbank_num_frames=S,
        frame_indices=list(range(T)), num_frames=T, sampling='all_frames'))
    assert out['audio'].shape == (T, L, 4)
    for i in range(T):
        start, end = segment_bounds(i, T, S, L, rounding)
        assert out['audio_segments'][i] == (start, end)
        np.testing.assert_array_equal(out['audio'][i, :, 0].numpy(),
                                      np.arange(start, end))


def test_normalize_fbank_equals_the_formula():
    fbank = torch.linspace(-15, 5, 40).reshape(10, 4)
    out = NormalizeFbank()(dict(audio=fbank.clone()))['audio']
    np.testing.assert_allclose(out.numpy(), normalise_fbank(fbank.numpy()),
                               rtol=1e-6, atol=1e-6)


def test_defaults_are_the_papers():
    """L = 416 frames and floor rounding unless told otherwise."""
    assert frame_aligned_segment_bounds(5, 16, 1024) == \
        segment_bounds(5, 16, 1024, 416, 'floor')
    fbank = torch.arange(1024, dtype=torch.float32)[:, None]
    assert frame_aligned_segments(fbank, [5], 16).shape == (1, 416, 1)
    transform = FrameAlignedSegments()
    assert (transform.segment_length, transform.rounding, transform.spec_length,
            transform.pad_short_audio, transform.short_audio_tolerance) == \
        (416, 'floor', None, False, 32)
    with pytest.raises(ValueError, match='rounding'):
        FrameAlignedSegments(rounding='ceil')


def test_spec_length_sets_the_centres_not_the_fbank_length():
    """S = 998 real frames inside a 1024-frame zero-padded fbank: centres
    from S = 998 (the function and the transform), rows cut from the fbank."""
    T, S, L = 16, 998, 416
    fbank = torch.arange(1024, dtype=torch.float32)[:, None].repeat(1, 2)
    cut = frame_aligned_segments(fbank, list(range(T)), T, L, 'round',
                                 spec_length=S)
    out = FrameAlignedSegments(L, 'round', spec_length=S)(dict(
        video_id='x', fbank=fbank, fbank_num_frames=S,
        frame_indices=list(range(T)), num_frames=T, sampling='all_frames'))
    for i in range(T):
        start, end = segment_bounds(i, T, S, L, 'round')
        assert out['audio_segments'][i] == (start, end)
        np.testing.assert_array_equal(cut[i, :, 0].numpy(), np.arange(start, end))
        np.testing.assert_array_equal(out['audio'][i, :, 0].numpy(),
                                      np.arange(start, end))
    assert segment_bounds(T - 1, T, S, L) != segment_bounds(T - 1, T, 1024, L)
    with pytest.raises(ValueError, match='exceeds the fbank'):
        frame_aligned_segments(fbank, [0], T, L, spec_length=1025)


@pytest.mark.parametrize('field_keys,field', [
    (dict(audio_path='a.wav'), 'wav'), (dict(video_file='a.mp4'), 'video')])
def test_short_audio_is_refused_or_padded(field_keys, field):
    def results(available):
        return dict(video_id='clip7', fbank=torch.zeros(1024, 2),
                    fbank_num_frames=available, frame_indices=[3],
                    num_frames=16, sampling='random_frame', **field_keys)
    # 32 frames short is tolerated, 33 is not
    assert FrameAlignedSegments()(results(416 - 32))['audio'].shape == (416, 2)
    with pytest.raises(ClipError,
                       match=f"clip clip7: field '{field}': audio is 3.83 s "
                       r'\(383 fbank frames\), needs at least 4.16 s \(416 '
                       'frames\\) for one segment; set FrameAlignedSegments'):
        FrameAlignedSegments()(results(383))
    padded = FrameAlignedSegments(pad_short_audio=True)(results(100))
    assert padded['audio'].shape == (416, 2)
    assert FrameAlignedSegments(short_audio_tolerance=0)(
        results(416))['audio'].shape == (416, 2)
    with pytest.raises(ClipError):
        FrameAlignedSegments(short_audio_tolerance=0)(results(415))


def _clip(available=None, num_frames=16, frame_indices=(3, ), rows=1024,
          **extra):
    results = dict(video_id='clip9', fbank=torch.arange(
        rows, dtype=torch.float32)[:, None].repeat(1, 2),
        frame_indices=list(frame_indices), num_frames=num_frames,
        sampling='all_frames' if len(frame_indices) > 1 else 'random_frame',
        **extra)
    if available is not None:
        results['fbank_num_frames'] = available
    return results


def test_spec_length_clip_uses_the_clips_own_frames():
    """spec_length='clip': S = the frames that hold audio (within the fbank,
    at least L), so a 5 s clip's 16 segments spread over its 5 s."""
    T, L = 16, 416
    transform = FrameAlignedSegments(spec_length='clip')
    for available, rows, S in ((500, 1024, 500), (998, 600, 600),
                               (400, 1024, 416)):
        out = transform(_clip(available, T, range(T), rows,
                              audio_path='a.wav'))
        assert out['audio_segments'] == [segment_bounds(i, T, S, L)
                                         for i in range(T)], (available, rows)
        assert out['audio'][T - 1, 0, 0] == segment_bounds(T - 1, T, S, L)[0]
    with pytest.raises(ValueError, match="spec_length must be an int, None "
                       "or 'clip', got 'whole'"):
        FrameAlignedSegments(spec_length='whole')


def test_fbank_length_and_duration_when_not_given():
    # no fbank_num_frames: the fbank's own length counts as audio
    with pytest.raises(ClipError, match=r'audio is 3.00 s \(300 fbank frames\)'):
        FrameAlignedSegments()(_clip(rows=300, audio_path='a.wav'))
    # the clip's duration, when known, is what the message says
    with pytest.raises(ClipError, match=r'audio is 2.96 s \(300 fbank'):
        FrameAlignedSegments()(_clip(300, audio_duration=2.96,
                                     audio_path='a.wav'))


@pytest.mark.parametrize('keys,field', [
    (dict(), 'wav'), (dict(audio_path='a.wav', video_file='b.mp4'), 'wav'),
    (dict(video_file='b.mp4'), 'video')])
def test_error_names_the_field_the_audio_came_from(keys, field):
    with pytest.raises(ClipError, match=f"clip clip9: field '{field}'"):
        FrameAlignedSegments()(_clip(300, **keys))


def test_segments_that_are_mostly_padding_are_refused_or_logged():
    """A 6 s clip (600 frames) in a 1024-frame fbank: frame 15's segment
    608..1024 is 100 % padding. Frame 8 of a 5.12 s clip: 720 - 512 = 208
    frames, exactly the 50 % allowed."""
    message = (r"clip clip9: field 'wav': the segment of frame 15 of 16 "
               r'\(fbank frames 608..1024\) is 100% padding: the audio ends '
               r'at frame 600 \(6.00 s\)')
    with pytest.raises(ClipError, match=message):
        FrameAlignedSegments()(_clip(600, 16, (15, ), audio_path='a.wav'))
    # the first frame is fine, the second is not: every frame is checked
    with pytest.raises(ClipError, match='frame 15 of 16'):
        FrameAlignedSegments()(_clip(600, 16, (0, 15), audio_path='a.wav'))
    padded = FrameAlignedSegments(pad_short_audio=True)(
        _clip(600, 16, (0, 15), audio_path='a.wav'))
    assert padded['audio_segments'] == [(0, 416), (608, 1024)]
    at_limit = FrameAlignedSegments()(_clip(512, 16, (8, ), audio_path='a.wav'))
    assert at_limit['audio_segments'] == [(304, 720)]
    with pytest.raises(ClipError, match='is 50% padding'):
        FrameAlignedSegments(max_segment_padding=0.49)(
            _clip(512, 16, (8, ), audio_path='a.wav'))
    # no padding at all passes even with no padding allowed
    assert FrameAlignedSegments(max_segment_padding=0.0)(
        _clip(1024, 16, (8, ), audio_path='a.wav'))['audio_segments'] == \
        [(304, 720)]
