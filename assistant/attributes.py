"""The shopper's words about measurable things, read against the catalog's attributes:
"under 1 kg" (a constraint), "the quietest" / "a quiet blender" (an order: noise ascending).

Which attribute a word means comes from the catalog (``assistant.vocabulary``): a bound's unit
gives its dimension ("1 kg" is a mass, so the catalog's mass attribute), the words near it pick
among several ("20 h of battery": battery life), and a small table of English adjectives gives a
dimension and a direction ("quiet": sound, ascending). An adjective no attribute of the asked-for
products measures stays free text. Constraints drop products that lack the attribute; orders put
them last.

Example::

    >>> from retrieval.catalog import Product
    >>> from assistant.vocabulary import CatalogVocabulary
    >>> v = CatalogVocabulary.build([
    ...     Product(id="a", title="A", categories=["Blenders"], attributes={"noise": "72 dB", "weight": "1.2 kg"}),
    ...     Product(id="b", title="B", categories=["Blenders"], attributes={"noise": "80 dB", "weight": "900 g"}),
    ... ])
    >>> r = read("the quietest blender under 1 kg", ["Blenders"], v)
    >>> r.order, [(c["key"], c["op"], c["value"]) for c in r.constraints]
    ({'key': 'noise', 'direction': 'asc', 'text': 'quietest first'}, [('weight', '<', 1000.0)])
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.vocabulary import Attribute, CatalogVocabulary, numeric_value
from retrieval.bm25 import STOPWORDS
from retrieval.units import AMBIGUOUS, UNITS, Bound, bounds, parse_measure

# a key must be present on this share of the asked-for categories' products to be meant
MIN_COVERAGE = 0.3
# MiniLM cosine between the shopper's words and an attribute label for the label to be meant
EMBED_MIN = 0.45
# ... or above this for a noun among the few attributes its adjective allows: "screen" vs "display
# diagonal" 0.35, vs the other size-like labels of two Icecat laptops (ssd capacity, width) lower
NOUN_MIN = 0.3

# English adjectives (not catalog data): pattern, dimension (None: any numeric), direction,
# words an attribute label for it tends to contain, and how the order is said back
_ADJECTIVES: list[tuple[str, str | None, str, tuple[str, ...], str]] = [
    (r"quiet(?:er|est)?|silent|low[- ]noise|noiseless", "sound", "asc", ("noise", "sound", "loudness"), "quietest"),
    (r"loud(?:er|est)?", "sound", "desc", ("noise", "sound", "loudness"), "loudest"),
    (r"light(?:er|est)?(?:[- ]?weight)?(?! (?:blue|green|grey|gray|pink|brown|wood|bulb))", "mass", "asc", ("weight",), "lightest"),
    (r"heav(?:y|ier|iest)(?! duty)", "mass", "desc", ("weight",), "heaviest"),
    (r"long(?:er|est)?[- ]lasting battery|long(?:er|est)? battery(?: life)?|best battery(?: life)?|most battery|"
     r"battery (?:that )?lasts? (?:the )?long(?:er|est)?|battery lasts? long(?:er|est)?", "time", "desc", ("battery",),
     "longest battery life"),
    (r"big(?:ger|gest)?|large(?:r|st)?|roomy|roomiest|spacious", None, "desc", ("capacity", "size", "volume", "diagonal"), "biggest"),
    (r"small(?:er|est)?|compact|tiny|tiniest", None, "asc", ("capacity", "size", "volume", "diagonal"), "smallest"),
    (r"(?:most |more )?powerful|strong(?:er|est)? motor", "power", "desc", ("power", "wattage"), "most powerful"),
    (r"bright(?:er|est)?", "light", "desc", ("brightness",), "brightest"),
    (r"fast(?:er|est)|quick(?:er|est)", "frequency", "desc", ("frequency", "speed", "clock"), "fastest"),
    (r"thin(?:ner|nest)?|slim(?:mer|mest)?", "length", "asc", ("thickness",), "thinnest"),
    (r"thick(?:er|est)?", "length", "desc", ("thickness",), "thickest"),
]
# "not too", "isn't very", "aren't that": an adjective said the other way round
_NOT = r"(?:\bnot|\b[a-z]+n['’]t)\s+(?:too\s+|very\s+|so\s+|that\s+|overly\s+)?"
_ADJ_RE = [(re.compile(rf"\b(?:{p})\b", re.I), *rest) for p, *rest in _ADJECTIVES]
# "the highest refresh rate", "lowest drop", "most capacity": a direction word and a label
_HIGH = r"highest|most|largest|biggest|longest|greatest|maximum|max|more|higher|bigger|longer|larger|better"
_LOW = r"lowest|least|smallest|shortest|minimum|min|less|lower|smaller|shorter"
_DIRECTED = re.compile(rf"\b(?P<dir>{_HIGH}|{_LOW})\s+(?P<words>[a-z]+(?:\s+[a-z]+){{0,2}})", re.I)

# words of a request that never name a kind of product (for scoping by title words)
_NOT_KIND = frozenset(
    f"{_HIGH}|{_LOW}|under|over|above|below|than|least|most|around|about|cheap|cheapest|expensive|quiet|quietest|"
    "light|lightest|heavy|heaviest|big|biggest|small|smallest|long|longest|battery|which|what|one|ones".split("|")
)

# English words shoppers use for what spec sheets call otherwise
_SYNONYMS = {"ram": "memory internal", "screen": "display diagonal", "display": "diagonal", "storage": "storage ssd hdd",
             "long": "length", "wide": "width", "tall": "height", "deep": "depth", "heavy": "weight"}
# words after "most"/"least" that are no attribute: price, popularity, ratings
_NOT_ATTRIBUTE = frozenset(
    "expensive affordable popular rated reviewed recent loved comfortable reliable recommended "
    "sold bought liked premium cheap basic".split()
)

Embed = Callable[[str], object]


@dataclass(slots=True)
class Reading:
    constraints: list[dict] = field(default_factory=list)  # {"key", "op", "value", "text"}
    order: dict | None = None  # {"key", "direction", "text"}
    spans: list[tuple[int, int]] = field(default_factory=list)  # the words read (out of the free text)
    graded: bool = False  # the order was asked as a superlative or comparative ("quietest", "lighter")


def _stems(text: str) -> set[str]:
    return {w[:-1] if len(w) > 3 and w.endswith("s") else w for w in re.findall(r"[a-z]+", text.lower())}


@dataclass(slots=True)
class Scope:
    """The asked-for products: their categories, else the products whose titles name them."""

    v: CatalogVocabulary
    categories: list[str]
    ids: list[set] | None = None  # without categories: the products each title word names
    _counts: list | None = None

    def coverage(self, key: str) -> float:
        """The share of the asked-for products with ``key``; by title words, the best word's
        share ("toner" names the products with page yields, "black" does not)."""
        if self.categories or self.ids is None:
            return self.v.coverage(key, self.categories)
        if self._counts is None:
            self._counts = [(self.v.key_counts(ids), len(ids)) for ids in self.ids]
        return max((c[key] / n for c, n in self._counts if n), default=0.0)

    def joint_coverage(self, key: str) -> float:
        """The share of the products every title word names (all of "canon ef": the EF lenses)
        with ``key``; ``coverage`` when the words name no product together."""
        if self.categories or not self.ids:
            return self.coverage(key)
        both = set.intersection(*map(set, self.ids))
        if not both:
            return self.coverage(key)
        return self.v.key_counts(both)[key] / len(both)

    def support(self, key: str) -> float:
        """By title words, the shares summed over the words: on a tie of the best word's share the
        key more of the shopper's words' products have ("hyperx 64gb ddr4 kit": internal memory,
        which HyperX and DDR4 titles have, not the capacity of printer kits)."""
        if self.categories or self.ids is None:
            return 0.0
        self.coverage(key)
        return sum(c[key] / n for c, n in self._counts if n)

    @property
    def floor(self) -> float:
        # a whole catalog mixes kinds of products: a key on 5 % of it may be all the shopper means
        return MIN_COVERAGE if (self.categories or self.ids is not None) else 0.05


def _candidates(scope: Scope, dimension: str | None, hints: tuple[str, ...] = ()) -> list[Attribute]:
    """Numeric attributes of that dimension (or whose label has a hint) the asked-for products have."""
    out = []
    for a in scope.v.attributes.values():
        # "size" is numeric for monitors ("27 in") though not for shoes ("US 9"), "capacity"
        # litres for kettles and people for tents: the dimension among the asked-for products
        dim = scope.v.dimension_in(a.key, scope.categories) if scope.categories else a.dimension
        if not (a.numeric or dim is not None):
            continue
        fits = (dimension is not None and dim == dimension) or any(h in a.label for h in hints)
        if fits and a.count and scope.coverage(a.key) >= scope.floor:
            out.append(a)
    return out


# words an attribute's label uses for a dimension (English), for catalogs whose specs are plain
# numbers with the unit left out ("cable length": 1.8)
_DIM_WORDS = {
    "mass": ("weight",), "length": ("length", "width", "height", "depth", "diagonal", "thickness"),
    "data": ("memory", "storage", "ram", "ssd", "hdd"), "frequency": ("frequency", "clock", "refresh"),
    "pages": ("page", "yield"), "power": ("power", "wattage"), "time": ("life", "duration", "runtime"),
    "volume": ("volume",), "people": ("person", "people"), "light": ("brightness",), "sound": ("noise", "acoustic"),
}


def _plain_candidates(scope: Scope, dimension: str) -> list[Attribute]:
    """Plain-number attributes whose label names the dimension ("cable length" for "3 m")."""
    words = _DIM_WORDS.get(dimension, ())
    return [a for a in scope.v.attributes.values()
            if a.numeric and a.dimension is None and a.typical and any(w in a.label.split() for w in words)
            and scope.coverage(a.key) >= scope.floor]  # fmt: skip


def _scale(a: Attribute, dimension: str, value: float) -> float:
    """The factor of the unit ``a``'s plain numbers are in: read from the products' text when
    it says so, else the unit of the dimension that puts its typical value nearest the
    shopper's (weights in grams: a typical 2000 against "under 2 kg")."""
    if a.scale:
        return a.scale
    import math

    factors = {f for d, f in UNITS.values() if d == dimension}
    return min(factors, key=lambda f: abs(math.log(max(a.typical * f, 1e-12) / max(value, 1e-12))))


