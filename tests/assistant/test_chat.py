"""Whole turns through the pipeline with the scripted backend over a real small catalog, each
on both vector stores: embedded Chroma and a real `chroma run` server on loopback."""

from __future__ import annotations

import pytest

from assistant.chat import Turn
from assistant.events import Answer, Cards, Handoff, Notice, TextDelta
from assistant.llm import ScriptedLLM
from assistant.understand import is_browse
from tests.assistant.conftest import both_vector_stores


@pytest.fixture(params=["embedded", "chroma-server"])
def shop(request):
    return both_vector_stores(request)


def run(a, cid, message, user="u-anna"):
    return list(a.respond(Turn(cid, user, message)))


def cards_of(events):
    return next(e.cards for e in events if isinstance(e, Cards))


def answer_of(events):
    return next(e for e in events if isinstance(e, Answer))


def test_find_streams_cards_then_text_then_answer(assistant):
    cid = assistant.start("u-anna")
    events = run(assistant, cid, "a quiet blender under $100")
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "Cards" and kinds[-1] == "Answer" and "TextDelta" in kinds
    cards = cards_of(events)
    assert 1 <= len(cards) <= assistant.settings.cards_per_turn
    assert all(c.price <= 100 for c in cards)
    assert all("blender" in c.title.lower() for c in cards)
    ans = answer_of(events)
    assert ans.grounded and ans.citations[: len(cards)] == [c.product_id for c in cards]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)).strip() == ans.text
    assert {"parse", "retrieve", "rank", "generate", "validate", "first_card", "total"} <= set(ans.timings)
    stored = assistant.store.messages(cid)
    assert [m.role for m in stored] == ["user", "assistant"] and stored[1].cards
    assert len(assistant.store.events(kind="impression", conversation_id=cid)) == len(cards)
    assert assistant.store.candidates(cid)[0]["product_id"] == cards[0].product_id


def test_cheaper_colour_and_not_that_brand_carry_over(assistant):
    cid = assistant.start(None)
    first = cards_of(run(assistant, cid, "a blender over $40"))
    assert first and min(c.price for c in first) >= 40
    cheaper = cards_of(run(assistant, cid, "cheaper"))
    assert cheaper and max(c.price for c in cheaper) < min(c.price for c in first)
    assert all("blender" in c.title.lower() for c in cheaper)
    cid = assistant.start(None)
    run(assistant, cid, "a blender")
    black = cards_of(run(assistant, cid, "in black"))
    assert black and all(assistant.catalog.store.get(c.product_id).attributes["colour"] == "black" for c in black)
    brand = black[0].brand
    other = cards_of(run(assistant, cid, "not that brand"))
    assert other and all(c.brand != brand for c in other)
    assert all(assistant.catalog.store.get(c.product_id).attributes["colour"] == "black" for c in other)


def test_reference_resolves_to_the_shown_item(assistant):
    cid = assistant.start(None)
    shown = cards_of(run(assistant, cid, "a blender"))
    events = run(assistant, cid, "is the second one loud?")
    assert [c.product_id for c in cards_of(events)] == [shown[1].product_id]
    assert assistant.state(cid).focus == shown[1].product_id


def test_compare_builds_a_table_from_catalog_attributes(assistant):
    cid = assistant.start(None)
    shown = cards_of(run(assistant, cid, "a blender"))
    ans = answer_of(run(assistant, cid, "compare the first two"))
    assert ans.table[0][1].startswith("[1]") and len(ans.table[0]) == 3
    rows = {r[0]: r[1:] for r in ans.table[1:]}
    assert {"price", "rating", "brand", "colour", "power"} <= set(rows)
    assert ans.citations == [c.product_id for c in shown[:2]]


def test_after_a_comparison_which_one_is_cheaper_picks_between_the_compared(assistant):
    """The compared products are what is on screen: "which one is cheaper?" names the cheaper of
    those two with its catalog price, not the cheapest of the longer list shown before."""
    cid = assistant.start(None)
    shown = cards_of(run(assistant, cid, "a blender"))
    run(assistant, cid, "compare the first two")
    assert assistant.state(cid).shown == [c.product_id for c in shown[:2]]
    cheaper = min(shown[:2], key=lambda c: c.price)
    ans = answer_of(run(assistant, cid, "which one is cheaper?"))
    assert [c.product_id for c in cards_of(run(assistant, cid, "which one is cheaper?"))] == [cheaper.product_id]
    assert f"${cheaper.price:.2f}" in ans.text


