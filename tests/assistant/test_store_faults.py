"""The database behind a running assistant goes away and comes back (a real PostgreSQL,
restarted and stopped with pg_ctl): the conversation goes on without restarting the app, a call
while it is down fails with an error that names the database and the fix, and every message
acknowledged before, during and after is in the store (counted)."""

from __future__ import annotations

import pytest

from assistant.chat import Turn
from assistant.events import Answer, Cards
from assistant.store import ConversationStore, StoreUnavailable


def talk(a, cid, user, message):
    events = list(a.respond(Turn(cid, user, message)))
    assert any(isinstance(e, Answer) for e in events)
    return events


def test_a_conversation_goes_on_across_a_postgres_restart(make_assistant, postgres):
    url = postgres.create_database()
    a = make_assistant(events_url=url)
    cid = a.start("u1")
    first = talk(a, cid, "u1", "a quiet blender")
    shown = next(e.cards for e in first if isinstance(e, Cards))
    stored = len(a.store.messages(cid))
    assert stored >= 2  # the question and its answer

    postgres.restart()  # every pooled connection is now dead
    talk(a, cid, "u1", "the cheapest one")  # the same Assistant, no reconnect by hand
    after = a.store.messages(cid)
    assert len(after) >= stored + 2 and after[stored].text == "the cheapest one"
    assert a.state(cid).shown  # the conversation state survived: a follow-up, not a new topic
    assert {c.product_id for c in shown} & set(e.product_id for e in a.store.events("impression", conversation_id=cid))


def test_a_call_while_postgres_is_down_is_a_clear_error_and_loses_nothing_acknowledged(make_assistant, postgres):
    url = postgres.create_database()
    a = make_assistant(events_url=url)
    cid = a.start("u1")
    talk(a, cid, "u1", "a kettle")
    before = len(a.store.messages(cid))
    postgres.halt()
    try:
        with pytest.raises(StoreUnavailable) as err:
            list(a.respond(Turn(cid, "u1", "a blender")))
        assert url.split("@")[1] in str(err.value) and "bring the database back" in str(err.value)
        with pytest.raises(StoreUnavailable):
            a.store.log_event("click", cid, "u1", "p1")
    finally:
        postgres.resume()
    talk(a, cid, "u1", "a toaster")  # recovered without a new Assistant or store
    texts = [m.text for m in a.store.messages(cid) if m.role == "user"]
    assert texts == ["a kettle", "a toaster"]  # what failed was never acknowledged, so nothing is missing
    assert len(a.store.messages(cid)) == before + 2


def test_many_writes_across_a_restart_are_all_there(postgres):
    """A store writing through a restart: every call that returned is in the database."""
    url = postgres.create_database()
    store = ConversationStore(url)
    cid = store.start_conversation("u1")
    acknowledged = [store.add_message(cid, "user", f"before {i}") for i in range(20)]
    postgres.restart()
    acknowledged += [store.add_message(cid, "user", f"after {i}") for i in range(20)]
    other = ConversationStore(url)  # a fresh engine: reads what is on disk, not a cache
    assert [m.id for m in other.messages(cid)] == acknowledged
