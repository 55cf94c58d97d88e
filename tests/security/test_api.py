"""Findings 2, 3, 7, 12 and 13 against the real app: gradio_client and the MCP client."""

from __future__ import annotations

import pytest
from gradio_client import Client

from tests.security.conftest import SECRET
from tests.ui.test_mcp import mcp_calls
from ui.identity import sign_shopper


def _client(srv) -> Client:
    return Client(srv.url + "/", verbose=False)


def _reviewer(assistant) -> str:
    """A shopper with reviews in the catalog (their explanations would name rated products)."""
    users = assistant.catalog.store.users()
    assert users
    return users[0]


def test_production_personalises_only_signed_shopper_ids(prod_app):
    """#2: any user_id was accepted, and the answer named that shopper's rated products and stars."""
    victim = _reviewer(prod_app.assistant)
    c = _client(prod_app)
    with pytest.raises(Exception, match="signed by this shop"):
        c.predict(victim, "headphones", 4, api_name="/recommend")
    with pytest.raises(Exception, match="signed by this shop"):
        c.predict("headphones", victim, "", api_name="/chat")
    with pytest.raises(Exception, match="signed by this shop"):
        c.predict("headphones", f"{victim}.0123456789abcdef0123456789abcdef", "", api_name="/chat")
    _, [(err, text)] = mcp_calls(prod_app.url, [("recommend", {"user_id": victim, "query": "headphones", "limit": 3})])
    assert err and "signed by this shop" in text
    # the shop's own site signs the id: then it is personalised, and the conversation is theirs
    signed = sign_shopper(victim, SECRET.encode())
    recs = c.predict(signed, "headphones", 4, api_name="/recommend")
    assert len(recs) == 4 and all(r["stars_predicted"] is not None for r in recs)
    out = c.predict("headphones", signed, "", api_name="/chat")
    assert prod_app.assistant.store.conversation_user(out["conversation_id"]) == victim
    # guests work as before, without a taste
    guest = c.predict("headphones", "guest", "", api_name="/chat")
    assert guest["cards"] and prod_app.assistant.store.conversation_user(guest["conversation_id"]) is None


def test_demo_mode_keeps_its_shopper_picker(demo_app):
    user = _reviewer(demo_app.assistant)
    out = _client(demo_app).predict("headphones", user, "", api_name="/chat")
    assert demo_app.assistant.store.conversation_user(out["conversation_id"]) == user


def test_a_conversation_continues_only_with_its_token_and_shopper(demo_app):
    """#7: the conversation id alone let a stranger read the context and write as the shopper."""
    store = demo_app.assistant.store
    victim = _client(demo_app).predict("a quiet blender under $80", "alice", "", api_name="/chat")
    cid, token = victim["conversation_id"], victim["conversation_token"]
    stranger = _client(demo_app)
    for args in ((cid, ""), (cid, "0" * 32), (cid, token[:-1] + ("0" if token[-1] != "0" else "1"))):
        with pytest.raises(Exception, match="wrong conversation_token"):
            stranger.predict("I want to talk to a person", "alice", *args, api_name="/chat")
    with pytest.raises(Exception, match="wrong conversation_token"):  # the token, but not the same shopper
        stranger.predict("I want to talk to a person", "guest", cid, token, api_name="/chat")
    assert [m.text for m in store.messages(cid) if m.role == "user"] == ["a quiet blender under $80"]
    assert not store.handoff_requested(cid)
    again = _client(demo_app).predict("something cheaper", "alice", cid, token, api_name="/chat")
    assert again["conversation_id"] == cid
    assert [m.text for m in store.messages(cid) if m.role == "user"] == ["a quiet blender under $80", "something cheaper"]


def test_ids_and_inputs_have_sizes_and_charsets(demo_app):
    """#3: a 1 MB user_id was stored untruncated and froze the console."""
    c = _client(demo_app)
    before = len(demo_app.assistant.store.queue())
    for bad, why in (("u" * 1_000_000, "too long"), ("<img src=x>", "only letters"), ("a b", "only letters")):
        with pytest.raises(Exception, match=why):
            c.predict("hello", bad, "", api_name="/chat")
    with pytest.raises(Exception, match="limit must be from 1 to 20"):
        c.predict("kettle", 500, api_name="/search_catalog")
    with pytest.raises(Exception, match="too long"):
        c.predict("x" * 100_000, "guest", "", api_name="/chat")
    assert len(demo_app.assistant.store.queue()) == before  # nothing stored for refused calls


def test_typed_argument_errors_name_the_argument(demo_app):
    """#12: a wrongly typed /chat argument answered {"error": null}."""
    c = _client(demo_app)
    with pytest.raises(Exception, match="message must be a string"):
        c.predict({"x": 1}, "guest", "", api_name="/chat")
    with pytest.raises(Exception, match="user_id must be a string"):
        c.predict("kettle", ["alice"], "", api_name="/chat")
    with pytest.raises(Exception, match="limit must be an integer"):
        c.predict("kettle", "three", api_name="/search_catalog")
    _, [(err, text)] = mcp_calls(demo_app.url, [("search_catalog", {"query": "kettle", "limit": "many"})])
    assert err and "'many' is not of type 'integer'" in text  # the MCP server checks the schema first


def test_turns_and_conversations_are_rate_limited_per_client(fresh_app):
    """#3: every call created a conversation; no per-client rate limit anywhere."""
    srv = fresh_app(conversations_per_hour=3, turns_per_minute=6)
    c = _client(srv)
    store = srv.assistant.store
    before = len(store.queue())
    for _ in range(3):
        c.predict("a kettle", "guest", "", api_name="/chat")
    with pytest.raises(Exception, match="Too many new conversations"):
        c.predict("a kettle", "guest", "", api_name="/chat")
    assert len(store.queue()) == before + 3
    c.predict("a kettle", 3, api_name="/search_catalog")
    c.predict("a kettle", 3, api_name="/search_catalog")
    with pytest.raises(Exception, match="Too many messages"):
        c.predict("a kettle", 3, api_name="/search_catalog")


def test_handoff_requests_have_a_quota_per_client(fresh_app):
    """#3: "I want to talk to a person" in a loop filled the hand-off queue."""
    srv = fresh_app(handoffs_per_hour=2)
    c = _client(srv)
    store = srv.assistant.store
    cids = [c.predict("I want to talk to a person", "guest", "", api_name="/chat")["conversation_id"] for _ in range(4)]
    assert [store.handoff_requested(cid) for cid in cids] == [True, True, False, False]
    queued = {s.id for s in store.queue() if s.handoff}
    assert set(cids[:2]) <= queued and not set(cids[2:]) & queued


def test_two_servers_on_one_store_enforce_one_rate_limit(fresh_app):
    """Issue 17: with per-process counters a client reaching N replicas got N times the limit."""
    a, b = fresh_app(conversations_per_hour=3, turns_per_minute=100), fresh_app(conversations_per_hour=3, turns_per_minute=100)
    ca, cb = _client(a), _client(b)
    for c in (ca, cb, ca):
        c.predict("a kettle", "guest", "", api_name="/chat")
    for c in (cb, ca):  # the fourth new conversation, on either server
        with pytest.raises(Exception, match="Too many new conversations"):
            c.predict("a kettle", "guest", "", api_name="/chat")
