"""ConversationStore against a real SQLite file in tmp_path and a real PostgreSQL database."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from assistant.store import ConversationStore, UnknownConversation


@pytest.fixture
def store(events_url):
    return ConversationStore(events_url)


def test_messages_round_trip_and_since(store):
    cid = store.start_conversation("u1")
    assert len(cid) == 32
    a = store.add_message(cid, "user", "a quiet blender")
    b = store.add_message(cid, "assistant", "Here are two.", cards=[{"product_id": "p1"}], meta={"grounded": True})
    assert b > a
    msgs = store.messages(cid)
    assert [(m.role, m.text) for m in msgs] == [("user", "a quiet blender"), ("assistant", "Here are two.")]
    assert msgs[1].cards == [{"product_id": "p1"}] and msgs[1].meta == {"grounded": True}
    assert msgs[0].created_at.tzinfo is not None
    assert [m.id for m in store.messages(cid, since_id=a)] == [b]


def test_bad_role_and_unknown_conversation(store):
    cid = store.start_conversation(None)
    with pytest.raises(ValueError):
        store.add_message(cid, "robot", "hi")
    with pytest.raises(UnknownConversation):
        store.add_message("nope", "user", "hi")
    with pytest.raises(ValueError):
        store.log_event("dance", cid, None)


def test_events_filter(store):
    c1, c2 = store.start_conversation("u1"), store.start_conversation("u2")
    store.log_event("impression", c1, "u1", "p1")
    store.log_event("click", c1, "u1", "p1", payload={"rank": 1})
    store.log_event("impression", c2, "u2", "p2")
    assert [e.product_id for e in store.events(kind="impression")] == ["p1", "p2"]
    clicks = store.events(conversation_id=c1, kind="click")
    assert len(clicks) == 1 and clicks[0].payload == {"rank": 1} and clicks[0].user_id == "u1"


def test_feedback_rows_latest_opinion_per_shopper_and_product(store):
    kinds = ("thumb_up", "thumb_down", "buy")
    c1, anon = store.start_conversation("u1"), store.start_conversation(None)
    store.log_event("thumb_up", c1, "u1", "p1")
    store.log_event("impression", c1, "u1", "p2")  # not a rating
    store.log_event("thumb_up", c1, "u1", None, payload={"target": "answer"})  # a thumb on the answer, no product
    store.log_event("thumb_up", anon, None, "p2")
    store.log_event("thumb_down", c1, "u1", "p1")  # takes the thumb up back
    rows = store.feedback_rows(kinds)
    assert [(r["user_id"], r["product_id"], r["kind"]) for r in rows] == [(f"conversation:{anon}", "p2", "thumb_up"), ("u1", "p1", "thumb_down")]
    assert all(isinstance(r["timestamp"], int) and abs(r["timestamp"] - datetime.now(timezone.utc).timestamp()) < 60 for r in rows)
    cut = datetime.now(timezone.utc)
    assert store.feedback_rows(kinds, since=cut) == []  # only what came after
    store.log_event("buy", c1, "u1", "p3")
    assert [(r["product_id"], r["kind"]) for r in store.feedback_rows(kinds, since=cut)] == [("p3", "buy")]
    # an offset that is not UTC names the same instant
    assert len(store.feedback_rows(kinds, since=cut.astimezone(timezone(timedelta(hours=5))))) == 1


def test_handoff_takeover_handback(store):
    cid = store.start_conversation("u1")
    assert not store.handoff_requested(cid)
    store.request_handoff(cid, "asked for a human")
    assert store.handoff_requested(cid)
    store.take_over(cid, "alice")
    assert store.taken_over_by(cid) == "alice"
    store.hand_back(cid)
    assert store.taken_over_by(cid) is None and not store.handoff_requested(cid)
    assert [e.kind for e in store.events(conversation_id=cid)] == ["handoff", "takeover", "handback"]


def test_pins_and_candidates(store):
    cid = store.start_conversation("u1")
    store.pin_product(cid, "p1")
    store.pin_product(cid, "p2")
    store.pin_product(cid, "p1")
    assert store.pinned(cid) == ["p2", "p1"]
    rows = [{"product_id": "p1", "title": "A", "score": 0.5, "stars": 4.2, "explanation": ["x"]}]
    store.save_candidates(cid, rows)
    assert store.candidates(cid) == rows


def test_queue_puts_handoffs_first_then_recent(store):
    old = store.start_conversation("u1")
    store.add_message(old, "user", "hello")
    mid = store.start_conversation("u2")
    store.add_message(mid, "user", "need help")
    new = store.start_conversation("u3")
    store.add_message(new, "user", "blender")
    store.add_message(new, "assistant", "here")
    store.request_handoff(mid)
    q = store.queue()
    assert [s.id for s in q][:1] == [mid] and q[0].handoff
    assert [s.id for s in q][1:] == [new, old]
    assert q[1].n_messages == 2 and q[1].last_message == "here"


def test_engagement_rates(store):
    c1, c2 = store.start_conversation("u1"), store.start_conversation("u2")
    for _ in range(4):
        store.log_event("impression", c1, "u1", "p1")
    store.log_event("click", c1, "u1", "p1")
    store.log_event("thumb_up", c1, "u1", "p1")
    store.log_event("thumb_up", c1, "u1", "p1")
    store.log_event("thumb_down", c2, "u2", "p2")
    store.log_event("add_to_cart", c2, "u2", "p2")
    store.request_handoff(c2)
    e = store.engagement()
    assert e["card_ctr"] == 0.25
    assert e["thumbs_up_rate"] == round(2 / 3, 4)
    assert e["handoff_rate"] == 0.5
    assert e["add_to_cart_per_conversation"] == 0.5
    assert len(e["conversations_per_hour"]) == 24 and e["conversations_per_hour"][-1][1] == 2
    later = store.engagement(now=datetime.now(timezone.utc) + timedelta(days=2))
    assert sum(n for _, n in later["conversations_per_hour"]) == 0


def test_concurrent_writers(store):
    cid = store.start_conversation("u1")
    errors = []

    def work(i):
        try:
            for j in range(20):
                store.add_message(cid, "user", f"{i}-{j}")
        except Exception as e:  # collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    ids = [m.id for m in store.messages(cid)]
    assert len(ids) == 80 and ids == sorted(ids)


def test_in_memory_url_shared_across_threads():
    store = ConversationStore("sqlite://")
    cid = store.start_conversation("u")
    t = threading.Thread(target=lambda: store.add_message(cid, "user", "hi"))
    t.start()
    t.join()
    assert store.messages(cid)[0].text == "hi"


def test_two_stores_on_one_database_are_two_replicas(events_url):
    """Two stores on one URL are what two server processes hold: each sees the other's writes
    at once (nothing cached per store), and concurrent pins from both keep every pin."""
    a, b = ConversationStore(events_url), ConversationStore(events_url)
    cid = a.start_conversation("u1")
    a.add_message(cid, "user", "a quiet blender")
    b.take_over(cid, "zoe")
    b.add_message(cid, "agent", "Hi, Zoe here")
    assert a.taken_over_by(cid) == "zoe" and [m.role for m in a.messages(cid)] == ["user", "agent"]
    products = [f"p{i}" for i in range(24)]
    errors = []

    def pin(store, ids):
        try:
            for p in ids:
                store.pin_product(cid, p)
        except Exception as e:  # collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=pin, args=(s, products[i::4])) for i, s in enumerate([a, b, a, b])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(b.pinned(cid)) == sorted(products)
    assert len(a.events(kind="pin", conversation_id=cid)) == len(products)
