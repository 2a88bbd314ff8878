"""matplotlib figures as RGB arrays, without pyplot (no global backend)."""
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def figure_to_rgb(figure: Figure, dpi: int = 100) -> np.ndarray:
    """Render ``figure`` with Agg into a uint8 ``(H, W, 3)`` array."""
    figure.set_dpi(dpi)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.array(canvas.buffer_rgba())[..., :3]
