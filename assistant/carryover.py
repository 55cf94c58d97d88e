"""What a message keeps, replaces or drops of the conversation so far, beyond prices and
brands (``assistant.understand.refine``): categories ruled out ("not a kettle"), follow-ups
that only add a filter ("something under $300" keeps the chairs), attribute constraints and
orders (``assistant.attributes``), questions about the whole catalog ("the most expensive
thing you sell") and brands the shop does not carry ("anything from Zorblax?").

Example::

    >>> negated_categories("something different, not a kettle", ["Kettles", "Tea"])
    ['Kettles']
    >>> unknown_brands("Do you have anything from Zorblax?", ["Acme"], {"acme", "blender"})
    ['Zorblax']
"""

from __future__ import annotations

import re
from types import SimpleNamespace

from assistant.attributes import Reading

_NEGATION = r"(?:not|no|except(?: for)?|excluding|without|other than|apart from|aside from|besides|anything but|but not|instead of|rather than|never)"
# words that ask about the shop, not about a kind of product ("the most expensive thing you sell")
GENERIC = set(
    "thing things item items product products stuff anything something everything sell sold stock carry "
    "have has got offer you your we our store shop catalog catalogue here there whole entire overall in at "
    "available which what is are the a an of all one ones show me find get please that costs cost from by do "
    "any buy".split()
)
# after a filter-only follow-up these words say nothing about the product
BROWSE = set(
    "something anything else options option one ones show me see find get give please maybe perhaps "
    "how about what any some just only also instead rather i'd i want would like need looking for ok okay "
    "then and but with only just thats that's that which is are has have one ones "
    "needs must should gotta has to be it tho though price prices matter matters doesnt dont care too".split()
)
_BRAND_ASK = re.compile(
    r"\b(?:from|by|made by|brand(?:ed)?|make)\s+(?P<a>[A-Z][\w&'-]+(?:\s+[A-Z][\w&'-]+)?)"
    r"|\b(?P<b>[A-Z][\w&'-]+)\s+(?:brand|products|stuff|gear)\b"
)


_NOT_NAMES = set(
    "i me my you the show find any some your their our these those other more all this that it them "
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july "
    "august september october november december christmas tomorrow today tonight".split()
)


def _phrase(term: str) -> str:
    words = term.lower().split()
    last = words[-1][:-1] if words[-1].endswith("s") and not words[-1].endswith("ss") else words[-1]
    body = r"\s+".join([*map(re.escape, words[:-1]), re.escape(last) + r"(?:e?s)?"])
    return rf"(?<![\w-]){body}(?![\w-])"


def negated_categories(message: str, categories: list[str]) -> list[str]:
    """Catalog categories the message rules out: "not a kettle", "no kettles", "anything but tea"."""
    low = message.lower()
    out = []
    for c in sorted(categories, key=len, reverse=True):
        if len(c) < 3:
            continue
        rx = rf"\b{_NEGATION}\s+(?:an?\s+|the\s+|any\s+|more\s+|another\s+)?(?:\w+\s+(?:or|nor)\s+)?{_phrase(c)}"
        if re.search(rx, low) or re.search(rf"{_phrase(c)}\s+(?:please\s+)?no more\b", low):
            out.append(c)
    return out


_NEG_WORD = re.compile(
    r"\b(?:not|no|without|except(?: for)?|excluding|minus|avoid|apart from|aside from|besides|other than)\s+"
    r"(?:an?\s+|any\s+|the\s+|with\s+)?([a-z][a-z'-]{2,})(?:\s+ones?\b)?",
    re.I,
)
# after "not"/"no" these say something else ("not too loud", "no more than", "not sure")
_NOT_EXCLUDED = set(
    "too more less than that this those these one ones sure really very so much expensive cheap over under above "
    "below bigger smaller larger heavier lighter longer louder quieter pricier cheaper interested needed fussed "
    "problem worries idea clue longer matter".split()
)


