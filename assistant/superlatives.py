"""Questions over the products on screen: "which one is the lightest / has the longest battery /
is best for running?", answered from their specs side by side, or from their reviews.

The shopper's adjective names a dimension (``product_qa.DIMENSIONS``: light -> weight) and a
direction (``DIRECTION``: lightest is the smallest weight); the spec each product lists for it
is found by the same MiniLM + words match as a one-product question, its quantity read with
its unit and made comparable (``quantity``: "255 g" and "1.1 kg" in grams). "Best for X" has no
spec: the product whose reviews mention X most (``evidence.best_evidence``) is named, with a
quote. Price and rating superlatives are not here: they sort the whole catalog (``understand``).

Example::

    >>> quantity("6 h (24 h with case)")
    (6.0, 'time')
    >>> quantity("1.1 kg")
    (1100.0, 'mass')
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from assistant.answers import clean, short_title
from assistant.product_qa import DIMENSIONS, SPEC_MIN, facts, rank_facts

if TYPE_CHECKING:
    from collections.abc import Iterator

    from assistant.events import Event
    from assistant.turn import TurnContext

# units -> (kind, factor to the kind's base unit); general physics, no catalog words
UNITS = {
    "mg": ("mass", 0.001), "g": ("mass", 1.0), "kg": ("mass", 1000.0), "lb": ("mass", 453.6), "lbs": ("mass", 453.6),
    "oz": ("mass", 28.35), "min": ("time", 1 / 60), "h": ("time", 1.0), "hr": ("time", 1.0), "hrs": ("time", 1.0),
    "hours": ("time", 1.0), "day": ("time", 24.0), "days": ("time", 24.0), "weeks": ("time", 168.0),
    "months": ("time", 730.0), "years": ("time", 8760.0), "mm": ("length", 0.1), "cm": ("length", 1.0),
    "m": ("length", 100.0), "in": ("length", 2.54), "ml": ("volume", 0.001), "l": ("volume", 1.0),
    "w": ("power", 1.0), "kw": ("power", 1000.0), "db": ("noise", 1.0), "lm": ("light", 1.0),
    "mah": ("charge", 1.0), "gb": ("storage", 1.0), "tb": ("storage", 1000.0), "°c": ("temperature", 1.0),
}  # fmt: skip
_PLAIN = re.compile(r"^\s*-?\d+(?:[.,]\d+)?\s*$")
_QTY = re.compile(r"([-+]?\d+(?:[.,]\d+)?)\s?(°c|[a-z]+)\b", re.I)
# adjective -> +1: the largest value wins, -1: the smallest ("warmest" sleeping bag: the lowest rating)
DIRECTION = {
    "light": -1, "heavy": 1, "long": 1, "short": -1, "quiet": -1, "loud": 1, "noisy": 1, "big": 1, "large": 1,
    "small": -1, "compact": -1, "bright": 1, "powerful": 1, "warm": -1, "thin": -1, "thick": 1, "tall": 1,
    "fast": 1,
}  # fmt: skip
# "best for running": MiniLM cosine of "good for <use>" and a product's own line ("earbuds that stay
# put on runs" 0.31 on the demo catalog; unrelated lines 0.1-0.2), and how far ahead of the next
# product the winner must be
USE_MIN = 0.27
USE_MARGIN = 0.05
# "what's the difference in noise between both", "how do they differ in weight": one spec, side by side
_DIFFERENCE = re.compile(r"\b(?:difference|differ|differs|compare|compared)\b.*\b(?:both|them|these|those|the two|each)\b"
                         r"|\b(?:both|these|those|the two|they)\b.*\b(?:differ|compare)\b", re.I)
_WHICH = re.compile(r"\b(which( one| of (these|them|those|the \w+))?|what one)\b", re.I)
# "which one has the best reviews?", "the highest rated of these", "which has the most reviews"
RATED = re.compile(r"\b(?:best|highest|top|better)[- ](?:rated|reviewed|reviews?|ratings?)\b|"
                   r"\b(?P<most>most|more) (?:reviews|ratings)\b|\brated (?:the )?(?:best|highest)\b", re.I)
_SUPER = re.compile(r"\b(\w+?)(?:i?est)\b|\b(most|least) (\w+)\b|\bbest (for|at|with) (.+?)[?.!]*$", re.I)


def quantity(value: str) -> tuple[float, str] | None:
    """The first number with a known unit in a spec value, in its kind's base unit."""
    for m in _QTY.finditer(value):
        unit = UNITS.get(m.group(2).lower())
        if unit:
            return float(m.group(1).replace(",", ".")) * unit[1], unit[0]
    return None


