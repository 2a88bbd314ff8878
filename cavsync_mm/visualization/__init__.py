
from .heatmaps import (overlay_heatmap, save_heatmap_grid,  # noqa: F401
                       save_heatmap_overlay, write_heatmap_video)
from .temporal import draw_temporal_segmentation  # noqa: F401
from .reconstruction import save_reconstruction  # noqa: F401
from .curves import read_scalars, save_loss_curves  # noqa: F401
from .heatmaps import heatmap_overlay_panel  # noqa: F401
from .reconstruction import draw_reconstruction  # noqa: F401
from .temporal import temporal_segmentation_image  # noqa: F401
from .visualizer import AVVisualizer  # noqa: F401
