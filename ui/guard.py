"""The front door of the web app: an ASGI layer in front of every Gradio mount.

- Routes the app does not use are closed on every mount (``/``, ``/widget``, ``/agent``):
  deep links (they wrote any session's transcript to a file), uploads (no file input here),
  file serving outside the app's own assets, proxying, media streams, Gradio's dev/vibe tools.
- ``/widget`` and ``/agent`` without the trailing slash redirect to the page.
- The agent login is throttled per client address: after ``login_max_failures`` wrong
  passwords, logins from it are refused (429) for ``login_backoff_s``, doubling with every
  further failure (at most 15 minutes); every failed login is logged with its address. The
  failures are counted in the conversation store (``assistant.throttles.SharedLogins``), so
  every replica sees one count.

Example::

    >>> closed("/agent/gradio_api/deep_link"), closed("/gradio_api/file=/tmp/x"), closed("/gradio_api/queue/join")
    (True, True, False)
"""

from __future__ import annotations

import logging
import re

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse

log = logging.getLogger("ui.guard")

PAGES = ("/widget", "/agent")  # mounts other than "/", which need their trailing slash
LOGIN = re.compile(r"^/agent/login/?$")
_CLOSED = re.compile(
    r"(^|/)(gradio_api/)?("
    r"deep_link|upload|upload_progress|file=|file/|proxy=|stream/|process_recording|"
    r"vibe-edit|undo-vibe-edit|vibe-code|dev/reload|monitoring|run-history|runs/?$|custom_component/"
    r")"
)


def closed(path: str) -> bool:
    """A Gradio route this app never uses (see the module docstring)."""
    return bool(_CLOSED.search(path))


class Guard:
    """ASGI middleware: closed routes, page redirects, login throttling (see the module docstring)."""

    def __init__(self, app, throttle):  # assistant.throttles.SharedLogins
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
        wait = await run_in_threadpool(self.throttle.wait, client)  # a database call, off the event loop
        if wait > 0:
            log.warning("agent login from %s refused: locked for %.0f s more after failed logins", client, wait)
            resp = JSONResponse(
                {"detail": f"Too many failed logins. Try again in {wait:.0f} seconds."},
                status_code=429, headers={"Retry-After": str(int(wait) + 1)},
            )
            return await resp(scope, receive, send)
        async def watch(message):
            # the outcome is counted before the caller hears it: the next try (on any replica) sees it
            if message["type"] == "http.response.start":
                code = message["status"]
                if code == 200:
                    await run_in_threadpool(self.throttle.success, client)
                elif code in (400, 401, 403):
                    lock = await run_in_threadpool(self.throttle.failure, client)
                    log.warning("failed agent login from %s%s", client, f"; locked for {lock:.0f} s" if lock else "")
            await send(message)

        await self.app(scope, receive, watch)
