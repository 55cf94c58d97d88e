"""Needs: a shopper who names a situation rather than a product ("a gift for my dad who likes
coffee", "I'm going camping in the rain, what do I need?", "my back hurts from my chair") gets
the catalog categories that serve it, by MiniLM similarity between the message and the
category names (with their department), and a bundle across them: one product per category
first, each card saying which part of the need it serves.

Only messages with a cue of a need are read this way (English, not catalog data), so an
ordinary search ("a blender for smoothies") keeps its own ranking.

Example::

    >>> bool(NEED_CUE.search("I'm going camping in the rain, what do I need?"))
    True
    >>> bool(NEED_CUE.search("a blender for smoothies"))
    False
"""

from __future__ import annotations

import re
from collections.abc import Callable

NEED_CUE = re.compile(
    r"\b(gift|present|birthday|christmas|anniversary|for my (?:dad|father|mum|mom|mother|wife|husband|partner|"
    r"son|daughter|kid|kids|friend|boss|brother|sister|grandma|grandpa|girlfriend|boyfriend)|what (?:do|should|would) i "
    r"(?:need|get|buy|bring|take)|going (?:camping|hiking|running|on a trip|away|travelling|traveling)|"
    r"i'?m (?:going|starting|planning|moving|working)|(?:my|the) \w+ hurts?|back (?:pain|hurts)|sore|ache|"
    r"starter kit|essentials|everything (?:i need|for)|set ?up (?:a|my)|new to)\b",
    re.I,
)
# cues that say who a need is for, not what it is: "a gift for my dad who likes coffee" is about coffee
RECIPIENT = re.compile(
    r"\b(?:(?:a|an|some)\s+)?(?:gifts?|presents?|birthday|christmas|anniversary)\b|\bfor (?:my|our) (?:dad|father|mum|mom|"
    r"mother|wife|husband|partner|son|daughter|kid|kids|friend|boss|brother|sister|grandma|grandpa|girlfriend|boyfriend)\b",
    re.I,
)
# a need for someone: "a gift for ...", "for my dad" (not "gift cards": there "gift" names the product)
FOR_SOMEONE = re.compile(
    r"\b(?:gifts?|presents?)(?:\s+ideas?)?\s+for\b|\bfor (?:my|our) (?:dad|father|mum|mom|mother|wife|husband|partner|"
    r"son|daughter|kid|kids|friend|boss|brother|sister|grandma|grandpa|girlfriend|boyfriend)\b",
    re.I,
)
BUNDLE_CUE = re.compile(r"\b(what (?:do|should|would) i (?:need|get|bring|take)|everything|essentials|kit|set ?up)\b", re.I)
# MiniLM cosine of the message and a category for the category to serve the need, and how far
# below the best one another may be (measured on the demo catalog: report of issue 11)
NEED_MIN = 0.3
NEED_MARGIN = 0.08  # one kind of thing: only near-ties ("coffee": beans, brewing gear)
BUNDLE_MARGIN = 0.15  # "what do I need?": camping 0.56 tents/backpacks .. 0.41 camp stoves
MAX_CATEGORIES = 4
NAMED_BONUS = 0.05

Embed = Callable[[str], object]


def names_a_product(message: str) -> bool:
    """The message names a product before saying who it is for ("a keyboard piano for my kid"):
    a search for that product, not a need.

    >>> names_a_product("a keyboard piano for my kid to learn on"), names_a_product("a gift for my dad who likes coffee")
    (True, False)
    """
    from assistant.carryover import kind_tokens

    m = FOR_SOMEONE.search(message)
    return bool(m) and bool(kind_tokens(RECIPIENT.sub(" ", message[: m.start()])))


def for_someone(message: str) -> bool:
    """A need for someone that names no product: "a gift for my dad who likes coffee", not
    "gift cards" nor "a keyboard piano for my kid".

    >>> [for_someone(m) for m in ["a gift for my dad who likes coffee", "gift cards", "a keyboard piano for my kid"]]
    [True, False, False]
    """
    return bool(FOR_SOMEONE.search(message)) and not names_a_product(message)


def need_text(message: str) -> str:
    """The need without who it is for: what to match against the catalog (and search for).

    >>> need_text("a gift for my dad who likes coffee")
    'who likes coffee'
    """
    if not FOR_SOMEONE.search(message):
        return message
    return re.sub(r"\s+", " ", RECIPIENT.sub(" ", message)).strip(" ,.?!") or message


def serving_categories(message: str, vocab, embed: Embed | None) -> list[str]:
    """The catalog categories that serve the need the message describes, best first; [] when
    the message names no need (or names a product: ``names_a_product``), the catalog has no
    categories, or nothing is close enough. Who the need is for ("a gift for my dad") is left
    out of the match: it would pick gift cards for every gift."""
    if embed is None or not vocab.leaves or not NEED_CUE.search(message) or names_a_product(message):
        return []
    message = need_text(message)
    q = embed(message)
    said = {w.rstrip("s") for w in re.findall(r"[a-z]{4,}", message.lower())}
    # a category that names a word of the need ("coffee": Coffee Beans, Coffee Makers) beats one
    # that is only near it in meaning (Tea, next to coffee in "Coffee & Tea")
    scored = sorted(((float(q @ embed(text)) + NAMED_BONUS * bool(said & {w.rstrip("s") for w in re.findall(r"[a-z]{4,}", leaf.lower())}),
                      leaf) for leaf, text in vocab.leaves.items()), reverse=True)
    if not scored or scored[0][0] < NEED_MIN:
        return []
    best = scored[0][0]
    bundle = bool(BUNDLE_CUE.search(message))
    limit, margin = (MAX_CATEGORIES, BUNDLE_MARGIN) if bundle else (2, NEED_MARGIN)
    return [leaf for s, leaf in scored if s >= max(NEED_MIN, best - margin)][:limit]


def interleave(hits: list, categories: list[str]) -> list:
    """One hit per category first (in the categories' order), then the rest in their order:
    a bundle across the need's categories rather than four of the closest kind."""
    if len(categories) < 2:
        return hits
    firsts, rest, seen = [], [], set()
    for c in categories:
        for h in hits:
            if h.product.id not in seen and c in (h.product.categories or []):
                firsts.append(h)
                seen.add(h.product.id)
                break
    rest = [h for h in hits if h.product.id not in seen]
    return firsts + rest


def serves(product, state) -> list[str]:
    """The card's reason: which part of the need the product serves ("your kit's tents"), without
    echoing the shopper's whole sentence back on every card.

    >>> from types import SimpleNamespace as NS
    >>> state = NS(need="i'm going camping in the rain, what do i need", query=NS(categories=["Tents", "Headlamps"]))
    >>> serves(NS(categories=["Outdoor", "Tents"]), state)
    ['part of what you need: tents']
    """
    need = getattr(state, "need", None)
    if not need or len(state.query.categories) < 2:
        return []
    mine = [c for c in state.query.categories if c in (product.categories or [])]
    return [f"part of what you need: {mine[0].lower()}"] if mine else []
