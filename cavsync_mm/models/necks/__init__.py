from .audio_visual_mae_decoder import AudioVisualMAEDecoder

__all__ = ['AudioVisualMAEDecoder']