def test_a_brand_the_shop_lacks_asked_on_its_own_is_answered_without_offering_nothing(assistant):
    """"do u have zorblax" / "do you sell zorblax" (no product named): the shop does not carry it,
    said once, with no "here is what we have instead" before an empty list."""
    for message in ("do you sell zorblax", "do u have zorblax stuff?"):
        events = run(assistant, assistant.start(None), message)
        ans = answer_of(events)
        assert ans.text.startswith("We don't carry Zorblax"), ans.text
        if not cards_of(events):
            assert "instead" not in ans.text and "couldn't find" not in ans.text


def test_review_question_quotes_or_says_the_reviews_dont_say(assistant):
    cid = assistant.start(None)
    run(assistant, cid, "acme quietblend blender")
    assert assistant.state(cid).focus == "bl-01"
    ans = answer_of(run(assistant, cid, "does the lid leak?"))
    assert "“" in ans.text and "leak" in ans.text.lower()
    ans = answer_of(run(assistant, cid, "does it come with a warranty?"))
    assert "don't say" in ans.text


def test_injected_review_instructions_are_never_repeated(assistant):
    cid = assistant.start(None)
    run(assistant, cid, "orbit silent blender")
    ans = answer_of(run(assistant, cid, "what do the reviews say about it"))
    assert "free" not in ans.text.lower() and "ignore" not in ans.text.lower()
    assert "quiet" in ans.text.lower()


def test_handoff_flags_the_conversation(assistant):
    cid = assistant.start("u-ben")
    events = run(assistant, cid, "I want to talk to a human please")
    assert Handoff(cid) in events and isinstance(events[-1], Notice)
    assert assistant.store.handoff_requested(cid)
    assert assistant.store.queue()[0].id == cid


def test_takeover_pauses_the_bot_until_hand_back(assistant):
    cid = assistant.start("u-ben")
    assistant.desk.take_over(cid, "alice")
    assistant.desk.agent_reply(cid, "alice", "Hi, Alice here <b>from support</b>")
    events = run(assistant, cid, "which kettle is best?")
    assert len(events) == 1 and events[0].kind == "paused" and "alice" in events[0].text
    msgs = assistant.store.messages(cid)
    assert [m.role for m in msgs] == ["agent", "user"] and msgs[0].text == "Hi, Alice here from support"
    assistant.desk.hand_back(cid)
    assert any(isinstance(e, Cards) for e in run(assistant, cid, "which kettle is best?"))


def test_agent_reply_takes_over_so_the_bot_does_not_talk_over_the_agent(assistant):
    cid = assistant.start("u-ben")
    assert assistant.store.taken_over_by(cid) is None
    assistant.desk.agent_reply(cid, "alice", "Hello from the team")
    assert assistant.store.taken_over_by(cid) == "alice"
    assert run(assistant, cid, "which kettle is best?")[0].kind == "paused"


def test_answer_feedback_keeps_its_payload(assistant):
    cid = assistant.start("u-ben")
    assistant.desk.feedback(cid, "u-ben", "thumb_up", payload={"message_id": 7, "target": "answer"})
    (row,) = assistant.store.events("thumb_up", cid)
    assert row.product_id is None and row.payload == {"message_id": 7, "target": "answer"}


def test_safety_long_input_html_and_off_topic(assistant):
    cid = assistant.start(None)
    events = run(assistant, cid, "x" * (assistant.settings.max_input_chars + 1))
    assert len(events) == 1 and events[0].kind == "refused" and "too long" in events[0].text
    run(assistant, cid, "<script>alert(1)</script><b>kettle</b>")
    assert assistant.store.messages(cid)[-2].text == "kettle"
    events = run(assistant, cid, "what's the weather in Paris?")
    assert events[-1].kind == "redirect" and not any(isinstance(e, Cards) for e in events)


def test_llm_down_shows_retry_notice_and_cards(make_assistant):
    a = make_assistant(llm=ScriptedLLM(fail=True))
    cid = a.start(None)
    events = run(a, cid, "a kettle")
    assert isinstance(events[0], Cards) and events[0].cards
    assert any(isinstance(e, Notice) and e.kind == "retry" for e in events)
    ans = answer_of(events)
    assert ans.text.startswith("Here is what I found") and "[1]" in ans.text


