"""Limits on what a caller may send and how often: argument checks, per-client rate limits.

Every value from outside (chat message, ids, query, result count) passes a check here
before it reaches the assistant; a wrong one raises ``gr.Error`` naming the argument (the
caller's fault, shown to the caller). ``RateLimiter`` counts events per client address in a
sliding window, with bounded memory, in one process (tests, a desk-less gate); a served app
counts in the conversation store instead (``assistant.throttles.SharedRates``: one limit for every
replica), so a script cannot flood turns, conversations or the
agents' hand-off queue. The defaults live in ``Settings`` (docs/SECURITY.md lists them).

Example::

    >>> r = RateLimiter()
    >>> [r.allow("1.2.3.4", "turn", limit=2, window_s=60, now=t) for t in (0, 1, 2, 61)]
    [True, True, False, True]
    >>> check_id("user_id", "u0001", 64)
    'u0001'
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict, deque

import gradio as gr

_ID = re.compile(r"^[A-Za-z0-9_.:@-]+$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_CLIENTS = 10_000  # windows kept; the least recently seen client is forgotten first


class RateLimited(gr.Error):
    """The caller sent too much too fast: theirs to slow down."""


def check_text(name: str, value, max_chars: int, required: bool = True) -> str:
    """A string argument, stripped of control characters; raises gr.Error naming ``name``."""
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise gr.Error(f"{name} must be a string, not {type(value).__name__}")
    value = _CONTROL.sub(" ", value).strip()
    if required and not value:
        raise gr.Error(f"{name} is empty")
    if len(value) > max_chars:
        raise gr.Error(f"{name} is too long ({len(value)} characters; the limit is {max_chars})")
    return value


def check_id(name: str, value, max_chars: int, required: bool = True) -> str:
    """An id: letters, digits and ``._:@-`` only, at most ``max_chars`` (ids end up in URLs,
    HTML attributes and the console's tables)."""
    value = check_text(name, value, max_chars, required)
    if value and not _ID.match(value):
        raise gr.Error(f"{name} may contain only letters, digits and . _ : @ -")
    return value


def check_int(name: str, value, lo: int, hi: int) -> int:
    """An integer argument in [lo, hi] (a float with no fraction is accepted; a bool is not)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise gr.Error(f"{name} must be an integer from {lo} to {hi}, not {type(value).__name__}")
    if not lo <= value <= hi:
        raise gr.Error(f"{name} must be from {lo} to {hi}, not {value}")
    return value


def client_of(request: gr.Request | None) -> str:
    """The caller's address (behind a proxy: run uvicorn with --proxy-headers so it is the shopper's)."""
    client = getattr(request, "client", None)
    return getattr(client, "host", None) or "unknown"


class RateLimiter:
    """Sliding-window counters per (client, kind), thread-safe."""

    def __init__(self, max_clients: int = MAX_CLIENTS):
        self._hits: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_clients

    def allow(self, client: str, kind: str, limit: int, window_s: float, now: float | None = None) -> bool:
        """Count one ``kind`` event for ``client`` if fewer than ``limit`` happened in the last
        ``window_s`` seconds; ``limit`` 0 means no limit."""
        if limit <= 0:
            return True
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.pop((client, kind), None) or deque()
            while hits and hits[0] <= now - window_s:
                hits.popleft()
            ok = len(hits) < limit
            if ok:
                hits.append(now)
            self._hits[(client, kind)] = hits  # most recent last
            while len(self._hits) > self._max:
                self._hits.popitem(last=False)
            return ok



def require(rates, client: str, kind: str, limit: int, window_s: float, what: str) -> None:
    """``rates.allow`` (this ``RateLimiter``, or the store's ``assistant.throttles.SharedRates``
    that all replicas count in) or raise RateLimited with a message that says what to wait for."""
    if not rates.allow(client, kind, limit, window_s):
        per = "minute" if window_s <= 60 else "hour"
        raise RateLimited(f"Too many {what} from your address (the limit is {limit} per {per}). Please wait a little.")
