"""Product types for catalogs without categories, read from the catalog's own titles.

Icecat-style titles read "Brand Model <type phrase> <specs>": "HP Pavilion dv7-1211ea Notebook
Silver 43.2 cm (17") ...", "Xerox 006R90321 toner cartridge Original Black", "Targus TBT050EU
notebook case 40.6 cm". The type phrase is a common noun phrase that many products share; its
last word is its head, so a "notebook case" is a case, not a notebook. Nothing here lists any
types: they are counted in the titles.

1. **Vocabulary** (``ProductTypes.build``): each title's declared phrase (``declared_phrase``:
   the first run of lower-case words that is no unit after a number, else the word right after
   the model), plus the ``product_type`` attribute where the catalog has one (a signal, not the
   only source; Icecat fills it for 8 % of products). Phrases naming at least ``MIN_PRODUCTS``
   products form the vocabulary.
2. **Each product's type**: its declared phrase when in the vocabulary, else its
   ``product_type``, else the head noun of its name (``head_in_name``: the last vocabulary phrase
   before "with"/"for"/" - ": "PS/2 Keyboard to USB Adapter" is an adapter).
3. **The shopper's word** (``ProductTypes.asked``): the head of the first noun the request
   names (``request_words``), matched to the vocabulary by the exact phrase or head (stem),
   else by MiniLM cosine with the phrases (``TYPE_SIMILARITY``); a
   word only as a modifier ("toner" in "toner cartridge") names no type: the search decides.
4. **The filter** (``ProductTypes.keeps``): a product passes when its type is one of the asked
   ones (an untyped one when its own title ends in the shopper's word, which the types end in
   too: "Computer case" for "a laptop case"); the request text carries over with the conversation state, so "cheaper?" or "the one
   with the most ram" keep the type. ``types_of(catalog)`` is None on a catalog whose products
   mostly have categories (``CATEGORISED_SHARE``): the categories do this job there.

Example::

    >>> from retrieval.catalog import Product
    >>> shop = [Product(str(i), t) for i, t in enumerate([
    ...     "Acme X1 notebook Black", "Acme X2 notebook Grey", "Zeta Z1 notebook case Black",
    ...     "Zeta Z2 notebook case Blue", "Acme K1 keyboard USB", "Zeta K2 keyboard PS/2"])]
    >>> t = ProductTypes.build(shop)
    >>> t.of["2"], t.asked("a cheap notebook"), t.asked("a notebook case")
    ('notebook case', ['notebook'], ['notebook case'])
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from retrieval.bm25 import STOPWORDS, tokenize
from retrieval.units import unit_at

# a phrase is a type when at least this many products declare it (Icecat, first 1500 products:
# 2 keeps "notebook" (written lower-case in 2 titles, capitalised after the model in 12 more)
# and "ink cartridge"; single phrases are mostly one product's spec words: "swivel design")
MIN_PRODUCTS = 2
# MiniLM cosine (all-MiniLM-L6-v2) between the shopper's noun and a type phrase above which the
# noun names that type. Measured on Icecat's phrases: laptop/notebook 0.735, laptop/notebook pc
# 0.742, cpu/processor 0.864, headphones/headset 0.712, tv/television 0.958 pass; laptop/notebook
# case 0.575, laptop/notebook bag 0.565, laptop/pc 0.567, laptop/notebook battery 0.547,
# laptop/tablet 0.535, keyboard/mouse 0.550, toner/printer drum 0.524 do not
TYPE_SIMILARITY = 0.65
# product types only where categories are missing: applied when fewer than this share of the
# catalog's products have a category (demo and Amazon 2023: 100 %; Icecat: 0 %)
CATEGORISED_SHARE = 0.5
# words that end the noun a request names: what follows says what it is for or like
# ("laptop for work", "a case for my laptop", "toner that lasts", "keyboard, no cherry")
_CONNECTORS = frozenset(
    "for with without to that which who under over below above less more at but not no from by in on of if when "
    "so because than and or between around about like except via up".split()
)
_CLAUSE_END = re.compile(rf"[,.;:!?()]|\s(?:{'|'.join(sorted(_CONNECTORS))})\s", re.I)
# in a title the name ends where what it is for or comes with begins
_NAME_END = re.compile(r"\s(?:with|for|w/|f/|incl\.?|including|compatible)\s|\s[-–]\s|[,(;]", re.I)
_WORD = re.compile(r"[a-z][a-z-]*[a-z]|[a-z]")
_LOWER = re.compile(r"^[a-z][a-z-]*(?:/[a-z][a-z-]*)*$")
_NUMBER = re.compile(r"\d")
_PLAIN_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
# a quantity a unit or spec word follows: "43.2 cm", "8th gen", "4K x 2K", "64.6x33.8 mm" (a model
# starts with a letter: "X1 notebook")
_QUANTITY = re.compile(r"\(?\d\S*")
# words a request uses around the noun that never name a kind of product
_FILLER = frozenset(
    "something anything one ones thing things stuff item items product products kind type sort cheap cheaper "
    "cheapest good best nice new great decent whats what which who have has got sell stock carry do does "
    "can could would will should is are was get buy need needs want wants like show tell give see nvm hmm "
    "ok okay actually also just only really very".split()
)
# a number and the word after it: when the word is a unit ("2 inch", "7/8-inch", "1.75 mm") a size,
# never the product asked for ("iphone 13 case" asks for a case)
_MEASURE = re.compile(r"(?<![\w.])(\d+(?:[./]\d+)?)\s*-?\s*[a-z]+\b")
_POSSESSIVE = frozenset("my our your his her their its".split())


def stem(word: str) -> str:
    """The word as the catalog's index folds it ("laptops" -> "laptop", "batteries" -> "battery").

    >>> stem("laptops"), stem("batteries"), stem("mouse")
    ('laptop', 'battery', 'mouse')
    """
    return (tokenize(word) or [word.lower()])[0]


def head(phrase: str) -> str:
    """The word a type phrase is a kind of: its last word ("notebook case" is a case); in a
    phrase like "pc/workstation barebone" the last part too.

    >>> head("notebook case"), head("tray/feeder"), head("keyboard")
    ('case', 'feeder', 'keyboard')
    """
    return stem(re.split(r"[\s/]+", phrase.strip())[-1])


def _own_values(attributes: dict) -> set[str]:
    """The product's spec values, whole and comma-separated, lower-cased ("Black,Silver")."""
    out = set()
    for k, v in (attributes or {}).items():
        if k in ("product_type", "model"):
            continue
        for part in str(v).lower().split(","):
            out.add(part.strip())
    return out


