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
from assistant.intents import DONE
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
    done = re.search(rf"\b(?:{DONE}|bye|goodbye)\b", low)
    if done and re.search(r"\b(thanks|thank you|thx|cheers|ty)\b", low):
        text = "You're welcome! Happy shopping, and come back any time."
    elif re.search(r"\b(thanks|thank you|thx|cheers)\b", low):
        text = "You're welcome! Anything else I can help you find?"
    elif done and not re.search(r"\b(bye|goodbye)\b", low):
        text = "Glad I could help. Happy shopping!"
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


def _price_comparison(a: Services, ctx: TurnContext, products: list, text: str) -> Iterator[Event]:
    """The compared products' cards and the sentence on their prices; the first named stays in focus."""
    cards = [a.simple_card(p, ["in your comparison"]) for p in products]
    ctx.state.focus = products[0].id
    yield Cards(cards)
    ctx.timings["first_card"] = time.perf_counter() - ctx.t0
    yield a.finish(ctx, text, cards=cards, citations=[p.id for p in products])


def ask(a: Services, ctx: TurnContext) -> Iterator[Event]:
    """A question about one product: answered from its specs and quoted reviews, or described."""
    from assistant.evidence import describe
    from assistant.product_qa import product_answer, variant_question, variant_reply

    named = a.products(ctx.understood.refs)
    compared = answers.price_comparison(ctx.message, named) if len(named) >= 2 else None
    if compared:  # "is the second one cheaper than the first?": their listed prices, side by side
        yield from _price_comparison(a, ctx, named, compared)
        return
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


def cart(a: Services, ctx: TurnContext) -> Iterator[Event]:
    """ "Add the second one to my cart": the product meant goes into the cart (the card's button's
    event), its card shown with the sentence saying so."""
    product = a.products(ctx.understood.refs[:1])[0]
    a.log_event("add_to_cart", ctx.cid, ctx.turn.user_id, product.id, {"via": "chat"})
    card = a.simple_card(product, ["added to your cart"])
    yield Cards([card])
    ctx.timings["first_card"] = time.perf_counter() - ctx.t0
    price = f" ({answers.fmt_price(product.price, product.currency)})" if product.price is not None else ""
    text = f"Added “{answers.short_title(product)}”{price} to your cart. Anything else I can help you find?"
    yield a.finish(ctx, text, cards=[card], citations=[product.id])


def recommend(a: Services, ctx: TurnContext) -> Iterator[Event]:
    """ "Which one would you recommend?": among the cards on screen, the best rated once the number
    of reviews is counted in (``pick``); the cards shown again in the same order."""
    products = a.shown(ctx.state)
    cards = [a.simple_card(p, ["on screen"]) for p in products]
    yield Cards(cards)
    ctx.timings["first_card"] = time.perf_counter() - ctx.t0
    i = pick(products)
    if i is None:
        text = ("None of these has reviews yet, so I can't pick one on what shoppers say. "
                "What matters most to you: price, size, or something else?")
    else:
        p = products[i]
        ctx.state.focus = p.id
        text = (f"Of these, I'd go for [{i + 1}] {answers.short_title(p)}: rated {answers.fmt_rating(p)}, the best "
                f"of the ones on screen once the number of reviews is counted in"
                + (f", at {answers.fmt_price(p.price, p.currency)}." if p.price is not None else "."))
    yield a.finish(ctx, text, cards=cards, citations=[p.id for p in products])


def pick(products: list) -> int | None:
    """The index of the best rating once shrunk toward the cards' mean by the ranker's prior
    (``ranker.serve.shrunk_item_bias``: 4.9 from one review is no better pick than 4.6 from 60);
    None when none is rated.

    >>> from types import SimpleNamespace as P
    >>> pick([P(average_rating=5.0, rating_count=1), P(average_rating=4.6, rating_count=60),
    ...       P(average_rating=3.9, rating_count=40), P(average_rating=None, rating_count=0)])
    1
    >>> pick([P(average_rating=None, rating_count=0)]) is None
    True
    """
    from ranker.serve import catalog_mean, shrunk_item_bias

    rated = [(i, p) for i, p in enumerate(products) if p.average_rating is not None and p.rating_count]
    if not rated:
        return None
    mu = catalog_mean(p for _, p in rated)
    return max(rated, key=lambda x: (shrunk_item_bias(x[1].average_rating, x[1].rating_count, mu), x[1].rating_count))[0]


OVERVIEW_KINDS = 12  # kinds named in "what do you sell?" (the demo has 30 leaf categories)
OVERVIEW_CARDS = 4  # one card for each of the biggest kinds named, as many as a search shows