def negated_words(message: str, taken: list[str]) -> list[str]:
    """Words the shopper rules out that no category or brand covers ("dog bed but not an
    orthopedic one", "cat toys without catnip"): products naming them in the title are dropped.

    >>> negated_words("cat toys without catnip, my cat goes crazy on it", [])
    ['catnip']
    >>> negated_words("headphones, no more than $100", [])
    []
    """
    covered = {w for t in taken for w in re.findall(r"[a-z]+", t.lower())}
    out = []
    for m in _NEG_WORD.finditer(message):
        w = m.group(1).lower().strip("'-")
        if w in _NOT_EXCLUDED or w in GENERIC or w in BROWSE or {w, w.rstrip("s"), w + "s", w + "es"} & covered:
            continue
        out.append(w)
    return list(dict.fromkeys(out))


def strip_negated(text: str, categories: list[str]) -> str:
    """The text without the phrases that rule categories out (so "kettle" is not searched for)."""
    for c in categories:
        text = re.sub(rf"\b{_NEGATION}\s+(?:an?\s+|the\s+|any\s+|more\s+|another\s+)?{_phrase(c)}", " ", text, flags=re.I)
    return re.sub(r"\s+", " ", text).strip(" ,.;")


def cut(text: str, phrases: list[str]) -> str:
    """``text`` without the phrases read as constraints or orders ("quiet", "under 1 kg").

    >>> cut("a quiet blender", ["quiet"])
    'a blender'
    """
    for p in phrases:
        text = re.sub(rf"(?<!\w){re.escape(p)}(?!\w)(?:\s+of\s+\w+)?", " ", text, flags=re.I)
    text = re.sub(r"\s+", " ", text).strip(" ,.;?!")
    # connectors left dangling at the end: "headphones with", "a kettle of"
    return re.sub(r"(?:\s+(?:with|of|that|having|has|and|but|from|by|at|in|for))+$", "", text, flags=re.I).strip(" ,")


# words after which a request stops naming the kind of product ("a keyboard piano for my kid")
_KIND_END = re.compile(
    r"[,;:!?]|\b(?:for|with|without|to|that|which|who|under|over|below|above|from|by|in|on|at|but|not|no|"
    r"so|because|when|while|like|than|and|or|around|about|between)\b", re.I)
# the hits that decide the kind: as many as the cards of a turn (settings.cards_per_turn's default)
KIND_TOP = 4


def kind_tokens(text: str) -> list[str]:
    """The tokens that name the kind of product in a request, the head noun last: the words
    before the first connector or comma.

    >>> kind_tokens("a keyboard piano for my kid to learn on")
    ['keyboard', 'piano']
    >>> kind_tokens("wireless earbuds, not apple")
    ['wireless', 'earbud']
    """
    from retrieval.bm25 import tokenize

    return [t for t in tokenize(_KIND_END.split(text, maxsplit=1)[0]) if t not in BROWSE and t not in GENERIC]


def has_phrase(tokens: list[str], phrase: list[str]) -> bool:
    """``phrase`` occurs as consecutive tokens of ``tokens`` (two words may have one between), or
    written as one word ("Powerbank" is a power bank), or, for one word, as the end of a compound
    ("powerbank" for "bank").

    >>> has_phrase(["dry", "dog", "food", "chicken"], ["dog", "food"]), has_phrase(["dog", "bed"], ["dog", "food"])
    (True, False)
    >>> has_phrase(["duracell", "powerbank"], ["power", "bank"]), has_phrase(["duracell", "powerbank"], ["bank"])
    (True, True)
    >>> has_phrase(["ifox", "bluetooth", "shower", "speaker"], ["bluetooth", "speaker"])
    True
    """
    n = len(phrase)
    if n == 0:
        return False
    if any(tokens[i:i + n] == phrase for i in range(len(tokens) - n + 1)):
        return True
    if n == 2:  # one word between: "Bluetooth Shower Speaker" is a bluetooth speaker
        if any(tokens[i] == phrase[0] and tokens[i + 2] == phrase[1] for i in range(len(tokens) - 2)):
            return True
    whole = "".join(phrase)
    return any(t == whole or (n == 1 and len(t) > len(whole) + 2 and t.endswith(whole)) for t in tokens)


