"""Which products a message points at: among the cards on screen ("the second one", "the
second cheapest", "the cheaper of those", "the black one", "the Pulse", "it"), or anywhere in
the catalog by name ("compare the Sonvia Pulse ANC and the Sonvia Beat 200").

A reference to what was shown only ever resolves to a shown product; a name resolves over the
whole catalog, and only when it is not ambiguous.

Example::

    >>> ordinal_refs("compare the first and the third one", 4)
    [0, 2]
    >>> ordinal_refs("how long does the battery last?", 3)   # a verb, not "the last one"
    []
"""

from __future__ import annotations

import re

COLOURS = (
    "black white red blue green yellow orange purple pink brown grey gray silver gold beige "
    "navy teal turquoise cream ivory bronze copper rose violet maroon khaki olive"
).split()

_ORDINALS = {
    "first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3,
    "fifth": 4, "5th": 4, "sixth": 5, "6th": 5,
}  # fmt: skip
_ORD_WORD = r"first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|sixth|6th"
PRONOUN = re.compile(r"\b(it|this one|that one|this|that|its)\b", re.I)
ALL_SHOWN = re.compile(r"\b(both|these|those|them|all (of )?(them|these|those)|the two|the three)\b", re.I)
_ORDINAL = re.compile(
    rf"\b(?P<word>{_ORD_WORD})\b(?!\s+(?:cheapest|least expensive|most expensive|priciest|dearest))|"
    r"\b(?:the|that|this) (?:very )?(?P<last>last)\b|\b(?P<last2>last) (?:one|item|option|product|card|choice)\b|"
    r"(?:#|number |option |no\. ?|item )(?P<num>\d)\b|\b(?P<a>\d) and (?P<b>\d)\b",
    re.I,
)
_PRICE_RANK = re.compile(
    rf"\b(?:(?P<ord>{_ORD_WORD})\s+)?(?P<sup>cheapest|least expensive|most expensive|priciest|dearest)\b"
    r"|\bthe (?P<cmp>cheaper|less expensive|more expensive|pricier) (?:one|of)\b",
    re.I,
)
_OF_SHOWN = re.compile(r"\b(?:of|among|between) (?:those|these|them|the two|the three|the ones?|both|the shown)\b|"
                       r"\bone\b", re.I)
STOP = set(
    "a an the and or of for to in on with without my me i you it is are be this that one ones some any "
    "show find want need looking look get give buy please can could would like about under over below above "
    "less more than cheaper cheap best good great new which what how does do not no yes compare versus vs "
    "between difference tell better".split()
)


def ordinal_refs(message: str, n_shown: int) -> list[int]:
    """Indexes (0-based) of shown items a message names by position.

    >>> ordinal_refs("the last one", 3), ordinal_refs("is number 2 quiet?", 4)
    ([2], [1])
    """
    out: list[int] = []
    for m in _ORDINAL.finditer(message):
        if m["word"]:
            out.append(_ORDINALS[m["word"].lower()])
        elif m["last"] or m["last2"]:
            out.append(n_shown - 1)
        elif m["num"]:
            out.append(int(m["num"]) - 1)
        elif m["a"]:
            out += [int(m["a"]) - 1, int(m["b"]) - 1]
    if re.search(r"\b(first|top) (two|2)\b", message, re.I):
        out += [0, 1]
    if re.search(r"\b(first|top) (three|3)\b", message, re.I):
        out += [0, 1, 2]
    return [i for i in dict.fromkeys(out) if 0 <= i < n_shown]


def price_rank_refs(message: str, shown: list) -> list[str]:
    """"the second cheapest", "the cheapest of those", "the more expensive one": by price
    among the shown products (those without a price are not ranked).

    A bare "the cheapest" is not a reference (it asks for the cheapest of the topic); it needs
    an ordinal, "one" or "of those".
    """
    m = _PRICE_RANK.search(message)
    if not m:
        return []
    priced = [p for p in shown if p.price is not None]
    if not priced:
        return []
    word = (m["sup"] or m["cmp"] or "").lower()
    desc = word in ("most expensive", "priciest", "dearest", "more expensive", "pricier")
    ranked = sorted(priced, key=lambda p: -p.price if desc else p.price)
    if m["ord"]:
        i = _ORDINALS[m["ord"].lower()]
        return [ranked[i].id] if i < len(ranked) else []
    if m["cmp"] or _OF_SHOWN.search(message[m.end():m.end() + 30]):
        return [ranked[0].id]
    return []


def colour_refs(message: str, shown: list) -> list[str]:
    """"the black one": the shown products whose colour (spec or title) is the one named."""
    m = re.search(rf"\b(?:the|that|this) ({'|'.join(COLOURS)})\s+(?:one|version|model)\b", message, re.I)
    if not m:
        return []
    colour = m.group(1).lower()
    hits = []
    for p in shown:
        text = " ".join([p.title, *(str(v) for k, v in (p.attributes or {}).items() if "colo" in k)]).lower()
        if re.search(rf"\b{colour}\b", text):
            hits.append(p.id)
    return hits


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", text.lower())


def title_refs(message: str, shown: list) -> list[str]:
    """Shown products named by a distinctive part of their title ("the Pulse", "the 600"):
    words of the message that are in some, not all, shown titles; the product(s) with most."""
    if len(shown) < 2:
        return []
    said = [w for w in _words(message) if w not in STOP and (len(w) >= 3 or w.isdigit())]
    if not said:
        return []
    titles = {p.id: set(_words(p.title)) | set(_words(p.brand or "")) for p in shown}
    distinctive = [w for w in said if 0 < sum(w in t for t in titles.values()) < len(shown)]
    if not distinctive:
        return []
    score = {pid: sum(w in t for w in distinctive) for pid, t in titles.items()}
    best = max(score.values())
    return [p.id for p in shown if score[p.id] == best]


