"""Candidate selection: which catalog products a conversation's state may show.

Pure over (catalog, state): no LLM, no conversation store, so every rule here tests with a
real small catalog alone. ``Candidates.retrieve`` is hybrid search under the state's
filters, each filter enforced again by ``allowed`` (a stated price range or brand rule is
never broken), superlatives scoped and ordered by ``sort_hits``; ``alternative`` finds one
product from a substitute category for words the shown ones lack, ``unmatched`` says which
words those are.

Three seams are single named functions on purpose: ``allowed(p, state)`` (every filter a
product must pass), ``ordered(state)`` (whether the state asks for an order other than
relevance) and ``sort_hits(hits, state)`` (that order), so a new constraint or sort order
is one line in each.

Example (a catalog from ``retrieval.search.open_catalog``)::

    pick = Candidates(catalog)
    hits = pick.retrieve(state)           # every hit passes pick.allowed(h.product, state)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from assistant import answers
from assistant import attributes as attrs  # understand hook (issue 11): attribute constraints/orders
from assistant.carryover import must_match  # understand hook (issue 11)
from assistant.grounding import facts_text, unmatched_words
from assistant.product_types import phrase_key, stem, types_of
from assistant.references import COLOURS
from assistant.understand import State
from assistant.vocabulary import UNBRANDED, vocabulary_of
from retrieval.bm25 import tokenize
from retrieval.query import StructuredQuery

# a superlative without a category ranks hits scoring at least this share of the best one
SUPERLATIVE_FLOOR = 0.5
# MiniLM cosine above which a hit without any query word still counts as relevant
# (e.g. "earphones" for "headphones"); unrelated products score 0.1-0.37 on the test shop
DENSE_MIN = 0.4
# an alternative's category must be a substitute for the asked one: MiniLM cosine of the two names
# (demo catalog: Headphones/Earbuds 0.67 pass; Headphones/Speakers 0.58, Tents/Backpacks 0.47,
# Kettles/Blenders 0.25 do not: "a tent for heavy rain" must not offer a backpack with a rain cover)
SUBSTITUTE_MIN = 0.6
# hits searched: a superlative orders the whole relevant set, so it needs many more
K_RELEVANCE, K_SORTED = 50, 200


@dataclass(slots=True)
class Ranked:
    """A candidate with its scores: ``relevance`` from retrieval, ``stars`` predicted by the
    ranker (None: no prediction), ``score`` the two fused, ``why`` the reasons on its card."""

    product: object
    relevance: float
    stars: float | None
    score: float
    why: list[str] = field(default_factory=list)
    alternative: bool = False  # from outside the asked-for category (``Candidates.alternative``)


def relevant(hit) -> bool:
    """Hybrid search always returns *something*; a hit with no query word in its text must at
    least be semantically close, else "cheaper" after "a blender" would show headphones.

    >>> from retrieval.catalog import Product
    >>> from retrieval.search import Hit
    >>> relevant(Hit(Product("p1", "Steel Kettle"), 0.3, bm25=0.0, dense=0.2, matched=[]))
    False
    >>> relevant(Hit(Product("p2", "Sport Earbuds"), 0.3, bm25=0.0, dense=0.55, matched=[]))
    True
    """
    return bool(hit.matched) or hit.dense is None or hit.dense >= DENSE_MIN or (hit.bm25 or 0) > 0


def in_categories(p, categories: list[str]) -> bool:
    """In one of the categories, or named like one in its title (catalogs often
    categorise only some products: an uncategorised "Intel ... processor" is a Processor).

    >>> from retrieval.catalog import Product
    >>> in_categories(Product("p1", "Intel Core i5 Processor"), ["Processors"])
    True
    >>> in_categories(Product("p2", "Steel Kettle", categories=["Kitchen", "Kettles"]), ["Blenders"])
    False
    """
    mine = {c.lower() for c in p.categories}
    if not mine and p.description:  # filed by a shared description (``CatalogVocabulary.groups``)
        mine = {p.description.lower()}
    title = p.title.lower()
    for c in categories:
        c = c.lower()
        stem = c[:-1] if c.endswith("s") and len(c) > 4 else c
        if c in mine or re.search(rf"\b{re.escape(stem)}", title):
            return True
    return False


def filed_first(hits: list, categories: list[str], enough: int = 4) -> list:
    """The hits filed under an asked category; those that pass only because their title names it
    (a "Monitor Light Bar" for "monitors") are kept only when fewer than ``enough`` (a screenful of
    cards) are filed there, and then after them.

    >>> from retrieval.catalog import Product
    >>> from retrieval.search import Hit
    >>> hits = [Hit(Product("l", "Light Bar Monitor Lamp", categories=["Lamps"]), 1.0),
    ...         Hit(Product("m", "View 27 Monitor", categories=["Monitors"]), 0.5)]
    >>> [h.product.id for h in filed_first(hits, ["Monitors"])], [h.product.id for h in filed_first(hits, ["Monitors"], 1)]
    (['m', 'l'], ['m'])
    """
    if not categories:
        return hits
    asked = {c.lower() for c in categories}
    filed = [h for h in hits if asked & ({c.lower() for c in h.product.categories} or {(h.product.description or "").lower()})]
    if not filed:
        return hits
    return filed if len(filed) >= enough else filed + [h for h in hits if h not in filed]


# a relative clause of a request ("... that actually looks glossy"): it describes, it does not name the kind
_RELATIVE = re.compile(r"\b(?:that|which|who)\b.*$", re.I)
# words that may follow a kind without making a compound of it ("gaming mouse with 7 buttons")
_AFTER_HEAD = frozenset("with for and or by from in w wireless wired set kit pack combo edition".split())


def compound_words(titles: list[str], phrase: list[str]) -> set[str]:
    """Words that make a compound of the kind where titles end a part with them ("Mouse Pad," in
    two titles or more: a pad is a kind of its own).

    >>> sorted(compound_words(["Mouse Pad, Black", "XL Mouse Pad - Blue", "Razer Gaming Mouse: 16k DPI"], ["mouse"]))
    ['pad']
    """
    words = r"\W+".join(re.escape(w) for w in phrase)
    seen: dict[str, int] = {}
    for t in titles:
        for m in re.finditer(rf"\b{words}\w*\s+([a-z][a-z-]*)(?=\s*(?:[,;:|()\[\]/]|\s-\s|$))", t.lower()):
            seen[m.group(1)] = seen.get(m.group(1), 0) + 1
    return {w for w, n in seen.items() if n >= 2 and w not in _AFTER_HEAD and w not in COLOURS}  # "Notebook Black,"


def names_as_head(title: str, phrase: list[str], compounds: set[str]) -> bool:
    """Whether a title names the kind as what it is somewhere, not only as the first half of a
    compound (``compound_words``): "Qcute Gaming Mouse Pad" is a pad, "Smart TV Wi-Fi Black" and
    "Gaming Mouse with 7 Buttons" are what they say.

    >>> names_as_head("Qcute Mouse Pad, Gaming Mouse Pad with Stitched Edges", ["mouse"], {"pad"})
    False
    >>> names_as_head("Samsung QE65Q950TST Smart TV Wi-Fi Black", ["tv"], set())
    True
    """
    words = r"\W+".join(re.escape(w) for w in phrase)
    for m in re.finditer(rf"\b{words}\w*", title.lower()):
        nxt = re.match(r"\s+([a-z][a-z-]*)", title.lower()[m.end():])
        if not nxt or nxt.group(1) not in compounds:
            return True
    return False


def brand_of(p) -> str:
    """The product's brand field, lower case ('' when the field names no brand: ``UNBRANDED``)."""
    b = (p.brand or "").strip().lower()
    return "" if b in UNBRANDED else b


