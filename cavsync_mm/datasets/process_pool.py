"""A process pool that survives its workers: per-item timeout, dead-worker
detection, one result per item.

``multiprocessing.Pool`` loses the task of a worker that the kernel kills
(out of memory, SIGKILL) and then waits for its result forever, and has no
per-task timeout; ``concurrent.futures.ProcessPoolExecutor`` turns one dead
worker into ``BrokenProcessPool`` for every pending task. Neither lets a
long extraction run record the one bad clip and go on, so the tools
(``tools/data/extract_av.py``, ``tools/data/pack_shards.py``) use this small
supervisor: each worker has its own pipe and runs one item at a time; a
worker whose pipe closes (it died) or whose item runs past ``timeout`` is
killed and replaced, and its item is reported as a :class:`WorkerFailure`.
"""
import multiprocessing
import signal
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any, Callable, Iterator, Optional, Sequence, Tuple


@dataclass
class WorkerFailure:
    """Why an item got no result: its worker died or ran out of time."""
    message: str


def _describe_exit(exitcode: Optional[int]) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f'signal {-exitcode}'
        hint = (' (SIGKILL: most often the kernel\'s out-of-memory killer)'
                if -exitcode == signal.SIGKILL else '')
        return f'the worker process was killed by {name}{hint}'
    return f'the worker process exited with code {exitcode}'


def _worker_loop(function: Callable, conn) -> None:
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        index, item = job
        try:
            conn.send((index, True, function(item)))
        except Exception as err:  # report, keep serving
            conn.send((index, False, f'{type(err).__name__}: {err}'))


class _Worker:

    def __init__(self, context, function):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_loop,
                                       args=(function, child), daemon=True)
        self.process.start()
        child.close()
        self.job: Optional[Tuple[int, Any]] = None
        self.started = 0.0

    def give(self, index: int, item: Any) -> None:
        self.job = (index, item)
        self.started = time.monotonic()
        self.conn.send(self.job)

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        else:
            try:
                self.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        self.process.join(timeout=None if kill else 5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


def add_worker_arguments(parser) -> None:
    """``--workers`` and ``--timeout`` (per item) of the tools that use
    :func:`supervised_map`."""
    parser.add_argument('--workers', type=int, default=1,
                        help='parallel processes')
    parser.add_argument('--timeout', type=float, default=600,
                        help='seconds one clip may take before its worker is '
                        'killed and the clip recorded as failed (0: none)')


def supervised_map(function: Callable, items: Sequence,
                   workers: int = 1, timeout: Optional[float] = None,
                   poll: float = 0.5) -> Iterator[Tuple[int, Any]]:
    """Run ``function(item)`` for each item in ``workers`` processes.

    Yields ``(index, result)`` in completion order, one per item. ``result``
    is what ``function`` returned, or a :class:`WorkerFailure` when the
    function raised, its worker died (e.g. killed by the OOM killer) or it
    ran longer than ``timeout`` seconds (the worker is then killed). Dead and
    killed workers are replaced, so the run always ends.
    """
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context(
        'fork' if 'fork' in methods else 'spawn')
    queue = deque(enumerate(items))
    pool = [_Worker(context, function)
            for _ in range(max(1, min(workers, len(queue))))]
    try:
        while True:
            for k, worker in enumerate(pool):
                if worker.job is None and queue:
                    if not worker.process.is_alive():  # died while idle
                        worker.stop(kill=True)
                        pool[k] = worker = _Worker(context, function)
                    worker.give(*queue.popleft())
            busy = [w for w in pool if w.job is not None]
            if not busy:
                return
            ready = wait([w.conn for w in busy], timeout=poll)
            for k, worker in enumerate(pool):
                if worker.job is None:
                    continue
                index = worker.job[0]
                failure = None
                if worker.conn in ready:
                    try:
                        got, ok, value = worker.conn.recv()
                    except (EOFError, OSError):
                        worker.process.join(timeout=5)
                        failure = _describe_exit(worker.process.exitcode)
                    else:
                        worker.job = None
                        yield got, value if ok else WorkerFailure(value)
                        continue
                elif timeout is not None and \
                        time.monotonic() - worker.started > timeout:
                    failure = (f'timed out after {timeout:g} s (the worker '
                               'was killed)')
                if failure is not None:
                    worker.stop(kill=True)
                    pool[k] = _Worker(context, function)
                    yield index, WorkerFailure(failure)
    finally:
        for worker in pool:
            worker.stop(kill=worker.job is not None)