def title_tokens(product) -> list[str]:
    from retrieval.bm25 import tokenize

    return tokenize(product.title)


def kind_of(hits: list, text: str) -> str | None:
    """The kind of product the search agrees on: the longest tail of the request's kind words
    (head noun last: "dog food", not "dry") found as a phrase in the titles of at least half,
    and at least two, of the top hits; a clause without one gives way to the next ("my son wants
    to learn harmonica": harmonica); where no tail agrees, the longest run of the first clause's
    words that does ("nintendo switch console": the titles say "Nintendo Switch"). None when the
    titles do not agree (Icecat calls a laptop a "notebook" and sells "laptop cases": "laptop" is
    then no kind to require).

    >>> from types import SimpleNamespace as NS
    >>> hits = [NS(product=NS(title=t)) for t in ["Dry Dog Food", "Wet Dog Food", "Dry Cat Food"]]
    >>> kind_of(hits, "dry dog food")
    'dog food'
    >>> hits = [NS(product=NS(title=t)) for t in ["Blues Harmonica, Key of C", "My Son, The Best Of", "Harmonica Key of C"]]
    >>> kind_of(hits, "my son wants to learn harmonica")
    'harmonica'
    >>> hits = [NS(product=NS(title=t)) for t in ["Tough Dog Toy", "Rubber Dog Toy", "Cat Toy", "Dog Toys, Plush"]]
    >>> kind_of(hits, "my dog destroys every toy")
    'dog toy'
    >>> hits = [NS(product=NS(title=t)) for t in ["Silicone Caulk, White", "Duct Tape - White", "Velcro Squares | White"]]
    >>> kind_of(hits, "velcro 7/8 inch squares in white") is None
    True
    """
    top = [title_tokens(h.product) for h in hits[:KIND_TOP]]

    from assistant.references import COLOURS

    def agreed(phrase: list[str]) -> bool:
        if phrase[-1] in COLOURS or phrase[-1] == "gray":  # "... in white": a colour is no kind of product
            return False
        n = sum(has_phrase(t, phrase) for t in top)
        return n >= 2 and 2 * n >= len(top)

    clauses = [kind_tokens(c) for c in _KIND_END.split(text)]
    for words in clauses:
        for start in range(len(words)):
            if agreed(words[start:]):
                # a word said before it that the titles put in front of it: "my dog destroys every toy"
                # asks for a dog toy
                said = next((w for w in reversed(words[:start]) if agreed([w, *words[start:]])), None)
                return " ".join([said, *words[start:]] if said else words[start:])
    first = next((w for w in clauses if w), [])
    for end in range(len(first) - 1, 1, -1):  # at least two words: one alone says little ("nintendo")
        if agreed(first[:end]):
            return " ".join(first[:end])
    return None


# in a title what the product is ends where what it fits begins ("Akko Keycaps for Mechanical Keyboards")
_FITS = re.compile(r"\s(?:for|fits|compatible(?: with| for| to)?|works with)\s", re.I)
# the parts of a title's own name ("NOCO GENIUS2, 2A Smart Car Battery Charger, 6V and 12V ...")
_PARTS = re.compile(r"\s[|–-]\s|[|,;:]")
# the share of its relevance a hit naming the kind only inside a longer name keeps when other hits
# end a part of their name with it ("Harmonica Key of C 10 Holes" after "Blues Harmonica, Key of C")
LOOSE_SHARE = 0.8


def name_parts(own: str) -> list[str]:
    """The parts of a title that name the product: up to the first with two plain words (a part
    of only a brand and a model, "NOCO GENIUS2", gives way to the next); later parts list uses
    and fits ("... Deluxe Wheel - Nintendo Switch").

    >>> name_parts("NOCO GENIUS2, 2A Smart Car Battery Charger, 6V and 12V")
    ['NOCO GENIUS2', ' 2A Smart Car Battery Charger']
    """
    out = []
    for part in _PARTS.split(own):
        out.append(part)
        if len(re.findall(r"(?<!\S)[A-Za-z][a-z-]*(?!\S)", part)) >= 2:
            break
    return out