def by_brand(p, brands: list[str]) -> bool:
    """Whether ``p`` is by one of ``brands``: its brand field, or, for a listing whose field names
    no brand ("Unknown"), the brand its title starts with ("3M 1860 N95 Respirator").

    >>> from retrieval.catalog import Product
    >>> by_brand(Product("m", "3M 1860 N95 Respirator", brand="Unknown"), ["3M"])
    True
    >>> by_brand(Product("t", "Tape for 3M dispensers", brand="Unknown"), ["3M"]), by_brand(Product("k", "3M Tape", brand="Scotch"), ["3M"])
    (False, False)
    """
    want = {b.lower() for b in brands}
    mine = brand_of(p)
    if mine:
        return mine in want
    title = p.title.lower()
    return any(title.startswith(b + " ") or title == b for b in want)


# an accessory named after what it fits ("Platform Sticker for Creator Pro") keeps this share of
# its relevance when another hit names the asked-for words as itself ("3D Printer Creator Pro")
ACCESSORY_SHARE = 0.6
_FOR = re.compile(r"\s(?:for|fits|compatible with)\s", re.I)
# what an accessory fits ends where the title's next part begins ("... for Home or Office | 7/8in Squares")
_PART_END = re.compile(r"\s[|–-]\s|[|,;(]")


