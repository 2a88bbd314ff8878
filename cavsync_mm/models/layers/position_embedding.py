"""Fixed 2D sine-cosine position embeddings (the MAE convention, no cls row)."""
import torch


def sincos_1d(embed_dims: int, positions: torch.Tensor) -> torch.Tensor:
    """``(M,)`` positions -> ``(M, embed_dims)``: sines then cosines of MAE's frequencies."""
    if embed_dims % 2:
        raise ValueError(f'embed_dims must be even, got {embed_dims}')
    omega = torch.arange(embed_dims // 2, dtype=torch.float64) / (embed_dims / 2.)
    omega = 1. / 10000 ** omega
    angles = positions.double().reshape(-1)[:, None] * omega[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


def sincos_2d(embed_dims: int, grid_height: int, grid_width: int) -> torch.Tensor:
    """Position embeddings of a ``grid_height x grid_width`` patch grid, row-major.

    Token ``h * grid_width + w`` gets ``[sincos_1d(w) ; sincos_1d(h)]`` (each half
    ``embed_dims / 2`` wide): the layout of MAE's ``get_2d_sincos_pos_embed``,
    which CAV-MAE extended to rectangular (frequency x time) audio grids.
    Returns float32 ``(grid_height * grid_width, embed_dims)``.
    """
    if embed_dims % 4:
        raise ValueError(f'embed_dims must be divisible by 4, got {embed_dims}')
    rows, cols = torch.meshgrid(torch.arange(grid_height), torch.arange(grid_width),
                                indexing='ij')
    embedding = torch.cat([sincos_1d(embed_dims // 2, cols.flatten()),
                           sincos_1d(embed_dims // 2, rows.flatten())], dim=1)
    return embedding.float()
