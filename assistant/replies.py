"""Turns that need no search: hand-off, chit-chat, off-topic, comparisons, product questions, reviews.

Each reply is a function ``reply(a, turn, message, u, timings, t0)`` over the ``Assistant``
``a`` that yields the turn's events and stores the answer (``a.finish``); ``BY_INTENT``
maps an intent to its reply (find and refine go through search in ``Assistant.respond``).
Everything they say comes from catalog data or review text (quoted), never from the LLM.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from assistant import answers as A
from assistant.events import Cards, Event, Handoff, Notice
from assistant.understand import QUESTION, Understood

if TYPE_CHECKING:
    from assistant.chat import Assistant, Turn

GREETING_TEXT = (
    "Hi! I can help you find products from our catalog, compare them and tell you what reviewers say. "
    "Try something like “a quiet blender under $80”."
)
REDIRECT_TEXT = (
    "Sorry, I can only help with shopping in this store. Tell me what you're looking for "
    "and I'll find matching products."
)
HANDOFF_TEXT = "I've asked a member of our team to join this conversation; they'll reply here shortly."


def handoff(a: Assistant, turn: Turn, message: str, u: Understood, timings: dict, t0: float) -> Iterator[Event]:
    """Flag the conversation for a person (the agent console's queue)."""
    a.store.request_handoff(turn.conversation_id, reason=message[:200])
    yield Handoff(turn.conversation_id)
    a.finish(turn.conversation_id, HANDOFF_TEXT, u, timings, t0)
    yield Notice(HANDOFF_TEXT, kind="handoff")


def chitchat(a: Assistant, turn: Turn, message: str, u: Understood, timings: dict, t0: float) -> Iterator[Event]:
    low = message.lower()
    if re.search(r"\b(thanks|thank you|thx|cheers)\b", low):
        text = "You're welcome! Anything else I can help you find?"
    elif re.search(r"\b(bye|goodbye)\b", low):
        text = "Goodbye, and happy shopping!"
    else:
        text = GREETING_TEXT
    yield a.finish(turn.conversation_id, text, u, timings, t0)


def redirect(a: Assistant, turn: Turn, message: str, u: Understood, timings: dict, t0: float) -> Iterator[Event]:
    a.finish(turn.conversation_id, REDIRECT_TEXT, u, timings, t0)
    yield Notice(REDIRECT_TEXT, kind="redirect")


def compare(a: Assistant, turn: Turn, message: str, u: Understood, timings: dict, t0: float) -> Iterator[Event]:
    """A table of shared attributes for the referenced (else the first three shown) products."""
    shown = a.shown(u.state)
    products = a.products(u.refs) if len(u.refs) >= 2 else shown[:3]
    if len(products) < 2:
        text = "Show me what you'd like to compare first: search for some products, then say “compare the first two”."
        yield a.finish(turn.conversation_id, text, u, timings, t0)
        return
    cards = [a.simple_card(p, ["in your comparison"]) for p in products]
    yield Cards(cards)
    timings["first_card"] = time.perf_counter() - t0
    for p in products:
        a.store.log_event("compare", turn.conversation_id, turn.user_id, p.id)
    rows = A.comparison_table(products)
    text = A.comparison_summary(products) + "\n\n" + A.table_text(rows)
    yield a.finish(turn.conversation_id, text, u, timings, t0, cards=cards,
                   citations=[p.id for p in products], table=rows)  # fmt: skip


def _focus_card(a: Assistant, u: Understood, why: str, timings: dict, t0: float):
    """The one product the message refers to becomes the focus and its card goes out first."""
    product = a.products(u.refs[:1])[0]
    u.state.focus = product.id
    card = a.simple_card(product, [why])
    yield Cards([card])
    timings["first_card"] = time.perf_counter() - t0
    return product, card


def ask(a: Assistant, turn: Turn, message: str, u: Understood, timings: dict, t0: float) -> Iterator[Event]:
    """A question about one product: answered from its specs and quoted reviews, or described."""
    from assistant.evidence import describe
    from assistant.product_qa import product_answer

    product, card = yield from _focus_card(a, u, "the product you asked about", timings, t0)
    t = time.perf_counter()
    reviews = a.catalog.store.reviews_for(product.id, limit=200)
    cards = [card]
    if QUESTION.search(message):  # qa hook: spec sheet, variants, reviews, policies (assistant/product_qa.py)
        text, variant = product_answer(a, product, message, reviews)
        if variant is not None:  # "does it come in black?": the black one's card goes first
            cards = [a.simple_card(variant, ["the variant you asked about"]), card]
            u.state.focus = variant.id
            yield Cards(cards)
    else:
        text = describe(product, reviews)
    timings["retrieve"] = time.perf_counter() - t
    yield a.finish(turn.conversation_id, text, u, timings, t0, cards=cards, citations=[c.product_id for c in cards])


def reviews(a: Assistant, turn: Turn, message: str, u: Understood, timings: dict, t0: float) -> Iterator[Event]:
    """What reviewers say about the referenced product, with quotes."""
    from assistant.evidence import summarise_reviews

    product, card = yield from _focus_card(a, u, "reviews summarised below", timings, t0)
    t = time.perf_counter()
    text = summarise_reviews(product, a.catalog.store.reviews_for(product.id, limit=300))
    timings["retrieve"] = time.perf_counter() - t
    yield a.finish(turn.conversation_id, text, u, timings, t0, cards=[card], citations=[product.id])


Reply = Callable[["Assistant", "Turn", str, Understood, dict, float], Iterator[Event]]
BY_INTENT: dict[str, Reply] = {
    "handoff": handoff,
    "chitchat": chitchat,
    "out_of_scope": redirect,
    "compare": compare,
    "ask": ask,
    "reviews": reviews,
}