def _best(cands: list[Attribute], scope: Scope) -> Attribute:
    """The most common attribute among the asked-for products, then the one more of the shopper's
    words' products have (``Scope.support``); the shorter label on a near tie ("weight" before
    "package weight")."""
    return max(cands, key=lambda a: (round(scope.coverage(a.key), 1), round(scope.support(a.key), 1), -len(a.label)))


def _pick(cands: list[Attribute], words: str, hints: tuple[str, ...], scope: Scope, embed: Embed | None,
          noun: str = "") -> Attribute | None:
    """The attribute the words mean: a label sharing the most words, then (for a vague adjective,
    "bigger", with the noun it qualifies, "screen") the label MiniLM puts nearest the noun among
    the hinted ones, then a hint, then MiniLM, then coverage."""
    if not cands:
        return None
    said = _stems(f"{words} {noun}")
    said |= {s for w in said for s in _SYNONYMS.get(w, "").split()}
    lexical = [a for a in cands if _stems(a.label) & said]
    if lexical:
        most = max(len(_stems(a.label) & said) for a in lexical)  # "black toner page yield" over "page yield"
        return _best([a for a in lexical if len(_stems(a.label) & said) == most], scope)
    hinted = [a for a in cands if any(h in a.label for h in hints)]
    if noun and embed is not None and len(hinted) > 1:
        return _nearest(noun, hinted, embed) or _best(hinted, scope)
    if hinted:
        return _best(hinted, scope)
    if len(cands) == 1:
        return cands[0]
    if embed is not None and words.strip():
        return _nearest(words, cands, embed) or _best(cands, scope)
    return _best(cands, scope)


