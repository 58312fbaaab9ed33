"""Data-parallel training over MPI processes, through mpi4py (as PyTorch's DistributedDataParallel).

Every process holds the whole model and trains on its share of each *global batch*:

- with ``batch_size`` B per process and N processes a global batch holds N*B images; every
  process draws the same permutation of the training set each epoch (the shuffling generator
  starts in rank 0's state) and process r takes the r-th contiguous part of each global batch
  (:class:`ShardedBatches`);
- after its backward pass, each process's gradients (of its mean loss over its n_r images) are
  weighted by n_r / n and summed over processes with one in-place ``Allreduce`` per dtype
  (:func:`allreduce_gradients`), which gives every process the gradient of the mean loss over
  the n images of the global batch, so each takes the same optimizer step. A short last batch is
  shared out the same way (parts differ by at most one image; a process may get none) and
  weighted by these counts: N processes with batch B take the steps of one process with batch
  N*B, up to rounding;
- evaluation is split the same way and its predictions and loss sums are combined
  (:func:`evaluate`).

Mint has no layer yet whose result depends on the batch or on chance; when it does, as in
DistributedDataParallel, BatchNorm uses each process's own batch statistics (unless a
synchronised variant is chosen) and Dropout draws different masks on each process (its generator
must not be seeded the same on all).

Run a script under ``mpiexec -n 4 python script.py`` (or ``srun``); ``mint train --distributed``
does all of this. MPI starts on the first call here (:func:`init`), never on ``import mint``.
After :func:`init`, an exception no code catches on any process ends every process
(``MPI_Abort``) once its traceback is printed, instead of leaving the others waiting for it.
"""

import os
import sys
import time

import numba
import numpy as np

from mint import evaluation
from mint.data import Batches

INSTALL = ('python -m pip install "mint-nn[distributed]" (and mpich, on a machine without an MPI '
           'library)')

_world = None  # MPI.COMM_WORLD once init() ran


class DistributedError(RuntimeError):
    """MPI cannot start here: mpi4py or an MPI library is missing; the message says what to do."""


def init():
    """Start MPI (once) through mpi4py and return the world communicator.

    Run under ``mpiexec -n N`` every process gets its rank; run alone it is a world of one.
    With more than one process, an uncaught exception then ends all of them (:func:`abort`).
    Raises :class:`DistributedError` when mpi4py or its MPI library is missing.
    """
    global _world
    if _world is None:
        try:
            from mpi4py import MPI
        except (ImportError, RuntimeError) as error:  # RuntimeError: no MPI library to load
            raise DistributedError(
                f"distributed training needs mpi4py and an MPI library ({error}): {INSTALL}"
            ) from None
        _world = MPI.COMM_WORLD
        if _world.Get_size() > 1:
            _abort_on_uncaught_exceptions()
    return _world


def rank():
    """This process's number, 0 to ``world_size() - 1``."""
    return init().Get_rank()


def world_size():
    """How many processes train together."""
    return init().Get_size()


def is_main():
    """Whether this is rank 0, the process that prints and writes files."""
    return rank() == 0


def barrier():
    """Wait until every process has called this."""
    init().Barrier()


def abort(status=1):
    """End every process of the job with exit ``status`` (``MPI_Abort``), after flushing this
    one's output. Does nothing when MPI is not running or runs one process: the caller then
    exits with ``status`` itself. For a process that fails while the others would wait for it."""
    if _world is not None and _world.Get_size() > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        # mpiexec forwards each process's output through its own proxy; MPI_Abort tears the job
        # down at once, and under load the error's last line, still in the proxy, was lost
        # (1 run in 3 of the failing-process test). A moment lets it through.
        time.sleep(0.5)
        _world.Abort(status)


def _abort_on_uncaught_exceptions():
    print_exception = sys.excepthook

    def excepthook(kind, value, traceback):
        print_exception(kind, value, traceback)
        abort(130 if issubclass(kind, KeyboardInterrupt) else 1)

    sys.excepthook = excepthook


