"""Linear-probing heads (paper Sec. 3.5.2)."""
from .linear_probe_head import LinearProbeHead
from .probe_head import ProbeHead
from .temporal_transformer_head import TemporalTransformerHead

__all__ = ['ProbeHead', 'LinearProbeHead', 'TemporalTransformerHead']
