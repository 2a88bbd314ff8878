from .audio_visual_encoder import AudioVisualEncoder

__all__ = ['AudioVisualEncoder']