def _amount(fact) -> tuple[float, str] | None:
    """A spec's quantity; a plain number ("display diagonal: 21.5", Icecat's unitless specs) is one
    of its own kind, comparable with the same spec of another product, so it is not passed over
    for a worse-matching spec that quotes a unit ("display tilt ...: 100mm screw pattern").

    >>> from assistant.product_qa import Fact
    >>> _amount(Fact("spec sheet", "display diagonal: 21.5", "display diagonal", "21.5"))
    (21.5, 'display diagonal')
    """
    got = quantity(fact.value)
    if got is None and _PLAIN.match(fact.value):
        got = float(fact.value.replace(",", ".")), fact.key
    return got


def _adjective(message: str) -> tuple[str, int] | None:
    """The dimension adjective of a superlative and its direction: "lightest" -> ("light", -1)."""
    low = message.lower()
    for word in re.findall(r"[a-z]+", low):
        for end in ("est", "er"):  # the superlative, or the comparative between two ("quieter")
            if not word.endswith(end):
                continue
            n = len(end)
            for base in (word[:-n], word[: -n - 1], word[:-n] + "e", word[: -n - 1] + "y" if word.endswith("i" + end) else ""):
                if base in DIRECTION:
                    return base, DIRECTION[base]
    m = re.search(r"\b(most|least|more|less) (\w+)", low)
    if m and m.group(2) in DIRECTION:
        return m.group(2), DIRECTION[m.group(2)] * (1 if m.group(1) in ("most", "more") else -1)
    return None


def spec_superlative(message: str, products: list, embed) -> str | None:
    """ "The lightest is [2] … at 4 g per bud (the listing's spec sheet); [1] 255 g, [3] 250 g." over ``products``
    (numbered as on screen); None when the question names no comparable spec."""
    adj = _adjective(message)
    if adj is None:
        return None
    word, sign = adj
    query = f"{message} {DIMENSIONS.get(word, word)}"
    rows = []
    for i, p in enumerate(products):
        specs = [f for f in facts(p) if f.source == "spec sheet"]
        ranked = rank_facts(query, specs, embed)
        best = next(((s, f) for s, f in ranked if _amount(f)), None)
        if best and best[0] >= 0.45:
            q = _amount(best[1])
            rows.append((i, p, best[1], q[0], q[1]))
    kinds = [r[4] for r in rows]
    if len(rows) == 1 and len(products) > 1:  # one listing has the spec: say so, not "the specs don't say"
        i, p, fact, _, _ = rows[0]
        rest = [f"[{j + 1}]" for j in range(len(products)) if j != i]
        others = rest[0] if len(rest) == 1 else ", ".join(rest[:-1]) + " and " + rest[-1]
        return (f"Only [{i + 1}] {short_title(p)} lists its {fact.key}: {fact.value} (the listing's spec sheet); "
                f"{others} {'does' if len(products) == 2 else 'do'} not list it.")
    if len(rows) < 2:
        return None
    kind = max(set(kinds), key=kinds.count)
    rows = [r for r in rows if r[4] == kind]
    if len(rows) < 2:
        return None
    win = (max if sign > 0 else min)(rows, key=lambda r: r[3])
    i, p, fact, _, _ = win
    others = "; ".join(f"[{j + 1}] {f.value}" for j, _, f, _, _ in rows if j != i)
    missing = [f"[{j + 1}]" for j in range(len(products)) if j not in {r[0] for r in rows}]
    sup = _superlative_word(word, sign) + (f" {fact.key}" if word in ("long", "short") else "")
    text = f"The {sup} is [{i + 1}] {short_title(p)}, {fact.key} {fact.value} (the listing's spec sheet); {others}."
    if missing:
        text += f" {' and '.join(missing)} {'does' if len(missing) == 1 else 'do'} not list it."
    return text


