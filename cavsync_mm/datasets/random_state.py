"""Every random number generator a training process draws from, as one state.

Exact resume needs the generators of the main process (python ``random``,
numpy's global generator, torch's CPU and CUDA generators) saved in the
checkpoint, and the data pipeline's randomness made a function of *which*
batch is loaded rather than of how many batches a worker process happened to
load before (see :class:`~cavsync_mm.datasets.samplers.ResumableBatchSampler`).
"""
import contextlib
import random
from typing import Iterator, Sequence

import numpy as np
import torch


def get_rng_state() -> dict:
    """The state of python's, numpy's, torch's and (if present) CUDA's
    global generators."""
    state = dict(python=random.getstate(), numpy=np.random.get_state(),
                 torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore a state from :func:`get_rng_state`."""
    random.setstate(_as_python_state(state['python']))
    np.random.set_state(state['numpy'])
    torch.set_rng_state(torch.as_tensor(state['torch'], dtype=torch.uint8))
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(
            [torch.as_tensor(s, dtype=torch.uint8) for s in state['cuda']])


def _as_python_state(state):
    # a checkpoint round trip may turn the inner tuple into a list
    version, internal, gauss = state
    return version, tuple(internal), gauss


@contextlib.contextmanager
def isolated_rng() -> Iterator[None]:
    """Run the block without changing any global generator's state."""
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


def seed_everything(entropy: Sequence[int]) -> None:
    """Seed python, numpy and torch from a tuple of integers (e.g.
    ``(seed, rank, epoch, batch)``) through numpy's ``SeedSequence``, so
    that neighbouring tuples give unrelated streams."""
    words = np.random.SeedSequence([int(e) % (1 << 64) for e in entropy]
                                   ).generate_state(2, dtype=np.uint32)
    seed = (int(words[0]) << 32) | int(words[1])
    random.seed(seed)
    np.random.seed(int(words[0]))
    torch.manual_seed(seed & 0x7FFFFFFFFFFFFFFF)
