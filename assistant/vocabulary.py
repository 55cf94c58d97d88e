"""What a catalog's products can be asked about: its attributes (with their units and the
share of each category that has them), its categories and its product titles.

Built once per catalog from the products themselves (``CatalogVocabulary.build``) and cached on
the catalog object (``vocabulary_of``), so nothing here knows any one catalog: "noise" is an
attribute because products say "noise: 72 dB", and it measures sound because "dB" does.

Example::

    >>> from retrieval.catalog import Product
    >>> v = CatalogVocabulary.build([
    ...     Product(id="a", title="Acme Blender", categories=["Blenders"], attributes={"noise": "72 dB", "colour": "red"}),
    ...     Product(id="b", title="Zeta Blender", categories=["Blenders"], attributes={"noise": "80 dB"}),
    ... ])
    >>> v.attributes["noise"].dimension, v.attributes["colour"].numeric
    ('sound', False)
    >>> v.coverage("noise", ["Blenders"])
    1.0
"""

from __future__ import annotations

import re
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from retrieval.bm25 import STOPWORDS
from retrieval.units import UNITS, parse_measure

# brand fields that name no brand ("Unknown"): such a listing's brand is the one its title starts with
UNBRANDED = frozenset({"", "unknown", "generic", "unbranded", "n/a", "na", "none", "no brand"})
# share of a key's values that must read as numbers for the key to be numeric
NUMERIC_SHARE = 0.6
# a key whose values are mostly words and this share of them different is a name, not a measure: Icecat's
# "model" (2901 distinct of 3000, 21 % quoting a length or size) took "at least 40 inch" from the TVs'
# display diagonal; shoe sizes ("US 9", "27 in" monitors beside them) repeat
NAME_DISTINCT = 0.9
_PLAIN_NUMBER = re.compile(r"^\s*-?\d+(?:[.,]\d+)?\s*$")
_WORD = re.compile(r"[a-z0-9]+")
# a straight double quote after a number is inches ('39.6 cm (15.6")' in Icecat's notebook titles)
_INCHES = re.compile(r'^(\d+(?:[.,]\d+)?)\s?"')
# a capitalised word that does not open the text or a sentence: a name ("works with Apple iPads",
# "(Apple)", "AppleTalk, Apple")
_NAMED = re.compile(r"(?<![.!?]\s)(?<![.!?])(?<=[^\w])[A-Z][a-z]+\b")


def label(key: str) -> str:
    """An attribute key as words: ``battery_life`` -> "battery life", ``display_diagonal`` too.

    >>> label("attr_n_battery_life"), label("thermal_design_power__tdp_")
    ('battery life', 'thermal design power tdp')
    """
    key = re.sub(r"^attr_[tnb]_", "", key)
    return " ".join(w for w in re.split(r"[_\s]+", key.lower()) if w)


def numeric_value(value, scale: float = 1.0) -> float | None:
    """A spec value as a number in its dimension's base unit ("1.2 kg" -> 1200.0); a plain
    number ("1.2", from catalogs that keep the unit in the key) times ``scale`` (its unit's
    factor, when known); else None.

    >>> numeric_value("1.2 kg"), numeric_value("15.6"), numeric_value("black"), round(numeric_value("17", 25.4), 1)
    (1200.0, 15.6, None, 431.8)
    """
    m = parse_measure(str(value))
    if m is not None:
        return m.value
    s = str(value)
    return float(s.replace(",", ".")) * scale if _PLAIN_NUMBER.match(s) else None


def _unit_in_text(x: float, raw: str, text: str):
    """The unit the product's own text writes next to the plain spec number ``raw``
    ("17" in '43.2 cm (17")' -> inch): how a catalog that keeps units out of its specs
    (Icecat's attr_n_*) says which unit they are in."""
    i = text.find(raw)
    while i >= 0:
        if i == 0 or not (text[i - 1].isdigit() or text[i - 1] in ".,"):
            m = parse_measure(_INCHES.sub(r"\1 in", text[i : i + len(raw) + 12]))
            if m is not None and m.value and abs(m.value / UNITS[m.unit][1] - x) < 1e-6 * max(1.0, x):
                return m
        i = text.find(raw, i + 1)
    return None


