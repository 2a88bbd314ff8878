"""Scenes of the synthetic clips: event timeline, objects, frames and masks.

A clip holds a sequence of non-overlapping events; during an event the object
of its class is visible (at one random position and size) and its sound is
audible. In each frame interval a silent distractor object of a class that
does not sound then may appear. Everything is drawn with vectorised numpy on
a per-clip textured background.
"""
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .classes import SoundObjectClass

#: Object radius range as a fraction of the frame size.
RADIUS_RANGE = (0.14, 0.24)
#: Brightness of the dark parts of a texture (the bright parts are 1).
TEXTURE_DARK = 0.55


def shape_mask(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Pixels of ``shape`` in object coordinates ``u`` (right), ``v`` (down),
    both in units of the object radius; every shape fits in the unit disc."""
    au, av = np.abs(u), np.abs(v)
    if shape == 'circle':
        return u**2 + v**2 <= 1
    if shape == 'square':
        return np.maximum(au, av) <= 0.7
    if shape == 'triangle':  # apex up
        return (v >= -0.95) & (v <= 0.6) & (au <= (v + 0.95) * 0.55)
    if shape == 'diamond':
        return au + av <= 1
    if shape == 'plus':
        return ((au <= 0.3) & (av <= 0.95)) | ((av <= 0.3) & (au <= 0.95))
    if shape == 'ring':
        r2 = u**2 + v**2
        return (r2 <= 1) & (r2 >= 0.3)
    if shape == 'hexagon':
        return (av <= 0.866) & (np.sqrt(3) * au + av <= np.sqrt(3))
    if shape == 'cross':  # a plus turned by 45 degrees
        a, b = np.abs(u + v) / np.sqrt(2), np.abs(u - v) / np.sqrt(2)
        return ((a <= 0.28) & (b <= 0.95)) | ((b <= 0.28) & (a <= 0.95))
    raise ValueError(f'unknown shape {shape!r}')


def texture_pattern(texture: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Brightness factor of ``texture`` (1 = bright, ``TEXTURE_DARK``)."""
    if texture == 'solid':
        dark = np.zeros(u.shape, dtype=bool)
    elif texture == 'stripes':
        dark = np.floor((v + 1) * 2.5).astype(int) % 2 == 1
    elif texture == 'checker':
        dark = (np.floor((u + 1) * 2).astype(int) +
                np.floor((v + 1) * 2).astype(int)) % 2 == 1
    elif texture == 'dots':
        fu, fv = (u * 2.5) % 1 - 0.5, (v * 2.5) % 1 - 0.5
        dark = fu**2 + fv**2 < 0.09
    else:
        raise ValueError(f'unknown texture {texture!r}')
    return np.where(dark, TEXTURE_DARK, 1.0)


@dataclass
class PlacedObject:
    """An object of one class drawn at a position: its mask and its pixels."""

    class_index: int
    center: Tuple[float, float]  # (y, x) in pixels
    radius: float
    mask: np.ndarray = field(repr=False)  # (H, W) bool
    rgb: np.ndarray = field(repr=False)  # (H, W, 3) float32

    def overlaps(self, other: 'PlacedObject', margin: float = 1.0) -> bool:
        distance = np.hypot(self.center[0] - other.center[0],
                            self.center[1] - other.center[1])
        return distance < self.radius + other.radius + margin


def place_object(sound_class: SoundObjectClass, frame_size: int,
                 rng: np.random.Generator,
                 avoid: Sequence[PlacedObject] = (),
                 tries: int = 20) -> Optional[PlacedObject]:
    """Draw ``sound_class``'s object at a random position and size that does
    not overlap ``avoid``; ``None`` when no free place was found."""
    ys, xs = np.mgrid[0:frame_size, 0:frame_size].astype(np.float32) + 0.5
    for _ in range(tries):
        radius = rng.uniform(*RADIUS_RANGE) * frame_size
        cy, cx = rng.uniform(radius, frame_size - radius, size=2)
        candidate = PlacedObject(sound_class.index, (cy, cx), radius,
                                 mask=None, rgb=None)
        if any(candidate.overlaps(other) for other in avoid):
            continue
        u, v = (xs - cx) / radius, (ys - cy) / radius
        brightness = rng.uniform(0.9, 1.05)
        shade = texture_pattern(sound_class.texture, u, v) * brightness
        candidate.mask = shape_mask(sound_class.shape, u, v)
        candidate.rgb = (shade[..., None] *
                         np.asarray(sound_class.colour, np.float32))
        return candidate
    return None


def textured_background(frame_size: int,
                        rng: np.random.Generator) -> np.ndarray:
    """A grey-ish background with smooth blotches and fine grain, float32."""
    base = rng.uniform(70, 140) + rng.uniform(-15, 15, size=3)
    coarse = rng.normal(0, 25, size=(5, 5, 3))
    # bilinear upsampling as a product with a (S, 5) interpolation matrix
    weights = np.maximum(
        0, 1 - np.abs(np.linspace(0, 4, frame_size)[:, None] - np.arange(5)))
    smooth = np.einsum('ia,abc,jb->ijc', weights, coarse, weights)
    grain = rng.normal(0, 8, size=(frame_size, frame_size, 1))
    return (base + smooth + grain).astype(np.float32)


def sample_events(rng: np.random.Generator, num_classes: int, duration: float,
                  num_events: Tuple[int, int], event_length: Tuple[float,
                                                                   float],
                  min_gap: float) -> np.ndarray:
    """Random non-overlapping events ``(E, 3)``: class, start s, end s.

    ``E`` is drawn from ``num_events`` (inclusive), lengths from
    ``event_length``; events of one clip have distinct classes and are at
    least ``min_gap`` apart.
    """
    count = int(rng.integers(num_events[0], num_events[1] + 1))
    count = min(count, num_classes)
    shortest, longest = event_length
    room = duration - (count - 1) * min_gap
    if count * shortest > room:
        raise ValueError(
            f'{count} events of at least {shortest} s with gaps of '
            f'{min_gap} s do not fit in {duration} s')
    lengths = rng.uniform(shortest, longest, size=count)
    if lengths.sum() > room:  # shrink the part above the shortest length
        extra = lengths - shortest
        lengths = shortest + extra * (room - count * shortest) / extra.sum()
    gaps = rng.dirichlet(np.ones(count + 1)) * (room - lengths.sum())
    gaps[1:count] += min_gap
    starts = np.cumsum(gaps[:count]) + np.concatenate([[0], np.cumsum(
        lengths[:-1])])
    classes = rng.choice(num_classes, size=count, replace=False)
    events = np.stack([classes, starts, starts + lengths], axis=1)
    events[:, 1:] = np.round(events[:, 1:], 3)
    return events.astype(np.float32)


def compose(background: np.ndarray,
            objects: Sequence[Optional[PlacedObject]],
            noise_rng: np.random.Generator) -> np.ndarray:
    """Paint ``objects`` (in order, ``None`` skipped) on the background, add
    per-frame sensor noise and return uint8 ``(H, W, 3)``."""
    image = background.copy()
    for obj in objects:
        if obj is not None:
            image[obj.mask] = obj.rgb[obj.mask]
    image += noise_rng.normal(0, 4, size=image.shape).astype(np.float32)
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


@dataclass
class ClipScene:
    """Everything needed to draw any moment of one clip."""

    duration: float
    num_frames: int
    events: np.ndarray  # (E, 3) class, start s, end s
    event_objects: List[PlacedObject]
    distractors: List[Optional[PlacedObject]]  # one slot per frame interval
    background: np.ndarray = field(repr=False)  # (H, W, 3) float32

    @property
    def frame_size(self) -> int:
        return self.background.shape[0]

    def frame_time(self, i: int) -> float:
        """Time of frame ``i`` of ``num_frames``: ``i * duration / T``."""
        return i * self.duration / self.num_frames

    def sounding_event(self, t: float) -> int:
        """Index of the event sounding at time ``t`` (``-1`` when silent)."""
        active = np.nonzero((self.events[:, 1] <= t)
                            & (t < self.events[:, 2]))[0]
        return int(active[0]) if len(active) else -1

    def render(self, t: float,
               noise_rng: np.random.Generator
               ) -> Tuple[np.ndarray, np.ndarray]:
        """The frame at time ``t`` (uint8 ``(H, W, 3)``) and the mask of the
        sounding object (bool ``(H, W)``, all False when nothing sounds)."""
        interval = min(int(t * self.num_frames / self.duration),
                       self.num_frames - 1)
        event = self.sounding_event(t)
        sounding = self.event_objects[event] if event >= 0 else None
        image = compose(self.background,
                        [self.distractors[interval], sounding], noise_rng)
        if sounding is None:
            mask = np.zeros(image.shape[:2], dtype=bool)
        else:
            mask = sounding.mask.copy()
        return image, mask

    def frame_labels(self) -> np.ndarray:
        """Sounding class at each of the ``num_frames`` frame times
        (-1 where nothing sounds)."""
        labels = []
        for i in range(self.num_frames):
            event = self.sounding_event(self.frame_time(i))
            labels.append(int(self.events[event, 0]) if event >= 0 else -1)
        return np.asarray(labels, dtype=np.int64)


def sample_clip_scene(rng: np.random.Generator,
                      classes: Sequence[SoundObjectClass], frame_size: int,
                      duration: float, num_frames: int,
                      num_events: Tuple[int, int],
                      event_length: Tuple[float, float], min_gap: float,
                      distractor_prob: float) -> ClipScene:
    """Draw a random clip: events, their objects, the distractors, the
    background."""
    events = sample_events(rng, len(classes), duration, num_events,
                           event_length, min_gap)
    event_objects = [
        place_object(classes[int(c)], frame_size, rng) for c in events[:, 0]
    ]
    distractors: List[Optional[PlacedObject]] = []
    for k in range(num_frames):
        start, end = (k * duration / num_frames,
                      (k + 1) * duration / num_frames)
        overlapping = (events[:, 1] < end) & (events[:, 2] > start)
        if rng.random() >= distractor_prob:
            distractors.append(None)
            continue
        silent = np.setdiff1d(np.arange(len(classes)),
                              events[overlapping, 0].astype(int))
        choice = int(rng.choice(silent))
        avoid = [event_objects[e] for e in np.nonzero(overlapping)[0]]
        distractors.append(
            place_object(classes[choice], frame_size, rng, avoid=avoid))
    background = textured_background(frame_size, rng)
    return ClipScene(duration, num_frames, events, event_objects, distractors,
                     background)
