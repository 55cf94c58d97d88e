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
_SHARE = re.compile(r"(?<![\w.])(\d+) of (\d+)(?![\w.])")
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
        # keys in words, as answers say them: "basic_switching_rj_45_..." says "rj 45"
        " ".join(f"{k.replace('_', ' ')} {v}" for k, v in product.attributes.items()),
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
    "using work works well enough now ok okay hi hello hey please thanks thank actually instead anyway "
    # how shoppers tell their story ("my back hurts after sitting at my desk all day", "i go running a
    # lot", "starting uni"): time, frequency and motion words, never a feature a product lacks
    "after before during while since until day days week weeks month months year years time "
    "times always never often sometimes usually still already ever lot lots bit go goes going went gone come "
    "comes coming came take takes taking took start starts starting started try trying tried want wants wanted "
    "need needs needed looking look".split()
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
    for m in _SHARE.finditer(body):
        # "3 of 8 reviewers": the whole (8) must be in the data; the part is a count of it
        n, whole = _num(m.group(1)), _num(m.group(2))
        if n is not None and whole in allowed and n <= whole:
            seen_spans.append(m.span(1))
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
    problems += bound_problems(text, products, user_text + " " + extra_facts)
    return Check(ok=not problems, problems=list(dict.fromkeys(problems)))


# a fact bound to the product its sentence names: a number with a unit ("14 days", "72 dB"), a
# rating ("4.6/5", "4.6 out of 5", "4.6 stars", "rated 4.6"), a review count ("120 reviews"), a price
_BOUND = re.compile(
    r"(?:[$€£]\s?(?P<price>\d[\d,]*(?:\.\d+)?))|"
    r"(?:\brated\s+(?:at\s+)?(?P<rated>\d(?:\.\d+)?))|"
    r"(?<![\w.])(?P<num>\d+(?:[.,]\d+)?)\s?(?P<unit>/\s?5|out of 5|stars?|★|reviews?|ratings?|reviewers?|"
    r"%|°\s?[cf]|[a-zµ\"]{1,12}\b)",
    re.I,
)
_CONTINUES = re.compile(r"^\s*(it|its|it's|they|their|this one|that one|the latter)\b", re.I)
# words that follow a number without being a unit of a product fact ("2 options", "3 of them")
_NOT_UNITS = {"of", "or", "and", "to", "in", "on", "for", "is", "are", "the", "a", "an", "at", "by", "with",
              "options", "option", "products", "items", "choices", "picks", "ones", "more", "other"}  # fmt: skip


def _name_tokens(p) -> list[str]:
    """The words of a product's name: its title before the variant suffix (", Black")."""
    return re.findall(r"[a-z0-9]+", html.unescape(p.title.split(",")[0]).lower())


def _longest_run(name: list[str], words: list[str]) -> int:
    """Length of the longest run of consecutive name words that occurs in ``words``.

    >>> _longest_run(["pulsewave", "band", "5", "tracker"], ["the", "pulsewave", "band", "5", "lasts"])
    3
    """
    best = 0
    for i in range(len(words)):
        for j in range(len(name)):
            k = 0
            while i + k < len(words) and j + k < len(name) and words[i + k] == name[j + k]:
                k += 1
            best = max(best, k)
    return best


def named_products(sentence: str, products: list) -> list[int]:
    """Indexes of the shown products a sentence is about: its citations ``[n]``, else the products
    whose name shares the longest run (two words or more) of consecutive words with it; a brand
    alone names no one product. Colour variants share a name and are named together."""
    cited = [int(n) - 1 for n in _CITATION.findall(sentence) if 1 <= int(n) <= len(products)]
    if cited:
        return sorted(set(cited))
    words = re.findall(r"[a-z0-9]+", sentence.lower())
    runs = [_longest_run(_name_tokens(p), words) for p in products]
    top = max(runs, default=0)
    return [i for i, r in enumerate(runs) if r == top] if top >= 2 else []


def bound_problems(text: str, products: list, allowed_text: str = "") -> list[str]:
    """Facts said about a named product that are not that product's: a number with a unit, a
    rating, a review count or a price in a sentence that names some (not all) of the shown
    products must be in the named products' own data (or ``allowed_text``: the shopper's words,
    quoted evidence). A sentence starting "It"/"They" continues the previous sentence's product.

    >>> from retrieval.catalog import Product
    >>> band = Product(id="b", title="Pulsewave Band 5, Black", attributes={"battery_life": "14 days"})
    >>> watch = Product(id="w", title="Pulsewave Trail GPS Watch", attributes={"battery_life": "21 days"})
    >>> bound_problems("The Pulsewave Band 5 lasts 21 days.", [band, watch])
    ['21 days is not in the data of Pulsewave Band 5']
    >>> bound_problems("The Pulsewave Band 5 lasts 14 days.", [band, watch])
    []
    """
    out: list[str] = []
    named: list[int] = []
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", text):
        if not sentence.strip():
            continue
        now = named_products(sentence, products)
        named = now or (named if _CONTINUES.match(sentence) else [])
        if not named or len(named) == len(products):
            continue
        mine = [products[i] for i in named]
        allowed = allowed_numbers(mine, allowed_text)
        prices = {round(p.price, 2) for p in mine if p.price is not None}
        own = " ".join(facts_text(p) for p in mine) + " " + allowed_text.lower()
        body = _CITATION.sub(" ", sentence)
        who = " / ".join(dict.fromkeys(" ".join(_title_words(p)) for p in mine))
        for m in _BOUND.finditer(body):
            if m.group("price"):
                v = _num(m.group("price"))
                if v is not None and round(v, 2) not in prices and v not in allowed:
                    out.append(f"price {m.group(0).strip()} is not the price of {who}")
                continue
            raw = m.group("rated") or m.group("num")
            unit = (m.group("unit") or "").strip().lower()
            if m.group("num") and unit in _NOT_UNITS:
                continue
            said = m.group(0).strip().lower()
            if m.group("num") and (said in own or said.replace(" ", "") in own):
                continue  # written as the data writes it ("600W" in the title)
            v = _num(raw)
            if v is not None and v not in allowed:
                out.append(f"{m.group(0).strip()} is not in the data of {who}")
    return out


def _title_words(p) -> list[str]:
    return html.unescape(p.title.split(",")[0]).split()[:6]


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