def overview(a: Services, ctx: TurnContext) -> Iterator[Event]:
    """ "What do you sell?" / "what else have you got apart from tea?": the shop's biggest kinds of
    product (its departments and their leaf categories where it has them), without the ones ruled
    out, and a card of the most reviewed product of each of the first few kinds."""
    from assistant.references import COLOURS
    from assistant.vocabulary import vocabulary_of

    ruled_out = {w for r in ctx.understood.ruled_out for w in re.findall(r"[a-z]+", r.lower())}

    def kept(name: str) -> bool:
        words = set(re.findall(r"[a-z]+", name.lower()))
        if words & set(COLOURS) or re.search(r"\d", name):  # "white toner cartridges" is one colour of a kind
            return False
        return not (words & ruled_out or {w.rstrip("s") for w in words} & {w.rstrip("s") for w in ruled_out})

    departments = _departments(vocabulary_of(a.catalog), kept)
    if not departments:  # no category paths: the biggest kinds the titles or categories name
        kinds = _distinct_heads([k for k in a.kinds_sold(3 * OVERVIEW_KINDS) if kept(k)])[:OVERVIEW_KINDS]
        departments = {"": kinds} if kinds else {}
    if not departments:
        yield a.finish(ctx, "Tell me what you're looking for and I'll search the catalog for it.")
        return
    named = ([f"{top} ({', '.join(ks)})" if ks else top for top, ks in departments.items()] if "" not in departments
             else departments[""])
    besides = f"Besides {answers.listed(sorted(ruled_out))}, we" if ruled_out else "We"
    text = f"{besides} carry {answers.listed(named)}. What are you shopping for?"
    cards, seen = [], set()
    for k in [k for top, ks in departments.items() for k in (ks or [top])][:OVERVIEW_CARDS]:
        p = _most_reviewed(a, k)
        if p is not None and p.id not in seen:
            seen.add(p.id)
            cards.append(a.simple_card(p, [f"one of our {k}"]))
    if cards:
        ctx.state.shown, ctx.state.focus = [c.product_id for c in cards], cards[0].product_id
        yield Cards(cards)
        ctx.timings["first_card"] = time.perf_counter() - ctx.t0
    yield a.finish(ctx, text, cards=cards, citations=[c.product_id for c in cards])


def _distinct_heads(kinds: list[str]) -> list[str]:
    """Kinds without the ones whose last word an earlier kind ends in ("patch cables" after "cables").

    >>> _distinct_heads(["toner cartridges", "cables", "patch cables", "ink cartridges", "notebooks"])
    ['toner cartridges', 'cables', 'notebooks']
    """
    seen, out = set(), []
    for k in kinds:
        last = k.split()[-1]
        if last not in seen:
            seen.add(last)
            out.append(k)
    return out


def _departments(vocab, kept: Callable[[str], bool], per: int = 3, most: int = 8) -> dict[str, list[str]]:
    """Top-level category -> its biggest leaf categories (lower-case nouns, at most ``per``), the
    biggest departments first (at most ``most``); empty when the catalog has no category paths."""
    sizes: dict[str, int] = {}
    out: dict[str, list[str]] = {}
    audiences: set[str] = set()  # departments split by who they are for ("Men's", "Women's"): named alone
    for leaf, n in vocab.category_size.most_common():
        path = vocab.leaves.get(leaf)
        top = path[: -len(leaf)].strip() if path and path.endswith(leaf) else ""
        if not top or not kept(leaf) and not leaf.lower().endswith(("'s", "’s")):
            continue
        sizes[top] = sizes.get(top, 0) + n
        out.setdefault(top, [])
        if leaf.lower().endswith(("'s", "’s")):
            audiences.add(top)
        elif len(leaf) >= 4 and len(out[top]) < per:
            out[top].append(leaf.lower())
    return {t: ([] if t in audiences else out[t]) for t in sorted(out, key=lambda t: -sizes[t])[:most]}


def _most_reviewed(a: Services, kind: str):
    """The most reviewed product a search for ``kind`` finds (its best match when none has reviews)."""
    from assistant.state import State
    from retrieval.query import StructuredQuery

    hits = a.candidates.retrieve(State(StructuredQuery(text=kind)))[:20]
    if not hits:
        return None
    return max(hits, key=lambda h: (h.product.rating_count or 0, h.score)).product


Reply = Callable[[Services, TurnContext], Iterator[Event]]
# intents whose reply is theirs alone: no product-question, superlative or policy hook reads them
NO_HOOKS = frozenset({"overview", "cart", "recommend"})
BY_INTENT: dict[str, Reply] = {
    "handoff": handoff,
    "chitchat": chitchat,
    "out_of_scope": redirect,
    "compare": compare,
    "ask": ask,
    "reviews": reviews,
    "overview": overview,
    "cart": cart,
    "recommend": recommend,
}
