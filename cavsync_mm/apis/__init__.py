from .inference import (extract_features, init_model,  # noqa: F401
                        load_model_weights)

from .retrieval import extract_clip_features, rank_clips, retrieve  # noqa: F401
from .localization import localize_video, save_localization  # noqa: F401