def named_as_itself(hit) -> bool | None:
    """Whether the query words a hit matched are in its title before any "for …" (the product
    itself) rather than only after it (an accessory for it); None when its title has none of them.

    >>> from retrieval.catalog import Product
    >>> from retrieval.search import Hit
    >>> [named_as_itself(Hit(Product(i, t), 1.0, matched=["creator", "pro"])) for i, t in
    ...  [("s", "Platform Sticker for Creator Pro"), ("p", "3D Printer Creator Pro"), ("x", "Filament")]]
    [False, True, None]
    >>> named_as_itself(Hit(Product("v", "Hook Fasteners | Perfect for Home | 7/8in Squares"), 1.0, matched=["squares"])) is None
    True
    """
    words = set(hit.matched) - set(tokenize(hit.product.brand or ""))  # the maker's name is on both
    head, *rest = _FOR.split(hit.product.title, maxsplit=1)
    if words & set(tokenize(head)):
        return True
    fits = _PART_END.split(rest[0], maxsplit=1)[0] if rest else ""  # "Perfect for Home or Office | 7/8in Squares"
    return False if words & set(tokenize(fits)) else None


def allowed(p, state: State) -> bool:
    """Every filter of the state, enforced on one product: a stated price range or brand rule
    is never broken (retrieval's own filters are a first pass, not the guarantee)."""
    f = state.query
    if f.price_min is not None and (p.price is None or p.price < f.price_min):
        return False
    if f.price_max is not None and (p.price is None or p.price > f.price_max):
        return False
    if f.brands and not by_brand(p, f.brands):
        return False
    if f.exclude_brands and by_brand(p, f.exclude_brands):
        return False
    if p.id in f.exclude_ids:
        return False
    if f.min_rating is not None and (p.average_rating or 0) < f.min_rating:
        return False
    if f.categories and not in_categories(p, f.categories):
        return False
    if not attrs.allowed(p, state):  # understand hook (issue 11): "under 1 kg", "not a kettle"
        return False
    if state.colours:
        facts = facts_text(p)
        if not all(re.search(rf"\b{c}\b", facts) or (c == "grey" and "gray" in facts) for c in state.colours):
            return False
    return True


# a request word that starts at most this many titles names their maker (a catalog without a brand
# field): "duracell power bank" on the Amazon 2023 sample, whose items have no brand
NAME_MAX_TITLES = 3
# the share of its relevance a hit keeps when other hits' titles start with the named maker
NAMELESS_SHARE = 0.6


def favour_names(hits: list, text: str, titles: dict[str, str], token_ids: dict) -> None:
    """Hits whose title starts with a word of the request that starts few titles (a maker:
    "duracell") before hits that only match its common words ("power bank"), in place. Words
    elsewhere in titles are no names ("monitors", "catnip").

    >>> from retrieval.catalog import Product
    >>> from retrieval.search import Hit
    >>> hits = [Hit(Product("t", "Tulpock Power Bank"), 1.0), Hit(Product("d", "Duracell Powerbank"), 0.8)]
    >>> titles = {"t": "tulpock power bank", "d": "duracell powerbank", "x": "usb power bank"}
    >>> common = {"t", "d", "x"}
    >>> favour_names(hits, "duracell power bank", titles, {"duracell": {"d"}, "power": common, "bank": common})
    >>> [round(h.score, 2) for h in hits]
    [0.6, 0.8]
    """
    named = set()
    for w in set(re.findall(r"[a-z][a-z0-9-]{3,}", text.lower())):
        ids = token_ids.get(w, ())
        if 0 < len(ids) <= NAME_MAX_TITLES and all(titles.get(i, "").startswith(w) for i in ids):
            named |= set(ids)
    if named and any(h.product.id in named for h in hits):
        for h in hits:
            if h.product.id not in named:
                h.score *= NAMELESS_SHARE