def _after_model(p) -> tuple[list[str], bool]:
    """The title's words after the model ("dv7-1211ea") and True; else (no model in the title,
    or a model that is the whole rest of it: "HERMA A3 labels Premium 297x420 mm") the words
    after the brand and False."""
    title = p.title or ""
    model = (p.attributes or {}).get("model")
    if model and model in title:
        rest = title[title.index(model) + len(model):].split()
        if rest:
            return rest, True
    if p.brand and title.lower().startswith(p.brand.lower()):
        return title[len(p.brand):].split(), False
    return title.split(), False


def declared_phrase(p, lower_only: bool = False) -> str | None:
    """The phrase a title declares its product to be: the capitalised word right after the model
    when it is none of the product's own spec values ("Notebook", not "Silver"; ``lower_only``:
    never this), else the first run of lower-case words that is no unit after a number ("43.2
    cm", "8th gen") and no connector.

    >>> from retrieval.catalog import Product
    >>> declared_phrase(Product("1", "Xerox 006R90321 toner cartridge Original Black 6 pc(s)", brand="Xerox"))
    'toner cartridge'
    >>> declared_phrase(Product("2", "HP Pavilion dv7-1211ea Notebook Silver 43.2 cm (17\\") 8th gen", brand="HP",
    ...                         attributes={"model": "dv7-1211ea", "product_colour": "Silver"}))
    'notebook'
    >>> declared_phrase(Product("3", "Brother LC51C Original Cyan", brand="Brother", attributes={"model": "LC51C",
    ...                         "type": "Original"})) is None
    True
    """
    words, after_model = _after_model(p)
    if not after_model and words and _NUMBER.search(words[0]) and not _PLAIN_NUMBER.fullmatch(words[0]):
        words = words[1:]  # a model number the catalog does not name as such ("006R90321", not "15 ft")
    words = [w.strip(".,;:") for w in words]
    if words and not lower_only and after_model and re.fullmatch(r"[A-Z][a-z-]+", words[0]):
        first = words[0].lower()  # "Notebook" right after the model, unless it is a spec ("Silver")
        if first not in _own_values(p.attributes) and first not in STOPWORDS and first not in _CONNECTORS:
            return first
    run: list[str] = []
    for i, w in enumerate(words):
        if _LOWER.match(w) and len(w) > 1 and w not in STOPWORDS and w not in _CONNECTORS:
            if run or not (i and _QUANTITY.fullmatch(words[i - 1])):  # "43.2 cm", "8th gen": units
                run.append(w)
        elif run:
            break
    return " ".join(run) or None


