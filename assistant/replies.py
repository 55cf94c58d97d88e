"""Turns that need no search: hand-off, chit-chat, off-topic, comparisons, product questions, reviews.

Each reply is a function ``reply(a, ctx)`` over the pipeline's ``turn.Services`` ``a`` and
the turn's ``turn.TurnContext`` ``ctx``; it yields the turn's events and stores the answer
(``a.finish``). ``BY_INTENT`` maps an intent to its reply (find and refine go through
search in ``chat.Assistant.respond``). Everything they say comes from catalog data or
review text (quoted), never from the LLM.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator

from assistant import answers
from assistant.events import Cards, Event, Handoff, Notice
from assistant.turn import Services, TurnContext
from assistant.understand import QUESTION

GREETING_TEXT = (
    "Hi! I can help you find products from our catalog, compare them and tell you what reviewers say. "
    "Try something like “a quiet blender under $80”."
)
REDIRECT_TEXT = (
    "Sorry, I can only help with shopping in this store. Tell me what you're looking for "
    "and I'll find matching products."
)
HANDOFF_TEXT = "I've asked a member of our team to join this conversation; they'll reply here shortly."


def handoff(a: Services, ctx: TurnContext) -> Iterator[Event]:
    """Flag the conversation for a person (the agent console's queue)."""
    a.request_handoff(ctx.cid, reason=ctx.message[:200])
    yield Handoff(ctx.cid)
    a.finish(ctx, HANDOFF_TEXT)
    yield Notice(HANDOFF_TEXT, kind="handoff")


def chitchat(a: Services, ctx: TurnContext) -> Iterator[Event]:
    low = ctx.message.lower()
    if re.search(r"\b(thanks|thank you|thx|cheers)\b", low):
        text = "You're welcome! Anything else I can help you find?"
    elif re.search(r"\b(bye|goodbye)\b", low):
        text = "Goodbye, and happy shopping!"
    else:
        text = GREETING_TEXT
    yield a.finish(ctx, text)


def redirect(a: Services, ctx: TurnContext) -> Iterator[Event]:
    a.finish(ctx, REDIRECT_TEXT)
    yield Notice(REDIRECT_TEXT, kind="redirect")


def compare(a: Services, ctx: TurnContext) -> Iterator[Event]:
    """A table of shared attributes for the referenced (else the first three shown) products."""
    u = ctx.understood
    shown = a.shown(u.state)
    products = a.products(u.refs) if len(u.refs) >= 2 else shown[:3]
    if len(products) < 2:
        text = "Show me what you'd like to compare first: search for some products, then say “compare the first two”."
        yield a.finish(ctx, text)
        return
    cards = [a.simple_card(p, ["in your comparison"]) for p in products]
    # the compared products are what is on screen now: "which one is cheaper?" picks between them
    u.state.shown, u.state.focus = [p.id for p in products], products[0].id
    yield Cards(cards)
    ctx.timings["first_card"] = time.perf_counter() - ctx.t0
    for p in products:
        a.log_event("compare", ctx.cid, ctx.turn.user_id, p.id)
    rows = answers.comparison_table(products)
    text = answers.comparison_summary(products) + "\n\n" + answers.table_text(rows)
    yield a.finish(ctx, text, cards=cards, citations=[p.id for p in products], table=rows)


def _focus_card(a: Services, ctx: TurnContext, why: str):
    """The one product the message refers to becomes the focus and its card goes out first."""
    product = a.products(ctx.understood.refs[:1])[0]
    ctx.state.focus = product.id
    card = a.simple_card(product, [why])
    yield Cards([card])
    ctx.timings["first_card"] = time.perf_counter() - ctx.t0
    return product, card


def ask(a: Services, ctx: TurnContext) -> Iterator[Event]:
    """A question about one product: answered from its specs and quoted reviews, or described."""
    from assistant.evidence import describe
    from assistant.product_qa import product_answer, variant_question, variant_reply

    if QUESTION.search(ctx.message):  # qa hook: "does it come in black?" -> the black one's card first
        product = a.products(ctx.understood.refs[:1])[0]
        got = variant_question(a, product, ctx.message)
        if got is not None:
            yield from variant_reply(a, ctx, product, got)
            return
    product, card = yield from _focus_card(a, ctx, "the product you asked about")
    t = time.perf_counter()
    reviews = a.reviews(product.id, limit=200)
    cards = [card]
    # the state after carries the last question over; "and the genius2?" names the product, asks nothing new
    question = same_question(ctx.message, ctx.state.asked, naming=_title_words(product))
    if question:  # qa hook: spec sheet, reviews, policies (assistant/product_qa.py)
        text, _ = product_answer(a, product, question, reviews)
        ctx.state.asked = question
    else:
        text = describe(product, reviews)
    ctx.timings["retrieve"] = time.perf_counter() - t
    yield a.finish(ctx, text, cards=cards, citations=[c.product_id for c in cards])


# words of a follow-up that only point at another product ("and the second?", "what about that one?")
_POINTING = frozenset(
    "and what about how else also then ok okay so the one ones other another last first second third fourth "
    "fifth sixth 1st 2nd 3rd 4th 5th 6th number option item this that these those".split()
)


# a question word said without its apostrophe or verb: "whats the response time on it", "hows the battery"
_WH = re.compile(r"^\s*(?:and |so |ok )?(?:whats|what's|hows|how's|wheres|where's)\b", re.I)


def _title_words(product) -> frozenset[str]:
    return frozenset(re.findall(r"[a-z0-9]+", f"{product.title} {product.brand or ''}".lower()))


def same_question(message: str, asked: str | None, naming: frozenset[str] = frozenset()) -> str | None:
    """The question a product turn asks: the message itself, or, when it only points at another
    product ("and the second?", "what about the third one?", "and the genius2?" with ``naming`` the
    words of that product's title), the question asked before.

    >>> same_question("and the second?", "how loud is it?"), same_question("is it loud?", "how heavy is it?")
    ('how loud is it?', 'is it loud?')
    >>> same_question("and the genius2?", "can it charge a car?", frozenset({"noco", "genius2"}))
    'can it charge a car?'
    >>> same_question("whats the response time on it", None)
    'whats the response time on it'
    >>> same_question("tell me about the second one", None) is None
    True
    """
    words = re.findall(r"[a-z0-9]+", message.lower())
    if asked and words and all(w in _POINTING or w in naming or w.isdigit() for w in words):
        return asked
    from assistant.product_qa import PRICE_QUESTION
    from assistant.understand import IT_QUESTION  # "i wear glasses, is it comfy with them"

    asks = QUESTION.search(message) or IT_QUESTION.search(message) or PRICE_QUESTION.match(message) or _WH.match(message)
    return message if asks else None


def reviews(a: Services, ctx: TurnContext) -> Iterator[Event]:
    """What reviewers say about the referenced product, with quotes."""
    from assistant.evidence import summarise_reviews

    product, card = yield from _focus_card(a, ctx, "reviews summarised below")
    t = time.perf_counter()
    text = summarise_reviews(product, a.reviews(product.id, limit=300))
    ctx.timings["retrieve"] = time.perf_counter() - t
    yield a.finish(ctx, text, cards=[card], citations=[product.id])


Reply = Callable[[Services, TurnContext], Iterator[Event]]
BY_INTENT: dict[str, Reply] = {
    "handoff": handoff,
    "chitchat": chitchat,
    "out_of_scope": redirect,
    "compare": compare,
    "ask": ask,
    "reviews": reviews,
}