# "iphone 13", "galaxy s21", "series 7": a name word and a model number; the words before a
# number that make it a budget, a count or a size instead ("under 15", "pack of 2", "size 9")
_MODEL = re.compile(r"\b([a-z][a-z-]{2,})\s?([a-z]?\d{1,4}[a-z]{0,3})\b(?!\s*(?:%|\$|€|£)|[/.,]\d)")  # not "7/8", "1.5"
_NOT_MODEL_NAME = frozenset(
    "under over below above than about around less more max min budget for from and with without the pack set "
    "of size sizes up to between only just least most top best rated stars star count pcs pieces piece days "
    "hours minutes years year old age ages kids adults people person room rooms".split()
)


def model_phrases(text: str) -> list[str]:
    """Name-plus-model-number phrases of a request, as lower-case "name number" strings; the number
    must not be a quantity with a unit ("15 inch", "2 pack").

    >>> model_phrases("phone cases for iPhone 13 under 15 bucks"), model_phrases("galaxy s21 screen protector")
    (['iphone 13'], ['galaxy s21'])
    >>> model_phrases("a 13 inch laptop under 800"), model_phrases("size 9 running shoes"), model_phrases("velcro 7/8 inch")
    ([], [], [])
    """
    from retrieval.units import UNITS

    out = []
    for m in _MODEL.finditer(text.lower()):
        name, number = m.group(1), m.group(2)
        after = text.lower()[m.end():].split()[:1]
        if name in _NOT_MODEL_NAME or name in UNITS or (after and after[0].strip(".,!?") in UNITS):
            continue
        if number.isdigit() and after and after[0].strip(".,!?") in ("bucks", "dollars", "euros", "pounds", "pack", "pcs"):
            continue
        out.append(f"{name} {number}")
    return out


# a bare model number of a request ("9006 led bulbs", "a 2070 graphics card"): three digits or more,
# no price, share, size or part of a longer code
_BARE_NUMBER = re.compile(r"(?<![\w.$€£/#-])(\d{3,})(?![\w.,/%-]|\s*(?:%|\$|€|£))")


def bare_numbers(text: str) -> list[str]:
    """Model numbers a request says without a name ("9006 led headlight bulbs"); a number a unit
    follows ("1000 mah", "500 gb") is a quantity, not a model.

    >>> bare_numbers("9006 led headlight bulbs"), bare_numbers("1000 mah power bank"), bare_numbers("under $100")
    (['9006'], [], [])
    """
    from retrieval.units import UNITS

    out = []
    for m in _BARE_NUMBER.finditer(text.lower()):
        after = text.lower()[m.end():].split()[:1]
        if not (after and after[0].strip(".,!?") in UNITS):
            out.append(m.group(1))
    return out


def names_number(title: str, number: str) -> bool:
    """Whether a title writes the model number whole ("9006/HB4"; not "90060", "19006").

    >>> names_number("ACAUTO 9006/HB4 LED Headlight Bulbs", "9006"), names_number("9003/H4 LED Bulbs", "9006")
    (True, False)
    """
    return re.search(rf"(?<![\w.]){number}(?![\w])", title) is not None


def names_model(title: str, phrase: str) -> bool:
    """Whether a title writes the model ("iPhone 13 Pro", "iPhone13"; not "iPhone 130").

    >>> names_model("OtterBox iPhone 13 Pro Case", "iphone 13"), names_model("Case for iPhone XR", "iphone 13")
    (True, False)
    """
    name, number = phrase.split(" ", 1)
    return re.search(rf"\b{re.escape(name)}[\s-]?{re.escape(number)}(?![0-9])", title.lower()) is not None


