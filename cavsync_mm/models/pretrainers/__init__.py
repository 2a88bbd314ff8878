from .cavmae_sync import CAVMAESync
from .mask_ratio import MaskRatioSampler
from .state_dict_mapping import (cavsync_to_release, mae_to_cavsync,
                                 release_to_cavsync)

__all__ = ['CAVMAESync', 'MaskRatioSampler', 'release_to_cavsync',
           'cavsync_to_release', 'mae_to_cavsync']
