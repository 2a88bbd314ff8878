"""Sound-prompted localisation (paper Sec. 3.5.3)."""
from .heatmaps import (audio_visual_similarity, center_prior_heatmap,
                       feature_surgery_similarity, patch_grid,
                       upsample_heatmaps)
from .sound_prompted_localizer import SoundPromptedLocalizer

__all__ = [
    'SoundPromptedLocalizer', 'audio_visual_similarity',
    'center_prior_heatmap', 'feature_surgery_similarity', 'patch_grid',
    'upsample_heatmaps'
]