def rating_superlative(message: str, products: list) -> str | None:
    """ "Which one has the best reviews?" over ``products`` (numbered as on screen), from the catalog's
    ratings: the best average (more reviews break a tie), or with "most reviews" the most reviewed.

    >>> from retrieval.catalog import Product
    >>> ps = [Product("a", "Acme Case", average_rating=4.2, rating_count=10), Product("b", "Bolt Case"),
    ...       Product("c", "Core Case", average_rating=4.6, rating_count=3)]
    >>> rating_superlative("which one has the best reviews?", ps)
    'The best rated is [3] Core Case, 4.6/5 (3 reviews); [1] 4.2/5 (10 reviews); [2] has no ratings yet.'
    >>> rating_superlative("which has the most reviews", ps).split(";")[0]
    'The most reviewed is [1] Acme Case, 4.2/5 (10 reviews)'
    """
    from assistant.answers import fmt_rating

    m = RATED.search(message)
    rated = [(i, p) for i, p in enumerate(products) if p.average_rating is not None]
    if not m or not rated:
        return None
    most = bool(m.group("most"))
    key = (lambda ip: (ip[1].rating_count or 0, ip[1].average_rating)) if most else \
        (lambda ip: (ip[1].average_rating, ip[1].rating_count or 0))
    i, p = max(rated, key=key)
    others = [f"[{j + 1}] {fmt_rating(q)}" if q.average_rating is not None else f"[{j + 1}] has no ratings yet"
              for j, q in enumerate(products) if j != i]
    sup = "most reviewed" if most else "best rated"
    return f"The {sup} is [{i + 1}] {short_title(p)}, {fmt_rating(p)}" + (f"; {'; '.join(others)}." if others else ".")


def _superlative_word(word: str, sign: int) -> str:
    """
    >>> _superlative_word("light", -1), _superlative_word("heavy", 1), _superlative_word("powerful", 1)
    ('lightest', 'heaviest', 'most powerful')
    """
    if len(word) > 6:
        return f"most {word}" if sign == DIRECTION.get(word, sign) else f"least {word}"
    if word.endswith("y"):
        return word[:-1] + "iest"
    if word.endswith("e"):
        return word + "st"
    if re.search(r"[^aeiou][aeiou][bdgmnt]$", word):
        return word + word[-1] + "est"
    return word + "est"


def difference_answer(message: str, products: list, embed) -> str | None:
    """ "What's the difference in noise between both?": the spec the words ask about, for each
    product on screen ("noise: [1] … 70 dB; [2] … 98 dB"); None when no spec of theirs fits."""
    best: dict[str, float] = {}
    for p in products:
        specs = [f for f in facts(p) if f.source == "spec sheet"]
        for score, f in rank_facts(message, specs, embed)[:3]:
            best[f.key] = max(best.get(f.key, 0.0), score)
    if not best:
        return None
    key, score = max(best.items(), key=lambda kv: kv[1])
    if score < SPEC_MIN:
        return None
    rows, missing = [], []
    for i, p in enumerate(products):
        value = next((f.value for f in facts(p) if f.source == "spec sheet" and f.key == key), None)
        if value is None:
            missing.append(f"[{i + 1}]")
        else:
            rows.append(f"[{i + 1}] {short_title(p)}: {value}")
    if len(rows) < 2:
        return None
    text = f"The {key} of each (the listings' spec sheets): {'; '.join(rows)}."
    if missing:
        text += f" {' and '.join(missing)} {'does' if len(missing) == 1 else 'do'} not list it."
    return text