def model_fits(products: list, text: str, phrase: str) -> list[bool]:
    """Per product: its title writes the model and as many of the request's other words as any
    product's title does (an iPhone 13 screen protector is no fit for "cases for iphone 13")."""
    others = set(tokenize(text)) - set(tokenize(phrase))
    # a word inside a longer one counts ("phone" in "iPhone"), as for the unmatched-words note
    said = [sum(w in p.title.lower() for w in others) for p in products]
    need = max(said, default=0)
    return [names_model(p.title, phrase) and n >= need for p, n in zip(products, said)]


def favour_models(hits: list, text: str, sorted_: bool) -> list:
    """"cases for iphone 13": the hits whose titles write a model the request names first (an
    "iPhone XR" case does not fit); with a sort, only those, when any. A bare model number
    ("9006 bulbs": a 9003 bulb does not fit) keeps only the hits writing it, when any does.
    Unchanged when none does."""
    for number in bare_numbers(text):
        fits = [h for h in hits if names_number(h.product.title, number)]
        hits = fits or hits
    for phrase in model_phrases(text):
        fits = model_fits([h.product for h in hits], text, phrase)
        if any(fits) and not all(fits):
            if sorted_:
                return [h for h, f in zip(hits, fits) if f]
            for h, f in zip(hits, fits):
                if not f:
                    h.score *= NAMELESS_SHARE
            hits.sort(key=lambda h: -h.score)
    return hits


def demote_accessories(hits: list) -> None:
    """"the flashforge creator pro": the printer before the sticker "for Creator Pro" (in place)."""
    itself = [named_as_itself(h) for h in hits]
    if True in itself:
        for h, own in zip(hits, itself):
            if own is False:
                h.score *= ACCESSORY_SHARE


def ordered(state: State) -> bool:
    """Whether the state asks for an order other than relevance (a superlative): then the whole
    relevant set is searched and ``sort_hits`` orders it; ranking keeps that order.

    >>> ordered(State(StructuredQuery(text="kettle", sort="price_asc"))), ordered(State())
    (True, False)
    """
    return state.query.sort != "relevance" or bool(state.order)  # understand hook (issue 11): attribute orders


def sort_hits(hits: list, state: State) -> list:
    """The hits in the state's order (``ordered``; relevance: unchanged); products without the
    sort key go last.

    >>> from retrieval.catalog import Product
    >>> from retrieval.search import Hit
    >>> hits = [Hit(Product("a", "A", price=30.0), 0.9), Hit(Product("b", "B"), 0.8), Hit(Product("c", "C", price=12.0), 0.7)]
    >>> [h.product.id for h in sort_hits(hits, State(StructuredQuery(sort="price_asc")))]
    ['c', 'a', 'b']
    >>> [h.product.id for h in sort_hits(hits, State(StructuredQuery(sort="price_desc")))]
    ['a', 'c', 'b']
    """
    sort = state.query.sort
    if sort == "price_asc":
        hits = sorted(hits, key=lambda h: (h.product.price is None, h.product.price or 0))
    elif sort == "price_desc":
        hits = sorted(hits, key=lambda h: (h.product.price is None, -(h.product.price or 0)))
    elif sort == "rating_desc":
        hits = sorted(hits, key=lambda h: (-(h.product.average_rating or 0), -h.product.rating_count))
    if state.order:  # understand hook (issue 11): "the quietest", products lacking the attribute last
        hits = sorted(hits, key=lambda h: attrs.order_key(h.product, state.order))
    return hits


def search_query(state: State) -> StructuredQuery:
    """The conversation's query as retrieval gets it. Categories go into the text, not the
    filter: catalogs often categorise only some products (``allowed`` enforces them by
    category or title). The first colour is a filter before retrieval, so colour variants
    collapsed in the results are not lost; the colours also go into the text.

    >>> q = search_query(State(StructuredQuery(text="quiet", categories=["Blenders"]), colours=["red"]))
    >>> q.text, q.categories, q.attributes
    ('quiet Blenders red', [], {'colour': 'red'})
    """
    q = state.query
    words = [c for c in q.categories if c.lower().rstrip("s") not in q.text.lower()]
    return replace(
        q,
        text=" ".join([q.text, *words, *state.colours]).strip(),
        brands=list(q.brands),
        exclude_brands=list(q.exclude_brands),
        categories=[],
        exclude_ids=list(q.exclude_ids),
        attributes={"colour": state.colours[0]} if state.colours else {},
    )


