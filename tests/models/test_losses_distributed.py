"""InfoNCE with negatives from every rank: 2 real processes (gloo) equal one process."""
import datetime
import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from cavsync_mm.models.losses import InfoNCELoss

GLOBAL_BATCH, WORLD_SIZE, IN_DIMS, DIMS = 8, 2, 6, 5


def make_problem():
    generator = torch.Generator().manual_seed(0)
    audio_inputs = torch.randn(GLOBAL_BATCH, IN_DIMS, generator=generator)
    visual_inputs = torch.randn(GLOBAL_BATCH, IN_DIMS, generator=generator)
    torch.manual_seed(0)
    projections = nn.ModuleDict(dict(audio=nn.Linear(IN_DIMS, DIMS), visual=nn.Linear(IN_DIMS, DIMS)))
    return audio_inputs, visual_inputs, projections



def worker(rank, out_dir):
    torch.set_num_threads(1)
    # a file rendezvous: no TCP port to race for with other processes
    dist.init_process_group('gloo', init_method=f'file://{out_dir}/rendezvous', rank=rank,
                            world_size=WORLD_SIZE, timeout=datetime.timedelta(seconds=120))
    audio_inputs, visual_inputs, projections = make_problem()

    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.projections = projections

        def forward(self, audio, visual):
            return self.projections['audio'](audio), self.projections['visual'](visual)

    model = DistributedDataParallel(Pair())
    local = slice(rank * GLOBAL_BATCH // WORLD_SIZE, (rank + 1) * GLOBAL_BATCH // WORLD_SIZE)
    for symmetric in (False, True):
        model.zero_grad()
        audio, visual = model(audio_inputs[local], visual_inputs[local])
        loss, accuracy = InfoNCELoss(symmetric=symmetric)(audio, visual)
        loss.backward()  # DDP averages the parameter gradients over the ranks
        grads = {name: param.grad.clone() for name, param in projections.named_parameters()}
        torch.save(dict(loss=loss.detach(), accuracy=accuracy, grads=grads),
                   os.path.join(out_dir, f'symmetric{symmetric}_rank{rank}.pth'))
    dist.destroy_process_group()


@pytest.fixture(scope='module')
def two_rank_results(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp('infonce_ranks')
    mp.spawn(worker, args=(str(out_dir),), nprocs=WORLD_SIZE, join=True)
    return out_dir


@pytest.mark.parametrize('symmetric', [False, True])
def test_two_processes_equal_one_process_on_the_whole_batch(two_rank_results, symmetric):
    ranks = [torch.load(two_rank_results / f'symmetric{symmetric}_rank{rank}.pth')
             for rank in range(WORLD_SIZE)]

    audio_inputs, visual_inputs, projections = make_problem()
    loss, accuracy = InfoNCELoss(symmetric=symmetric)(projections['audio'](audio_inputs),
                                                      projections['visual'](visual_inputs))
    loss.backward()

    # the loss of the global batch = mean of the ranks' losses (each over its local queries)
    torch.testing.assert_close(torch.stack([r['loss'] for r in ranks]).mean(), loss.detach())
    torch.testing.assert_close(torch.stack([r['accuracy'] for r in ranks]).mean(), accuracy)
    # DDP-averaged gradients (identical on every rank) = single-process gradients
    for name, param in projections.named_parameters():
        for result in ranks:
            torch.testing.assert_close(result['grads'][name], param.grad, atol=1e-6, rtol=1e-5)


def test_local_negatives_differ_from_global():
    """Sanity: the test can fail -- a per-rank loss (no gather) gives another value."""
    audio_inputs, visual_inputs, projections = make_problem()
    loss_fn = InfoNCELoss()
    with torch.no_grad():
        audio, visual = projections['audio'](audio_inputs), projections['visual'](visual_inputs)
        whole, _ = loss_fn(audio, visual)
        halves = [loss_fn(audio[i:i + 4], visual[i:i + 4])[0] for i in (0, 4)]
    assert not torch.allclose(torch.stack(halves).mean(), whole)
