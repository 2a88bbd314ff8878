"""The model wrapper of distributed evaluation runs (``tools/test.py``)."""
from torch import nn

from cavsync_mm.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class EvaluationModelWrapper(nn.Module):
    """Holds the model of a distributed test or validation run.

    The ranks split the clips through the sampler and each runs the model on
    its own share; the evaluator gathers the results. Nothing is synchronised
    per step, so unlike ``DistributedDataParallel`` this wrapper takes models
    without trainable parameters (a frozen encoder, the parameter-free
    centre prior) and adds nothing to a step. It refuses to train.

    Args:
        module: the model (a ``BaseModel``), already on its device.
    """

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def val_step(self, data):
        return self.module.val_step(data)

    def test_step(self, data):
        return self.module.test_step(data)

    def train_step(self, data, optim_wrapper):
        raise RuntimeError(
            'EvaluationModelWrapper is for test and validation runs; '
            'training runs use MMDistributedDataParallel (the default)')