def names_kind(title: str, head: str, compounds: set[str] = frozenset()) -> int:
    """How surely a title names a product of the kind whose head word (stemmed) is ``head``: 2
    when a part of its own name (before what it fits, without parentheses) ends with it
    ("Nintendo Switch with Gray Joy-Con", "Wireless Gaming Mouse, Hero 12K"), 1 when its own
    name has it not as the first half of a compound (``compounds``: "Mouse Pad"), 0 when it
    names it only as what it fits or as a modifier ("Keycaps for Mechanical Keyboards",
    "Hasbro Game Night (Nintendo Switch)").

    >>> names_kind("Akko Keycaps for Mechanical Gaming Keyboards, Purple", "keyboard")
    0
    >>> names_kind("RK61 Plus Wireless Mechanical Keyboard, Bluetooth", "keyboard"), names_kind("Nintendo Switch Pro Controller", "switch")
    (2, 1)
    >>> names_kind("East top Diatonic Harmonica Key of C 10 Holes", "harmonica"), names_kind("Metal Mouse Pad, Thin", "mouse")
    (1, 0)
    >>> names_kind("Canon EF 50mm f/1.8 II SLR Telephoto lens Black", "len"), names_kind("Metal Mouse Pad, Gaming Hard Mouse Mat", "mouse")
    (1, 0)
    """
    from assistant.product_types import head_in_name

    *named, _fits = _FITS.split(title) or [title]  # what follows the last "for" is what it fits; a
    own = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", " , ".join(named) or title)  # brand may say "Homes for Pets"
    if any(head_in_name(part, {head: head}) == head for part in name_parts(own)):
        return 2
    from assistant.references import COLOURS

    for part in name_parts(own):
        tokens = title_tokens(SimpleNamespace(title=part))
        for i, t in enumerate(tokens[:-1]):
            nxt = tokens[i + 1]
            # the word after it ending the part is the part's own head ("Mouse Pad,"), unless a colour
            if t == head and nxt not in compounds and (i + 2 < len(tokens) or nxt in COLOURS):
                return 1
    # a later part ending with it: a list inside the name ("Cross-Cut Paper, CD Credit Card Office Shredder")
    return 1 if any(head_in_name(part, {head: head}) == head for part in _PARTS.split(own)) else 0


def kind_first(hits: list, phrase: list[str]) -> list:
    """The hits that name the kind as what they are (``names_kind``), when any does: those ending
    a part of their name with it first, those naming it inside a longer name after them
    (``LOOSE_SHARE``), those naming it only as what they fit or as a modifier dropped."""
    from assistant.candidates import compound_words

    titles = [h.product.title for h in hits]
    joined = "".join(phrase) if len(phrase) > 1 else None  # "Powerbank" is a power bank

    def levels(head: str) -> list[int]:
        compounds = compound_words(titles, [head])
        return [max(names_kind(t, head, compounds), names_kind(t, joined) if joined else 0) for t in titles]

    # the head noun: the last word of three letters or more some title ends its name with
    # ("harmonica key c": harmonica; "paper shredder": shredder)
    level = next((lv for w in reversed(phrase) if len(w) >= 3 and 2 in (lv := levels(w))), None) or levels(phrase[-1])
    if not any(level):
        return hits
    if 2 in level and all(hasattr(h, "score") for h in hits):  # (ranked hits; plain ones keep their order)
        for h, n in zip(hits, level):
            if n == 1:
                h.score *= LOOSE_SHARE
        return [h for h, n in sorted(zip(hits, level), key=lambda x: -x[0].score) if n]
    return [h for h, n in zip(hits, level) if n]


