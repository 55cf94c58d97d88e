"""The front door of the web app: an ASGI layer in front of every Gradio mount.

- Routes the app does not use are closed on every mount (``/``, ``/widget``, ``/agent``):
  deep links (they wrote any session's transcript to a file), uploads (no file input here),
  file serving outside the app's own assets, proxying, media streams, Gradio's dev/vibe tools.
- ``/widget`` and ``/agent`` without the trailing slash redirect to the page.
- The agent login is throttled per client address: after ``login_max_failures`` wrong
  passwords, logins from it are refused (429) for ``login_backoff_s``, doubling with every
  further failure (at most 15 minutes); every failed login is logged with its address.

Example::

    >>> closed("/agent/gradio_api/deep_link"), closed("/gradio_api/file=/tmp/x"), closed("/gradio_api/queue/join")
    (True, True, False)
    >>> g = LoginThrottle(max_failures=2, backoff_s=10)
    >>> [g.failure("a", now=t) for t in (0, 1, 2)], g.wait("a", now=12), g.wait("a", now=22)
    ([0.0, 10.0, 20.0], 10.0, 0.0)
"""

from __future__ import annotations

import logging
import re
import threading
import time

from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse

log = logging.getLogger("ui.guard")

PAGES = ("/widget", "/agent")  # mounts other than "/", which need their trailing slash
LOGIN = re.compile(r"^/agent/login/?$")
MAX_LOCK_S = 900.0
_CLOSED = re.compile(
    r"(^|/)(gradio_api/)?("
    r"deep_link|upload|upload_progress|file=|file/|proxy=|stream/|process_recording|"
    r"vibe-edit|undo-vibe-edit|vibe-code|dev/reload|monitoring|run-history|runs/?$|custom_component/"
    r")"
)


def closed(path: str) -> bool:
    """A Gradio route this app never uses (see the module docstring)."""
    return bool(_CLOSED.search(path))


class LoginThrottle:
    """Failed logins per client address, and how long each must wait."""

    def __init__(self, max_failures: int, backoff_s: float):
        self.max_failures, self.backoff_s = max_failures, backoff_s
        self._failures: dict[str, tuple[int, float]] = {}  # client -> (count, time of the last)
        self._lock = threading.Lock()

    def _lock_s(self, count: int) -> float:
        if count < self.max_failures:
            return 0.0
        return float(min(MAX_LOCK_S, self.backoff_s * 2 ** (count - self.max_failures)))

    def wait(self, client: str, now: float | None = None) -> float:
        """Seconds until ``client`` may try again (0: now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            count, last = self._failures.get(client, (0, 0.0))
        return float(max(0.0, last + self._lock_s(count) - now))

    def failure(self, client: str, now: float | None = None) -> float:
        """Count a wrong password; returns the lock-out that follows it."""
        now = time.monotonic() if now is None else now
        with self._lock:
            count = self._failures.get(client, (0, 0.0))[0] + 1
            self._failures[client] = (count, now)
            if len(self._failures) > 10_000:  # bounded: forget the oldest failure
                self._failures.pop(next(iter(self._failures)))
        return self._lock_s(count)

    def success(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)


class Guard:
    """ASGI middleware: closed routes, page redirects, login throttling (see the module docstring)."""

    def __init__(self, app, throttle: LoginThrottle):
        self.app = app
        self.throttle = throttle

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        if closed(path):
            return await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
        if path in PAGES:
            qs = scope.get("query_string", b"").decode("latin-1")
            target = path + "/" + (f"?{qs}" if qs else "")
            return await RedirectResponse(target, status_code=307)(scope, receive, send)
        if scope.get("method") == "POST" and LOGIN.match(path):
            return await self._login(scope, receive, send)
        return await self.app(scope, receive, send)

    async def _login(self, scope, receive, send):
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = self.throttle.wait(client)
        if wait > 0:
            log.warning("agent login from %s refused: locked for %.0f s more after failed logins", client, wait)
            resp = JSONResponse(
                {"detail": f"Too many failed logins. Try again in {wait:.0f} seconds."},
                status_code=429, headers={"Retry-After": str(int(wait) + 1)},
            )
            return await resp(scope, receive, send)
        status: dict[str, int] = {}

        async def watch(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        if status.get("code") == 200:
            self.throttle.success(client)
        elif status.get("code") in (400, 401, 403):
            lock = self.throttle.failure(client)
            log.warning("failed agent login from %s%s", client, f"; locked for {lock:.0f} s" if lock else "")
