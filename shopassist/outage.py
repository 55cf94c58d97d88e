"""Whether a served backend (a Chroma server, an LLM server) is answering, as its callers saw it.

One ``Outage`` per backend connection: the caller reports ``failed(why)`` and ``recovered()``;
``available()`` says whether to ask the backend now (``retry_s`` after the last failure), and
``status()`` is what the console and ``/healthz/backends`` show.
"""

from __future__ import annotations

import time


class Outage:
    """Whether a backend is answering, as its callers saw it: down since when and why, and
    when to ask it again (``retry_s`` after the last failure). Thread-safe enough for its
    use: plain attribute writes, read by the console.

    >>> o = Outage(retry_s=5)
    >>> o.available(now=0.0), o.status()["state"]
    (True, 'ok')
    >>> o.failed("refused", now=10.0); o.available(now=12.0), o.available(now=15.0), o.status()["state"]
    (False, True, 'down')
    >>> o.recovered(); o.status()
    {'state': 'ok'}
    """

    def __init__(self, retry_s: float):
        self.retry_s = retry_s
        self.since: float | None = None  # time.time() of the first failure of this outage
        self.error = ""
        self._retry_at = 0.0  # time.monotonic() after which the backend is asked again
        self.failures = 0  # in this outage

    def available(self, now: float | None = None) -> bool:
        return self.since is None or (time.monotonic() if now is None else now) >= self._retry_at

    def failed(self, error: str, now: float | None = None) -> None:
        if self.since is None:
            self.since = time.time()
        self.error = error
        self.failures += 1
        self._retry_at = (time.monotonic() if now is None else now) + self.retry_s

    def recovered(self) -> None:
        self.since, self.error, self.failures, self._retry_at = None, "", 0, 0.0

    @property
    def down(self) -> bool:
        return self.since is not None

    def status(self) -> dict:
        if self.since is None:
            return {"state": "ok"}
        return {"state": "down", "since": self.since, "failures": self.failures, "error": self.error}
