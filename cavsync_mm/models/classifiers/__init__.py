"""Task models that classify clips (linear probing, paper Sec. 3.5.2)."""
from .audio_visual_classifier import AudioVisualClassifier
from .probe_tokens import combine_modalities, probe_tokens

__all__ = ['AudioVisualClassifier', 'probe_tokens', 'combine_modalities']
