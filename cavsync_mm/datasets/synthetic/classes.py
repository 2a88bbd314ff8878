"""The K sound-object classes of the synthetic clips.

Each class pairs a visual object (shape + colour + texture) with a sound
signature (fundamental frequency, harmonic profile, amplitude / frequency
modulation). The first eight classes use eight distinct shapes, eight
distinct colours and fundamentals a factor ~1.5 apart, so that both a 64 px
frame and a 128-bin log-mel fbank of a 2-4 s window tell them apart; more
classes reuse the shapes with other colours and fill the pitch range more
densely.
"""
from dataclasses import dataclass
from functools import lru_cache
from typing import Tuple

import numpy as np

#: Shapes drawn by :mod:`.scene` (see ``shape_mask``).
SHAPES = ('circle', 'square', 'triangle', 'diamond', 'plus', 'ring',
          'hexagon', 'cross')
#: Saturated colours that stand out against the grey-ish background.
COLOURS = (('red', (230, 40, 40)), ('green', (40, 200, 60)),
           ('blue', (50, 90, 245)), ('yellow', (240, 220, 40)),
           ('magenta', (220, 50, 220)), ('cyan', (40, 220, 230)),
           ('orange', (250, 140, 20)), ('white', (245, 245, 245)))
#: Surface textures: brightness patterns multiplied onto the colour.
TEXTURES = ('solid', 'stripes', 'checker', 'dots')
#: Harmonic profiles: amplitude of partial k * f0 for k = 1, 2, ...
HARMONIC_PROFILES = (
    ('pure', (1.0, )),
    ('odd', (1.0, 0.0, 0.5, 0.0, 0.3)),
    ('bright', (1.0, 0.6, 0.45, 0.3)),
    ('octave', (1.0, 0.7)),
)
#: Modulations: (name, kind, rate in Hz). ``am`` is a sinusoidal tremolo,
#: ``pulse`` gates the tone on and off, ``vibrato`` wobbles the pitch by 3 %.
MODULATIONS = (
    ('steady', 'none', 0.0),
    ('tremolo 2 Hz', 'am', 2.0),
    ('pulses 4 Hz', 'pulse', 4.0),
    ('vibrato 6 Hz', 'vibrato', 6.0),
    ('tremolo 8 Hz', 'am', 8.0),
    ('pulses 1.5 Hz', 'pulse', 1.5),
    ('steady', 'none', 0.0),
    ('pulses 6 Hz', 'pulse', 6.0),
)
#: Lowest fundamental and the highest one allowed (Hz); 16 kHz audio keeps
#: partials below 7.5 kHz.
F0_LOWEST = 200.0
F0_HIGHEST = 4200.0
#: Half width (relative) of the band around f0 that only this class fills.
BAND_HALF_WIDTH = 0.05
#: Largest relative pitch deviation of a rendered sound (vibrato + jitter).
PITCH_DEVIATION = 0.035
#: Highest partial that is synthesised (Hz).
MAX_PARTIAL_HZ = 7500.0


@dataclass(frozen=True)
class SoundObjectClass:
    """One class: the object that is seen and the sound that is heard."""

    index: int
    shape: str
    colour_name: str
    colour: Tuple[int, int, int]
    texture: str
    f0: float
    harmonics: Tuple[float, ...]
    timbre: str
    modulation: str
    modulation_kind: str
    modulation_rate: float

    @property
    def mid(self) -> str:
        """Label id used in the datafiles and the label csv."""
        return f'toy_{self.index}'

    @property
    def display_name(self) -> str:
        return f'{self.colour_name} {self.shape}'

    @property
    def signature_band(self) -> Tuple[float, float]:
        """Band (Hz) around f0 that no other class's partial enters."""
        return (self.f0 * (1 - BAND_HALF_WIDTH),
                self.f0 * (1 + BAND_HALF_WIDTH))

    def describe(self) -> str:
        return (f'{self.mid}: {self.display_name} ({self.texture}); '
                f'{self.f0:.0f} Hz {self.timbre}, {self.modulation}')


def _partial_clearance(f0s: np.ndarray, max_partial: int) -> float:
    """Smallest log distance between a partial (fundamental included) of one
    class and another class's fundamental."""
    clearance = np.inf
    for i, f0 in enumerate(f0s):
        for p in range(1, max_partial + 1):
            if p * f0 > MAX_PARTIAL_HZ:
                break
            others = np.delete(f0s, i)
            clearance = min(clearance,
                            float(np.abs(np.log(p * f0 / others)).min()))
    return clearance


def _fundamentals(num_classes: int) -> np.ndarray:
    """Fundamentals ``F0_LOWEST * r ** j``, ``j = 0..K-1``.

    The ratio r is searched so that the harmonics of one class stay as far as
    possible from the fundamentals of the others (for 8 classes r = 1.535:
    200, 307, 471, ... 4016 Hz and no partial within 10 % of another f0).
    """
    max_partial = max(len(p) for _, p in HARMONIC_PROFILES)
    widest = (F0_HIGHEST / F0_LOWEST)**(1 / (num_classes - 1))
    ratios = np.linspace(widest * 0.8, widest, 81)
    clearances = [
        _partial_clearance(F0_LOWEST * r**np.arange(num_classes), max_partial)
        for r in ratios
    ]
    ratio = ratios[int(np.argmax(clearances))]
    return np.round(F0_LOWEST * ratio**np.arange(num_classes), 1)


@lru_cache(maxsize=None)
def make_classes(num_classes: int = 8) -> Tuple[SoundObjectClass, ...]:
    """Build the ``num_classes`` sound-object classes (deterministic).

    Partials of one class that would fall into another class's
    ``signature_band`` are dropped, so the energy in a class's band tells
    whether that class sounds.
    """
    if not 2 <= num_classes <= 32:
        raise ValueError(
            f'num_classes must be between 2 and 32, got {num_classes}')
    f0s = _fundamentals(num_classes)
    # spread pitch over the classes: class k gets the (k * step mod K)-th f0
    step = 3 if num_classes % 3 else 5
    while np.gcd(step, num_classes) != 1:
        step += 1
    order = [(k * step) % num_classes for k in range(num_classes)]
    classes = []
    for k in range(num_classes):
        f0 = float(f0s[order[k]])
        timbre, profile = HARMONIC_PROFILES[k % len(HARMONIC_PROFILES)]
        harmonics = []
        for p, amp in enumerate(profile, start=1):
            freq = p * f0
            clash = any(
                abs(np.log(freq / other)) < BAND_HALF_WIDTH + PITCH_DEVIATION
                for j, other in enumerate(f0s) if j != order[k])
            keep = p == 1 or not (clash or freq > MAX_PARTIAL_HZ)
            harmonics.append(amp if keep else 0.0)
        colour_name, colour = COLOURS[(k + k // len(COLOURS)) % len(COLOURS)]
        mod_name, mod_kind, mod_rate = MODULATIONS[k % len(MODULATIONS)]
        classes.append(
            SoundObjectClass(
                index=k,
                shape=SHAPES[k % len(SHAPES)],
                colour_name=colour_name,
                colour=colour,
                texture=TEXTURES[(k // 2 + k) % len(TEXTURES)],
                f0=f0,
                harmonics=tuple(harmonics),
                timbre=timbre,
                modulation=mod_name,
                modulation_kind=mod_kind,
                modulation_rate=mod_rate))
    return tuple(classes)
