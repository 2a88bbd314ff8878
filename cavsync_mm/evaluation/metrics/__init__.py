
from .retrieval import RetrievalMetric  # noqa: F401
from .segmentation import SoundPromptedSegmentationMetric  # noqa: F401
