"""The learning job on a schedule inside ``serve`` (``Settings.learn_interval_s``; issue 16).

Every ``learn_interval_s`` seconds a background thread of the serving process:

1. skips when another training holds the lock (``ranker.learn.training_lock``: this replica's
   last run, another replica's, or an operator's ``shopassist learn``): logged, not an error;
2. skips when fewer than ``learn_min_feedback`` feedback ratings are new since the current version
   (the store's ``feedback_rows``, what the job would train on) or there is no version to learn from;
3. runs ``shopassist learn --json`` in a child process at low CPU priority (``os.nice(NICE)``): the
   same code as the command, in its own interpreter, so training never holds the request threads'
   GIL and the kernel gives the turns the CPU first. The child gets the serving settings through
   ``SHOPASSIST_*`` variables (``settings_env``);
4. records the outcome (``promoted`` / ``kept`` / ``busy`` / ``skipped`` / ``failed``) with the
   job's numbers as ``last`` (shown by ``/healthz/backends`` and logged); a failed or timed-out
   run is logged and the next one comes an interval later;
5. after a promotion calls ``on_promoted`` (serving reloads at once instead of at its next poll of
   ``CURRENT``; other replicas pick it up from the pointer, ``ranker.live``).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import SecretStr

from shopassist.settings import Settings

log = logging.getLogger(__name__)

NICE = 10  # added to the child's niceness: a turn's threads get the cores first (BENCHMARKS.md, issue 16)
TIMEOUT_S = 6 * 3600  # a learn still running after this long is stuck (a demo-catalog learn takes minutes)
CHILD = "import os, sys; os.nice(int(sys.argv[1])); from shopassist.cli import main; sys.exit(main(sys.argv[2:]))"


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings as ``SHOPASSIST_*`` variables, so a child process builds the same ``Settings``
    (flags and a --config file included).

    >>> env = settings_env(Settings(data_dir="/tmp/shop", learn_interval_s=60, production=False))
    >>> env["SHOPASSIST_DATA_DIR"], env["SHOPASSIST_LEARN_INTERVAL_S"], env["SHOPASSIST_PRODUCTION"]
    ('/tmp/shop', '60.0', 'false')
    >>> Settings(**{k[11:].lower(): v for k, v in env.items()}).data_dir.name
    'shop'
    """
    out = {}
    for name in Settings.model_fields:
        v = getattr(settings, name)
        if isinstance(v, SecretStr):
            v = v.get_secret_value()
        out[f"SHOPASSIST_{name.upper()}"] = ("true" if v else "false") if isinstance(v, bool) else str(v)
    return out


def new_feedback(settings: Settings) -> int | None:
    """Feedback ratings (one per shopper and product) new since the current version, or None
    when there is no current version to learn from."""
    from assistant.store import ConversationStore
    from ranker import versions
    from ranker.scoring import KIND_STARS

    cur = versions.current_version(settings)
    if cur is None:
        return None
    since = datetime.fromisoformat(versions.read_metadata(cur)["created"])
    return len(ConversationStore(settings.events_db_url).feedback_rows(tuple(KIND_STARS), since=since))


def lock_free(settings: Settings) -> bool:
    """True when no training holds the lock right now (a probe: taken and released at once)."""
    from ranker.learn import TrainingBusy, training_lock

    try:
        with training_lock(settings):
            return True
    except TrainingBusy:
        return False


class LearnSchedule:
    """Runs the learning job every ``settings.learn_interval_s`` seconds (module docstring).

    ``start()`` / ``stop()`` the background thread; ``run_once()`` is one scheduled run, returning
    (and keeping as ``last``) ``{"outcome", "at", "seconds", ...}`` with the job's report."""

    def __init__(self, settings: Settings, on_promoted: Callable[[dict], object] | None = None):
        self.settings, self.on_promoted = settings, on_promoted
        self.last: dict = {"outcome": "not run yet"}
        self.runs = 0
        self.nice = NICE  # the child's niceness increment (the bench compares 0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._child: subprocess.Popen | None = None

    def start(self) -> LearnSchedule:
        self._thread = threading.Thread(target=self._loop, name="learn-schedule", daemon=True)
        self._thread.start()
        log.info("learning schedule: `shopassist learn` every %.0f s when >= %d new feedback ratings",
                 self.settings.learn_interval_s, self.settings.learn_min_feedback)
        return self

    def stop(self) -> None:
        """Stop the schedule; a training child still running is terminated (its lock goes with it)."""
        self._stop.set()
        child = self._child
        if child is not None and child.poll() is None:
            child.terminate()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.learn_interval_s):
            try:
                self.run_once()
            except Exception as e:  # noqa: BLE001  a bug in one run must not end the schedule
                log.exception("learning schedule: the run failed, next one in %.0f s", self.settings.learn_interval_s)
                self._record("failed", error=f"{type(e).__name__}: {e}")

    def run_once(self) -> dict:
        s = self.settings
        if not lock_free(s):
            return self._record("busy", reason="another training holds the lock")
        n = new_feedback(s)
        if n is None:
            return self._record("skipped", reason="no trained ranker version to learn from")
        if n < s.learn_min_feedback:
            return self._record("skipped", reason=f"{n} new feedback ratings, fewer than learn_min_feedback={s.learn_min_feedback}",
                                new_feedback=n)
        t0 = time.perf_counter()
        report, error = self._run_child()
        secs = round(time.perf_counter() - t0, 1)
        if error is not None:
            outcome = "busy" if "already running" in error else "failed"
            return self._record(outcome, seconds=secs, new_feedback=n, error=error)
        if "skipped" in report:
            return self._record("skipped", seconds=secs, new_feedback=n, reason=report["skipped"])
        details = {"seconds": secs, "new_feedback": n, **{k: report.get(k) for k in ("parent", "candidate", "serving", "decision")}}
        if report["promoted"] and self.on_promoted is not None:
            self.on_promoted(details)  # before it is recorded: "promoted" in /healthz means served here
        return self._record("promoted" if report["promoted"] else "kept", **details)

    def _run_child(self) -> tuple[dict, str | None]:
        """(the job's JSON report, None) or ({}, what went wrong)."""
        args = ["learn", "--json", "--tolerance", str(self.settings.learn_tolerance)]
        env = {**os.environ, **settings_env(self.settings)}
        self._child = child = subprocess.Popen([sys.executable, "-c", CHILD, str(self.nice), *args], env=env, text=True,
                                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = child.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            return {}, f"timed out after {TIMEOUT_S} s"
        finally:
            self._child = None
        lines = [x for x in out.splitlines() if x.startswith("{")]
        if child.returncode != 0 or not lines:
            tail = " | ".join(x for x in err.strip().splitlines()[-3:])[-500:]  # the CLI's one-line error is last
            return {}, f"exit code {child.returncode}: {tail or 'no output'}"
        return json.loads(lines[-1]), None

    def _record(self, outcome: str, **details) -> dict:
        self.runs += 1
        self.last = {"outcome": outcome, "at": datetime.now(UTC).isoformat(timespec="seconds"), **details}
        level = logging.WARNING if outcome == "failed" else logging.INFO
        log.log(level, "learning schedule: %s %s", outcome, json.dumps(details, default=str))
        return self.last