def names_attribute(word: str, labels: list[str]) -> bool:
    """Whether ``word`` names one of the attributes ``labels`` ("ram": internal memory, "heavy": weight).

    >>> names_attribute("heavy", ["weight"]), names_attribute("laptop", ["weight", "internal memory"])
    (True, False)
    """
    said = _stems(word) | set(_SYNONYMS.get(word, "").split())
    return any(said & _stems(label) for label in labels)


def read_labels(reading: Reading, v: CatalogVocabulary) -> list[str]:
    """The labels of the attributes a reading bounds or orders by."""
    keys = [c["key"] for c in reading.constraints] + ([reading.order["key"]] if reading.order else [])
    return [v.attributes[k].label for k in keys if k in v.attributes]


# "a laptop with 16gb ram", "headphones with 30 h of battery": what a product comes with is a minimum
_WITH = re.compile(r"\bwith (?:a |an |at least )?(\d+(?:[.,]\d+)?\s?[a-z]+)\b")


def _with_bounds(low: str, found: list[Bound]) -> list[Bound]:
    """``found`` and a minimum for each bare quantity the product is said to come "with".

    >>> [(b.op, b.measure.value, b.measure.unit) for b in _with_bounds("a laptop with 16gb ram", [])]
    [('>=', 16000.0, 'gb')]
    """
    out = list(found)
    for m in _WITH.finditer(low):
        got = parse_measure(m.group(1))
        if got is None or got.unit in AMBIGUOUS or any(b.span[0] < m.end() and m.start() < b.span[1] for b in found):
            continue
        out.append(Bound(">=", got, m.span(1), m.group(1)))
    return out


