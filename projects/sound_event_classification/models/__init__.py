from .audio_encoder import CAVMAESyncAudioEncoder

__all__ = ['CAVMAESyncAudioEncoder']
