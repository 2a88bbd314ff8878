from .audio_visual_data_preprocessor import AudioVisualDataPreprocessor

__all__ = ['AudioVisualDataPreprocessor']