def _product_type(p) -> str | None:
    """The catalog's own ``product_type`` spec, lower-cased, without parentheses."""
    v = (p.attributes or {}).get("product_type")
    if not v:
        return None
    v = re.sub(r"\([^)]*\)", " ", str(v).lower())
    return re.sub(r"\s+", " ", v).strip() or None


def head_in_name(title: str, phrases: dict[str, str]) -> str | None:
    """The type a title's name says when it declares none: the vocabulary phrase that ends the
    name, before what the product is for or comes with and without its model numbers
    (``phrases``: stemmed phrase -> phrase). A name ending in another noun is no such type.

    >>> vocab = {"keyboard": "keyboard", "adapter": "adapter", "mouse": "mouse", "notebook": "notebook"}
    >>> head_in_name("StarTech.com PS/2 Keyboard to USB Adapter - F/M", vocab)
    'adapter'
    >>> head_in_name("V7 MU300 Wired Mouse with Adjustable DPI - Black", vocab)
    'mouse'
    >>> head_in_name("BakkerElkhuizen Ergo-Top 320 Notebook Stand", vocab) is None
    True
    >>> head_in_name("StarTech.com 6.6 ft. (2 m) HDMI to Mini DisplayPort Mouse - 4K", vocab)
    'mouse'

    """
    name = _NAME_END.split(re.sub(r"\([^)]*\)", " ", title), maxsplit=1)[0]
    segment: list[str] = []
    for tok in [*name.lower().split(), "0"]:  # a plain number ends a segment: "HDMI cable 91.5 m"
        if _NUMBER.search(tok):
            if not _PLAIN_NUMBER.fullmatch(tok):
                continue  # a model number inside the name ("PS/2", "MU300")
            for n in (3, 2, 1):  # the longest phrase ending the segment
                key = " ".join(segment[-n:])
                if len(segment) >= n and key in phrases:
                    return phrases[key]
            segment = []
        else:
            segment += [stem(w) for w in _WORD.findall(tok)]
    return None


def phrase_key(phrase: str) -> str:
    """A phrase with every word stemmed: how phrases and shopper words are compared."""
    return " ".join(stem(w) for w in _WORD.findall(phrase.lower()))


def request_words(text: str, brands: set[str] = frozenset()) -> list[str]:
    """The words of the first noun a request names, up to what it is for or like: "laptop for
    work" -> laptop; "i want to connect my laptop" names nothing (the laptop is the shopper's);
    filler, brands and numbers out.

    >>> request_words("i need a laptop for work"), request_words("whats the lightest laptop you have")
    (['laptop'], ['lightest', 'laptop'])
    >>> request_words("i want to connect my laptop to my tv"), request_words("which hp toner lasts", {"hp"})
    ([], ['toner', 'lasts'])
    >>> request_words("gaffers tape 2 inch black"), request_words("velcro 7/8-inch squares"), request_words("iphone 13 case")
    (['gaffers', 'tape', 'black'], ['velcro', 'squares'], ['iphone', 'case'])
    """
    lead = rf"^(?:\W*(?:{'|'.join(sorted(_CONNECTORS))})\b)+"
    text = _MEASURE.sub(lambda m: " " if unit_at(m.group(0), len(m.group(1))) else m.group(0), text.lower())
    for piece in re.split(r"[,;:!?()]|\.(?!\d)", text):  # "nvm, show me laptops": the first piece naming something
        piece = re.sub(lead, " ", piece.strip())  # "which toner ...": the question word is no clause end
        words = _WORD.findall(_CLAUSE_END.split(f" {piece} ", maxsplit=1)[0])
        if any(w not in _FILLER and w not in STOPWORDS for w in _WORD.findall(piece)):
            return [w for i, w in enumerate(words)
                    if not (i and words[i - 1] in _POSSESSIVE) and len(w) >= 2
                    and w not in STOPWORDS and w not in _FILLER and w not in _POSSESSIVE and w not in brands]
    return []