def catalog_superlative(message: str, products: list, vocab, embed_one) -> str | None:
    """ "Which one has the bigger screen?" over ``products`` (numbered as on screen), by the attribute
    the catalog's vocabulary reads the words as (``attributes.read`` scoped to these products:
    "screen" is their display diagonal, "pages" their black toner page yield), for catalogs whose
    specs are plain numbers (Icecat: "15.6") that ``spec_superlative`` cannot read. None when no
    attribute of theirs is meant or none of them lists it."""
    from assistant.attributes import order_value, read

    order = read(message, [], vocab, embed_one, among={p.id for p in products}).order
    if order is None:
        return None
    rows = [(i, p, *got) for i, p in enumerate(products) if (got := order_value(p, order)) is not None]
    if not rows:
        return None
    i, p, key, _ = (min if order["direction"] == "asc" else max)(rows, key=lambda r: r[3])
    name = vocab.attributes[key].label if key in vocab.attributes else key.replace("_", " ")
    most = "lowest" if order["direction"] == "asc" else "highest"
    text = f"[{i + 1}] {short_title(p)} has the {most} {name} of these: {_value(p, key)} (the listing's spec sheet)"
    others = [f"[{j + 1}] {_value(q, k)}" for j, q, k, _ in rows if j != i]
    text += f"; {', '.join(others)}." if others else "."
    missing = [f"[{j + 1}]" for j in range(len(products)) if j not in {r[0] for r in rows}]
    if missing:
        text += f" {' and '.join(missing)} {'does' if len(missing) == 1 else 'do'} not list it."
    return text


def _value(product, key: str) -> str:
    return clean(str(product.attributes[key]), 40)


def use_superlative(message: str, products: list, reviews_of, embed) -> str | None:
    """ "Which one is best for running?": the product whose reviews (and own data) mention the use
    most, with how many reviewers do and a quote; None when no product's reviews mention it."""
    from assistant.answers import review_sentences
    from assistant.evidence import best_evidence, is_injection

    m = re.search(r"\b(?:best|good|better|ideal|suited) (?:for|at|with) (.+?)[?.!]*$", message, re.I)
    if not m:
        return None
    use = clean(m.group(1), 60)
    scored = []
    for i, p in enumerate(products):
        reviews = reviews_of(p.id)
        sents = [(s, r) for s, r in review_sentences(reviews) if not is_injection(s)]
        quotes = best_evidence(f"good for {use}", sents, embed, k=max(1, len(reviews)))
        ranked = rank_facts(f"good for {use}", facts(p), embed)
        own = ranked[0] if ranked and ranked[0][0] >= USE_MIN else None
        scored.append((len(quotes) / max(1, len(reviews)) + (own[0] if own else 0), i, p, quotes, len(reviews), own))
    scored.sort(key=lambda x: -x[0])
    score, i, p, quotes, total, own = scored[0]
    # the winner must stand out: a use every product's description fits equally is no answer
    if score <= 0 or (len(scored) > 1 and score - scored[1][0] < USE_MARGIN):
        return None
    text = f"For {use}, [{i + 1}] {short_title(p)}"
    if quotes:
        text += f": {len(quotes)} of {total} reviewers mention it, e.g. “{quotes[0][0]}”"
    elif own:
        best = own[1]
        text += f": the listing's {best.source} {'say' if best.source == 'features' else 'says'} “{best.text.rstrip('.')}”"
    return text + "."