def test_the_answer_says_which_asked_for_words_no_shown_product_mentions(make_assistant):
    a = make_assistant(llm=ScriptedLLM(fail=True))  # the template answer, built from catalog data alone
    events = run(a, a.start(None), "a kettle for smoothies")  # only blenders mention smoothies
    assert answer_of(events).text.startswith("Here is what I found (none of the Kettles mention “smoothies”")
    # a blender is no substitute for a kettle: no card from another category (see the demo-catalog test)
    assert all(c.product_id.startswith("kt-") for c in cards_of(events))
    # with an LLM writing the text, the same is said first, deterministically (the LLM may not say it)
    b = make_assistant()
    ans = answer_of(run(b, b.start(None), "a kettle for smoothies"))
    assert ans.text.startswith("None of the Kettles mention “smoothies”. ") and len(ans.text) > 45  # the LLM's text follows
    for said in ("a blender for smoothies", "a quiet blender", "a good kettle for travel", "a kettle for smoothiez"):
        # mentioned (also inside "QuietBlend"), a filler word, or a word no product has (a typo): no remark
        assert "none of these mention" not in answer_of(run(a, a.start(None), said)).text, said
    # the cards' "matches" reason speaks the shopper's words: no stems ("smoothy"), no filler ("good")
    why = [w for c in cards_of(run(a, a.start(None), "a good blender for smoothies")) for w in c.why if w.startswith("matches")]
    assert any("smoothies" in w for w in why) and not any("smoothy" in w or "good" in w for w in why)


def test_ungrounded_text_is_regenerated_then_replaced(make_assistant):
    bad = "Try the Vortex 3000 blender for $12.00 in purple. It is the best one here."
    a = make_assistant(llm=ScriptedLLM(replies=[bad, bad]))
    cid = a.start(None)
    events = run(a, cid, "a blender")
    assert not any(isinstance(e, TextDelta) for e in events)
    ans = answer_of(events)
    assert "Vortex" not in ans.text and "$12.00" not in ans.text and ans.text.startswith("Here is what I found")
    assert a.store.messages(cid)[-1].meta["source"] == "template"
    good = "The first one [1] is a solid choice."
    a = make_assistant(llm=ScriptedLLM(replies=[bad, good]))
    cid = a.start(None)
    ans = answer_of(run(a, cid, "a blender"))
    assert ans.text == good and a.store.messages(cid)[-1].meta["source"] == "llm_retry"


def test_feedback_personalises_and_pins_come_first(assistant):
    cid = assistant.start("u-eli")
    shown = cards_of(run(assistant, cid, "a kettle", user="u-eli"))
    assistant.desk.feedback(cid, "u-eli", "thumb_up", shown[-1].product_id)
    ctx = assistant.user_context("u-eli", assistant.state(cid), cid)
    assert (assistant.catalog.store.get(shown[-1].product_id).title, 5.0) in ctx.history
    assistant.desk.pin(cid, "kt-03")
    again = cards_of(run(assistant, cid, "a kettle", user="u-eli"))
    assert again[0].product_id == "kt-03" and "recommended by our team" in again[0].why


def test_session_thumbs_reach_the_taste_term(assistant):
    # a thumb is a rated item for the ranker's personal taste term, not only a title in the history
    cid = assistant.start("u-eli")
    shown = cards_of(run(assistant, cid, "a kettle", user="u-eli"))
    assistant.desk.feedback(cid, "u-eli", "thumb_down", shown[0].product_id)
    ctx = assistant.user_context("u-eli", assistant.state(cid), cid)
    assert (shown[0].product_id, 1.0) in ctx.rated


def test_a_signed_in_shoppers_thumbs_carry_over_to_their_next_session(assistant):
    first = assistant.start("u-eli")
    shown = cards_of(run(assistant, first, "a kettle", user="u-eli"))
    assistant.desk.feedback(first, "u-eli", "thumb_up", shown[0].product_id)
    assistant.desk.feedback(first, "u-eli", "thumb_up", shown[1].product_id)
    assistant.desk.feedback(first, "u-eli", "thumb_down", shown[1].product_id)  # changed their mind
    later = assistant.start("u-eli")  # a new conversation, another day
    ctx = assistant.user_context("u-eli", assistant.state(later), later)
    assert (shown[0].product_id, 5.0) in ctx.rated and (shown[1].product_id, 1.0) in ctx.rated
    assert (shown[1].product_id, 5.0) not in ctx.rated  # only the latest opinion counts
    # an anonymous shopper's thumbs stay in their own conversation
    anon = assistant.start(None)
    assistant.desk.feedback(anon, None, "thumb_up", shown[2].product_id)
    assert (shown[2].product_id, 5.0) in assistant.user_context(None, assistant.state(anon), anon).rated
    other = assistant.start(None)
    assert not assistant.user_context(None, assistant.state(other), other).rated