# an untyped product takes its series' type when at least this many typed products of the series
# (brand and the title's next word: "Canon EF") have it and none has another (Icecat, first 4500:
# 7 "Canon EF ... lens" titles; 11 other Canon EF titles say no type: "Canon EF 28mm f/1.8 USM SLR Black")
SERIES_MIN = 2
# ... and when its spec keys overlap a typed sibling's at least this much (Jaccard; Icecat: an
# untyped Canon EF lens shares 0.70-0.72 of a typed one's keys, an HP Compaq dc7800p desktop 0.58 of a notebook's)
SPEC_OVERLAP = 0.65


def series(p) -> str | None:
    """A product's series: its brand and the words of its title after the brand up to the model
    number, two at most ("canon ef", "samsung galaxy tab": a tablet, not one of the phones).

    >>> from retrieval.catalog import Product
    >>> series(Product("1", "Canon EF 28mm f/1.8 USM Black", brand="Canon")), series(Product("2", "Lens cap")) is None
    ('canon ef', True)
    >>> series(Product("3", "Samsung Galaxy Tab S5e SM-T720N", brand="Samsung"))
    'samsung galaxy tab'
    """
    title, brand = (p.title or "").lower(), (p.brand or "").lower()
    if not brand or not title.startswith(brand + " "):
        return None
    words = []
    for w in title[len(brand):].split()[:2]:
        if _NUMBER.search(w):
            break
        words.append(w)
    return " ".join([brand, *words]) if words else None


def same_specs(a: set, b: set) -> float:
    """Jaccard overlap of two products' spec keys.

    >>> same_specs({"focal_length", "weight"}, {"focal_length", "weight", "colour"})
    0.6666666666666666
    """
    return len(a & b) / len(a | b) if a | b else 0.0


def series_types(products, of: dict[str, str]) -> dict[str, str]:
    """Types for untyped products from their series (``SERIES_MIN``) when their spec sheet is like
    a typed sibling's (``SPEC_OVERLAP``): a Canon EF title without a type word is a lens when the
    series' typed titles are all lenses; an "HP Compaq LE1711" monitor is no HP Compaq notebook."""
    typed: dict[str, Counter] = {}
    specs: dict[str, list[set]] = {}
    for p in products:
        if p.id in of and (key := series(p)):
            typed.setdefault(key, Counter())[of[p.id]] += 1
            specs.setdefault(key, []).append(set(p.attributes or {}))
    out = {}
    for p in products:
        key = series(p) or ""
        got = typed.get(key) if p.id not in of else None
        if got and len(got) == 1 and sum(got.values()) >= SERIES_MIN:
            mine = set(p.attributes or {})
            if max(same_specs(mine, theirs) for theirs in specs[key]) >= SPEC_OVERLAP:
                out[p.id] = next(iter(got))
    return out


