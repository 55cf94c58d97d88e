"""UI fixtures: the real app over a real catalog in a tmp dir, served by uvicorn on a
free loopback port, and a real headless Chromium (Debian's, never ``playwright install``).

The catalog is the bundled demo catalog plus one product whose title carries a
``<script>`` (tests/ui/data/products.jsonl), ingested once per session with
``retrieval.ingest``; the LLM is the deterministic ``scripted`` backend.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from shopassist.settings import Settings
from tests.conftest import ARTIFACTS, CHROMIUM, free_port  # noqa: F401  (re-exported for the ui tests)

DATA = Path(__file__).parent / "data"
AGENT = ("agent", "test-agent-secret")


def open_catalog_for(settings: Settings):
    """The demo catalog + the hostile product, through retrieval's real ingest."""
    from retrieval.demo import DEMO_DIR
    from retrieval.ingest import ingest
    from retrieval.search import open_catalog

    ingest(settings, DEMO_DIR)
    ingest(settings, DATA / "products.jsonl")
    return open_catalog(settings)


def make_assistant(settings: Settings, catalog):
    from assistant.chat import Assistant
    from assistant.llm import load_llm
    from assistant.store import ConversationStore
    from ranker.serve import load_ranker

    return Assistant(settings, catalog, load_ranker(settings), load_llm(settings), ConversationStore(settings.events_db_url))


class Server:
    """uvicorn serving ``app`` on a free loopback port in a daemon thread."""

    def __init__(self, app):
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the app did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def ui_settings(tmp_path_factory) -> Settings:
    root = tmp_path_factory.mktemp("ui")
    return Settings(
        data_dir=root / "data",
        llm_backend="scripted",
        agent_user=AGENT[0],
        agent_password=AGENT[1],
        concurrency=4,
    )


@pytest.fixture(scope="session")
def ui_assistant(ui_settings):
    return make_assistant(ui_settings, open_catalog_for(ui_settings))


@pytest.fixture(scope="session")
def live_app(ui_settings, ui_assistant):
    """The real app on loopback: ``.url``, ``.assistant``."""
    from ui.app import build_app

    app = build_app(ui_settings, ui_assistant)
    with Server(app) as srv:
        srv.assistant = ui_assistant
        yield srv


# browser, page and screenshots live in tests/conftest.py: one Chromium per session for every
# area that drives one (tests/security too; a second sync Playwright in the same session fails)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    # loopback requests must never go through a proxy the environment may set
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    os.environ.setdefault("no_proxy", "127.0.0.1,localhost")
