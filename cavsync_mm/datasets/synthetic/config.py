"""The arguments of a synthetic toy dataset, checked in one place."""
from dataclasses import asdict, dataclass
from typing import Any, Dict, Tuple

import numpy as np

#: Codes that keep the random streams of the parts of the dataset apart.
SPLIT_CODES = {'train': 0, 'val': 1, 'segmentation': 2}


@dataclass(frozen=True)
class ToyDatasetConfig:
    """Everything that decides the content of a toy dataset.

    Two datasets made with equal configs are identical (the number of worker
    processes does not matter).
    """

    num_clips: int = 500  # training clips
    val_clips: int = 200
    num_classes: int = 8
    frame_size: int = 64
    num_frames: int = 16  # T: extracted frames, frame i at i * duration / T
    duration: float = 10.0  # seconds
    seed: int = 0
    sample_rate: int = 16000
    fps: int = 8  # frame rate of the mp4
    seg_per_class: int = 12  # sound-prompted segmentation images per class
    distractor_prob: float = 0.3  # chance of a silent object per interval
    snr_db: float = 10.0  # sounding class vs background noise
    num_events: Tuple[int, int] = (2, 4)  # events per clip (inclusive)
    event_length: Tuple[float, float] = (1.5, 4.0)  # seconds
    min_gap: float = 0.25  # seconds between events
    # prompt audio, seconds: longer than one 4.16 s segment, so a prompt
    # segment is never padded
    prompt_length: Tuple[float, float] = (4.5, 6.0)

    def __post_init__(self):
        for name in ('num_clips', 'val_clips', 'seg_per_class'):
            if getattr(self, name) < 0:
                raise ValueError(f'{name} must be >= 0, got '
                                 f'{getattr(self, name)}')
        if self.frame_size < 16 or self.frame_size % 2:
            raise ValueError('frame_size must be even and >= 16 (H.264), '
                             f'got {self.frame_size}')
        if self.num_frames < 1 or self.duration <= 0 or self.fps < 1:
            raise ValueError('num_frames, duration and fps must be positive')
        if not 0 <= self.distractor_prob <= 1:
            raise ValueError('distractor_prob must be in [0, 1], got '
                             f'{self.distractor_prob}')
        if self.sample_rate < 8000:
            raise ValueError(
                f'sample_rate must be >= 8000 Hz, got {self.sample_rate}')
        low, high = self.num_events
        if not 1 <= low <= high:
            raise ValueError(f'num_events must be 1 <= min <= max, got '
                             f'{self.num_events}')
        shortest, _ = self.event_length
        fewest = min(high, self.num_classes)
        if fewest * shortest + (fewest - 1) * self.min_gap > self.duration:
            raise ValueError(
                f'{fewest} events of {shortest} s (+ gaps of {self.min_gap} '
                f's) do not fit in a {self.duration} s clip')

    def rng(self, split: str, *keys: int) -> np.random.Generator:
        """The random stream of one item (clip / image) and part of it."""
        return np.random.default_rng(
            np.random.SeedSequence([self.seed, SPLIT_CODES[split], *keys]))

    def to_dict(self) -> Dict[str, Any]:
        """JSON-friendly form, as stored in the manifest."""
        return {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in asdict(self).items()
        }
