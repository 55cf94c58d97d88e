"""The served ranker follows the models dir: a version promoted or rolled back by any process
(``shopassist learn``, the schedule inside ``serve``, ``ranker use`` / ``rollback`` on another
replica) is served without a restart.

``LiveRanker`` holds the loaded ranker and the version name it was loaded for. ``current`` reads
the models dir's ``CURRENT`` pointer at most every ``check_s`` seconds (one small file read); when
it names another version, a background thread loads that one fully (model, sentiment, warm-up),
and only then replaces the reference. A turn takes ``current`` once and ranks with that object to
the end, so turns in flight finish on the old version. A version that fails to load is logged,
and the old one keeps serving until ``CURRENT`` changes again.

>>> from shopassist.settings import Settings
>>> live = LiveRanker(Settings(data_dir="/nonexistent"), lambda: "a ranker", check_s=60)
>>> live.current, live.state()["version"]
('a ranker', None)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from ranker import versions
from ranker.scoring import CatalogReader, UserContext
from shopassist.settings import Settings

log = logging.getLogger(__name__)


class LiveRanker:
    """The Ranker contract over whichever version ``CURRENT`` names (see the module docstring).

    ``load``: builds the ranker of the version current at call time (``ranker.serve.load_ranker``).
    ``check_s``: seconds between reads of ``CURRENT`` (0 = never: the first version serves until restart).
    """

    def __init__(self, settings: Settings, load: Callable[[], object], check_s: float = 2.0):
        self.settings, self._load, self.check_s = settings, load, check_s
        self._name = versions.current_name(settings)  # read before loading: a change during the load is seen next time
        self._current = load()
        self._loaded_at = datetime.now(UTC)
        self._checked = time.monotonic()
        self._loading: threading.Thread | None = None
        self._failed: tuple[str | None, str] | None = None  # (version, error) of the last load that failed
        self._lock = threading.Lock()
        self._reloading = threading.Lock()  # the poll's thread and a scheduled learn's reload: one load at a time

    @property
    def current(self):
        """The ranker to use for one whole turn; starts a background reload when ``CURRENT`` moved."""
        if self.check_s and time.monotonic() - self._checked >= self.check_s:
            self._checked = time.monotonic()
            name = self._pointer()
            if name != self._name and (self._failed is None or self._failed[0] != name):
                with self._lock:
                    if self._loading is None or not self._loading.is_alive():
                        self._loading = threading.Thread(target=self.reload, name="ranker-reload", daemon=True)
                        self._loading.start()
        return self._current

    def _pointer(self) -> str | None:
        try:
            return versions.current_name(self.settings)
        except OSError as e:  # a shared models dir briefly unreachable: keep serving what is loaded
            log.warning("cannot read the current ranker version (%s): serving %s", e, self._name)
            return self._name

    def reload(self) -> str | None:
        """Load the version ``CURRENT`` names now (if it is not the one served) and swap it in;
        returns the version served afterwards. Called by the background check and after a
        scheduled learn (``shopassist.learning``)."""
        with self._reloading:
            return self._reload()

    def _reload(self) -> str | None:
        name = self._pointer()
        if name == self._name:
            return self._name
        t0 = time.perf_counter()
        try:
            ranker = self._load()
        except Exception as e:  # noqa: BLE001  any load failure: the old version is still good to serve
            self._failed = (name, f"{type(e).__name__}: {e}")
            log.error("ranker version %s could not be loaded, still serving %s: %s", name, self._name, self._failed[1])
            return self._name
        old, self._current, self._name = self._name, ranker, name  # one reference swap: turns in flight keep theirs
        self._loaded_at, self._failed = datetime.now(UTC), None
        log.info("ranker: now serving %s (was %s), loaded in %.1f s", name or "the catalog prior", old or "the catalog prior",
                 time.perf_counter() - t0)
        return name

    def state(self) -> dict:
        """What is served and since when, and the last version that failed to load (for operators)."""
        return {"version": getattr(self._current, "version", None), "current_pointer": self._name,
                "loaded_at": self._loaded_at.isoformat(timespec="seconds"),
                "load_failed": {"version": self._failed[0], "error": self._failed[1]} if self._failed else None}

    # -- the Ranker contract, by the current version ----------------------------------------------
    @property
    def version(self) -> str | None:
        return self.current.version

    @property
    def personal(self) -> bool:
        return self.current.personal

    def score(self, user: UserContext, products: list, explain: bool = True):
        return self.current.score(user, products, explain=explain)

    def user_context(self, store: CatalogReader, user_id: str) -> UserContext:
        return self.current.user_context(store, user_id)

    def __getattr__(self, name):  # anything else (``model``, ``taste``, ``warm``...): the current version's
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.current, name)