# "27 inch monitor", "64gb ddr4 kit": a measure right before the words naming the product is its size
_SIZED = re.compile(r"(?<![\w.$€£])(\d+(?:[.,]\d+)?)\s*-?\s*([a-z\"”]+)(?=\s+[a-z])")
# the share a sized product's value may differ from the said one (Icecat: 68.6 cm is 27.0")
SIZE_TOLERANCE = 0.03
# a bare size names an attribute only when at least this share of the products the request names
# has it (Icecat: display diagonal on 27 of 29 "monitor" titles; tape size on no Canon EF lens)
SIZED_COVERAGE = 0.5


def _sized(low: str, found: list[Bound]) -> list[Bound]:
    """``found`` and an equality for each bare measure that qualifies the product ("a 27 inch
    monitor": 27 inch, give or take ``SIZE_TOLERANCE``); a measure already bounded is left alone.

    >>> [(b.op, b.measure.value, b.measure.unit) for b in _sized("27 inch monitor under 250", [])]
    [('=', 685.8, 'inch')]
    >>> _sized("at least 55 inch tv", bounds("at least 55 inch tv"))[0].op, _sized("a 2 pack of tape", [])
    ('>=', [])
    """
    out = list(found)
    for m in _SIZED.finditer(low):
        got = parse_measure(m.group(0))
        if got is None or got.unit in AMBIGUOUS or any(b.span[0] < m.end() and m.start() < b.span[1] for b in found):
            continue
        out.append(Bound("=", got, m.span(), m.group(0)))
    return out


def _written_in(cands: list[Attribute], unit: str) -> tuple[str, ...]:
    """The labels of the plain-number attributes the products' own text writes in the shopper's
    unit ("40 inch": the display diagonal, which Icecat titles quote as 50", not heights in mm).

    >>> _written_in([Attribute("display_diagonal", "display diagonal", "length", True, 9, 25.4),
    ...              Attribute("height", "height", None, True, 9)], "inch")
    ('display diagonal',)
    """
    factor = UNITS[unit][1] if unit in UNITS else None
    return tuple(a.label for a in cands if factor is not None and a.scale == factor)