def route(a, ctx: TurnContext):
    """The reply for a "which one is the …est" question over two or more shown products, else None."""
    message = ctx.message
    if _DIFFERENCE.search(message) and ctx.understood.intent in ("find", "refine", "ask", "compare"):
        return difference_reply if len(a.state(ctx.cid).shown) >= 2 else None
    use = re.search(r"\b(best|good|better|ideal|suited) (for|at|with)\b", message, re.I)
    # "which is better for running?" reads as a comparison too: the use decides, not the table
    intents = ("find", "refine", "ask", "compare") if use else ("find", "refine", "ask")
    if ctx.understood.intent not in intents or not _WHICH.search(message):
        return None
    shown = a.state(ctx.cid).shown
    if len(shown) < 2:
        return None
    if _over_the_topic(ctx):
        return None
    if _adjective(message) is None and not use and not RATED.search(message) and not _names_an_order(a, message, shown):
        return None
    return reply


def _over_the_topic(ctx) -> bool:
    """ "which is the lightest" after women's running shoes: the topic's lightest over the whole
    catalog (the understood refine, ordered); "which one is the lightest" and "which of these is
    the lightest" pick one of the cards on screen."""
    from assistant.references import _WHICH_SHOWN

    u = ctx.understood
    superlative = re.search(r"\w{3,}est\b|\bmost\b|\bleast\b", ctx.message, re.I)
    one_of_these = _WHICH_SHOWN.search(ctx.message) or re.search(r"\bwhich one\b", ctx.message, re.I)
    return bool(u.intent == "refine" and u.state.order and superlative and not one_of_these)


def _names_an_order(a, message: str, shown: list[str]) -> bool:
    """ "which of the two prints more pages?": the words order the shown products by an attribute
    of theirs, though no adjective of ``DIRECTION`` says so."""
    from assistant.attributes import read
    from assistant.vocabulary import vocabulary_of

    reading = read(message, [], vocabulary_of(a.catalog), a.catalog.embed, among=set(shown))
    return reading.order is not None and reading.graded


def reply(a, ctx: TurnContext) -> Iterator[Event]:
    """Answer over the products on screen, shown again in the same order (so [n] still points at them)."""
    from assistant.events import Cards

    u = ctx.understood
    before = a.state(ctx.cid)
    products = a.shown(before)
    u.intent, u.changes, u.state = "compare", [], before
    cards = [a.simple_card(p, ["on screen"]) for p in products]
    yield Cards(cards)
    ctx.timings["first_card"] = time.perf_counter() - ctx.t0
    from assistant.evidence import cached
    from assistant.vocabulary import vocabulary_of

    embed = cached(a.embed, a.settings.embedding_model)
    text = (rating_superlative(ctx.message, products) or spec_superlative(ctx.message, products, embed)
            or catalog_superlative(ctx.message, products, vocabulary_of(a.catalog), a.catalog.embed)
            or use_superlative(ctx.message, products, lambda pid: a.reviews(pid, limit=30), embed))
    if text:  # each answer names its winner first ("The quietest is [4] …"): "does it come in black?" is about it
        won = re.search(r"\[(\d+)\]", text)
        if won and 0 < int(won.group(1)) <= len(products):
            u.state.focus = products[int(won.group(1)) - 1].id
    text = text or "The specs and reviews of these don't say, so I can't rank them on that. Could you say what matters most?"
    yield a.finish(ctx, text, cards=cards, citations=[p.id for p in products])


def difference_reply(a, ctx: TurnContext) -> Iterator[Event]:
    """The asked-about spec of each product on screen, shown again in the same order; when no spec
    fits, the comparison of their whole spec sheets (``replies``)."""
    from assistant.events import Cards
    from assistant.evidence import cached

    u = ctx.understood
    before = a.state(ctx.cid)
    products = a.shown(before)
    text = difference_answer(ctx.message, products, cached(a.embed, a.settings.embedding_model))
    u.intent, u.changes, u.state, u.refs = "compare", [], before, list(before.shown)
    if text is None:
        from assistant.replies import BY_INTENT

        yield from BY_INTENT["compare"](a, ctx)
        return
    cards = [a.simple_card(p, ["on screen"]) for p in products]
    yield Cards(cards)
    ctx.timings["first_card"] = time.perf_counter() - ctx.t0
    yield a.finish(ctx, text, cards=cards, citations=[p.id for p in products])
