"""Checkpoints: one ``.npz`` (no pickle) that is enough to evaluate a model or resume training.

Layout of the archive:

- ``model/<dotted name>``: each parameter (``Module.state_dict``);
- ``optimizer/<key>``: the optimizer's flat ``state_dict``, when one was saved;
- ``meta``: a 0-d unicode array holding JSON: the format version, the architecture (see
  :mod:`mint.models`), the optimizer's class name, the number of finished epochs, the state of
  the shuffling generator (``bit_generator.state``), the per-epoch history and the run's
  configuration.

:func:`save_checkpoint` writes a temporary file in the same folder, flushes it to disk and
renames it over the target, so a crash at any moment leaves the previous checkpoint intact.
"""

import json
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mint.files import write_atomically
from mint.models import build

FORMAT = "mint-checkpoint"
VERSION = 1
_MODEL, _OPTIMIZER, _META = "model/", "optimizer/", "meta"


class CheckpointError(RuntimeError):
    """A checkpoint is missing, truncated, corrupted or does not match what it is loaded into."""


def save_checkpoint(path, model, architecture, *, optimizer=None, epoch=0, rng=None,
                    history=(), config=None):
    """Write ``model`` (and ``optimizer``, ``rng``, ...) to ``path`` atomically; returns the path.

    ``architecture`` is the dict :func:`mint.models.build` rebuilds the model from; ``history``
    and ``config`` must be JSON-able.
    """
    path = Path(path)
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "architecture": architecture,
        "optimizer": None if optimizer is None else type(optimizer).__name__,
        "epoch": int(epoch),
        "rng_state": None if rng is None else rng.bit_generator.state,
        "history": list(history),
        "config": config or {},
    }
    arrays = {_MODEL + name: value for name, value in model.state_dict().items()}
    if optimizer is not None:
        for key, value in optimizer.state_dict().items():
            arrays[_OPTIMIZER + key] = np.asarray(value)
    arrays[_META] = np.array(json.dumps(meta))
    return write_atomically(path, lambda file: np.savez(file, **arrays))


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` read; :meth:`build_model` and :meth:`generator` restore it."""

    path: Path
    architecture: dict
    model_state: dict
    optimizer_name: str | None = None
    optimizer_state: dict = field(default_factory=dict)
    epoch: int = 0
    rng_state: dict | None = None
    history: list = field(default_factory=list)
    config: dict = field(default_factory=dict)

    def build_model(self, strategy=None):
        """The saved model: built from its architecture, then given the saved parameters.
        Building it checks the architecture, so read its entries (``in_shape``) after this."""
        try:
            model = build(self.architecture, strategy=strategy)
        except (TypeError, ValueError) as error:
            raise CheckpointError(
                f"{self.path}: its architecture is not one Mint can build ({error})"
            ) from None
        try:
            model.load_state_dict(self.model_state)
        except (TypeError, ValueError) as error:
            raise CheckpointError(
                f"{self.path}: its parameters do not match its architecture ({error})"
            ) from None
        return model

    def data_settings(self):
        """The class names and the per-channel ``{"mean": [...], "std": [...]}`` that the run
        standardised its images by, from ``config`` (``None`` each where it has none), checked
        against the architecture; else a CheckpointError naming the file."""
        classes, normalize = self.config.get("classes"), self.config.get("normalize")
        channels = (self.architecture.get("in_shape") or [None])[0]
        num_classes = self.architecture.get("num_classes")
        if classes is not None and not (isinstance(classes, list) and len(classes) == num_classes
                                        and all(isinstance(name, str) for name in classes)):
            raise CheckpointError(f"{self.path}: its run setting 'classes' must be a list of "
                                  f"{num_classes} names, got {classes!r:.60}")
        if normalize is not None and not (
                isinstance(normalize, dict) and set(normalize) == {"mean", "std"}
                and all(isinstance(values, list) and len(values) == channels
                        and all(isinstance(v, float) and math.isfinite(v) for v in values)
                        for values in normalize.values())
                and min(normalize["std"]) > 0):
            raise CheckpointError(f"{self.path}: its run setting 'normalize' must be "
                                  f"{{'mean': [...], 'std': [...]}} with {channels} finite "
                                  f"numbers each (std > 0), got {normalize!r:.60}")
        return classes, normalize

    def restore_optimizer(self, optimizer):
        """Give ``optimizer`` (of the saved class, over the saved model) the saved state."""
        if self.optimizer_name != type(optimizer).__name__:
            raise CheckpointError(
                f"{self.path}: holds the state of optimizer {self.optimizer_name}, "
                f"not {type(optimizer).__name__}"
            )
        try:
            optimizer.load_state_dict(self.optimizer_state)
        except (KeyError, TypeError, ValueError) as error:
            raise CheckpointError(
                f"{self.path}: its optimizer state does not fit the model ({error})"
            ) from None

    def generator(self):
        """A ``numpy.random.Generator`` in the saved state (a fresh one if none was saved)."""
        if self.rng_state is None:
            return np.random.default_rng()
        try:
            bit_generator = getattr(np.random, self.rng_state["bit_generator"])()
            bit_generator.state = self.rng_state
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise CheckpointError(f"{self.path}: unreadable generator state ({error})") from None
        return np.random.Generator(bit_generator)


def load_checkpoint(path):
    """Read a checkpoint written by :func:`save_checkpoint`, or raise :class:`CheckpointError`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    if not zipfile.is_zipfile(path):  # else np.load would talk of unpickling it
        raise CheckpointError(
            f"{path} is not an .npz archive: truncated or corrupted, or not a checkpoint"
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}  # reading checks CRCs
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as error:
        raise CheckpointError(
            f"{path} is truncated or corrupted and cannot be read ({error}); use an earlier "
            f"checkpoint or train again"
        ) from None
    try:
        meta = json.loads(str(arrays.pop(_META)))
    except (KeyError, ValueError):
        meta = None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a Mint checkpoint (no valid 'meta' entry)")
    if meta.get("version") != VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {meta.get('version')}; this Mint reads "
            f"version {VERSION}"
        )
    _check_meta(path, meta)
    return Checkpoint(
        path=path,
        architecture=meta["architecture"],
        model_state={k[len(_MODEL):]: v for k, v in arrays.items() if k.startswith(_MODEL)},
        optimizer_name=meta["optimizer"],
        optimizer_state={
            k[len(_OPTIMIZER):]: v for k, v in arrays.items() if k.startswith(_OPTIMIZER)
        },
        epoch=meta["epoch"],
        rng_state=meta["rng_state"],
        history=meta["history"],
        config=meta["config"],
    )


# What each entry of ``meta`` must be: a description for errors, and a test.
_META_FIELDS = {
    "architecture": ("a dict", lambda v: isinstance(v, dict)),
    "optimizer": ("a class name or null", lambda v: v is None or isinstance(v, str)),
    "epoch": ("an int >= 0", lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0),
    "rng_state": ("a dict or null", lambda v: v is None or isinstance(v, dict)),
    "history": ("a list of dicts",
                lambda v: isinstance(v, list) and all(isinstance(row, dict) for row in v)),
    "config": ("a dict", lambda v: isinstance(v, dict)),
}


def _check_meta(path, meta):
    """Every field :func:`save_checkpoint` writes is there and of its type (a hand-edited
    checkpoint may lack some), else :class:`CheckpointError` naming them."""
    missing = [name for name in _META_FIELDS if name not in meta]
    if missing:
        raise CheckpointError(
            f"{path}: its metadata lacks {', '.join(map(repr, missing))}; it was edited or "
            f"written by another tool. Use an earlier checkpoint or train again"
        )
    for name, (expected, test) in _META_FIELDS.items():
        if not test(meta[name]):
            raise CheckpointError(
                f"{path}: {name!r} must be {expected} in its metadata, got {meta[name]!r:.60}"
            )