@dataclass(slots=True)
class ProductTypes:
    """A catalog's type vocabulary (phrase -> products) and each product's type."""

    size: Counter = field(default_factory=Counter)  # type phrase -> products of that type
    of: dict[str, str] = field(default_factory=dict)  # product id -> its type phrase
    loose: dict[str, str] = field(default_factory=dict)  # untyped product id -> its own, rarer phrase
    brands: set = field(default_factory=set)  # brand names, lower-case: never a type ("Case Logic" is no case)
    _keys: dict[str, str] = field(default_factory=dict)  # stemmed phrase -> phrase
    _vectors: np.ndarray | None = None  # MiniLM of the phrases, in ``size`` order (built on first use)

    @classmethod
    def build(cls, products) -> "ProductTypes":
        """Two passes over the products: count the declared phrases, then type each product."""
        products = list(products)
        declared = {p.id: declared_phrase(p) for p in products}
        given = {p.id: _product_type(p) for p in products}
        values = Counter(v for p in products for v in _own_values(p.attributes))
        counts: Counter = Counter()
        for p in products:
            for phrase in {declared[p.id], given[p.id]} - {None}:
                counts[phrase] += 1
        # a capitalised word after the model ("Notebook", "Gray") is a type only where some title writes
        # it lower-case, as titles write their types, or the catalog's product_type says it
        written = {ph for p in products for ph in (declared_phrase(p, lower_only=True), given[p.id]) if ph}
        counts = Counter({ph: n for ph, n in counts.items() if ph in written})
        t = cls(brands={p.brand.lower() for p in products if p.brand})
        # a phrase that is more often a whole spec value than a declared type is a spec ("Black" after
        # the model: 4 titles, 543 colour values; "notebook" declared 13 times, a value 10 times)
        t._keys = {phrase_key(ph): ph for ph, n in counts.items() if n >= MIN_PRODUCTS and phrase_key(ph) and values[ph] <= n}
        for p in products:
            mine = next((ph for ph in (declared[p.id], given[p.id]) if ph and phrase_key(ph) in t._keys), None)
            mine = t._keys[phrase_key(mine)] if mine else head_in_name(p.title or "", t._keys)
            if mine:
                t.of[p.id] = mine
                t.size[mine] += 1
            elif declared[p.id]:
                t.loose[p.id] = declared[p.id]
        t.of.update(series_types(products, t.of))
        return t

    def phrases(self) -> list[str]:
        """The type phrases, most products first."""
        return [ph for ph, _ in self.size.most_common()]

    def asked(self, text: str, embed=None) -> list[str]:
        """The types a request asks for, [] when it names none (``asked_for``)."""
        return self.asked_for(text, embed)[1]

    def asked_for(self, text: str, embed=None) -> tuple[str | None, list[str]]:
        """The shopper's word that names a type and the types it names ((None, []): none). The
        head of the request's noun ("hdmi cable" -> cable) decides; a two-word phrase of the
        vocabulary said whole ("toner cartridge") is that type. ``embed`` (MiniLM, text -> unit
        vector) matches words the titles do not use ("laptop" -> notebook)."""
        low = text.lower()
        for b in self.brands:  # a brand said whole ("case logic sleeve", "hp toner") is no type
            if b in low:
                low = re.sub(rf"(?<!\w){re.escape(b)}(?!\w)", " ", low)
        words = request_words(low, self.brands)
        if not words or not self.size:
            return None, []
        keys = [stem(w) for w in words]
        for i in range(len(keys) - 1):
            whole = self._keys.get(f"{keys[i]} {keys[i + 1]}")
            if whole in self.size:
                return f"{words[i]} {words[i + 1]}", [whole]
        said, found, level = None, [], 0
        for w, k in zip(words, keys):  # the last word naming a type, most surely, is the request's head
            got, how = self._match(w, k, embed)
            if got and how >= level:  # ties: the later word, the head of "usb mouse"
                said, found, level = w, got, how
        return said, found

    def _match(self, word: str, key: str, embed) -> tuple[list[str], int]:
        """Types one word names and how surely (3: the phrase or its head by stem; 2: MiniLM with
        the phrase and its head both at least ``TYPE_SIMILARITY``, so "prints" is no "printing
        paper"; 0: none). A word that only modifies types ("toner" in "toner cartridge", where
        titles also say "Yellow Toner") names none: no filter, the search decides."""
        exact = [ph for k, ph in self._keys.items() if (k == key or k.split()[-1] == key) and ph in self.size]
        if exact:
            return exact, 3
        if embed is None:
            return [], 0
        names = self.phrases()
        sims, heads = self._similarities(key, embed)
        named = [ph for ph, s, h in zip(names, sims, heads) if min(s, h) >= TYPE_SIMILARITY]
        return named, (2 if named else 0)

    def _similarities(self, key: str, embed) -> tuple[np.ndarray, np.ndarray]:
        """MiniLM cosine of the word with every phrase and with every phrase's head."""
        if self._vectors is None:
            names = self.phrases()
            self._vectors = np.stack([np.asarray(embed(t), dtype=np.float32) for t in [*names, *map(head, names)]])
        v = self._vectors @ np.asarray(embed(key), dtype=np.float32)
        return v[: len(v) // 2], v[len(v) // 2:]

    def keeps(self, p, types: list[str], said: str | None = None) -> bool:
        """Whether product ``p`` is of one of ``types`` (no types asked: every product). A product
        the vocabulary does not type ("Cooler Master Blade Master 120 Computer case", its phrase
        too rare) passes when the shopper's word ``said`` is the head of the asked types and of
        its own title ("case"); never on a MiniLM match, which its words cannot confirm.

        >>> t = ProductTypes(of={"a": "notebook case"}, loose={"b": "shoulder case"})
        >>> from retrieval.catalog import Product
        >>> t.keeps(Product("a", "x"), ["notebook case"]), t.keeps(Product("b", "x"), ["notebook case"], "cases")
        (True, True)
        >>> t.keeps(Product("c", "Acme Laptop Stand"), ["notebook"], "laptop")
        False
        """
        if not types:
            return True
        if p.id in self.of:
            return self.of[p.id] in types
        word = stem(said.split()[-1]) if said else None
        if not word or not any(head(t) == word for t in types):
            return False
        own = self.loose.get(p.id)
        return (own is not None and head(own) == word) or head_in_name(p.title or "", {word: word}) == word


_LOCK = threading.Lock()


def types_of(catalog) -> ProductTypes | None:
    """The catalog's product types, built on first use and kept on the catalog object for its
    current version; None when most products have categories (``CATEGORISED_SHARE``)."""
    version = catalog.store.version()
    cached = getattr(catalog, "_shop_product_types", None)
    if cached is not None and cached[0] == version:
        return cached[1]
    with _LOCK:
        cached = getattr(catalog, "_shop_product_types", None)
        if cached is not None and cached[0] == version:
            return cached[1]
        products = list(catalog.store.iter_products())
        categorised = sum(1 for p in products if p.categories)
        types = None if categorised >= CATEGORISED_SHARE * max(1, len(products)) else ProductTypes.build(products)
        catalog._shop_product_types = (version, types)
        return types


def kinds_sold(catalog, n: int = 2) -> list[str]:
    """The catalog's biggest kinds of product, as a shopper names them: its largest leaf categories
    that are nouns ("headphones"; not "Women's", a leaf under "Running Shoes"), else, for a catalog
    without categories, its most common product types sold at least three times ("toner
    cartridges"), never a unit ("mm") or a piece of a word."""
    from assistant.vocabulary import vocabulary_of
    from retrieval.units import UNITS

    vocab = vocabulary_of(catalog)
    leaves = [c for c, _ in vocab.category_size.most_common() if c in vocab.leaves]
    named = [c for c in leaves if len(c) >= 4 and not c.lower().endswith(("'s", "’s"))]
    if named:
        return [c.lower() for c in named[:n]]
    types = types_of(catalog)
    found = [ph for ph, k in types.size.most_common(20)
             if k >= 3 and len(ph) >= 3 and ph not in UNITS and all(w in vocab.token_ids for w in ph.split())] if types else []  # fmt: skip
    return [plural(ph) for ph in found[:n]]


def plural(phrase: str) -> str:
    """ "toner cartridge" -> "toner cartridges" (a type is named in the singular).

    >>> plural("toner cartridge"), plural("battery"), plural("headphones"), plural("mouse"), plural("switch")
    ('toner cartridges', 'batteries', 'headphones', 'mice', 'switches')
    """
    if phrase.endswith("s"):
        return phrase
    if phrase.endswith("mouse"):  # the one irregular plural among kinds of product seen in the catalogs
        return phrase[:-5] + "mice"
    if phrase.endswith(("ch", "sh", "x", "z")):
        return phrase + "es"
    if phrase.endswith("y") and phrase[-2:-1] not in "aeiou":
        return phrase[:-1] + "ies"
    return phrase + "s"