def broader(state: State, keep: set[str] = frozenset()) -> State:
    """A need's kinds (title phrases) widened to their head words once none is left: after the
    three "solderless breadboard" titles, the other breadboards. The catalog's own categories
    (``keep``) stay as they are.

    >>> broader(State(StructuredQuery(categories=["solderless breadboard", "jumper wires"]), need="x")).query.categories
    ['breadboard', 'wires']
    >>> broader(State(StructuredQuery(categories=["Premium Beauty"]), need="x"), {"Premium Beauty"}).query.categories
    ['Premium Beauty']
    """
    wide = state.copy()
    wide.query.categories = list(dict.fromkeys(c if c in keep else c.split()[-1] for c in state.query.categories))
    return wide


def products(store, ids: list[str]) -> list:
    """Catalog products by id, in the given order; ids no longer in the catalog are skipped."""
    got = {p.id: p for p in store.get_many(list(ids))}
    return [got[i] for i in ids if i in got]


class Candidates:
    """Candidate selection over one catalog (``retrieval.search`` Catalog: ``search``,
    ``embed``, ``bm25`` and its ``store``)."""

    def __init__(self, catalog):
        self.catalog = catalog

    def products(self, ids: list[str]) -> list:
        """Catalog products by id, in the given order (``products``)."""
        return products(self.catalog.store, ids)

    def shown(self, state: State) -> list:
        """The products on screen after the last turn, in order."""
        return self.products(state.shown)

    def kinds(self, state: State) -> tuple[str | None, list[str]]:
        """The shopper's word naming a product type and the types it names, on a catalog without
        categories (``assistant.product_types``); (None, []) elsewhere or when none is named. Read
        from the topic's text, so it carries over with it ("cheaper?", "the one with the most ram")."""
        types = types_of(self.catalog)
        if types is None or state.query.categories:
            return None, []
        return types.asked_for(state.query.text, self.catalog.embed)

    def retrieve(self, state: State) -> list:
        """Hits that pass every filter; superlatives sort the relevant set over the whole catalog."""
        sorted_ = ordered(state)
        said, kinds = self.kinds(state)
        k = K_SORTED if sorted_ or kinds else K_RELEVANCE
        q = search_query(state)
        if kinds and not any(stem(said.split()[-1]) in phrase_key(t).split() for t in kinds):
            # the type's own words find its products ("laptop": the titles say "notebook")
            q = replace(q, text=" ".join([q.text, *kinds[:3]]))
        hits = self.catalog.search(q, k=k)
        if not hits and q.attributes:
            # the colour may live under a key the catalog's filter does not know
            # ("printing_colours"): search without it, allowed() checks the colour in the text
            hits = self.catalog.search(replace(q, attributes={}), k=k)
        vocab = vocabulary_of(self.catalog)
        if q.brands and vocab.unbranded:  # listings whose brand field names none ("Unknown") pass by their title's first word
            seen = {h.product.id for h in hits}
            more = self.catalog.search(replace(q, brands=[], attributes={}), k=k)
            hits += [h for h in more if h.product.id not in seen and not brand_of(h.product)]
        hits = [h for h in hits if allowed(h.product, state) and relevant(h)]
        hits = filed_first(hits, state.query.categories)
        if kinds:  # a laptop, not a laptop case: the type scopes the request as a category would
            types = types_of(self.catalog)
            typed = [h for h in hits if types.keeps(h.product, kinds, said)]
            # none of a new request's hits is of the type: its other words name what it is ("hyperx
            # 64gb ddr4 kit": memory modules); a budget follow-up keeps the type even when that leaves nothing
            budget = state.query.price_max is not None or state.query.price_min is not None
            hits = typed if typed or budget or state.shown else hits
        hits = must_match(hits, state, typed=said if kinds else None, shown=self.shown(state))  # understand hook (issue 11): "noise cancelling headphones"
        hits = favour_models(hits, state.query.text, sorted_)  # "iphone 13": not the XR's cases
        if not sorted_:
            favour_names(hits, state.query.text, vocab.titles, vocab.token_ids)
            demote_accessories(hits)
        if sorted_ and hits:
            itself = [named_as_itself(h) for h in hits]
            if True in itself:  # "the cheapest kindle": a Kindle, not a screen protector "for Kindle"
                hits = [h for h, own in zip(hits, itself) if own is not False]
            if state.kind and not state.query.categories and not kinds:  # "the cheapest gaming mouse": a mouse, not a mouse pad
                head = tokenize(state.kind)[-1:]  # the head noun: "paper shredder" titles may say "Paper, CD ... Shredder"
                compounds = compound_words([h.product.title for h in hits], head)
                hits = [h for h in hits if names_as_head(h.product.title, head, compounds)] or hits
            if hits and not state.query.categories and not kinds:
                # no category to scope the superlative: keep the clearly relevant hits only, those
                # matching the most query words ("toner", not a "ribbon cartridge"); a relative
                # clause only describes ("tire shine that looks glossy": any tire shine)
                said = set(tokenize(_RELATIVE.sub("", state.query.text)))
                top = max(h.score for h in hits)
                most = max(len(said & set(h.matched)) for h in hits)
                hits = [h for h in hits if h.score >= SUPERLATIVE_FLOOR * top and len(said & set(h.matched)) >= most]
            hits = sort_hits(hits, state)
        if not hits and state.need and any(" " in c and c not in vocab.category_size and c not in vocab.groups
                                           for c in state.query.categories):
            # "show me more" after every "solderless breadboard" (a title phrase); a catalog category
            # ("Premium Beauty") is no phrase to widen: "beauty" in a title is not beauty care
            return self.retrieve(broader(state, {*vocab.category_size, *vocab.groups}))
        return hits

    def unmatched(self, state: State, shown: list) -> list[str]:
        """The shopper's words that no shown product's catalog data mentions (``grounding.unmatched_words``)."""
        f = state.query
        said, kinds = self.kinds(state)
        named = [*f.categories, *f.brands, *state.colours, *(str(v) for v in f.attributes.values()),
                 *([said] if kinds else [])]  # "laptop": the notebooks shown are what it names
        index = self.catalog.bm25()
        words = unmatched_words(f.text, named, shown, lambda t: bool((index.scores([t]) > 0).any()))
        # a model none of the shown titles writes ("iphone 13" over cases for other iPhones)
        return words + [m for m in model_phrases(f.text) if shown and not any(model_fits(shown, f.text, m))]

    def alternative(self, state: State, top: list[Ranked], unmatched: list[str]) -> Ranked | None:
        """One product from a substitute category (``SUBSTITUTE_MIN``) of the same department that
        mentions every word the shown ones lack, within every other filter ("headphones for the
        gym": sport earbuds); None when there is none."""
        if not unmatched or not top or not state.query.categories or state.query.sort != "relevance":
            return None
        departments = {r.product.categories[0] for r in top if r.product.categories}
        loose = state.copy()
        loose.query.categories = []
        stems = {t for w in unmatched for t in tokenize(w)}
        shown = {r.product.id for r in top}
        for h in self.catalog.search(replace(search_query(loose), text=" ".join(unmatched)), k=20):
            p = h.product
            if p.id in shown or not p.categories or p.categories[0] not in departments or not stems <= set(h.matched):
                continue
            if allowed(p, loose) and self.substitute(p.categories[-1], state.query.categories):
                where = answers.clean(p.categories[-1], 40)
                words = ", ".join(unmatched)
                asked = " or ".join(state.query.categories)
                return Ranked(p, h.score, None, h.score, [f"matches {words} (from {where}, not {asked})"],
                              alternative=True)  # fmt: skip
        return None

    def substitute(self, category: str, asked: list[str]) -> bool:
        """Whether ``category`` can stand in for one of the ``asked`` ones (``SUBSTITUTE_MIN``)."""
        v = self.catalog.embed(category)
        return any(float(v @ self.catalog.embed(a)) >= SUBSTITUTE_MIN for a in asked)