def threads_per_process():
    """Cores of this machine divided by the processes running on it (at least 1), at most the
    cores this process may use and Numba's thread limit: the default ``--threads``."""
    from mpi4py import MPI

    init()
    local = _world.Split_type(MPI.COMM_TYPE_SHARED)
    processes = local.Get_size()
    local.Free()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min((os.cpu_count() or 1) // processes, usable, numba.config.NUMBA_NUM_THREADS))


# --------------------------------------------------------------------------- parameters, gradients


def _flat_groups(arrays):
    """``{dtype: [arrays]}``: the arrays grouped by dtype, in their order."""
    groups = {}
    for array in arrays:
        groups.setdefault(array.dtype, []).append(array)
    return groups


def _scatter(buffer, arrays):
    """Copy the consecutive pieces of the flat ``buffer`` back into ``arrays``."""
    offset = 0
    for array in arrays:
        array[...] = buffer[offset:offset + array.size].reshape(array.shape)
        offset += array.size


def broadcast_parameters(model, root=0):
    """Give every process the parameters of process ``root`` (one ``Bcast`` per dtype)."""
    world = init()
    for arrays in _flat_groups(p.data for p in model.parameters()).values():
        buffer = np.concatenate([a.ravel() for a in arrays])
        world.Bcast(buffer, root=root)
        _scatter(buffer, arrays)


def allreduce_gradients(model, weight=None):
    """Replace each parameter's ``grad`` by the sum over processes of ``weight * grad``.

    ``weight`` defaults to 1 / world_size: the gradients are averaged. The gradients of a dtype
    are copied into one contiguous buffer, scaled, summed in place by a single ``Allreduce`` and
    copied back: one message per dtype, however many parameters the model has.
    """
    from mpi4py import MPI

    world = init()
    weight = 1.0 / world.Get_size() if weight is None else float(weight)
    for arrays in _flat_groups(p.grad for p in model.parameters()).values():
        buffer = np.concatenate([a.ravel() for a in arrays])
        buffer *= weight
        world.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
        _scatter(buffer, arrays)


def reduce_step(model, loss, correct, count, global_count, stop=False):
    """Combine one training step over the processes, after each one's backward pass.

    ``loss`` is this process's mean loss over its ``count`` images (``correct`` of them
    classified right) out of a global batch of ``global_count``; ``stop``: whether this process
    was interrupted. The gradients become those of the mean loss over the global batch
    (:func:`allreduce_gradients` with weight count / global_count). Returns ``(mean loss,
    correct, count, stop)`` over the global batch, the same on every process (``stop`` if any
    process was interrupted, so that all stop at this step).
    """
    from mpi4py import MPI

    allreduce_gradients(model, weight=count / global_count)
    totals = np.array([loss * count if count else 0.0, correct, count, stop], dtype=np.float64)
    init().Allreduce(MPI.IN_PLACE, totals, op=MPI.SUM)
    return totals[0] / totals[2], int(totals[1]), int(totals[2]), bool(totals[3])


# ---------------------------------------------------------------------------------- the data


def shard(count, rank, world_size):
    """The slice of ``count`` items that process ``rank`` of ``world_size`` takes: contiguous,
    in rank order, sizes differing by at most one (some may be empty when count < world_size)."""
    return slice(count * rank // world_size, count * (rank + 1) // world_size)


class ShardedBatches(Batches):
    """This process's part of each global batch of ``batch_size * world_size`` images.

    Yields ``(images, labels)`` like :class:`~mint.data.Batches` over the global batches (so
    ``len`` is the number of steps, and ``self.batch_size`` is the global batch size), each cut
    by :func:`shard`: ``batch_size`` images a step, fewer (or none) in a short last batch;
    :meth:`global_size` is a step's global batch size. ``rank`` and ``world_size`` default to
    MPI's; then rank 0's ``seed`` generator state is copied to every process (in place, when
    ``seed`` is a Generator), so that every process draws the same permutations. ``augment``
    transforms the whole global batch on every process (the same draws everywhere, keeping the
    generators equal) before the cut: the shards of an augmented run are those of one process.
    """

    def __init__(self, images, labels, batch_size, shuffle=False, seed=None, drop_last=False,
                 *, rank=None, world_size=None, augment=None):
        if rank is None or world_size is None:
            world = init()
            rank, world_size = world.Get_rank(), world.Get_size()
        else:
            world = None
        if not 0 <= rank < world_size:
            raise ValueError(f"ShardedBatches: rank must be in [0, {world_size}), got {rank}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(
                f"ShardedBatches: batch_size must be a positive int, got {batch_size!r}"
            )
        super().__init__(images, labels, batch_size * world_size, shuffle, seed, drop_last,
                         augment)
        self.rank, self.world_size = rank, world_size
        if world is not None and shuffle:
            self.rng.bit_generator.state = world.bcast(self.rng.bit_generator.state, root=0)

    def global_size(self, index):
        """Images in global batch ``index`` (all processes together)."""
        return min(self.batch_size, len(self.labels) - index * self.batch_size)

    def __iter__(self):
        n = len(self.labels)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            batch = order[start:start + self.batch_size]
            mine = shard(len(batch), self.rank, self.world_size)
            if self.augment is None:
                yield self.images[batch[mine]], self.labels[batch[mine]]
            else:
                yield self.augment(self.images[batch], self.rng)[mine], self.labels[batch[mine]]


def evaluate(model, data, loss_fn=None, batch_size=500):
    """:func:`mint.evaluation.evaluate` split over the processes: each evaluates its
    :func:`shard` of ``data``; the predictions are gathered and the loss sums added, so every
    process gets the result of the whole data set."""
    images, labels = data
    if len(labels) == 0:
        raise ValueError("evaluate: the data set is empty")
    world = init()
    part = shard(len(labels), world.Get_rank(), world.Get_size())
    predictions, loss_sum = np.empty(0, dtype=np.int64), 0.0
    if part.stop > part.start:
        result = evaluation.evaluate(model, (images[part], labels[part]), loss_fn, batch_size)
        predictions = result["predictions"]
        if loss_fn is not None:
            loss_sum = result["loss"] * len(predictions)
    pieces = world.allgather((predictions, loss_sum))
    predictions = np.concatenate([piece for piece, _ in pieces])
    return {
        "accuracy": float(np.mean(predictions == labels)),
        "loss": None if loss_fn is None else sum(total for _, total in pieces) / len(labels),
        "predictions": predictions,
    }
