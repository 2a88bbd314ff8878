from .gather import gather_with_gradient, world_info
from .infonce_loss import InfoNCELoss
from .masked_reconstruction_loss import MaskedReconstructionLoss

__all__ = ['InfoNCELoss', 'MaskedReconstructionLoss', 'gather_with_gradient',
           'world_info']