@dataclass(slots=True)
class Attribute:
    key: str
    label: str
    dimension: str | None = None  # "mass", "sound", ...; None: unitless number or categorical
    numeric: bool = False
    count: int = 0  # products that have it
    scale: float | None = None  # plain-number values: their unit's factor, read from the products' text
    typical: float | None = None  # the median plain-number value (to guess a unit by magnitude)
    distinct: int = 0  # different values among its products (a model number: as many as products)


@dataclass(slots=True)
class CatalogVocabulary:
    attributes: dict[str, Attribute] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)
    category_size: Counter = field(default_factory=Counter)
    key_in_category: dict[str, Counter] = field(default_factory=dict)  # category -> key -> products
    titles: dict[str, str] = field(default_factory=dict)  # product id -> title (lower-cased)
    brands: list[str] = field(default_factory=list)
    token_ids: dict[str, set] = field(default_factory=dict)  # title/brand word -> product ids
    keys_of: dict[str, frozenset] = field(default_factory=dict)  # product id -> its attribute keys
    words: set = field(default_factory=set)  # every word of the catalog's product text ("is 'bose' ours?")
    word_df: Counter = field(default_factory=Counter)  # word -> products whose text has it
    # word -> products whose text writes it capitalised inside a sentence: a name ("compatible with Apple iPad")
    named: Counter = field(default_factory=Counter)
    leaves: dict[str, str] = field(default_factory=dict)  # leaf category -> its path ("Outdoor & Camping Tents")
    # on a catalog without categories whose products share their descriptions (UniSRec's run-together
    # category path: "Industrial & Scientific Test, Measure & Inspect Sound Measurement"): each shared
    # description -> its words that set it apart (``filed_groups``); {} elsewhere
    groups: dict[str, str] = field(default_factory=dict)
    # category -> key -> dimensions of its values: "capacity" is litres for kettles, people for tents
    dims_in_category: dict[str, dict[str, Counter]] = field(default_factory=dict)
    # category -> word-valued key -> its values' parts ("natural rubber" of "natural rubber, PU")
    values_in_category: dict[str, dict[str, Counter]] = field(default_factory=dict)
    # a one-word value and its prefix-negated twin of one key ("managed" / "unmanaged" switch_type):
    # word -> key; the search cannot tell them apart, so the shopper's word is a requirement
    opposed: dict[str, str] = field(default_factory=dict)
    total: int = 0
    unbranded: int = 0  # products whose brand field names no brand (``UNBRANDED``)

    @classmethod
    def build(cls, products) -> "CatalogVocabulary":
        """One pass over the catalog's products."""
        v = cls()
        dims: dict[str, Counter] = defaultdict(Counter)
        numeric: Counter = Counter()
        plain_units: dict[str, Counter] = defaultdict(Counter)
        plain_values: dict[str, list] = defaultdict(list)
        tried: Counter = Counter()
        values: dict[str, set] = defaultdict(set)
        key_in_cat: dict[str, Counter] = defaultdict(Counter)
        brands: set[str] = set()
        described: Counter = Counter()
        for p in products:
            v.total += 1
            if p.description and len(p.description) <= GROUP_MAX_CHARS:
                described[p.description] += 1
            cats = list(p.categories or [])
            for c in cats:
                v.category_size[c] += 1
            if cats:
                v.leaves.setdefault(cats[-1], " ".join(dict.fromkeys(cats)))
            if p.brand:
                brands.add(p.brand)
            if (p.brand or "").strip().lower() in UNBRANDED:
                v.unbranded += 1
            title = (p.title or "").lower()
            v.titles[p.id] = title
            for w in set(_WORD.findall(f"{title} {(p.brand or '').lower()}")):
                v.token_ids.setdefault(w, set()).add(p.id)
            text = " ".join([p.description[:600], *p.features[:10], *(str(x) for x in (p.attributes or {}).values()), *cats])
            mine = set(_WORD.findall(f"{text} {title}".lower()))
            v.words.update(mine)
            v.word_df.update(mine)
            v.named.update({w.lower() for w in _NAMED.findall(text)})
            v.keys_of[p.id] = frozenset(k for k, x in (p.attributes or {}).items() if x not in (None, ""))
            for key, value in (p.attributes or {}).items():
                if value in (None, "") or key in ("url",):
                    continue
                a = v.attributes.get(key)
                if a is None:
                    a = v.attributes[key] = Attribute(key, label(key))
                a.count += 1
                values[key].add(str(value).lower())
                for c in cats:
                    key_in_cat[c][key] += 1
                m = parse_measure(str(value))
                if m is not None:
                    dims[key][m.dimension] += 1
                    numeric[key] += 1
                    for c in cats:
                        v.dims_in_category.setdefault(c, {}).setdefault(key, Counter())[m.dimension] += 1
                elif cats and not any(ch.isdigit() for ch in str(value)) and len(str(value)) <= 60:
                    for part in re.split(r"\s*[,/;]\s*", str(value).lower()):
                        if len(part) >= 3:
                            for c in cats:
                                v.values_in_category.setdefault(c, {}).setdefault(key, Counter())[part] += 1
                if m is None and _PLAIN_NUMBER.match(str(value)):
                    numeric[key] += 1
                    x = float(str(value).replace(",", "."))
                    if len(plain_values[key]) < 500:
                        plain_values[key].append(x)
                    if tried[key] < 25:  # enough to read the unit; the rest would only cost build time
                        tried[key] += 1
                        said = _unit_in_text(x, str(value).strip(), f"{p.title} {p.description[:300]}".lower())
                        if said is not None:
                            plain_units[key][(said.dimension, said.unit)] += 1
        for key, a in v.attributes.items():
            a.distinct = len(values[key])
            a.numeric = numeric[key] >= NUMERIC_SHARE * a.count
            if plain_values[key]:
                vals = sorted(plain_values[key])
                a.typical = vals[len(vals) // 2]
            if plain_units[key] and not dims[key]:
                (dim, unit), n = plain_units[key].most_common(1)[0]
                if n >= 3 and n >= NUMERIC_SHARE * sum(plain_units[key].values()):
                    a.dimension, a.scale = dim, UNITS[unit][1]
            if dims[key]:  # the measured values' dimension, even where words are mixed in ("US 9")
                dim, n = dims[key].most_common(1)[0]
                a.dimension = dim if n >= NUMERIC_SHARE * sum(dims[key].values()) else None
            if not a.numeric and a.distinct >= NAME_DISTINCT * a.count:
                a.dimension = None  # names ("model": 'SATA Cable (2Ft.)'), whose few lengths size nothing
        v.opposed = opposed_values(values)
        v.categories = sorted(v.category_size)
        v.key_in_category = dict(key_in_cat)
        v.brands = sorted(brands, key=len, reverse=True)
        if not v.leaves:
            v.groups = filed_groups(described, v.total)
        return v

    def coverage(self, key: str, categories: list[str]) -> float:
        """The share of products in ``categories`` (all products when none) that have ``key``."""
        if not categories:
            a = self.attributes.get(key)
            return (a.count / self.total) if a and self.total else 0.0
        have = sum(self.key_in_category.get(c, Counter())[key] for c in categories)
        size = sum(self.category_size[c] for c in categories)
        return have / size if size else 0.0

    def dimension_in(self, key: str, categories: list[str]) -> str | None:
        """The dimension of ``key``'s values among ``categories`` (the catalog's when none)."""
        if not categories:
            a = self.attributes.get(key)
            return a.dimension if a else None
        got: Counter = Counter()
        for c in categories:
            got.update(self.dims_in_category.get(c, {}).get(key, Counter()))
        if not got:
            return None
        dim, n = got.most_common(1)[0]
        return dim if n >= NUMERIC_SHARE * sum(got.values()) else None

    def key_counts(self, ids: set) -> Counter:
        """How many of the products ``ids`` have each attribute key."""
        out: Counter = Counter()
        for i in ids:
            out.update(self.keys_of.get(i, ()))
        return out

    def title_scope(self, words: list[str]) -> list[set] | None:
        """The products each of the shopper's words names in titles: the asked-for kind of
        product on a catalog without categories ("toner" on Icecat); None when no word does."""
        sets = [self.token_ids[w] for w in words
                if (len(w) >= 3 and not w.isdigit() or len(w) == 2 and w.isalpha()) and w not in STOPWORDS and len(self.token_ids.get(w, ())) >= 3]
        return sets or None

    def numeric_keys(self, dimension: str | None = None) -> list[Attribute]:
        return [a for a in self.attributes.values() if a.numeric and (dimension is None or a.dimension == dimension)]


# English prefixes that say the opposite of a word ("unmanaged", "non-slip", "inactive")
NEGATING_PREFIXES = ("un", "non-", "non", "in", "dis")


def opposed_values(values: dict[str, set]) -> dict[str, str]:
    """The one-word values whose prefix-negated twin is a value of the same key, both ways.

    >>> opposed_values({"switch_type": {"managed", "unmanaged", "smart"}, "colour": {"black"}})
    {'unmanaged': 'switch_type', 'managed': 'switch_type'}
    """
    out: dict[str, str] = {}
    for key, vs in values.items():
        for x in sorted(vs):
            base = next((x[len(p):] for p in NEGATING_PREFIXES if x.startswith(p) and x[len(p):] in vs), None)
            if base and _WORD.fullmatch(x) and len(base) >= 3:
                out[x], out[base] = key, key
    return out


_BUILD_LOCK = threading.Lock()


# a description names a group of products (a category path) when at most this long and shared by
# at least two products; the catalog is filed that way when such groups hold at least GROUP_SHARE
# of its products (the Amazon 2018 Scientific set in UniSRec's form: 776 paths for 4,385 items,
# 95 % of them in a shared one; Icecat's descriptions are each product's own)
GROUP_MAX_CHARS = 200
GROUP_SHARE = 0.5
# a word in at least this share of the groups says nothing about any ("Industrial & Scientific")
GROUP_COMMON = 0.3


def filed_groups(described: Counter, total: int) -> dict[str, str]:
    """The shared descriptions that file the catalog's products into groups, each with its words
    that set it apart from the others (the department every path starts with left out); {} when
    too few products share theirs.

    >>> d = Counter({"Shop Tools Calipers": 3, "Shop Tools Anchors": 2, "Shop Clean Wipes": 2, "Shop Clean Mops": 2, "A caliper.": 1})
    >>> list(filed_groups(d, 10).values())
    ['calipers', 'anchors', 'wipes', 'mops']
    >>> filed_groups(Counter({"x": 1, "y": 1}), 2)
    {}
    """
    shared = {d: n for d, n in described.items() if n >= 2}
    if not total or sum(shared.values()) < GROUP_SHARE * total:
        return {}
    df = Counter(w for d in shared for w in set(d.split()))
    common = {w for w, n in df.items() if n >= GROUP_COMMON * len(shared)}
    # lower-cased: said in answers as a kind of product ("none of the sound measurement ..."), not as a name
    return {d: (" ".join(w for w in d.split() if w not in common) or d).lower() for d in shared}


def vocabulary_of(catalog) -> CatalogVocabulary:
    """The catalog's vocabulary, built on first use and kept on the catalog object for its
    current version (a catalog change rebuilds it on the next turn). One build at a time: a
    turn that arrives while ``warm`` is building waits for it instead of building again."""
    version = catalog.store.version()
    cached = getattr(catalog, "_shop_vocabulary", None)
    if cached is not None and cached[0] == version:
        return cached[1]
    with _BUILD_LOCK:
        cached = getattr(catalog, "_shop_vocabulary", None)
        if cached is not None and cached[0] == version:
            return cached[1]
        v = CatalogVocabulary.build(catalog.store.iter_products())
        catalog._shop_vocabulary = (version, v)
        return v


def warm(catalog) -> threading.Thread:
    """Build the vocabulary in the background (a 20k-product catalog takes seconds), so the
    first shopper does not wait for it."""
    t = threading.Thread(target=vocabulary_of, args=(catalog,), name="vocabulary", daemon=True)
    t.start()
    return t
