"""Pure tensor functions behind the metrics (no registries, no MMEngine)."""
from .retrieval import (RETRIEVAL_STRATEGIES, rank_summary,  # noqa: F401
                        retrieval_ranks, score_matrix, similarity_matrix)
