"""Learning as a job: train a candidate on new feedback, promote it only if it is not worse.

``learn(settings, events)`` runs under a file lock (``training_lock``: ``fcntl.flock`` on
``models/ranker/.training.lock``), so two trainings never run at once, in one process or across
processes. Recipe:

1. the current version is the parent (none: nothing to learn from, train one first);
2. a child is trained on the new feedback with replay of the parent's training data
   (``ranker.update.update``, saved but not served);
3. it is evaluated on the parent's held-out test split and on the held-out part of the new
   feedback (every 5th row: the most recent shoppers' opinions), before and after;
4. ``decide``: promoted only if it is not worse on both (RMSE after <= before + ``tolerance``);
5. the decision and its numbers are written into the child's metadata; a promoted child becomes
   current (its parent stays saved for ``shopassist ranker rollback``), a rejected one stays saved
   and unserved.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ranker import versions
from ranker.data import RatingData
from ranker.update import update
from shopassist.errors import OperatorError
from shopassist.settings import Settings

log = logging.getLogger(__name__)

TOLERANCE = 0.0  # stars of RMSE a candidate may lose on either set and still be promoted: "not worse"
LOCK_NAME = ".training.lock"


class TrainingBusy(OperatorError, RuntimeError):
    """Another training holds the lock: wait for it (or stop the other `shopassist learn`)."""


@contextmanager
def training_lock(settings: Settings) -> Iterator[Path]:
    """Hold the ranker's training lock for the block; raise ``TrainingBusy`` at once if it is held.

    ``flock`` locks belong to the open file: a crashed process releases its lock, so no stale
    lock file ever blocks the next run."""
    path = versions.root(settings) / LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            raise TrainingBusy(f"a ranker training is already running (pid {holder}; lock {path}): "
                               "wait for it to finish, then run `shopassist learn` again") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield path
    finally:
        os.close(fd)  # closing releases the lock


def decide(continual: dict, tolerance: float = TOLERANCE) -> dict:
    """Promote iff the candidate's RMSE is not worse on the held-out test set and on the recent feedback.

    >>> decide({"old_test_rmse_before": 1.00, "old_test_rmse_after": 0.99, "new_rmse_before": 1.2, "new_rmse_after": 1.1})["promote"]
    True
    >>> d = decide({"old_test_rmse_before": 1.00, "old_test_rmse_after": 1.02, "new_rmse_before": 1.2, "new_rmse_after": 1.1})
    >>> d["promote"], d["worse_on"]
    (False, ['heldout_test'])
    """
    checks = {"heldout_test": (continual["old_test_rmse_before"], continual["old_test_rmse_after"]),
              "recent_feedback": (continual["new_rmse_before"], continual["new_rmse_after"])}
    worse = [name for name, (before, after) in checks.items() if not after <= before + tolerance]
    return {"promote": not worse, "worse_on": worse, "tolerance": tolerance,
            **{f"{name}_rmse": {"current": round(b, 4), "candidate": round(a, 4)} for name, (b, a) in checks.items()}}


def learn(settings: Settings, events: Path, replay: float = 1.0, epochs: int | None = None,
          tolerance: float = TOLERANCE, old_data: RatingData | None = None, seed: int = 0) -> dict:
    """Train, evaluate and maybe promote a candidate on ``events`` (see the module docstring).

    Returns ``{"parent", "candidate", "promoted", "serving", "decision": decide(...), "continual": ...}``."""
    with training_lock(settings):
        parent = versions.current_name(settings)
        meta = update(settings, events, replay=replay, epochs=epochs, seed=seed, old_data=old_data, make_current=False)
        decision = decide(meta["continual"], tolerance)
        cand = versions.root(settings) / meta["version"]
        versions.write_metadata(cand, **{k: v for k, v in meta.items() if k not in ("version", "created")},
                                learn_decision=decision)
        if decision["promote"]:
            versions.use_version(settings, meta["version"])
        log.info("learn: %s %s (parent %s): %s", meta["version"], "promoted" if decision["promote"] else "kept unserved",
                 parent, decision)
        return {"parent": parent, "candidate": meta["version"], "promoted": decision["promote"],
                "serving": versions.current_name(settings), "decision": decision, "continual": meta["continual"]}
