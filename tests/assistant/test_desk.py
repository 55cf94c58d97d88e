"""The desk: what the console and the tools do besides a turn, over the test shop, a real
SQLite store and the scripted backend. Checked against the store and the catalog it fronts."""

from __future__ import annotations

import pytest

from assistant.chat import Turn
from assistant.events import Cards


def show(a, cid, message, user="u-anna"):
    """The cards of a whole turn (played to its end, so the answer is stored)."""
    events = list(a.respond(Turn(cid, user, message)))
    return next(e.cards for e in events if isinstance(e, Cards))


def test_find_is_one_shot_keeps_the_filters_and_stores_no_conversation(assistant):
    cards = assistant.desk.find("a blender under $60", None, k=2)
    assert 1 <= len(cards) <= 2 and all(c.price <= 60 and "blender" in c.title.lower() for c in cards)
    assert assistant.desk.find("a blender under $60", None, k=0)  # at least one card
    assert assistant.desk.queue() == []


def test_product_facts_are_the_catalogs_and_an_unknown_id_is_a_key_error(assistant):
    p = next(assistant.catalog.store.iter_products())
    facts = assistant.desk.product_facts(p.id)
    assert (facts["product_id"], facts["price"], facts["title"]) == (p.id, p.price, p.title)
    assert facts["categories"] == p.categories and set(facts["attributes"]) == set(p.attributes)
    with pytest.raises(KeyError):
        assistant.desk.product_facts("no-such-product")


def test_the_console_round_trip_goes_through_the_desk_only(assistant):
    desk, cid = assistant.desk, assistant.start("u-anna")
    cards = show(assistant, cid, "a kettle")
    assert desk.has_conversation(cid) and not desk.has_conversation("no-such-conversation")
    assert [c.id for c in desk.queue()] == [cid] and desk.conversation_user(cid) == "u-anna"
    assert [m.role for m in desk.messages(cid)] == ["user", "assistant"]
    assert [m.role for m in desk.messages(cid, since_id=desk.messages(cid)[0].id)] == ["assistant"]
    assert desk.candidates(cid)[0]["product_id"] == cards[0].product_id
    last = cards[-1].product_id
    desk.pin(cid, last)
    assert desk.pinned(cid) == [last] and show(assistant, cid, "a kettle")[0].product_id == last
    desk.take_over(cid, "sam")
    assert desk.taken_over_by(cid) == "sam" and not desk.handoff_requested(cid)
    desk.hand_back(cid)
    assert desk.taken_over_by(cid) is None
    kinds = {e.kind for e in assistant.store.events(conversation_id=cid)}
    assert {"impression", "pin", "takeover", "handback"} <= kinds
    assert set(desk.engagement()) >= {"conversations_per_hour", "thumbs_up_rate", "card_ctr", "handoff_rate"}


def test_suggest_reply_falls_back_to_the_cards_on_screen(assistant):
    cid = assistant.start(None)
    assert "tell me a bit more" in assistant.desk.suggest_reply(cid)
    cards = show(assistant, cid, "a kettle", user=None)
    assistant.store.save_candidates(cid, [])  # nothing considered: the shown cards are the draft
    draft = assistant.desk.suggest_reply(cid)
    assert "“a kettle”" in draft and f"[{min(3, len(cards))}]" in draft
