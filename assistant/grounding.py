"""The grounding validator: every fact in the answer text must come from the shown candidates.

Checked, sentence by sentence:

- citations ``[n]`` point at a shown candidate (1..n);
- every price (``$49.99``, ``49.99 USD``) equals a candidate's price (or a price the
  shopper wrote themselves, e.g. the cap "under $50");
- every other number appears in a candidate's data (title, specs, rating, review count)
  or in the shopper's message;
- every colour and letter size (S, XL) appears in a candidate's data;
- every catalog brand named is a shown candidate's brand;
- every capitalised name in mid-sentence appears in a candidate's data.

Example::

    >>> from retrieval.catalog import Product
    >>> p = Product(id="1", title="Acme Quiet Blender", price=49.0, brand="Acme")
    >>> check("The Acme Quiet Blender costs $49.00 [1].", [p]).ok
    True
    >>> check("The Zeta Blender costs $19.00 [3].", [p]).problems
    ['citation [3] does not match a shown product', 'price $19.00 is not a shown price', 'name "Zeta" is not in the catalog data']
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from assistant.understand import COLOURS
from retrieval.bm25 import tokenize

_PRICE = re.compile(
    r"(?:(?:[$€£]|USD|EUR|GBP)\s?(\d[\d,]*(?:\.\d+)?))|(?:(\d[\d,]*(?:\.\d+)?)\s?(?:USD|EUR|GBP|dollars?|euros?|pounds?)\b)"
)
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)?)(?![\w])")
_CITATION = re.compile(r"\[(\d+)\]")
_LETTER_SIZE = re.compile(r"\b(XXS|XS|XL|XXL|XXXL|size (?:S|M|L))\b")
_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]+")
# capitalised words that are ordinary English at any position, not product names
_COMMON = set(
    """I I'd I'm I've I'll You Your It Its This That These Those They There Here The A An And Or But So If
    We Our Yes No Not Sure Great Good Happy Glad Sorry Thanks Thank Hello Hi Hey Please Also Both Each
    Option Options Product Products Price Prices Rating Ratings Review Reviews Reviewers Stars Star
    USD EUR GBP OK Okay Let Note However Overall Based Would Could Should Can Will What Which Who How
    Why When Where Whether Top Best Brand Brands Here's It's That's There's Let's Monday Tuesday Wednesday
    Thursday Friday Saturday Sunday Looking Compared Alternatively If Either Neither Another Other
    """.split()
)


@dataclass(slots=True)
class Check:
    ok: bool
    problems: list[str] = field(default_factory=list)


def _num(s: str) -> float | None:
    try:
        return float(s.replace(",", ""))
    except ValueError:
        return None


def facts_text(product) -> str:
    """All the catalog data a statement about this product may draw on, lower-cased."""
    parts = [
        product.title,
        product.brand or "",
        " ".join(product.categories),
        product.description[:1500],
        " ".join(product.features),
        " ".join(f"{k} {v}" for k, v in product.attributes.items()),
    ]
    return html.unescape(" ".join(parts)).lower()

# request words that say how much the shopper wants something, or glue a sentence, not what it is
# (the search's stop words are fewer: there a function word costs nothing, here it would be "not mentioned")
FILLER = frozenset(
    "good great nice best better perfect cheap cheaper cheapest affordable budget expensive pricey quality top rated "
    "new recommend recommendation suggest suggestion buy get like love something anything one ones thing things "
    "people person not no very really much more less too also just which who what when where how why will would "
    "can could should must do does did have had was were been being am so than then there here all every each "
    "other another up down out off into onto about around between under over keep keeps make makes use used "
    "using work works well enough".split()
)


def shoppers_words(request: str) -> dict[str, str]:
    """Search token -> the word the shopper wrote, to show matches in their words, not stems.

    >>> shoppers_words("Smoothies for runners")
    {'smoothy': 'smoothies', 'runner': 'runners'}
    """
    return {t: w.lower() for w in re.findall(r"[A-Za-z][\w'-]*", request) for t in tokenize(w)}


def unmatched_words(request: str, named: list[str], products: list, in_catalog) -> list[str]:
    """Words of the shopper's request that none of the shown products' catalog data mentions
    ("headphones for the gym" over four headphones none of which says "gym"), as the shopper
    wrote them. Skipped: stop and filler words, numbers, words of ``named`` (the categories,
    brands and colours the filters already enforce), and words ``in_catalog(stem)`` says no
    product of the catalog has (a typo is not a missing feature).

    >>> from retrieval.catalog import Product
    >>> kettle = Product(id="k", title="Acme Travel Kettle", description="Foldable kettle.")
    >>> unmatched_words("a good kettle for travel and smoothies", ["Kettles"], [kettle], lambda w: True)
    ['smoothies']
    >>> unmatched_words("a kettle that doesn't leak", ["Kettles"], [kettle], lambda w: True)
    ['leak']
    """
    skip = set(tokenize(" ".join(named))) | FILLER
    facts = [facts_text(p) for p in products]
    tokens = set().union(*(tokenize(f) for f in facts)) if facts else set()
    out = []
    for word in dict.fromkeys(re.findall(r"[A-Za-z][\w'-]*", request)):
        if "'" in word:  # contractions ("doesn't") are grammar, not features
            continue
        stems = [t for t in tokenize(word) if t not in skip and not t.isdigit()]
        if not stems or any(t in tokens for t in stems) or any(word.lower() in f for f in facts):
            continue  # mentioned (also inside a longer word: "quiet" in "QuietBlend")
        if all(in_catalog(t) for t in stems):
            out.append(word)
    return out



def allowed_numbers(products, extra_text: str = "") -> set[float]:
    # small counts ("2 options") and the 5-star rating scale ("4.3/5") are always fine
    nums: set[float] = set(range(0, len(products) + 1)) | {5.0}
    for p in products:
        for s in _NUMBER.findall(facts_text(p)):
            v = _num(s)
            if v is not None:
                nums.add(v)
        if p.price is not None:
            nums.update({round(p.price, 2), float(int(p.price)) if p.price == int(p.price) else round(p.price, 2)})
        if p.average_rating is not None:
            nums.update({round(p.average_rating, 1), round(p.average_rating, 2)})
        nums.add(float(p.rating_count))
    for s in _NUMBER.findall(extra_text):
        v = _num(s)
        if v is not None:
            nums.add(v)
    return nums


def check(text: str, products: list, user_text: str = "", brands: list[str] | None = None, extra_facts: str = "") -> Check:
    """Validate ``text`` against the shown ``products`` (in citation order).

    ``user_text`` is what the shopper wrote (prices/numbers they said may be repeated);
    ``brands`` is the catalog's brand list (a brand not among the shown is an invention);
    ``extra_facts`` is further evidence shown with the answer (review quotes).
    """
    problems: list[str] = []
    facts = " ".join(facts_text(p) for p in products) + " " + extra_facts.lower()
    user_low = user_text.lower()
    for m in _CITATION.finditer(text):
        n = int(m.group(1))
        if not 1 <= n <= len(products):
            problems.append(f"citation [{n}] does not match a shown product")
    body = _CITATION.sub(" ", text)
    prices = {round(p.price, 2) for p in products if p.price is not None}
    user_prices = {v for v in (_num(s) for s in _NUMBER.findall(user_text)) if v is not None}
    seen_spans = []
    for m in _PRICE.finditer(body):
        v = _num(m.group(1) or m.group(2))
        seen_spans.append(m.span())
        if v is None or (round(v, 2) not in prices and v not in user_prices):
            problems.append(f"price {m.group(0).strip()} is not a shown price")
    allowed = allowed_numbers(products, user_text + " " + extra_facts)
    for m in _NUMBER.finditer(body):
        if any(a <= m.start() < b for a, b in seen_spans):
            continue
        v = _num(m.group(1))
        if v is not None and v not in allowed:
            problems.append(f"number {m.group(1)} is not in the catalog data")
    low = body.lower()
    for c in COLOURS:
        if re.search(rf"\b{c}\b", low) and c not in facts and c not in user_low:
            if not (c == "gray" and "grey" in facts) and not (c == "grey" and "gray" in facts):
                problems.append(f"colour {c} is not in the catalog data")
    for m in _LETTER_SIZE.finditer(body):
        if m.group(1).lower() not in facts.split():
            problems.append(f"size {m.group(1)} is not in the catalog data")
    shown_brands = {(p.brand or "").lower() for p in products}
    for b in brands or []:
        bl = b.lower()
        if len(bl) > 2 and bl not in shown_brands and re.search(rf"(?<!\w){re.escape(bl)}(?!\w)", low):
            if bl not in facts and bl not in user_low:
                problems.append(f"brand {b} is not a shown product's brand")
    problems += _names(body, facts, user_low)
    return Check(ok=not problems, problems=list(dict.fromkeys(problems)))


def _names(body: str, facts: str, user_low: str) -> list[str]:
    """Capitalised words in mid-sentence that the catalog data does not contain."""
    out = []
    for sentence in re.split(r"(?<=[.!?:;])\s+|\n+", body):
        words = list(_WORD.finditer(sentence))
        for i, w in enumerate(words):
            word = w.group(0)
            if i == 0 or not word[0].isupper() or word in _COMMON:
                continue
            prev = sentence[: w.start()].rstrip()
            if prev.endswith(("-", "*", "(", '"', "“", "•")):
                continue
            key = word.lower().strip("'")
            if key.endswith("'s"):
                key = key[:-2]
            if key not in facts and key not in user_low:
                out.append(f'name "{word}" is not in the catalog data')
    return out


def split_sentences(text: str) -> tuple[list[str], str]:
    """Complete sentences in ``text`` and the unfinished rest (for streaming).

    >>> split_sentences("One. Two! Thr")
    (['One. ', 'Two! '], 'Thr')
    """
    parts = re.split(r"(?<=[.!?])(\s+)", text)
    done, i = [], 0
    while i + 1 < len(parts):
        done.append(parts[i] + parts[i + 1])
        i += 2
    return done, parts[i] if i < len(parts) else ""
