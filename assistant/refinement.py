"""A new topic (``fresh_state``) or the same topic with modified filters (``refine``): the
state after a find or refine message, before the catalog-derived reading (attribute bounds
and orders, excluded categories and words: ``assistant.understand._apply``) goes on top.

Example::

    >>> from retrieval.query import parse_query
    >>> fresh_state("the cheapest kettle under $30", State(), parse_query, []).query.sort
    'price_asc'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from assistant.answers import fmt_price
from assistant.intents import (
    _SUPERLATIVE_WORDS,
    ANOTHER,
    CHEAPER,
    NOT_THAT_BRAND,
    PRICIER,
    _colour_words,
    is_superlative,
)
from assistant.proposals import fill_empty
from assistant.state import State
from retrieval.query import StructuredQuery

Parse = Callable[[str], StructuredQuery]
# "not that one", "not this one": one product on screen is ruled out, not all of them
THAT_ONE = re.compile(r"\b(?:not|no|except)\s+(?:that|this|the \w+)\s+one\b", re.I)
Propose = Callable[[str], dict]


def brand_mentions(message: str, brands: list[str]) -> list[str]:
    """Catalog brands named in the message (case-insensitive, whole words)."""
    low = message.lower()
    return [b for b in brands if b and re.search(rf"(?<!\w){re.escape(b.lower())}(?!\w)", low)]


def negated_brands(message: str, brands: list[str]) -> list[str]:
    """Brands the shopper rules out: "not Acme", "no Acme", "except Acme", "other than Acme",
    "nothing from Acme".

    >>> negated_brands("nothing from e-projects", ["E-Projects", "Acme"]), negated_brands("nothing but acme", ["Acme"])
    (['E-Projects'], [])
    """
    low = message.lower()
    out = []
    for b in brands:
        if b and re.search(rf"\b(not|no|nothing|none|except|without|other than|anything but|but not)\s+"
                           rf"(?:(?:from|by|made by|of)\s+)?{re.escape(b.lower())}(?!\w)", low):
            out.append(b)
    return out


def fresh_state(message: str, old: State, parse: Parse, brands: list[str], propose: Propose | None = None) -> State:
    """A new topic: the parsed query (plus validated LLM proposals); session likes carry over."""
    q = parse(message)
    if propose is not None:
        fill_empty(q, propose(message))
    excluded = list(dict.fromkeys([*q.exclude_brands, *negated_brands(message, brands)]))
    colours = [q.attributes["colour"]] if q.attributes.get("colour") else []
    query = replace(
        q,
        text=_SUPERLATIVE_WORDS.sub(" ", q.text).strip(" ?!.,") or q.text.strip() or message,
        brands=[b for b in q.brands if b not in excluded],
        exclude_brands=excluded,
        categories=list(q.categories),
        sort=is_superlative(message) or q.sort or "relevance",
        exclude_ids=[],
        attributes={},  # the colours go to State.colours
    )
    return State(
        query=query,
        colours=list(dict.fromkeys([*colours, *_colour_words(message)])),
        liked=old.liked,
        disliked=old.disliked,
    )


def switched_text(text: str, theirs: list) -> str:
    """The request once its brand is switched: without the old brand's line ("edge" of "Motorola
    Edge ..."), and, when nothing else is left, the kind its shown products declare
    ("smartphone"), so "what about samsung instead" asks for Samsung phones, not Samsung toner.

    >>> from retrieval.catalog import Product
    >>> switched_text("edge", [Product("1", "Motorola Edge PAJA0014DE smartphone 17 cm", brand="Motorola")])
    'smartphone'
    >>> switched_text("vacuum", [Product("2", "Eureka Floor vacuum", brand="Eureka")])
    'vacuum'
    >>> switched_text("blender", [Product("3", "Acme Blender Pro", brand="Acme")])
    'blender'
    """
    from assistant.product_types import declared_phrase, series

    line = {w for p in theirs if (s := series(p)) for w in s.split()[1:]}
    words = [w for w in text.split() if w.lower() not in line]
    if words or not theirs:
        return " ".join(words)
    return next((k for p in theirs if (k := declared_phrase(p))), "") or text  # no declared kind: the words stay


def refine(message: str, old: State, shown: list, refs: list[str], parse: Parse, brands: list[str]) -> tuple[State, list[str], float | None]:
    """The same topic with modified filters, the changes in words ("cheaper than $49.00"), and
    the shown price that "cheaper" went below (None when the message did not ask for cheaper).

    "cheaper"/"pricier" move the price cap/floor past the shown (or referenced) products;
    "not that brand" excludes the brand in focus; colours, ratings, superlatives and
    "something else" (exclude what was shown) apply on top of the carried-over filters.
    """
    new = old.copy()
    f = new.query  # the filters being modified
    changes: list[str] = []
    cheaper_than = None
    q = parse(message)
    basis = [p for p in shown if p.id in refs] or shown
    prices = [p.price for p in basis if p.price is not None]
    if q.price_max is not None:
        f.price_max = q.price_max
        changes.append(f"under {fmt_price(q.price_max)}")
    elif CHEAPER.search(message) and prices:
        cap = round(min(prices) - 0.01, 2)
        f.price_max = cap if f.price_max is None else min(f.price_max, cap)
        f.price_min = None  # "cheaper" overrides an earlier floor
        cheaper_than = min(prices)
        changes.append(f"cheaper than {fmt_price(cheaper_than)}")
    if q.price_min is not None:
        f.price_min = q.price_min
        changes.append(f"over {fmt_price(q.price_min)}")
    elif PRICIER.search(message) and prices:
        f.price_min = round(max(prices) + 0.01, 2)
        if f.price_max is not None and f.price_max < f.price_min:
            f.price_max = None
        changes.append(f"pricier than {fmt_price(max(prices))}")
    if f.sort in ("price_asc", "price_desc") and (CHEAPER.search(message) or PRICIER.search(message)) and not is_superlative(message):
        f.sort = "relevance"
    excluded = list(q.exclude_brands) + negated_brands(message, brands)
    if NOT_THAT_BRAND.search(message):
        focus = [p for p in shown if p.id in refs] or [p for p in shown if p.id == old.focus] or shown[:1]
        excluded += [p.brand for p in focus if p.brand]
    for b in dict.fromkeys(excluded):
        if b not in f.exclude_brands:
            f.exclude_brands.append(b)
            changes.append(f"not {b}")
    f.brands = [b for b in f.brands if b not in f.exclude_brands]
    wanted = [b for b in q.brands if b not in f.exclude_brands]
    if wanted:
        gone = [b for b in f.brands if b not in wanted]
        if gone:  # "what about shark" after "eureka vacuum": the vacuum stays, Eureka goes
            f.text = re.sub(r"\s+", " ", re.sub("|".join(rf"(?<!\w){re.escape(b)}(?!\w)" for b in gone), " ", f.text,
                                                flags=re.I)).strip()
            f.text = switched_text(f.text, [p for p in shown if p.brand in gone])
        f.brands = wanted
        changes.append("brand " + ", ".join(wanted))
    colours = _colour_words(message)
    if colours:
        new.colours = colours
        changes.append("in " + ", ".join(colours))
    if q.min_rating is not None:
        f.min_rating = q.min_rating
        changes.append(f"rated {q.min_rating:g}+")
    if q.categories and set(q.categories) != set(old.query.categories):
        f.categories = list(q.categories)
    sup = is_superlative(message)
    if sup:
        f.sort = sup
        changes.append({"price_asc": "cheapest first", "price_desc": "most expensive first",
                        "rating_desc": "best rated first"}[sup])  # fmt: skip
    if ANOTHER.search(message):
        # "not that one, something else": only the product referred to goes; "something else": all shown
        gone = refs if refs and THAT_ONE.search(message) else old.shown
        f.exclude_ids = list(dict.fromkeys([*f.exclude_ids, *gone]))
        changes.append("other options")
    return new, changes, cheaper_than