def keep_kind(hits: list, state) -> list:
    """Hits whose title names the kind of product of the conversation (``State.kind``): set on
    a new request from what the top hits agree on (``kind_of``: "dry dog food" is food for
    dogs, not dry cat food; "printer ink" is ink, not a printer), and kept by a follow-up
    ("cheaper ones?" after dog beds: only cheaper beds, or none), those naming it as what they
    are first (``kind_first``: keyboards, not keycaps "for keyboards"). Only where the query
    names no catalog category: a category already says the kind."""
    if state.query.categories or not hits:
        return hits
    if state.kind is None or not state.shown:  # a new request: the kind the titles agree on
        state.kind = kind_of(hits, state.query.text)
    if not state.kind:
        return hits
    phrase = state.kind.split()
    kept = [h for h in hits if has_phrase(title_tokens(h.product), phrase)]
    paging = bool(state.shown) and set(state.shown) <= set(state.query.exclude_ids)
    # "more pls" once every product of the kind was shown: the nearest others beat nothing; a
    # budget follow-up ("cheaper ones?") keeps the kind even when that leaves nothing
    return hits if paging and not kept else kind_first(kept, phrase)


def must_match(hits: list, state, typed: str | None = None, shown: list = ()) -> list:
    """"noise cancelling headphones": within the asked categories or type, the descriptive words (the
    text without the category's own words) are required when two hits have them all;
    otherwise the hits stay (the unmatched-words note and the alternative then speak), unless
    the shopper said the words again this turn (``State.strict``: "any cheaper noise cancelling
    ones?") or every product ``shown`` last turn has them ("cheaper?" keeps noise cancelling),
    when an empty list lets the answer say nothing cheaper has them. ``typed``: the
    shopper's word naming one of the catalog's product types ("lens"), which scoped the hits
    already: no title need say it ("Canon EF 28mm f/1.8 USM Black" is a lens too)."""
    from assistant.grounding import facts_text
    from retrieval.bm25 import tokenize

    q = state.query
    if not typed:  # the catalog's product types already scoped the hits (``assistant.product_types``)
        hits = keep_kind(hits, state)
    if not q.categories and q.brands and hits:
        return _brand_line(hits, q, set(tokenize(typed or "")))
    if not (q.categories or typed) or not hits:
        return hits
    own = {t for c in [*q.categories, typed or ""] for t in tokenize(c)}  # a product type scopes as a category
    own |= set(tokenize(getattr(state, "need", None) or ""))  # a need's sentence describes no product: its kinds do
    words = [t for t in dict.fromkeys(tokenize(q.text)) if t not in own and t not in BROWSE and t not in GENERIC]
    if not words:
        return hits
    full = [h for h in hits if set(words) <= set(h.matched) or set(words) <= set(tokenize(facts_text(h.product)))]
    # "cheaper?" after noise cancelling headphones, every card having the words: they stay required
    kept = bool(shown) and all(set(words) <= set(tokenize(facts_text(p))) for p in shown)
    return full if (len(full) >= 2 or getattr(state, "strict", False) or kept) else hits


def _brand_line(hits: list, q, typed: set[str] = frozenset()) -> list:
    """"hatchbox petg", "esun abs filament": a brand and the words of one of its lines; the hits
    whose titles have every such word, when any does (the brand's PLA is no PETG), else all.

    >>> from retrieval.catalog import Product
    >>> from retrieval.query import StructuredQuery
    >>> from retrieval.search import Hit
    >>> hits = [Hit(Product(i, t, brand="Hatchbox"), 1.0) for i, t in [("a", "Hatchbox PLA Filament"), ("b", "Hatchbox PETG Filament")]]
    >>> [h.product.id for h in _brand_line(hits, StructuredQuery(text="hatchbox petg", brands=["Hatchbox"]))]
    ['b']
    >>> [h.product.id for h in _brand_line(hits, StructuredQuery(text="hatchbox nylon", brands=["Hatchbox"]))]
    ['a', 'b']
    """
    from retrieval.bm25 import tokenize

    own = {t for b in q.brands for t in tokenize(b)}
    words = {t for t in tokenize(q.text) if t not in own and t not in BROWSE and t not in GENERIC and t not in typed}
    full = [h for h in hits if words <= set(tokenize(h.product.title))] if words else []
    return full or hits


def leftover(words: list[str], extra: set[str] = frozenset()) -> list[str]:
    """Content words once browse filler (and ``extra``) are removed."""
    return [w for w in words if w not in BROWSE and w not in extra]