_WHICH_SHOWN = re.compile(r"^\W*(?:\w+\s+){0,2}?which\s+(?:one\s+)?of\s+(?:these|those|them|the\s+two|the\s+three|both)\b", re.I)
_WHICH = re.compile(r"^\W*(?:\w+\s+){0,2}?which\b", re.I)
_COMPARATIVE = re.compile(r"\b(?:\w{3,}er|more \w+|less \w+)\b", re.I)
_CHEAPER = re.compile(r"\b(?:cheaper|less expensive|more affordable|cheapest|least expensive)\b", re.I)
_PRICIER = re.compile(r"\b(?:pricier|more expensive|dearer|priciest|most expensive)\b", re.I)


def which_of_shown(message: str, shown: list, order: dict | None, superlative: bool) -> list[str]:
    """"which one is quieter?" / "which of these is cheapest?" over the cards on screen: the
    shown product that wins on the price or on the attribute asked about (``order``).

    A comparative compares what is shown; a superlative only when the message says "of
    these" ("which one is the cheapest?" asks for the topic's cheapest, a new search).
    """
    if len(shown) < 2 or not _WHICH.search(message):
        return []
    if superlative and not _WHICH_SHOWN.search(message) or not superlative and not _COMPARATIVE.search(message):
        return []
    if _CHEAPER.search(message) or _PRICIER.search(message):
        priced = [p for p in shown if p.price is not None]
        if not priced:
            return []
        best = (min if _CHEAPER.search(message) else max)(priced, key=lambda p: p.price)
        return [best.id]
    if order is None:
        return []
    from assistant.attributes import order_key

    ranked = sorted(shown, key=lambda p: order_key(p, order))
    return [ranked[0].id] if order_key(ranked[0], order)[0] == 0 else []


# -- names over the whole catalog ------------------------------------------------------------------
_SPLIT = re.compile(r"\s*(?:,|\band\b|\bvs\.?|\bversus\b|\bor\b|\bwith\b|\bto\b|&)\s*", re.I)
_LEAD = re.compile(
    r"^\s*(?:can you |could you |please )*(?:compare|what(?:'s| is) the difference between|difference between|"
    r"tell me about|show me|how does|which is better[,:]?)\s+", re.I)


def name_segments(message: str) -> list[str]:
    """The parts of a message that may each name a product ("compare A and B" -> [A, B]).

    >>> name_segments("compare the Sonvia Pulse ANC and the Sonvia Beat 200")
    ['sonvia pulse anc', 'sonvia beat 200']
    """
    text = _LEAD.sub("", message.strip().rstrip("?.!"))
    out = []
    for part in _SPLIT.split(text):
        words = [w for w in _words(part) if w not in STOP]
        if words:
            out.append(" ".join(words))
    return out


def named_product(segment: str, vocab) -> list[str]:
    """Catalog products whose title (with brand) contains every word of ``segment`` (a model
    number must match exactly); products are ordered by how little else their title has.
    Several hits mean the name is ambiguous (or colour variants of one model)."""
    words = segment.split()
    if len(words) < 2 and not any(c.isdigit() for c in segment):
        return []  # one plain word is a category or a brand, not a product's name
    ids: set | None = None
    for w in (part for word in words for part in re.findall(r"[a-z0-9]+", word)):  # the index splits "a10m-1029"
        got = vocab.token_ids.get(w, set())
        ids = got if ids is None else ids & got
        if not ids:
            return []
    return sorted(ids, key=lambda i: (len(vocab.titles[i]), i))


def named_products(message: str, vocab) -> tuple[list[str], list[str]]:
    """``(ids, ambiguous)`` for "compare the A and the B": one id per segment that names one
    model (colour variants of it count as one: the shortest title), and the segments that
    match several different models."""
    ids, ambiguous = [], []
    for seg in name_segments(message):
        hits = named_product(seg, vocab)
        if not hits:
            continue
        models = {_model(vocab.titles[h]) for h in hits}
        if len(models) > 1:
            ambiguous.append(seg)
        elif hits[0] not in ids:
            ids.append(hits[0])
    return ids, ambiguous


def variants(focus: str, colours: list[str], vocab) -> list[str]:
    """Other colours of the product in focus ("does it come in black?"): catalog products of
    the same model (title before the colour tail) whose title names one of ``colours``.

    >>> from retrieval.catalog import Product
    >>> from assistant.vocabulary import CatalogVocabulary
    >>> v = CatalogVocabulary.build([Product(id="w", title="Acme Kettle 1.7, White"), Product(id="b", title="Acme Kettle 1.7, Black")])
    >>> variants("w", ["black"], v)
    ['b']
    """
    title = vocab.titles.get(focus)
    if not title or not colours:
        return []
    model = _model(title)
    return [i for i, t in vocab.titles.items()
            if i != focus and _model(t) == model and any(re.search(rf"\b{c}\b", t) for c in colours)]  # fmt: skip


def _model(title: str) -> str:
    """A title without its colour/variant tail ("..., Sage Green"): variants are one model."""
    return title.split(",")[0].split(" - ")[0].strip()
