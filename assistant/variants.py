"""Variants: the same product in another colour or size ("does it come in black?").

The family is what search collapses into one result (``retrieval.search.variant_key``): same
brand, titles that differ only by a colour or size word. Catalogs that write the variant into a
model code too ("Lexmark C540H2YG … Yellow" / "C540H2MG … Magenta") or vary something other than
colour (a keyboard's layout: "S-board 840 … English" / "… French") are read from the data: a
sibling's title differs from the product's in at most ``TITLE_DIFF`` words, and an attribute
whose value the titles write differs between them (``variant_value``: printing colours, keyboard
language). Answers name the sibling and its price ("Yes, the black one is $39.99"), or list the
values there are ("No: it comes in pink and blue").

Example::

    >>> from retrieval.catalog import Product
    >>> en = Product(id="e", title="Acme Board 840 keyboard USB English Gray", brand="Acme",
    ...              attributes={"keyboard_language": "English", "product_colour": "Grey"})
    >>> fr = Product(id="f", title="Acme Board 840 keyboard USB French Gray", brand="Acme",
    ...              attributes={"keyboard_language": "French", "product_colour": "Grey"})
    >>> variant_value(en, fr)
    ('keyboard language', 'English', 'French')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

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


# words in which a sibling's title may differ from the product's (each way): the variant word and
# a model code that encodes it ("c540h2yg yellow" / "c540h2mg magenta" on Icecat)
TITLE_DIFF = 2
_TOKEN = re.compile(r"[a-z0-9]+")


def _tokens(title: str) -> set[str]:
    return set(_TOKEN.findall(title.lower()))


def variant_value(product, other, varies=lambda key: True) -> tuple[str, str, str] | None:
    """The attribute in which ``other`` is another variant of ``product``: one both have, whose
    values repeat across the catalog (``varies``: a colour or a language, not a model number),
    with different values that each one's title writes ("English" / "French" keyboard language);
    (its name in words, the product's value, the other's), or None."""
    mine, theirs = _tokens(product.title or ""), _tokens(other.title or "")
    for k, v in (product.attributes or {}).items():
        w = (other.attributes or {}).get(k)
        if not v or not w or not varies(k):
            continue
        a, b = clean(str(v), 40), clean(str(w), 40)
        if a.lower() != b.lower() and _tokens(a) and _tokens(a) <= mine and _tokens(b) and _tokens(b) <= theirs:
            rest_mine, rest_theirs = mine - theirs - _tokens(a), theirs - mine - _tokens(b)
            if all(any(SequenceMatcher(None, x, y).ratio() >= CODE_ALIKE for y in rest_theirs) for x in rest_mine):
                return key_words(k), a, b
    return None


# an attribute is a variant dimension when its products share values: at most this many distinct
# values per product that has it (Icecat's first 1500: printing colours 0.08, keyboard language
# 0.55, cable colour 0.1; model 0.98)
VARIANT_DISTINCT = 0.6
# the rest of two variants' titles' differing words are one code written alike ("c540h2yg" /
# "c540h2mg" 0.88), not two models ("49a" / "338" 0.0)
CODE_ALIKE = 0.6


def _varies(vocab, key: str) -> bool:
    a = vocab.attributes.get(key)
    return a is not None and a.count >= 2 and a.distinct <= VARIANT_DISTINCT * a.count


def title_family(vocab, get_many, product) -> list[tuple[object, tuple[str, str, str]]]:
    """Catalog products of the same brand whose titles differ from ``product``'s in at most
    ``TITLE_DIFF`` words each way and that are another variant of it (``variant_value``), with
    that variant. ``get_many(ids)`` reads catalog products (``CatalogStore.get_many``)."""
    from collections import Counter

    mine = _tokens(product.title or "")
    if not mine or not product.brand:
        return []
    shared: Counter = Counter()
    for t in mine:
        shared.update(vocab.token_ids.get(t, ()))
    ids = [i for i, n in shared.items() if i != product.id and n >= len(mine) - TITLE_DIFF
           and len(_tokens(vocab.titles.get(i, "")) - mine) <= TITLE_DIFF]  # fmt: skip
    out = []
    for other in get_many(ids):
        if other is not None and (other.brand or "").lower() == product.brand.lower():
            got = variant_value(product, other, lambda k: _varies(vocab, k))
            if got is not None:
                out.append((other, got))
    # the nearest title first: "C540H2MG" is the yellow C540H2YG's magenta, "C780A1MG" another model's
    low = (product.title or "").lower()
    out.sort(key=lambda o: -SequenceMatcher(None, low, (o[0].title or "").lower()).ratio())
    return out


def asked_value(question: str) -> str | None:
    """What the shopper asks the product to come in: the words after the last "in".

    >>> asked_value("does it come in french?"), asked_value("do you have it in magenta?"), asked_value("is it loud")
    ('french', 'magenta', None)
    """
    m = re.search(r"\bin (?:an? )?([a-z][a-z -]{1,30}?)(?: (?:one|ones|version|layout|colou?r|please|too))?\s*[?.!]*$",
                  question.lower())
    return m.group(1).strip() if m else None


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
            if len(family) == 1 and re.search(r"colou?r", question, re.I):
                # nothing to list and no sibling: say what the listing holds, not "the reviews don't say"
                said = _colour_sentence(product, colours)
                if said is None:
                    return VariantAnswer("Its listing doesn't name a colour, and we list it in this one version only.")
                return VariantAnswer(f"We list it in this one version only; its listing has no colour options, "
                                     f"but says: “{said}”")
            return None
        return VariantAnswer(f"It comes in {_listed(names)}." if len(names) > 1 else f"It comes in {names[0]} only.")
    own = colour_of(product)
    if own and re.search(rf"\b{re.escape(want)}\b", own):
        return VariantAnswer(f"Yes, this one is {own}.")
    for c, p in have[1:]:
        if re.search(rf"\b{re.escape(want)}\b", c):
            return VariantAnswer(f"Yes, the {c} one is {price(p)} (card above).", p)
    if not names:
        words = " ".join([product.title, product.description or "", *(product.features or [])])
        if len(family) == 1 and not re.search(rf"\b{re.escape(want)}\b", words, re.I):
            # no colour anywhere in its data and no sibling: say so rather than "the reviews don't say"
            return VariantAnswer(f"Its listing doesn't name a colour, and we don't list it in {want} or any other colour.")
        return None
    return VariantAnswer(f"No: it comes in {_listed(names)}." if len(names) > 1 else f"No: it comes in {names[0]} only.")


def _colour_sentence(product, colours: list[str]) -> str | None:
    """The first sentence of the product's title, features or description that names one of ``colours``.

    >>> from retrieval.catalog import Product
    >>> _colour_sentence(Product("k", "Glass Kettle", description="Borosilicate glass. A blue LED glow."), ["blue"])
    'A blue LED glow.'
    """
    texts = [product.title or "", *(product.features or []), *re.split(r"(?<=[.!?])\s+", product.description or "")]
    return next((clean(t, 160) for t in texts if t and asked_colour(t, colours)), None)


def _listed(items: list[str]) -> str:
    """
    >>> _listed(["pink", "blue", "green"])
    'pink, blue and green'
    """
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def family_answer(question: str, product, family: list, price) -> VariantAnswer | None:
    """The answer over a ``title_family``: the sibling whose variant value (or title) names what
    is asked ("Yes, the Magenta one is $…"), else the product's own value and a sibling's ("No:
    this one is English (keyboard language); there is also a French one at $…"); None when the
    family is empty or nothing is asked."""
    want = asked_value(question)
    if not family or not want:
        return None
    said = lambda text: re.search(rf"\b{re.escape(want)}\b", text.lower())  # noqa: E731
    name, own, _ = family[0][1]
    if said(own):
        return VariantAnswer(f"Yes, this one is {own} ({name}).")
    for other, (_, _, value) in family:
        if said(value) or said(other.title or ""):
            return VariantAnswer(f"Yes, the {value} one is {price(other)} (card above).", other)
    other, (_, _, value) = family[0]
    # one sibling, shown as a card: every value said is on screen
    return VariantAnswer(f"No: this one is {own} ({name}); there is also a {value} one at {price(other)} (card above).", other)


def variant_question(a, product, question: str) -> VariantAnswer | None:
    """``variant_answer`` over ``product``'s family in the assistant ``a``'s catalog (no embedding:
    cheap enough to run before the first card, which is then the variant's)."""
    from assistant.answers import fmt_price
    from assistant.understand import COLOURS

    if not (_VARIANT_ASK.search(question) or _IS_THERE.fullmatch(question)):
        return None
    from assistant.vocabulary import vocabulary_of

    store = a.catalog.store
    colours = sorted({*COLOURS, *store.colours()}, key=len, reverse=True)
    price = lambda p: fmt_price(p.price, p.currency)  # noqa: E731
    family = siblings(store, product)
    if len(family) == 1:  # no sibling search collapses: one whose title writes another variant value
        got = family_answer(question, product, title_family(vocabulary_of(a.catalog), store.get_many, product), price)
        # a colour no sibling has is answered with the colours (below), not another layout's card
        if got is not None and (got.text.startswith("Yes") or not asked_colour(question, colours)):
            return got
    if _IS_THERE.fullmatch(question) and not asked_colour(question, colours):
        return None
    return variant_answer(question, family, colours, price, force=True)


# -- "the i7 one", "same thing in red", "do they do xl": a sibling of the product in focus ----------------
# spellings and abbreviations of one variant word (British/American, clothing sizes), so the shopper's
# "xl" finds a title's "X-Large" and "gray" a title's "Grey"
_SAME_WORD = (
    (re.compile(r"\bxx-?large\b|\bextra[- ]extra[- ]large\b|\b2xl\b"), "xxl"),
    (re.compile(r"\bx-?large\b|\bextra[- ]large\b"), "xl"),
    (re.compile(r"\bx-?small\b|\bextra[- ]small\b"), "xs"),
    (re.compile(r"\bgrey\b"), "gray"),
    (re.compile(r"\bcolour\b"), "color"),
)
# a sibling shares at least this share of the shorter title's words (the overlap of the word sets):
# Ginsco "Female Blue 16-14 … Crimp Terminal" / "Female Red 22-18 … Connector Crimp Terminal" 0.82,
# ThinkBook 13s i5 / i7 0.87, CHERRY G84-4100 "USB QWERTY US English Gray" / "USB QWERTZ German
# Black" 0.62; a range's other models share well under half ("Dual Lock … Black" / a Ginsco kit 0)
SIBLING_ALIKE = 0.6
# "the i7 one", "same thing in red", "got it in clear?", "do they do xl": points at the product in focus
# ("in black" alone narrows the search);
# "a black one" / "any in red" asks the search for one (no determiner pointing back)
_POINTS_BACK = re.compile(r"\b(?:the|that|this|it|they|them|those|these|same)\b", re.I)
_ASKS_ANEW = re.compile(r"^\s*(?:a|an|any|another|some)\b", re.I)
# a question about the product itself ("how much storage does that have", "is it waterproof")
_ABOUT_IT = re.compile(r"^\s*(?:how|why|when|where|who|which|what(?! about)|whats|is|are|does|can|will|would|should)\b", re.I)


def variant_words(text: str) -> set[str]:
    """The words of a title or request, variant words written one way.

    >>> sorted(variant_words("Nitrile Gloves, X-Large, Grey"))
    ['gloves', 'gray', 'nitrile', 'xl']
    """
    low = text.lower()
    for pattern, word in _SAME_WORD:
        low = pattern.sub(word, low)
    return set(_TOKEN.findall(low))


def _alike(a: set[str], b: set[str]) -> float:
    """The share of the shorter word set that the other has.

    >>> _alike({"acme", "g84", "gray"}, {"acme", "g84", "black", "german"})
    0.6666666666666666
    """
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


def asked_sibling(message: str, focus: str, vocab, skip: frozenset = frozenset()) -> str | None:
    """The catalog product the shopper asks for instead of ``focus`` by the words in which their
    titles differ: "the i7 one" after a ThinkBook 13s i5, "same thing in red" after blue spade
    connectors, "do they do xl" after medium gloves. A sibling has most of the focus title's words
    (``SIBLING_ALIKE``) and opens with the same word (the brand) and the asked words the focus title lacks; of several, the one with the most
    asked words, then the most alike. None when the message does not point back at the product, asks
    a question about it, or no sibling has an asked colour. ``skip``: words that are no variant
    (stop words).

    >>> from retrieval.catalog import Product
    >>> from assistant.vocabulary import CatalogVocabulary
    >>> v = CatalogVocabulary.build([Product(id="m", title="Acme Nitrile Gloves, Medium, Box/100"),
    ...                              Product(id="x", title="Acme Nitrile Gloves, X-Large, Box/100"),
    ...                              Product(id="t", title="Acme Nitrile Tape, X-Large")])
    >>> asked_sibling("do they do xl", "m", v), asked_sibling("a xl one", "m", v), asked_sibling("in red?", "m", v)
    ('x', None, None)
    """
    from assistant.references import COLOURS

    title = vocab.titles.get(focus)
    if not title or _ASKS_ANEW.match(message) or _ABOUT_IT.match(message) or not _POINTS_BACK.search(message):
        return None
    mine = variant_words(title)
    asked = {w for w in variant_words(message) - mine - skip if len(w) >= 2 or w.isdigit()}
    if not asked:
        return None
    from collections import Counter

    shared: Counter = Counter()  # catalog products by the focus title words they share
    for t in _TOKEN.findall(title.lower()):
        shared.update(vocab.token_ids.get(t, ()))
    lead = title.split()[0]  # the brand, which titles open with: a sibling's is the same
    floor = SIBLING_ALIKE * min(len(mine), 4)
    best, key = None, (0, 0.0)
    for i in (i for i, n in shared.items() if n >= floor and i != focus):
        other = vocab.titles.get(i, "")
        words = variant_words(other)
        alike = _alike(mine, words)
        if not other.startswith(lead):
            continue
        got = asked & words
        if alike < SIBLING_ALIKE or not got:
            continue
        if any(c in asked and c not in words for c in COLOURS):
            continue  # "black ones in xl?": a sibling in another colour is not what is asked
        if (len(got), alike) > key:
            best, key = i, (len(got), alike)
    return best


def sibling_text(text: str, title: str, sibling: str) -> str:
    """The request once the sibling is chosen: without the words of the product's title that the
    sibling's lacks (its colour, its gauge), with the sibling's words in their place.

    >>> sibling_text("acme female spade connectors blue 16-14", "Acme Female Blue 16-14 Spade", "Acme Female Red 22-18 Spade")
    'acme female spade connectors red 22 18'
    """
    mine, theirs = variant_words(title), variant_words(sibling)
    kept = [w for w in re.findall(r"\S+", text) if not (variant_words(w) & (mine - theirs))]
    added = [w for w in _TOKEN.findall(sibling.lower()) if w in theirs - mine and w not in kept]
    return " ".join([*kept, *dict.fromkeys(added)])