def adds_only_filters(content: list[str], q, reading: Reading, excluded: list[str], colours: list[str]) -> bool:
    """True when a message names no product, only filters: a budget, a brand, a colour, a
    bound, an order, a category to avoid. It refines the topic instead of starting one."""
    if q.categories or leftover(content):
        return False
    return bool(
        q.price_min is not None or q.price_max is not None or q.brands or q.exclude_brands or q.min_rating
        or q.sort != "relevance" or reading.constraints or reading.order or excluded or colours
    )


def nothing_text(state) -> str | None:
    """What to say when the attribute constraints left nothing: the constraints, in the shopper's words.

    >>> from assistant.state import State
    >>> nothing_text(State(constraints=[{"key": "weight", "op": "<=", "value": 1000.0, "text": "under 1 kg"}]))
    'Nothing in the catalog matches all of that (under 1 kg). Could you loosen one of those?'
    """
    if not state.constraints:
        return None
    said = "; ".join(c.get("text") or c["key"] for c in state.constraints)
    return f"Nothing in the catalog matches all of that ({said}). Could you loosen one of those?"


def whole_catalog(content: list[str]) -> bool:
    """A superlative over everything the shop sells: no product words are left."""
    return all(w in GENERIC for w in content)


# lower-case shoppers: "do you have bose headphones", "any dyson stuff?"
_BRAND_ASK_LOW = re.compile(
    r"\b(?:do (?:you|u|ya) (?:guys )?(?:have|sell|carry|stock)|got|any)\s+(?!anything\b)(?:any\s+)?(?P<a>[a-z][a-z0-9&'-]{2,})\s+(?P<what>[a-z]+)"
    r"|\b(?:from|by|made by|do (?:you|u|ya) (?:guys )?(?:have|sell|carry|stock))\s+(?:any(?:thing)?\s+(?:by|from)\s+)?(?!any|some)"
    r"(?P<b>[a-z][a-z0-9&'-]{2,})\s*[?.!]?\s*$|\b(?P<c>[a-z][a-z0-9&'-]{2,})\s+brand\b"
)
# words shoppers put before a product that are no brand
_NOT_BRANDS = set(
    "cheap good nice new used best quality decent budget premium other more cool fancy cute small big large "
    "light heavy quiet loud fast slow wireless wired electric manual portable mini little pro professional "
    "kids kid children baby men women mens womens ladies unisex gaming office home kitchen outdoor travel "
    "red blue green black white grey gray pink silver gold orange purple brown yellow".split()
)


def unknown_brands(message: str, brands: list[str], known_words: set[str] | dict,
                   catalog_words: set[str] = frozenset(), kinds: set[str] = frozenset()) -> list[str]:
    """Names asked for as a brand ("from Zorblax", "Zorblax brand", "do you have bose
    headphones") that are no catalog brand and no word of the catalog's product text: the
    shop does not carry them. ``kinds`` are words that name products (category words), after
    which a lower-case word is read as a brand."""
    have = {b.lower() for b in brands}
    out = []
    found = [(m["a"] or m["b"]).strip() for m in _BRAND_ASK.finditer(message)]
    for m in _BRAND_ASK_LOW.finditer(message.lower()):
        # "do you sell dyson vacuums", "got any nike running shoes": a word before a kind of product
        if m["a"] and (m["what"] in kinds or m["what"] in known_words or len(m["what"]) > 3 and m["what"].endswith("s")
                       or m["what"] in {"stuff", "products", "things", "gear", "items"}):
            found.append(m["a"])
        elif m["b"] or m["c"]:
            found.append(m["b"] or m["c"])
    for name in found:
        low = name.lower()
        if low in catalog_words or low in _NOT_BRANDS:
            continue
        if low in have or any(w in known_words for w in re.findall(r"[a-z0-9]+", low)):
            continue
        if low in GENERIC or low in BROWSE or low in _NOT_NAMES:
            continue
        out.append(name)
    return list(dict.fromkeys(n[:1].upper() + n[1:] for n in out))