def test_rating_weight_is_larger_when_only_a_category_was_named(make_assistant):
    # the weights set to the extremes, so each query kind has one exact order to check:
    # browse ("kettles") -> by the ranker's personal term alone (its blend of stars, co-ratings and
    # popularity, ranker.blend); a specific query -> by relevance alone
    a = make_assistant(rating_weight=0.0, rating_weight_browse=1.0)

    def ranked(message):
        cid = a.start(None)
        assert cards_of(run(a, cid, message))
        return a.state(cid).query, a.store.candidates(cid), cid

    q, browse, cid = ranked("kettles")
    assert is_browse(q) and len(browse) >= 3
    products = a.products([c["product_id"] for c in browse])
    user = a.user_context("u-anna", a.state(cid), cid)
    show = {p.product_id: p.show for p in a.ranker.score(user, products)}  # the shopper's blend
    assert [c["final"] for c in browse] == pytest.approx([show[c["product_id"]] for c in browse], abs=1e-3)
    assert [c["final"] for c in browse] == sorted((c["final"] for c in browse), reverse=True)
    q, specific, _ = ranked("a glass kettle")
    assert not is_browse(q)
    assert [c["final"] for c in specific] == [c["score"] for c in specific]


def test_cheaper_than_the_cheapest_says_so(assistant):
    cid = assistant.start(None)
    cheapest = cards_of(run(assistant, cid, "the cheapest blender"))[0]
    events = run(assistant, cid, "cheaper")
    assert not cards_of(events)
    assert f"cheaper than ${cheapest.price:.2f}" in answer_of(events).text


def test_superlative_searches_the_whole_catalog(assistant):
    cid = assistant.start(None)
    top = cards_of(run(assistant, cid, "what is your most expensive blender"))[0]
    blenders = [p for p in assistant.catalog.store.iter_products() if "Blenders" in p.categories]
    assert top.price == max(p.price for p in blenders)
    cheapest = cards_of(run(assistant, cid, "the cheapest kettle"))[0]
    kettles = [p for p in assistant.catalog.store.iter_products() if "Kettles" in p.categories]
    assert cheapest.price == min(p.price for p in kettles)


def test_console_helpers(assistant):
    cid = assistant.start("u-anna")
    run(assistant, cid, "a kettle")
    draft = assistant.desk.suggest_reply(cid)
    first = assistant.store.candidates(cid)[0]["title"]
    assert first.split()[0] in draft and "[1]" in draft
    prof = assistant.desk.profile("u-anna")
    assert prof["user_id"] == "u-anna" and prof["history"]
    users = assistant.desk.demo_users()
    assert users and {"id", "name", "persona"} <= set(users[0])


def test_a_fragment_cut_by_the_token_cap_never_reaches_the_answer(make_assistant):
    a = make_assistant(llm=ScriptedLLM(replies=["The first one [1] is a solid choice. And the second one is"]))
    ans = answer_of(run(a, a.start(None), "a kettle"))
    assert ans.text == "The first one [1] is a solid choice."
    a = make_assistant(llm=ScriptedLLM(replies=["The first one is a"]))
    ans = answer_of(run(a, a.start(None), "a kettle"))
    assert ans.text.startswith("Here is what I found")


def test_a_capable_llm_proposes_filters_that_are_validated(make_assistant):
    proposal = '{"price_max": 60, "brands": ["Zeta", "Vortexia"], "colour": "chartreuse"}'
    a = make_assistant(llm=ScriptedLLM(replies=[proposal, "The first one [1] fits."], capable=True))
    cid = a.start(None)
    cards = cards_of(run(a, cid, "a blender that doesn't break the bank from that glass jar company Zeta"))
    state = a.state(cid)
    assert state.query.price_max == 60 and state.query.brands == ["Zeta"] and state.colours == []
    assert cards and all(c.brand == "Zeta" and c.price <= 60 for c in cards)


def test_a_card_lifted_by_co_ratings_says_who_bought_what(assistant):
    """u-ben reviewed a blender and a kettle; u-dara reviewed both and another kettle: browsing
    kettles, the card the co-ratings lift says "shoppers who bought “<his product>” also bought
    this" (ranker.blend), and only cards whose prediction gives that reason carry it."""
    cid = assistant.start("u-ben")
    cards = cards_of(run(assistant, cid, "kettles", user="u-ben"))
    user = assistant.user_context("u-ben", assistant.state(cid), cid)
    preds = {p.product_id: p for p in assistant.ranker.score(user, assistant.products([r["product_id"] for r in assistant.store.candidates(cid)]))}
    mine = {assistant.catalog.store.get(i).title[:60] for i, _ in user.rated}
    said = [c for c in cards if any(w.startswith("shoppers who bought") for w in c.why)]
    assert said, "u-ben's co-ratings lift a kettle"
    for c in cards:
        lifted = preds[c.product_id].explanation[0].startswith("shoppers who bought")
        assert lifted == (c in said)
        if lifted:
            reason = next(w for w in c.why if w.startswith("shoppers who bought"))
            assert reason.split("“", 1)[1].split("”", 1)[0] in mine
