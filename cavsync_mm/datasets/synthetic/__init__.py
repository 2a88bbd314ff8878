"""Synthetic audio-visual clips with known sounding objects (the toy data).

K sound-object classes each pair a visual object with a sound; a clip shows
and plays a sequence of 2-4 of them, so the audio around frame i matches what
frame i shows. See ``docs/synthetic_data.md``.
"""
from .builder import make_toy_dataset
from .classes import SoundObjectClass, make_classes
from .config import ToyDatasetConfig

__all__ = [
    'make_toy_dataset', 'make_classes', 'SoundObjectClass', 'ToyDatasetConfig'
]
