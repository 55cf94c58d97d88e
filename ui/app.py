"""The web app: customer chat at ``/``, the agent console at ``/agent`` (login), the
widget at ``/widget``, all Gradio 6 Blocks mounted in one FastAPI app.

Every request passes ``ui.guard.Guard`` first: routes the app does not use (deep links,
uploads, file serving, ...) are closed on every mount, ``/widget`` and ``/agent`` redirect to
their pages, and the agent login is throttled (docs/SECURITY.md).

``build_app(settings)`` only builds (tests serve it with uvicorn on a loopback port);
``launch(settings)`` serves it, and with ``share=True`` asks Gradio for a public share
link, failing fast with a clear message when the share server cannot be reached.

Example::

    app = build_app(Settings(llm_backend="scripted"))
    uvicorn.run(app, host="127.0.0.1", port=7860)
"""

from __future__ import annotations

import logging
import secrets
import socket
import threading
import time

from shopassist.errors import OperatorError
from shopassist.settings import Settings

log = logging.getLogger("ui")

SHARE_HOST = ("api.gradio.app", 443)  # Gradio's tunnel broker: share links need it


class ShareUnavailable(OperatorError, RuntimeError):
    """The share server cannot be reached (offline, or blocked): the network's fault, not the app's."""


def build_app(settings: Settings, assistant=None):
    """The FastAPI app serving the three surfaces over one assistant.

    ``assistant`` defaults to ``Assistant.from_settings(settings)``; the agent login is
    ``settings.agent_user`` / ``settings.agent_secret`` (raises ConfigError in production
    mode without a password, so a misconfigured server never starts).
    """
    import gradio as gr
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse

    from assistant.chat import Assistant
    from ui.assets import demo_images_route
    from ui.chat import ChatSurface, build_chat
    from ui.console import build_console
    from ui.guard import Guard
    from ui.render import CSS

    credentials = (settings.agent_user, settings.agent_secret)  # fail before building anything
    _ = settings.identity_key  # production without SHOPASSIST_IDENTITY_SECRET fails here too
    assistant = assistant or Assistant.from_settings(settings)
    surface = ChatSurface(assistant, settings)
    pages = {
        "/agent": build_console(assistant),
        "/widget": build_chat(surface, compact=True),
        "/": build_chat(surface),  # last: "/" would otherwise shadow the others
    }
    app = FastAPI(title="shopassist", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz", response_class=PlainTextResponse)
    def healthz() -> str:
        return "ok"  # alive: a degraded backend still serves cards (the details: /healthz/backends)

    learning = learning_schedule(settings, assistant)

    @app.get("/healthz/backends")
    def backends() -> dict:
        """The search and LLM backends as the last turns found them (``Desk.health``), the ranker
        version served and the scheduled learning job's last outcome, states only:
        ``{"search": "hybrid" | "bm25 only", "llm": "ok" | "down", "ranker": "v0003" | "prior",
        "learn": "off" | "not run yet" | "promoted" | "kept" | "busy" | "skipped" | "failed"}``.
        The addresses, errors and numbers are for the agent console and the log, not for anyone
        who can reach the shop."""
        h = assistant.desk.health()
        return {"search": h["search"]["search"], "llm": h["llm"]["state"], "ranker": assistant.ranker.version or "prior",
                "learn": learning.last["outcome"] if learning is not None else "off"}

    demo_images_route(app)  # /demo-images/<name>: the demo catalog's own pictures (ui/assets.py)

    for path, blocks in pages.items():
        # several turns at once (Gradio's default is one); polls and clicks are cheap
        blocks.queue(default_concurrency_limit=settings.concurrency)
        gr.mount_gradio_app(
            app,
            blocks,
            path=path,
            auth=credentials if path == "/agent" else None,
            auth_message="Agent console: sign in with your agent account." if path == "/agent" else None,
            css=CSS,
            ssr_mode=False,
            footer_links=["api"] if path == "/" else [],
            # shoppers see gr.Error messages only, never an internal exception's text
            show_error=path == "/agent",
            # MCP tools (search_catalog, get_product, recommend, chat) at /gradio_api/mcp/ of the chat page
            mcp_server=path == "/",
        )
    share_agent_logins(app, assistant.desk.agent_sessions, settings.identity_key)
    app.add_middleware(Guard, throttle=assistant.desk.logins(settings.login_max_failures, settings.login_backoff_s))
    app.state.assistant = assistant
    app.state.learning = learning
    if learning is not None:  # with the server, not with the build: tests and benches build apps freely
        app.router.on_startup.append(learning.start)
        app.router.on_shutdown.append(learning.stop)
    return app


def learning_schedule(settings: Settings, assistant):
    """The scheduled learning job of ``serve`` (``shopassist.learning``), or None when
    ``learn_interval_s`` is 0. A promotion is served at once here (``LiveRanker.reload``);
    other replicas see it at their next poll of the models dir."""
    if not settings.learn_interval_s:
        return None
    from shopassist.learning import LearnSchedule

    reload = getattr(assistant.ranker, "reload", None)  # a LiveRanker (Assistant.from_settings)
    return LearnSchedule(settings, on_promoted=(lambda _rec: reload()) if reload else None)


def share_agent_logins(app, sessions, key: bytes) -> None:
    """The console's logins valid on every replica: Gradio keeps them in the process (a random
    cookie name, a dict of tokens); here the cookie name comes from the identity key every replica
    shares, and the tokens live in the conversation store (``assistant.throttles.AgentSessions``)."""
    import hashlib
    import hmac

    from starlette.routing import Mount

    (console,) = [r.app for r in app.routes if isinstance(r, Mount) and r.path == "/agent"]
    console.cookie_id = hmac.new(key, b"agent-console-cookie", hashlib.sha256).hexdigest()[:32]
    console.tokens = sessions


def server_config(settings: Settings, app):
    """uvicorn's config: on SIGTERM, open streams (MCP sessions, polls) are closed after
    ``shutdown_grace_s`` instead of being waited for without end."""
    import uvicorn

    return uvicorn.Config(app, host=settings.host, port=settings.port, log_level="info",
                          timeout_graceful_shutdown=settings.shutdown_grace_s)


def check_share_reachable(timeout_s: float = 3.0) -> None:
    """Raise ShareUnavailable quickly when Gradio's share server cannot be reached."""
    try:
        with socket.create_connection(SHARE_HOST, timeout=timeout_s):
            return
    except OSError as e:
        raise ShareUnavailable(
            f"--share needs internet access to {SHARE_HOST[0]} ({e.__class__.__name__}: {e}); "
            "serve without --share, or put the app behind your own reverse proxy"
        ) from e


def _share_link(host: str, port: int) -> str:
    from gradio import networking

    return networking.setup_tunnel(
        "127.0.0.1" if host in ("0.0.0.0", "") else host, port, secrets.token_urlsafe(32), None, None
    )


def launch(settings: Settings, assistant=None) -> None:
    """Serve the app until interrupted; ``settings.share`` also prints a public link."""
    import uvicorn

    if settings.share:
        check_share_reachable()  # before loading any model: offline fails in seconds
    app = build_app(settings, assistant)
    server = uvicorn.Server(server_config(settings, app))
    if not settings.share:
        print(f"shopassist: chat http://{settings.host}:{settings.port}/  agent console /agent  widget /widget")
        server.run()
        return
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.1)
    try:
        url = _share_link(settings.host, settings.port)
    except Exception as e:  # the tunnel broker answered but would not give a link
        server.should_exit = True
        raise ShareUnavailable(f"could not create a share link: {e}") from e
    print(f"shopassist: public share link {url} (anyone with it can use the app; it expires in about a week)")
    try:
        thread.join()
    except KeyboardInterrupt:
        server.should_exit = True
        thread.join(timeout=5)