def _nearest(words: str, cands: list[Attribute], embed: Embed) -> Attribute | None:
    """The attribute whose label MiniLM puts nearest ``words``, if near enough (``EMBED_MIN``);
    among the attributes an adjective allows, the nearest is enough ("screen": display diagonal
    0.35, ssd capacity below)."""
    q = embed(words)
    scored = [(float(q @ embed(a.label)), a) for a in cands]
    best = max(scored, key=lambda t: t[0])
    return best[1] if best[0] >= EMBED_MIN or len(cands) <= 8 and best[0] >= NOUN_MIN else None


def _noun_after(low: str, end: int) -> str:
    """The noun a vague adjective qualifies: the next content word ("bigger screen" -> "screen").

    >>> _noun_after("which one has the bigger screen", 23)
    'screen'
    >>> _noun_after("which is bigger?", 15)
    ''
    """
    for w in re.findall(r"[a-z]+", low[end:])[:2]:
        if w not in STOPWORDS and w not in _NOT_KIND and len(w) > 2:
            return w
    return ""


# attributes whose values are read as colours elsewhere (State.colours)
_COLOUR_KEYS = ("colour", "color")


def _values_named(low: str, scope: Scope) -> list[tuple[str, str, tuple[int, int]]]:
    """Word values of the asked-for categories' attributes that the message names as a phrase
    of two words or more ("natural rubber" material, "stainless steel"): a requirement."""
    out: list = []
    if not scope.categories:
        return out
    merged: dict[str, set] = {}
    for c in scope.categories:
        for key, values in scope.v.values_in_category.get(c, {}).items():
            if not any(k in key.lower() for k in _COLOUR_KEYS):
                merged.setdefault(key, set()).update(values)
    taken: list[tuple[int, int]] = []
    for key, values in merged.items():
        for value in sorted(values, key=len, reverse=True):
            if " " not in value:
                continue  # one word ("mesh", "light") is left to the search text
            m = re.search(rf"(?<!\w){re.escape(value)}(?!\w)", low)
            if m and not any(a < m.end() and m.start() < b for a, b in taken):
                out.append((key, value, m.span()))
                taken.append(m.span())
                break
    return out


