"""Variants: the same product in another colour or size ("does it come in black?").

The family is what search collapses into one result (``retrieval.search.variant_key``): same
brand, titles that differ only by a colour or size word. Answers name the sibling and its price
("Yes, the black one is $39.99"), or list the colours there are ("No: it comes in pink and blue").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.answers import clean


def key_words(key: str) -> str:
    """An attribute key as words: source prefixes and separators dropped."""
    k = re.sub(r"^(attr|spec|detail|details)_", "", key.strip(), flags=re.I)
    return re.sub(r"[_\-.]+", " ", k).strip().lower()


_VARIANT_ASK = re.compile(
    r"\b(come[s]? in|available in|have (it|this|that|them|one|these|those) in|in (a |an )?other|other colou?rs?|"
    r"what colou?rs?|which colou?rs?|any colou?rs?|colou?r options?|sizes?)\b", re.I)
# "is there a green one?", "do you have it in pink?", "got a black one": a colour question about the
# product in focus (a bare "in black" stays a filter of the search)
_IS_THERE = re.compile(
    r"\s*(?:is there|are there|do you have|have you got|got|can i get|does it come)\b.{0,40}?"
    r"\b(?:one|ones|version|model|it|them|this|that|colou?r)\b.{0,20}?\??\s*", re.I)
_COLOUR_KEYS = ("colour", "color", "product_colour", "attr_colour", "attr_color")


def colour_of(product) -> str:
    """The product's colour attribute (any of the usual keys), lower-cased; "" when it has none or
    the catalog uses the key as a flag (Icecat printers: ``colour: yes`` = prints in colour).

    >>> from retrieval.catalog import Product
    >>> colour_of(Product(id="t1", title="Toner", attributes={"attr_colour": "Yes"}))
    ''
    """
    for k, v in product.attributes.items():
        if k.lower() in _COLOUR_KEYS or key_words(k) in ("colour", "color"):
            value = clean(str(v), 40).lower()
            return "" if value in _FLAGS or not re.search(r"[a-z]", value) else value
    return ""


_FLAGS = {"yes", "no", "y", "n", "true", "false", "n/a", "na", "none", "-"}


def siblings(store, product) -> list:
    """Products of the same brand whose titles differ only by a colour/size word (the family the
    search collapses into one result, ``retrieval.search.variant_key``), ``product`` first."""
    from retrieval.query import StructuredQuery
    from retrieval.search import variant_key

    if not product.brand:
        return [product]
    key = variant_key(product)
    ids = [i for i in store.filter_ids(StructuredQuery(brands=[product.brand]), limit=2000) if i != product.id]
    return [product, *(p for p in store.get_many(ids) if variant_key(p) == key)]


def asked_colour(question: str, colours: list[str]) -> str | None:
    """The longest colour of ``colours`` (the catalog's and common ones) named in the question."""
    low = question.lower()
    found = [c for c in colours if c and re.search(rf"\b{re.escape(c)}\b", low)]
    return max(found, key=len) if found else None


@dataclass(slots=True)
class VariantAnswer:
    text: str
    variant: object | None = None  # the sibling to show as a card


def variant_answer(question: str, family: list, colours: list[str], price, force: bool = False) -> VariantAnswer | None:
    """ "Does it come in black?" / "what colours does it come in?" over ``family`` (the product
    first, then its siblings); None when the question is not about variants (``force``: the
    caller has decided it is) or nothing is known. ``price(p)`` formats a product's price."""
    if not force and not _VARIANT_ASK.search(question):
        return None
    product = family[0]
    have = [(colour_of(p), p) for p in family if colour_of(p)]
    names = list(dict.fromkeys(c for c, _ in have))
    want = asked_colour(question, colours)
    if want is None:
        if not names:
            return None
        return VariantAnswer(f"It comes in {_listed(names)}." if len(names) > 1 else f"It comes in {names[0]} only.")
    own = colour_of(product)
    if own and re.search(rf"\b{re.escape(want)}\b", own):
        return VariantAnswer(f"Yes, this one is {own}.")
    for c, p in have[1:]:
        if re.search(rf"\b{re.escape(want)}\b", c):
            return VariantAnswer(f"Yes, the {c} one is {price(p)} (card above).", p)
    if not names:
        return None
    return VariantAnswer(f"No: it comes in {_listed(names)}." if len(names) > 1 else f"No: it comes in {names[0]} only.")


def _listed(items: list[str]) -> str:
    """
    >>> _listed(["pink", "blue", "green"])
    'pink, blue and green'
    """
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def variant_question(a, product, question: str) -> VariantAnswer | None:
    """``variant_answer`` over ``product``'s family in the assistant ``a``'s catalog (no embedding:
    cheap enough to run before the first card, which is then the variant's)."""
    from assistant.answers import fmt_price
    from assistant.understand import COLOURS

    if not (_VARIANT_ASK.search(question) or _IS_THERE.fullmatch(question)):
        return None
    store = a.catalog.store
    colours = sorted({*COLOURS, *store.colours()}, key=len, reverse=True)
    if _IS_THERE.fullmatch(question) and not asked_colour(question, colours):
        return None
    return variant_answer(question, siblings(store, product), colours, lambda p: fmt_price(p.price, p.currency), force=True)
