"""The Chroma server behind a running assistant is killed mid-conversation and restarted (a real
`chroma run` on loopback, SIGKILLed): the turn during the outage still shows cards, found by BM25
alone, and says so; the conversation is stored; after the restart the next search is hybrid
again on the same Assistant and catalog; every message is in the store (counted)."""

from __future__ import annotations

import pytest

from assistant.chat import SEARCH_DEGRADED_TEXT, Assistant, Turn
from assistant.events import Answer, Cards, Notice
from assistant.llm import ScriptedLLM
from assistant.store import ConversationStore
from ranker.serve import load_ranker
from retrieval.vectors import ChromaVectors
from shopassist.settings import Settings
from tests.assistant.conftest import open_test_catalog
from tests.chroma import ChromaServer, chroma_exe
from ui.console import Console


def talk(a, cid, message):
    events = list(a.respond(Turn(cid, "u1", message)))
    assert any(isinstance(e, Answer) for e in events)
    cards = next(e.cards for e in events if isinstance(e, Cards))
    notices = [e for e in events if isinstance(e, Notice)]
    return cards, notices


@pytest.fixture
def server(tmp_path):
    if chroma_exe() is None:
        pytest.skip("the chroma CLI is not installed in this environment")
    s = ChromaServer(tmp_path / "chroma").start()
    yield s
    s.stop()


@pytest.mark.timeout(300)
def test_a_conversation_goes_on_while_the_chroma_server_is_down_and_after_it_returns(server, tmp_path):
    s = Settings(data_dir=tmp_path / "data", llm_backend="scripted", chroma=server.address, chroma_retry_s=0,
                 exact_search_max=0)  # unfiltered searches ask the server, as a big catalog's do
    catalog = open_test_catalog(s)
    assert isinstance(catalog.vectors, ChromaVectors) and catalog.vectors.where == server.address
    a = Assistant(s, catalog, load_ranker(s), ScriptedLLM(), ConversationStore(f"sqlite:///{tmp_path / 'events.sqlite'}"))
    cid = a.start("u1")

    cards, notices = talk(a, cid, "a quiet blender")
    assert cards and not notices and catalog.health()["search"] == "hybrid"
    bm25_kettles = [h.product.id for h in catalog.search(catalog.parse("a kettle"), method="bm25")]

    server.stop()  # killed between two turns of one conversation
    cards, notices = talk(a, cid, "a kettle")
    assert cards and all(c.product_id in bm25_kettles for c in cards)  # BM25's own products
    assert [n.kind for n in notices] == ["degraded"] and notices[0].text == SEARCH_DEGRADED_TEXT
    assert a.desk.health()["search"]["search"] == "bm25 only"
    status = Console(a).view(cid)[1]  # the agent console's status line of this conversation
    assert "Backend degraded" in status and f"vector store at {server.address} is down" in status
    assert a.state(cid).shown == [c.product_id for c in cards]  # the conversation state was stored
    during = [c.product_id for c in cards]

    server.start()  # same port, same path: the catalog's client finds its collection again
    cards, notices = talk(a, cid, "headphones for the gym")
    assert cards and not notices and catalog.health()["search"] == "hybrid"
    assert a.desk.health()["search"]["vectors"] == {"state": "ok"} and "degraded" not in Console(a).view(cid)[1]

    msgs = a.store.messages(cid)
    assert [m.text for m in msgs if m.role == "user"] == ["a quiet blender", "a kettle", "headphones for the gym"]
    assert [m.role for m in msgs] == ["user", "assistant"] * 3  # every turn answered and stored
    assert [m.cards for m in msgs if m.role == "assistant"][1]  # the degraded turn's cards were stored too
    impressions = {e.product_id for e in a.store.events("impression", conversation_id=cid)}
    assert set(during) <= impressions
