"""Assistant fixtures: a small real catalog (tests/assistant/data), a real SQLite store."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.chat import Assistant
from assistant.llm import ScriptedLLM
from assistant.store import ConversationStore
from ranker.serve import load_ranker
from retrieval.ingest import ingest
from retrieval.search import open_catalog

DATA = Path(__file__).parent / "data"


def open_test_catalog(settings):
    """The test shop through retrieval's real ingest and catalog."""
    ingest(settings, DATA / "products.jsonl")
    ingest(settings, DATA / "reviews.jsonl")
    return open_catalog(settings)


@pytest.fixture(scope="session")
def embedded_shop(tmp_path_factory):
    """The test shop ingested once per session (catalog, ranker) with embedded Chroma; tests only read it."""
    from shopassist.settings import Settings

    s = Settings(data_dir=tmp_path_factory.mktemp("shop") / "data", llm_backend="scripted")
    return s, open_test_catalog(s), load_ranker(s)


@pytest.fixture(scope="session")
def server_shop(tmp_path_factory, chroma_server):
    """The same shop with its vectors in the session's real `chroma run` on loopback."""
    from shopassist.settings import Settings

    s = Settings(data_dir=tmp_path_factory.mktemp("server-shop") / "data", llm_backend="scripted",
                 chroma=chroma_server, collection="assistant_shop")
    return s, open_test_catalog(s), load_ranker(s)


@pytest.fixture(scope="session")
def shop(embedded_shop):
    """The shop most tests read (embedded Chroma); a module that runs on both vector stores
    overrides it with ``both_vector_stores``."""
    return embedded_shop


def both_vector_stores(request):
    """The body of a module's ``shop`` fixture parametrised over ["embedded", "chroma-server"]."""
    return request.getfixturevalue("embedded_shop" if request.param == "embedded" else "server_shop")


@pytest.fixture
def make_assistant(shop, tmp_path):
    """Build an Assistant over the test shop with a given LLM (scripted by default) and a
    fresh conversation store per test (a SQLite file in tmp_path, or ``events_url=`` any URL)."""
    base, catalog, ranker = shop

    def make(llm=None, **overrides):
        s = base.model_copy(update={"llm_backend": "scripted", **overrides})
        store = ConversationStore(overrides.get("events_url") or f"sqlite:///{tmp_path / 'events.sqlite'}")
        return Assistant(s, catalog, ranker, llm or ScriptedLLM(), store)

    return make


@pytest.fixture
def assistant(make_assistant):
    return make_assistant()