def read(message: str, categories: list[str], v: CatalogVocabulary, embed: Embed | None = None,
         among: set | None = None) -> Reading:
    """Constraints and an order from one message, scoped to the asked-for categories (or to the
    products ``among``: "which one has the bigger screen?" is about the cards on screen)."""
    r = Reading()
    low = message.lower()
    scope = Scope(v, [c for c in categories if c in v.category_size] if among is None else [])
    if among is not None:
        scope.ids = [among]
    elif not scope.categories:
        scope.ids = v.title_scope([w for w in re.findall(r"[a-z0-9]+", low) if w not in _NOT_KIND])
    for key, value, span in _values_named(low, scope):
        r.constraints.append({"key": key, "op": "has", "value": value, "text": value})
        r.spans.append(span)
    for m in re.finditer(r"[a-z]+", low):  # "unmanaged switch": not the managed ones the search finds too
        key = v.opposed.get(m.group(0))
        # any asked-for product with the key will do: the word names one of its values (Icecat's 1500
        # first products: 3 of the 27 "network" titles say their switch type)
        if key and scope.coverage(key) > 0 and not re.search(rf"{_NOT}$", low[: m.start()]):
            r.constraints.append({"key": key, "op": "has", "value": m.group(0), "text": m.group(0)})
            r.spans.append(m.span())
    for b in _sized(low, _with_bounds(low, bounds(low))):
        near = low[max(0, b.span[0] - 25) : b.span[1] + 30]
        # attributes measured in that dimension, and those of plain numbers whose label names it
        # ("black toner page yield": 10000, for "at least 30000 pages")
        cands = list({a.key: a for a in [*_candidates(scope, b.measure.dimension),
                                         *_plain_candidates(scope, b.measure.dimension)]}.values())
        a = _pick(cands, near, _written_in(cands, b.measure.unit), scope, embed)
        if a is None or (b.op == "=" and scope.joint_coverage(a.key) < SIZED_COVERAGE):
            continue  # a bare size is read only as what the named products mostly have ("24mm": no tape size)
        c = {"key": a.key, "op": b.op, "value": b.measure.value, "text": b.text}
        if a.typical is not None:  # plain numbers among its values: in which unit
            c["scale"] = _scale(a, b.measure.dimension, b.measure.value)
        r.constraints.append(c)
        r.spans.append(b.span)
    taken = lambda s: any(x < s[1] and s[0] < y for x, y in r.spans)  # noqa: E731
    for m in _DIRECTED.finditer(low):
        if taken(m.span()):
            continue
        cands = [a for a in v.numeric_keys() if scope.coverage(a.key) >= scope.floor]
        said = _stems(m["words"])
        said |= {s for w in said for s in _SYNONYMS.get(w, "").split()}  # "the bigger screen": display diagonal
        if m["words"].split()[0] in _NOT_ATTRIBUTE:
            continue  # "most expensive processor" is about price, not processor_cores
        hit = [a for a in cands if _stems(a.label) & said]
        if len(hit) > 1:  # "which toner prints the most pages": the page yield label that also says "toner"
            context = said | _stems(low)
            most = max(len(_stems(a.label) & context) for a in hit)
            hit = [a for a in hit if len(_stems(a.label) & context) == most]
        if not hit and embed is not None and cands:  # "the most ram": internal memory
            q = embed(m["words"])
            best_sim, best_a = max(((float(q @ embed(a.label)), a) for a in cands), key=lambda t: t[0])
            hit = [best_a] if best_sim >= EMBED_MIN else []
        if hit:
            a = _best(hit, scope)
            direction = "asc" if re.fullmatch(_LOW, m["dir"]) else "desc"
            r.order = {"key": a.key, "direction": direction, "text": f"{m['dir']} {a.label} first"}
            if len(hit) > 1:  # black and colour toner page yield: each product has one of them
                r.order["keys"] = [a.key, *(h.key for h in hit if h is not a)]
                r.order["text"] = f"{m['dir']} {_common_words([h.label for h in hit])} first"
            r.spans.append(m.span("dir"))  # "longest hdmi cable": "hdmi cable" is still searched for
            r.graded = True
            return r
    for rx, dimension, direction, hints, said in _ADJ_RE:
        m = rx.search(low)
        if not m or taken(m.span()):
            continue
        cands = _candidates(scope, dimension, hints)
        if dimension is None:  # "big": only labels that say what is big
            cands = [a for a in cands if any(h in a.label for h in hints)]
        noun = _noun_after(low, m.end()) if dimension is None else ""  # "bigger" says nothing alone
        a = _pick(cands, m.group(0), hints, scope, embed, noun)
        if a is not None and re.search(rf"{_NOT}$", low[max(0, m.start() - 18) : m.start()]):
            # "not too loud", "one that isn't too heavy": the other way round
            direction = "desc" if direction == "asc" else "asc"
            # said as the opposite adjective where English has one ("quietest first"), else "least loud"
            said = next((w for _, dim, d, h, w in _ADJECTIVES if dim == dimension and d == direction and h == hints),
                        f"least {m.group(0)}")
            m = re.search(rf"{_NOT}{re.escape(m.group(0))}", low) or m
        if a is not None:
            r.order = {"key": a.key, "direction": direction, "text": f"{said} first"}
            r.spans.append(m.span())
            r.graded = bool(re.search(r"(?:er|est)\b|\b(?:most|more|least|less)\b", m.group(0)))
            break
    return r


