"""The query parser: free text -> a StructuredQuery validated against the catalog's vocabulary.

Pure functions, no I/O: the vocabulary (brands, categories, colours, price range) comes from
``CatalogStore.vocabulary()``. The parser never invents a value: a brand, category or colour is
set only when it is spelled in the vocabulary; anything it does not understand stays in
``text``. Phrases that only express a filter ("under $80", "4 stars and up", "cheapest",
"not Nike") are taken out of ``text``; brand and category words that are kept as filters also
stay in ``text`` because they still help ranking ("brother toner" embeds better than "toner").

Examples::

    >>> v = Vocabulary(brands=["Nike", "Adidas"], categories=["Running Shoes", "Shoes"], colours=["black"])
    >>> q = parse_query("black running shoes under $80 not Nike", v)
    >>> (q.text, q.price_max, q.exclude_brands, q.categories, q.attributes)
    ('black running shoes', 80.0, ['Nike'], ['Running Shoes'], {'colour': 'black'})
    >>> q = parse_query("cheapest adidas between 20 and 50 dollars, 4 stars and up", v)
    >>> (q.text, q.brands, q.price_min, q.price_max, q.min_rating, q.sort)
    ('adidas', ['Adidas'], 20.0, 50.0, 4.0, 'price_asc')
    >>> parse_query("puma sneakers", v).brands   # not in the catalog: never invented
    []
    >>> parse_query("a shark vacuum", Vocabulary(brands=["SharkNinja"], brand_aliases={"shark": "SharkNinja"})).brands
    ['SharkNinja']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from retrieval.units import unit_at

Sort = Literal["relevance", "price_asc", "price_desc", "rating_desc"]


@dataclass(slots=True)
class StructuredQuery:
    text: str = ""
    price_min: float | None = None
    price_max: float | None = None
    brands: list[str] = field(default_factory=list)
    exclude_brands: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    min_rating: float | None = None
    sort: Sort = "relevance"
    exclude_ids: list[str] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)

    def filters(self) -> dict:
        """The non-empty filters, for display (``shopassist search`` prints them)."""
        out = {}
        for name in ("price_min", "price_max", "brands", "exclude_brands", "categories", "min_rating",
                     "exclude_ids", "attributes"):
            value = getattr(self, name)
            if value not in (None, [], {}):
                out[name] = value
        if self.sort != "relevance":
            out["sort"] = self.sort
        return out

    @property
    def has_filters(self) -> bool:
        return bool(self.filters())


@dataclass(slots=True)
class Vocabulary:
    """What the catalog really has: the parser validates every value against it."""

    brands: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    colours: list[str] = field(default_factory=list)
    price_min: float | None = None
    price_max: float | None = None
    # short names of run-together brands, lower-cased, to the brand ("shark": "SharkNinja")
    brand_aliases: dict[str, str] = field(default_factory=dict)


# currency words and symbols in any position around the number: "$80", "80 dollars", "PHP 500",
# "152 pesos", "€30", "30 eur"; the parser reads the amount whatever the currency (the catalog has one)
_CURRENCY_WORDS = (
    r"dollars?|usd|bucks|euros?|eur|pesos?|php|quid|gbp|sterling|yen|jpy|yuan|rmb|cny|rupees?|inr|rs\.?|"
    r"krw|aud|cad|nzd|sgd|hkd|chf|francs?|reais|brl|rands?|zar|baht|thb|ringgit|myr|rupiah|idr|"
    r"dong|vnd|lira|zloty|pln|kr|sek|nok|dkk|krona|kronor|kroner|mxn|clp|soles|naira|ngn|"
    r"shillings?|kes|dirhams?|aed|riyals?|sar|usd\$"
)
_SYMBOL = r"[$€£₱¥₹₩₦₫₺]"
_CODE_BEFORE = r"(?:(?:usd|eur|php|gbp|inr|rs\.?|jpy|cny|aud|cad|sgd|chf|brl|zar|thb|myr|idr|mxn)\s*)"
_NUM = (
    rf"(?:{_SYMBOL}|{_CODE_BEFORE})?\s*(\d+(?:[.,]\d+)?)\s*(?:k\b)?\s*"
    rf"(?:(?:{_CURRENCY_WORDS})(?![a-z])|{_SYMBOL})?"
)
_HAS_CURRENCY = re.compile(rf"{_SYMBOL}|\b(?:{_CURRENCY_WORDS})(?![a-z])")
_PRICE_PATTERNS: list[tuple[str, str]] = [
    # (regex, what it sets); order matters: ranges first
    (rf"\b(?:between|from)\s+{_NUM}\s+(?:and|to|-)\s+{_NUM}", "range"),
    (rf"(?<![\w.]){_SYMBOL}\s*(\d+(?:\.\d+)?)\s*(?:-|to)\s*{_SYMBOL}\s*(\d+(?:\.\d+)?)", "range"),
    # "around 20-30 bucks", "10 to 15 dollars": a range when a currency is named (not "16-14 gauge")
    (rf"(?:\b(?:around|about|roughly|approximately)\s+)?(?<![\w.-]){_NUM}\s*(?:-|to)\s*{_NUM}", "range_said"),
    (rf"\b(?:under|below|less than|cheaper than|at most|no more than|max(?:imum)?|up to|within|for less than|<|"
     rf"(?:nothing|not|no|never|none)\s+(?:over|above|more than|higher than|exceeding|pricier than))\s*{_NUM}", "max"),
    (rf"{_NUM}\s+(?:or|and)\s+(?:less|under|below|cheaper)\b", "max"),
    (rf"\b(?:over|above|more than|at least|min(?:imum)?|starting at|>)\s*{_NUM}(?![\d.,]*\s*(?:\+\s*)?stars?)", "min"),
    (rf"{_NUM}\s+(?:or|and)\s+(?:more|up|above|over)\b(?!\s*stars?)", "min_loose"),
    (rf"\b(?:around|about|roughly|approximately|~)\s*{_NUM}", "around"),
]
_RATING_PATTERNS = [
    r"\b(\d(?:\.\d)?)\s*\+\s*stars?\b",
    r"\b(\d(?:\.\d)?)\s*stars?\s*(?:and|or)\s*(?:up|above|more|higher|better)\b",
    r"\b(?:at least|minimum|min|over|above)\s*(\d(?:\.\d)?)\s*stars?\b",
    r"\brated\s*(?:at least\s*)?(\d(?:\.\d)?)\s*(?:stars?)?\s*(?:or|and)\s*(?:up|above|more|higher|better)\b",
    r"\b(\d(?:\.\d)?)\s*stars?\b",
]
_SORTS: list[tuple[str, Sort]] = [
    (r"\b(?:cheapest|least expensive|lowest[- ]priced?|lowest price|most affordable|lowest cost|costs? the least)\b", "price_asc"),
    (r"\b(?:most expensive|priciest|highest[- ]priced?|highest price|most premium|costs? the most|most costly)\b", "price_desc"),
    (r"\b(?:best[- ]rated|top[- ]rated|highest[- ]rated|best[- ]reviewed|most loved|best reviews?)\b", "rating_desc"),
]
_NEGATION = r"(?:not|no|except|excluding|without|other than|anything but|but not|avoid|never|nothing|none)"
# "not from nike", "nothing by acme": who makes it, between the negation and the brand
_MAKER = r"(?:(?:from|by|made by|of)\s+)?"
# filler left behind once filter phrases are cut out
_FILLER = re.compile(r"\b(?:and|or|with|that|is|are|which|the|a|an|for|me|show|find|please|one|ones|something|some|priced|costing)\b")
_SPACES = re.compile(r"\s+")


def _money(s: str) -> float:
    return float(s.replace(",", "."))


def _phrase(term: str) -> str:
    """A regex for a vocabulary term as a whole phrase, tolerant to plural 's' and spacing.

    >>> bool(re.search(_phrase("Running Shoe"), "red running  shoes"))
    True
    >>> bool(re.search(_phrase("Blenders"), "a blender please"))  # plural vocabulary, singular query
    True
    >>> bool(re.search(_phrase("Mice"), "a wireless mouse"))
    True
    """
    words = term.lower().split()
    last = words[-1]
    words[-1] = _singular(last)
    body = r"\s+".join(re.escape(w) for w in words)
    if re.search(r"[a-z]$", words[-1]):
        body += r"(?:s|es)?"
    irregular = _IRREGULAR.get(last) or _IRREGULAR.get(words[-1])
    if irregular:  # "Mice" is asked for as "a mouse", "People" as "person"
        other = r"\s+".join([*map(re.escape, words[:-1]), re.escape(irregular)])
        body = rf"(?:{body}|{other})"
    return rf"(?<![\w-]){body}(?![\w-])"


# English plurals that are not a word + s (both directions)
_IRREGULAR = {"mice": "mouse", "mouse": "mice", "knives": "knife", "knife": "knives", "people": "person",
              "person": "people", "feet": "foot", "teeth": "tooth", "shelves": "shelf", "shelf": "shelves",
              "leaves": "leaf", "children": "child", "men": "man", "women": "woman", "batteries": "battery",
              "battery": "batteries", "accessories": "accessory", "accessory": "accessories"}


def _singular(term: str) -> str:
    t = term.lower()
    return t[:-1] if t.endswith("s") and not t.endswith("ss") else t


def _remove(text: str, span: tuple[int, int]) -> str:
    return text[: span[0]] + " " * (span[1] - span[0]) + text[span[1] :]


def _tidy(text: str) -> str:
    text = re.sub(r"[,;]+", " ", text)
    words = _SPACES.sub(" ", text).strip()
    # drop filler only at the edges ("show me ... please"): inside a phrase it may carry meaning
    parts = words.split(" ")
    while parts and _FILLER.fullmatch(parts[0]):
        parts.pop(0)
    while parts and _FILLER.fullmatch(parts[-1]):
        parts.pop()
    return " ".join(parts).strip(" .,;:!?-")


def parse_price(low: str) -> tuple[float | None, float | None, list[tuple[int, int]]]:
    """``(min, max, spans)`` of the price phrases in lower-cased text.

    >>> parse_price("shoes under $80")[:2]
    (None, 80.0)
    >>> parse_price("between 20 and 50 dollars")[:2]
    (20.0, 50.0)
    >>> parse_price("around 100 bucks")[:2]
    (80.0, 120.0)
    >>> parse_price("electric shaver, around 20-30 bucks")[:2], parse_price("16-14 gauge")[:2]
    ((16.0, 30.0), (None, None))
    >>> parse_price("a 2 in 1 laptop")[:2]   # a bare number is not a price
    (None, None)
    >>> parse_price("surge protector, nothing over $20")[:2], parse_price("not above 50 bucks")[:2]
    ((None, 20.0), (None, 50.0))
    """
    pmin = pmax = None
    spans: list[tuple[int, int]] = []
    for pattern, kind in _PRICE_PATTERNS:
        for m in re.finditer(pattern, low):
            if any(s[0] <= m.start() < s[1] for s in spans):
                continue
            if _measured(low, m):
                continue  # "up to 10 kg", "around 23 watts": a measurement, not a price
            k_mult = 1000.0 if re.search(r"\d\s*k\b", m.group(0)) else 1.0
            if kind == "range_said" and not _HAS_CURRENCY.search(m.group(0)):
                continue
            if kind in ("range", "range_said"):
                a, b = sorted((_money(m.group(1)) * k_mult, _money(m.group(2)) * k_mult))
                # "around 20-30 bucks": "around" loosens the floor; the top of a budget stays its cap
                pmin, pmax = (round(a * 0.8, 2) if m.group(0).lstrip().startswith(("around", "about", "roughly", "approx")) else a), b
            elif kind == "max":
                pmax = _money(m.group(1)) * k_mult
            elif kind in ("min", "min_loose"):
                if kind == "min_loose" and not _HAS_CURRENCY.search(m.group(0)):
                    continue  # "2 or more" is not a price without a currency word
                pmin = _money(m.group(1)) * k_mult
            elif kind == "around":
                v = _money(m.group(1)) * k_mult
                pmin, pmax = round(v * 0.8, 2), round(v * 1.2, 2)
            spans.append(m.span())
    return pmin, pmax, spans


def _measured(low: str, m: re.Match) -> bool:
    """True when a number of the price match is followed by a unit of measure (and the match
    names no currency): "supports up to 10 kg", "between 2 and 5 l", "around 23 watts".

    >>> bool(_measured("up to 10 kg", re.search(r"up to (\\d+)", "up to 10 kg")))
    True
    """
    if _HAS_CURRENCY.search(m.group(0)):
        return False
    return any(m.group(i) and unit_at(low, m.end(i)) for i in range(1, (m.re.groups or 0) + 1))


def parse_rating(low: str) -> tuple[float | None, tuple[int, int] | None]:
    """The minimum star rating asked for, and its span.

    >>> parse_rating("4 stars and up")[0], parse_rating("at least 4.5 stars")[0], parse_rating("4+ stars")[0]
    (4.0, 4.5, 4.0)
    """
    for pattern in _RATING_PATTERNS:
        m = re.search(pattern, low)
        if m:
            value = float(m.group(1))
            if 0 < value <= 5:
                return value, m.span()
    return None, None


def parse_sort(low: str) -> tuple[Sort, tuple[int, int] | None]:
    """The sort a superlative asks for, and its span.

    >>> parse_sort("the cheapest toaster")
    ('price_asc', (4, 12))
    """
    for pattern, sort in _SORTS:
        m = re.search(pattern, low)
        if m:
            return sort, m.span()
    return "relevance", None


def _name(term: str) -> str:
    """A regex for a name (a brand) as a whole phrase: spacing and a plural or possessive 's'
    are tolerated, but the name is never singularised ("ARES" is not "are").

    >>> bool(re.search(_name("ARES"), "my fingers are big")), bool(re.search(_name("Nike"), "nikes"))
    (False, True)
    """
    return r"(?<!\w)" + r"\s+".join(re.escape(w) for w in term.lower().split()) + r"(?:'?s)?(?!\w)"


def _match_terms(low: str, terms: list[str], min_len: int = 2, names: bool = False) -> list[tuple[str, tuple[int, int]]]:
    """Vocabulary terms found in text as whole phrases, longest first, non-overlapping; ``names``
    (brands) are matched as written, not singularised."""
    found: list[tuple[str, tuple[int, int]]] = []
    taken: list[tuple[int, int]] = []
    for term in sorted({t for t in terms if t and len(t.strip()) >= min_len}, key=len, reverse=True):
        last = term.lower().split()[-1] if term.strip() else ""
        if term.lower() not in low and _singular(term) not in low and _IRREGULAR.get(last, "\0") not in low:
            continue  # cheap pre-check: most of a big vocabulary is not in a short query
        for m in re.finditer(_name(term) if names else _phrase(term), low):
            if not any(a < m.end() and m.start() < b for a, b in taken):
                found.append((term, m.span()))
                taken.append(m.span())
                break
    return found


def parse_query(text: str, vocabulary: Vocabulary | None = None) -> StructuredQuery:
    """Parse shopper text into a StructuredQuery; see the module docstring for examples."""
    vocab = vocabulary or Vocabulary()
    low = text.lower().replace("’", "'")
    q = StructuredQuery(text=text)
    work = low  # filter phrases are blanked out of this copy; what is left becomes q.text

    q.min_rating, span = parse_rating(work)  # first: "at least 4.5 stars" is not a price
    if span:
        work = _remove(work, span)
    q.price_min, q.price_max, spans = parse_price(work)
    for s in spans:
        work = _remove(work, s)
    q.sort, span = parse_sort(work)
    if span:
        work = _remove(work, span)

    # negated brands: "not nike", "no adidas or puma"
    for term, (a, b) in _match_terms(work, [*vocab.brands, *vocab.brand_aliases], names=True):
        term = vocab.brand_aliases.get(term, term)
        before = work[max(0, a - 30) : a]
        neg = re.search(rf"\b{_NEGATION}\s+{_MAKER}(?:\w+\s+(?:or|and|nor)\s+)?$", before)
        if neg:
            q.exclude_brands.append(term)
            work = _remove(work, (a - len(before) + neg.start(), b))
        else:
            q.brands.append(term)
    for term, _ in _match_terms(work, vocab.categories, min_len=3):
        q.categories.append(term)
    for term, _ in _match_terms(work, vocab.colours, min_len=3):
        q.attributes.setdefault("colour", term)
    q.text = _tidy(work)
    # keep the shopper's own spelling where the work copy only lower-cased it
    if q.text and q.text in low:
        start = low.index(q.text)
        q.text = text[start : start + len(q.text)]
    return q
