from .audio_visual_mae_decoder import AudioVisualMAEDecoder
from .temporal_necks import TemporalMeanNeck, TemporalTransformerNeck

__all__ = ['AudioVisualMAEDecoder', 'TemporalTransformerNeck',
           'TemporalMeanNeck']
