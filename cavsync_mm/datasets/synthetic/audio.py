"""Synthesise the sound signature of a class and the soundtrack of a clip."""
from typing import Sequence

import numpy as np

from .classes import PITCH_DEVIATION, SoundObjectClass

#: RMS level of a sounding class in the mix (full scale = 1).
SOUND_LEVEL = 0.1
#: Length (s) of the fade in / out at the edges of an event.
FADE_S = 0.01
#: Vibrato depth (relative); the rest of PITCH_DEVIATION is per-event jitter.
VIBRATO_DEPTH = 0.02


def class_sound(sound_class: SoundObjectClass, num_samples: int,
                sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """One occurrence of a class's sound: float32, RMS 1, ``num_samples`` long.

    Pitch is jittered by up to ``PITCH_DEVIATION - VIBRATO_DEPTH`` and the
    phases of the partials and modulation are random, so two occurrences
    differ while staying inside the class's signature band.
    """
    t = np.arange(num_samples) / sample_rate
    jitter = PITCH_DEVIATION - VIBRATO_DEPTH
    f0 = sound_class.f0 * (1 + rng.uniform(-jitter, jitter))
    kind, rate = sound_class.modulation_kind, sound_class.modulation_rate
    modulation_phase = rng.uniform(0, 2 * np.pi)
    if kind == 'vibrato':
        freq = f0 * (1 + VIBRATO_DEPTH *
                     np.sin(2 * np.pi * rate * t + modulation_phase))
        phase = 2 * np.pi * np.cumsum(freq) / sample_rate
    else:
        phase = 2 * np.pi * f0 * t
    wave = np.zeros(num_samples)
    for p, amplitude in enumerate(sound_class.harmonics, start=1):
        if amplitude > 0:
            wave += amplitude * np.sin(p * phase + rng.uniform(0, 2 * np.pi))
    if kind == 'am':  # tremolo between 0.2 and 1
        wave *= 0.6 + 0.4 * np.sin(2 * np.pi * rate * t + modulation_phase)
    elif kind == 'pulse':  # soft-edged on/off gate, half the time on
        wave *= 0.5 + 0.5 * np.tanh(
            6 * np.sin(2 * np.pi * rate * t + modulation_phase))
    rms = np.sqrt(np.mean(wave**2))
    return (wave / max(rms, 1e-8)).astype(np.float32)


def _fade(num_samples: int, sample_rate: int) -> np.ndarray:
    ramp = min(int(FADE_S * sample_rate), num_samples // 2)
    envelope = np.ones(num_samples, dtype=np.float32)
    if ramp > 0:
        edge = np.linspace(0, 1, ramp, dtype=np.float32)
        envelope[:ramp] = edge
        envelope[-ramp:] = edge[::-1]
    return envelope


def background_noise(num_samples: int, snr_db: float,
                     rng: np.random.Generator) -> np.ndarray:
    """White noise ``snr_db`` below the level of a sounding class."""
    std = SOUND_LEVEL * 10**(-snr_db / 20)
    return (rng.standard_normal(num_samples) * std).astype(np.float32)


def clip_soundtrack(events: np.ndarray, classes: Sequence[SoundObjectClass],
                    duration: float, sample_rate: int, snr_db: float,
                    rng: np.random.Generator) -> np.ndarray:
    """Mix the events ``(E, 3)`` (class, start s, end s) over background noise.

    Class ``c`` is audible exactly on the samples
    ``[round(start * sr), round(end * sr))`` of its events.
    """
    num_samples = int(round(duration * sample_rate))
    wave = background_noise(num_samples, snr_db, rng)
    for class_index, start, end in events:
        first = int(round(start * sample_rate))
        last = min(int(round(end * sample_rate)), num_samples)
        gain = SOUND_LEVEL * rng.uniform(0.7, 1.0)
        sound = class_sound(classes[int(class_index)], last - first,
                            sample_rate, rng)
        wave[first:last] += gain * sound * _fade(last - first, sample_rate)
    return np.clip(wave, -1, 1)


def prompt_sound(sound_class: SoundObjectClass, duration: float,
                 sample_rate: int, snr_db: float,
                 rng: np.random.Generator) -> np.ndarray:
    """A short recording of one class alone (the sound prompt)."""
    num_samples = int(round(duration * sample_rate))
    wave = background_noise(num_samples, snr_db, rng)
    sound = class_sound(sound_class, num_samples, sample_rate, rng)
    wave += SOUND_LEVEL * sound * _fade(num_samples, sample_rate)
    return np.clip(wave, -1, 1)
