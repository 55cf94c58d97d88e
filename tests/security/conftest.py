"""Security fixtures: the real app on loopback over the demo catalog plus one hostile catalog
(tests/security/data/hostile_products.jsonl: markup, text addressed to the assistant, URLs,
coupon codes, phone numbers, javascript:/data: image URLs in every field), ingested once
through the real ingest; the scripted LLM. ``demo_app`` and ``prod_app`` share that catalog
and store; ``fresh_app(**limits)`` builds one more server with its own limits and counters.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shopassist.settings import Settings
from tests.ui.conftest import AGENT, Server, _no_proxy, make_assistant  # noqa: F401  (_no_proxy: autouse)

HOSTILE = Path(__file__).parent / "data" / "hostile_products.jsonl"
SECRET = "test-identity-secret-not-for-production"
PROD_PASSWORD = "a-long-random-agent-password-for-tests"
# what the hostile catalog tries to smuggle to shoppers, agents and MCP clients
SMUGGLED = ("FREE100", "SAVE50", "KETTLE2024", "evil.example.com", "kettle-deals", "555", "0800 123",
            "javascript:", "data:text", "vbscript:", "SYSTEM NOTE", "Ignore all previous")


@pytest.fixture(scope="session")
def sec_settings(tmp_path_factory) -> Settings:
    root = tmp_path_factory.mktemp("sec")
    return Settings(data_dir=root / "data", llm_backend="scripted", agent_user=AGENT[0], agent_password=AGENT[1],
                    identity_secret=SECRET, concurrency=4)


@pytest.fixture(scope="session")
def hostile_ingest(sec_settings):
    """(report of the demo ingest, report of the hostile catalog's ingest)."""
    from retrieval.demo import DEMO_DIR
    from retrieval.ingest import ingest

    return ingest(sec_settings, DEMO_DIR, progress=False), ingest(sec_settings, HOSTILE, progress=False)


@pytest.fixture(scope="session")
def sec_assistant(sec_settings, hostile_ingest):
    from retrieval.search import open_catalog

    return make_assistant(sec_settings, open_catalog(sec_settings))


def _serve(settings, assistant):
    from assistant.chat import Assistant
    from ui.app import build_app

    # the same catalog, ranker, LLM and store; the server's own settings (mode, limits)
    a = Assistant(settings, assistant.catalog, assistant.ranker, assistant.llm, assistant.store)
    srv = Server(build_app(settings, a))
    srv.assistant = a
    return srv


@pytest.fixture(scope="session")
def demo_app(sec_settings, sec_assistant):
    with _serve(sec_settings, sec_assistant) as srv:
        yield srv


@pytest.fixture(scope="session")
def prod_settings(sec_settings) -> Settings:
    return sec_settings.model_copy(update={"production": True, "agent_password": type(sec_settings.agent_password)(PROD_PASSWORD)})


@pytest.fixture(scope="session")
def prod_app(prod_settings, sec_assistant):
    with _serve(prod_settings, sec_assistant) as srv:
        yield srv


@pytest.fixture
def fresh_app(sec_settings, sec_assistant):
    """``fresh_app(**settings)``: a server of its own limits, starting with no counts: the rate
    windows and login failures, which live in the shared store (assistant.throttles), are emptied."""
    import sqlalchemy as sa

    from assistant.records import login_failures, rate_hits

    servers = []

    def make(**update):
        with sec_assistant.store._write() as conn:
            conn.execute(sa.delete(rate_hits))
            conn.execute(sa.delete(login_failures))
        srv = _serve(sec_settings.model_copy(update=update), sec_assistant).__enter__()
        servers.append(srv)
        return srv

    yield make
    for s in servers:
        s.__exit__(None, None, None)