def satisfies(product, constraints: list[dict]) -> bool:
    """Every constraint holds; a product without the attribute fails (its value is unknown).

    >>> from retrieval.catalog import Product
    >>> satisfies(Product(id="a", title="A", attributes={"weight": "900 g"}), [{"key": "weight", "op": "<=", "value": 1000.0}])
    True
    >>> satisfies(Product(id="b", title="B"), [{"key": "weight", "op": "<=", "value": 1000.0}])
    False
    """
    for c in constraints or []:
        if c["op"] == "has":  # a word value: the product's value must contain the phrase
            # from a word's start: "managed" is not in "unmanaged"
            if not re.search(rf"(?<![a-z0-9]){re.escape(c['value'])}", str((product.attributes or {}).get(c["key"], "")).lower()):
                return False
            continue
        x = numeric_value((product.attributes or {}).get(c["key"], ""), c.get("scale", 1.0))
        if x is None:
            return False
        value = c["value"]
        if c["op"] == "<=" and x > value * (1 + 1e-9):
            return False
        if c["op"] == ">=" and x < value * (1 - 1e-9):
            return False
        if c["op"] == "~" and not (0.8 * value <= x <= 1.2 * value):
            return False
        if c["op"] == "=" and abs(x - value) > SIZE_TOLERANCE * value:
            return False
        if (c["op"] == "<" and not x < value) or (c["op"] == ">" and not x > value):
            return False
    return True


def allowed(product, state) -> bool:
    """The state's attribute constraints hold and the product is in no excluded category
    (by category, or by a title naming it: catalogs categorise only some products)."""
    if not satisfies(product, state.constraints):
        return False
    if state.exclude_words:
        title = (product.title or "").lower()
        if any(re.search(rf"\b{re.escape(w.rstrip('s'))}", title) for w in state.exclude_words):
            return False
    if state.exclude_categories:
        mine = {c.lower() for c in product.categories or []}
        title = (product.title or "").lower()
        for c in state.exclude_categories:
            c = c.lower()
            stem = c[:-1] if c.endswith("s") and len(c) > 4 else c
            if c in mine or re.search(rf"\b{re.escape(stem)}", title):
                return False
    return True


def beyond(product, order: dict, said: str) -> dict | None:
    """"a lighter one" after a product: the constraint past that product's value (lighter than
    its 1.2 kg), in the order's direction; None when it has no such value."""
    x = numeric_value((product.attributes or {}).get(order["key"], ""))
    if x is None:
        return None
    shown = (product.attributes or {})[order["key"]]
    return {"key": order["key"], "op": "<" if order["direction"] == "asc" else ">", "value": x,
            "text": f"{said} than {shown}"}


def _common_words(labels: list[str]) -> str:
    """The words every label has, in the first one's order.

    >>> _common_words(["black toner page yield", "colour toner page yield"])
    'toner page yield'
    """
    return " ".join(w for w in labels[0].split() if all(w in x.split() for x in labels[1:])) or labels[0]


def order_value(product, order: dict) -> tuple[str, float] | None:
    """The key and number the product is ordered by: the order's attribute, or the first of its
    alternatives (``keys``: a toner lists a black or a colour page yield) that the product has."""
    attrs = product.attributes or {}
    for key in order.get("keys") or [order["key"]]:
        x = numeric_value(attrs.get(key, ""))
        if x is not None:
            return key, x
    return None


def order_key(product, order: dict):
    """A sort key: products with the attribute first, in the asked direction, the rest last."""
    got = order_value(product, order)
    if got is None:
        return (1, 0.0)
    return (0, got[1] if order["direction"] == "asc" else -got[1])


def facts(product, constraints: list[dict], order: dict | None) -> list[str]:
    """The product's values for the attributes asked about, for the card ("noise: 72 dB")."""
    got = order_value(product, order) if order else None
    keys = list(dict.fromkeys([*(c["key"] for c in constraints or []), *([got[0] if got else order["key"]] if order else [])]))
    attrs = product.attributes or {}
    return [f"{k.replace('_', ' ')}: {attrs[k]}" for k in keys if attrs.get(k) not in (None, "")]
