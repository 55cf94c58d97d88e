"""Needs: a shopper who names a situation rather than a product ("a gift for my dad who likes
coffee", "I'm going camping in the rain, what do I need?", "my back hurts from my chair") gets
the catalog categories that serve it, by MiniLM similarity between the message and the
category names (with their department), and a bundle across them: one product per category
first, each card saying which part of the need it serves.

Only messages with a cue of a need are read this way (English, not catalog data), so an
ordinary search ("a blender for smoothies") keeps its own ranking.

Where no category serves (a catalog without categories, or with coarse ones like Amazon's "Pet
Supplies"), a message shaped as a problem or a goal (``is_need``: "my dog gets anxious during
storms, anything that helps?", "i want to connect my laptop to my tv") is matched to the kinds
of product the catalog's titles name (``title_phrases``, ``need_kinds``): what the shopper
already has or speaks of ("my laptop", "my tv") is no answer, and only the best kind (with its
near-ties) is shown: hdmi cables, not laptops, TVs or laptop cases.

Example::

    >>> bool(NEED_CUE.search("I'm going camping in the rain, what do I need?"))
    True
    >>> bool(NEED_CUE.search("a blender for smoothies"))
    False
"""

from __future__ import annotations

import re
from collections.abc import Callable

NEED_CUE = re.compile(
    r"\b(gift|present|birthday|christmas|anniversary|for my (?:dad|father|mum|mom|mother|wife|husband|partner|"
    r"son|daughter|kid|kids|friend|boss|brother|sister|grandma|grandpa|girlfriend|boyfriend)|what (?:do|should|would) i "
    r"(?:need|get|buy|bring|take)|going (?:camping|hiking|running|on a trip|away|travelling|traveling)|"
    r"i'?m (?:going|starting|planning|moving|working)|(?:my|the) \w+ hurts?|back (?:pain|hurts)|sore|ache|"
    r"starter kit|essentials|everything (?:i need|for)|set ?up (?:a|my)|new to)\b",
    re.I,
)
# cues that say who a need is for, not what it is: "a gift for my dad who likes coffee" is about coffee
RECIPIENT = re.compile(
    r"\b(?:(?:a|an|some)\s+)?(?:gifts?|presents?|birthday|christmas|anniversary)\b|\bfor (?:my|our) (?:dad|father|mum|mom|"
    r"mother|wife|husband|partner|son|daughter|kid|kids|friend|boss|brother|sister|grandma|grandpa|girlfriend|boyfriend)\b",
    re.I,
)
# a need for someone: "a gift for ...", "for my dad" (not "gift cards": there "gift" names the product)
FOR_SOMEONE = re.compile(
    r"\b(?:gifts?|presents?)(?:\s+ideas?)?\s+for\b|\bfor (?:my|our) (?:dad|father|mum|mom|mother|wife|husband|partner|"
    r"son|daughter|kid|kids|friend|boss|brother|sister|grandma|grandpa|girlfriend|boyfriend)\b",
    re.I,
)
BUNDLE_CUE = re.compile(r"\b(what (?:do|should|would) i (?:need|get|bring|take)|everything|essentials|kit|set ?up)\b", re.I)
# MiniLM cosine of the message and a category for the category to serve the need, and how far
# below the best one another may be (measured on the demo catalog: report of issue 11)
NEED_MIN = 0.3
NEED_MARGIN = 0.08  # one kind of thing: only near-ties ("coffee": beans, brewing gear)
BUNDLE_MARGIN = 0.15  # "what do I need?": camping 0.56 tents/backpacks .. 0.41 camp stoves
MAX_CATEGORIES = 4
NAMED_BONUS = 0.05

Embed = Callable[[str], object]


def names_a_product(message: str) -> bool:
    """The message names a product before saying who it is for ("a keyboard piano for my kid"):
    a search for that product, not a need.

    >>> names_a_product("a keyboard piano for my kid to learn on"), names_a_product("a gift for my dad who likes coffee")
    (True, False)
    """
    from assistant.carryover import kind_tokens

    m = FOR_SOMEONE.search(message)
    return bool(m) and bool(kind_tokens(RECIPIENT.sub(" ", message[: m.start()])))


def for_someone(message: str) -> bool:
    """A need for someone that names no product: "a gift for my dad who likes coffee", not
    "gift cards" nor "a keyboard piano for my kid".

    >>> [for_someone(m) for m in ["a gift for my dad who likes coffee", "gift cards", "a keyboard piano for my kid"]]
    [True, False, False]
    """
    return bool(FOR_SOMEONE.search(message)) and not names_a_product(message)


def need_text(message: str) -> str:
    """The need without who it is for: what to match against the catalog (and search for).

    >>> need_text("a gift for my dad who likes coffee")
    'who likes coffee'
    """
    if not FOR_SOMEONE.search(message):
        return message
    return re.sub(r"\s+", " ", RECIPIENT.sub(" ", message)).strip(" ,.?!") or message


def serving_categories(message: str, vocab, embed: Embed | None) -> list[str]:
    """The catalog categories that serve the need the message describes, best first; [] when
    the message names no need (or names a product: ``names_a_product``), the catalog has no
    categories, or nothing is close enough. Who the need is for ("a gift for my dad") is left
    out of the match: it would pick gift cards for every gift."""
    leaves = vocab.leaves or getattr(vocab, "groups", {})  # a catalog filed by shared descriptions: those
    if embed is None or not leaves or not NEED_CUE.search(message) or names_a_product(message):
        return []
    return _serving(need_text(message), leaves, embed, by_text=not vocab.leaves)


def _serving(message: str, leaves: dict[str, str], embed: Embed, by_text: bool = False) -> list[str]:
    """The leaves (categories, or shared descriptions with their distinctive words as the text when
    ``by_text``) that serve the need, best first: ``serving_categories``."""
    q = embed(message)
    said = {w.rstrip("s") for w in re.findall(r"[a-z]{4,}", message.lower())}
    # a category that names a word of the need ("coffee": Coffee Beans, Coffee Makers) beats one
    # that is only near it in meaning (Tea, next to coffee in "Coffee & Tea")
    def named(leaf: str, text: str) -> bool:
        return bool(said & {w.rstrip("s") for w in re.findall(r"[a-z]{4,}", (text if by_text else leaf).lower())})

    scored = sorted(((float(q @ embed(text)) + NAMED_BONUS * named(leaf, text), leaf) for leaf, text in leaves.items()), reverse=True)
    if not scored or scored[0][0] < NEED_MIN:
        return []
    best = scored[0][0]
    bundle = bool(BUNDLE_CUE.search(message))
    limit, margin = (MAX_CATEGORIES, BUNDLE_MARGIN) if bundle else (2, NEED_MARGIN)
    return [leaf for s, leaf in scored if s >= max(NEED_MIN, best - margin)][:limit]


def interleave(hits: list, categories: list[str]) -> list:
    """One hit per category first (in the categories' order), then the rest in their order:
    a bundle across the need's categories rather than four of the closest kind."""
    if len(categories) < 2:
        return hits
    firsts, rest, seen = [], [], set()
    for c in categories:
        for h in hits:
            if h.product.id not in seen and c in (h.product.categories or []):
                firsts.append(h)
                seen.add(h.product.id)
                break
    rest = [h for h in hits if h.product.id not in seen]
    return firsts + rest


def serves(product, state) -> list[str]:
    """The card's reason: which part of the need the product serves ("your kit's tents"), without
    echoing the shopper's whole sentence back on every card.

    >>> from types import SimpleNamespace as NS
    >>> state = NS(need="i'm going camping in the rain, what do i need", query=NS(categories=["Tents", "Headlamps"]))
    >>> serves(NS(categories=["Outdoor", "Tents"]), state)
    ['part of what you need: tents']
    """
    need = getattr(state, "need", None)
    if not need or len(state.query.categories) < 2:
        return []
    mine = [c for c in state.query.categories if c in (product.categories or [])]
    return [f"part of what you need: {mine[0].lower()}"] if mine else []


# -- needs on any catalog: the kinds of product named in its titles ---------------------------------
# A need is said as a problem or a goal, not as a product: the grammar of the sentence says so
# (English, not catalog data): "my wrists hurt", "keep my pc running", "connect my laptop to my
# tv", "something to ...", "anything that helps", "how do i ...", "i need to print ...".
NEED_SHAPE = re.compile(
    r"\bmy\s+(?:\w+\s+){0,2}?(?:hurts?|aches?|gets?|keeps?|is|are|was|won'?t|doesn'?t|don'?t|can'?t|isn'?t|"
    r"aren'?t|smells?|feels?|broke|died|stopped)\b"
    r"|\b(?:something|anything|stuff|things?)\s+(?:to|that|which|for (?:when|if|\w+ing))\b"
    r"|\bhow (?:do|can|could|should|would) (?:i|we|you)\b"
    r"|(?:\b(?:i|we)\s*|^\s*)(?:need|want|have|'d like|would like|am trying|'m trying|are trying)\s+to\s+"
    r"(?!buy\b|get\b|find\b|order\b|purchase\b|see\b|browse\b|shop\b|look (?:at|for)\b|compare\b|know\b|ask\b)"
    r"|\b(?:connect|hook up|plug)\b.*\bto\b"
    r"|\bkeep (?:my|our|the|it|them)\b"
    r"|\bhelps?\b",
    re.I,
)
# the things the shopper already has or speaks about ("my laptop", "to my tv", "during storms",
# "when the power goes out", "inside a pipe"): what the need is about, never what they want
_DET = r"(?:the|a|an|my|our|your|his|her|their|its)"
CONTEXT = re.compile(
    rf"\b(?:(?:my|our|his|her|their)|(?:to|into|onto|with|from)\s+{_DET}|(?:inside|in|on|during|through|under|when|if|"
    rf"whether|while|after|before)(?:\s+{_DET})?)\s+([a-z][a-z'-]+)(?:\s+([a-z][a-z'-]+))?",
    re.I,
)
# a phrase names a kind of product when at least this many titles have it (fewer is a model name)
KIND_MIN_TITLES = 3
KIND_MAX_WORDS = 3
# the most frequent phrases embedded: 1,400 (Icecat, 1,500 titles) to 2,400 (Amazon 2023, 1,727
# titles) take 1-8 s batched on 2 CPU cores; a 20k-product catalog would have ten times more
MAX_PHRASES = 5000
# MiniLM cosine of the need and a title phrase for the phrase to serve it, and how far below the
# best another kind may be. Measured on the everyday Icecat and Amazon 2023 slices: the right
# kind scores 0.45-0.51 ("hdmi cable" for connecting a laptop to a tv 0.51, "uninterruptible
# power supply" 0.45, "labels" 0.46, "calming" 0.47 for an anxious dog) and the next, wrong kind
# 0.02-0.03 below ("cable rca" 0.48, "power supply" 0.43, "soothing" 0.45): one kind, unless two
# are all but tied
KIND_MIN = 0.35
KIND_MARGIN = 0.015
MAX_KINDS = 2

EmbedMany = Callable[[list[str]], object]


def is_need(message: str) -> bool:
    """The message states a problem or a goal rather than a product.

    >>> [is_need(m) for m in ["i want to connect my laptop to my tv", "my wrists hurt when typing",
    ...                       "something to keep my filament dry", "i want to buy a tent", "hdmi cable"]]
    [True, True, True, False, False]
    >>> is_need("need to measure the thickness of some sheet metal"), is_need("need to buy a caliper")
    (True, False)
    """
    return bool(NEED_SHAPE.search(message))


def _fold(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def context_words(message: str) -> set[str]:
    """What the need is about: things the shopper has ("my laptop") or speaks of ("to my tv",
    "when the power goes out"), plurals folded. A kind named by one of them is no answer.

    >>> sorted(context_words("i want to connect my laptop to my tv"))
    ['laptop', 'tv']
    >>> sorted(context_words("i need to print address labels for wedding invitations"))
    []
    """
    from retrieval.bm25 import STOPWORDS

    out = set()
    for m in CONTEXT.finditer(message.lower()):
        for w in m.groups():
            if w and w not in STOPWORDS and not re.fullmatch(_DET, w):
                out.add(_fold(w))
            if w and w in STOPWORDS:
                break
    # "my dog gets": only the noun, not the verb after it
    return {w for w in out if not NEED_SHAPE.fullmatch(f"my x {w}")}


def title_phrases(titles, brands=(), min_titles: int = KIND_MIN_TITLES, max_words: int = KIND_MAX_WORDS) -> list[str]:
    """The phrases of up to ``max_words`` words that at least ``min_titles`` titles have: the
    catalog's kinds of product as its titles name them (and some descriptive words), without
    brand names, numbers and stop words.

    >>> title_phrases(["Acme HDMI cable 2 m", "Zed HDMI cable", "Acme HDMI adapter"], ["Acme", "Zed"], min_titles=2)
    ['cable', 'hdmi', 'hdmi cable']
    >>> title_phrases(["Acme Running Shoe, Black", "Zed Running Shoe, Black"], ["Acme", "Zed"], min_titles=2)
    ['running', 'running shoe', 'shoe']
    """
    from collections import Counter

    from assistant.references import COLOURS
    from retrieval.bm25 import STOPWORDS

    brand_words = {w for b in brands for w in _brand_words(b)}
    count: Counter = Counter()
    for t in titles:
        toks = re.findall(r"[a-z][a-z'-]*[a-z]", t.lower())
        seen = set()
        for n in range(1, max_words + 1):
            for i in range(len(toks) - n + 1):
                g = toks[i:i + n]
                if all(len(x) >= 3 and x not in STOPWORDS and x not in brand_words for x in g) and g[-1] not in COLOURS:
                    seen.add(" ".join(g))  # "running shoe black" (a title's colour after the kind) names no kind
        count.update(seen)
    common = [p for p, k in count.most_common(MAX_PHRASES) if k >= min_titles]
    return sorted(common)


def _brand_words(brand: str) -> list[str]:
    """The words of a brand name that no kind of product is named by: its first word, or all
    of a plain-words name ("Tripp Lite"); "2-Power" names no word (power supplies are a kind).

    >>> _brand_words("Tripp Lite"), _brand_words("StarTech.com"), _brand_words("2-Power")
    (['tripp', 'lite'], ['startech'], [])
    """
    words = re.findall(r"[a-z0-9]+", brand.lower())
    if re.fullmatch(r"[a-z]+(?: [a-z]+)*", brand.lower().strip()):
        return words
    return words[:1] if words and words[0].isalpha() else []


_PHRASES: dict[int, tuple] = {}


def _embed_all(texts: list[str], embed: Embed, embed_many: EmbedMany | None):
    import numpy as np

    if embed_many is not None:
        return np.asarray(embed_many(texts), dtype=np.float32)
    return np.stack([np.asarray(embed(t), dtype=np.float32) for t in texts]) if texts else np.zeros((0, 384), np.float32)


def phrase_index(vocab, embed: Embed, embed_many: EmbedMany | None = None) -> tuple[list[str], object]:
    """The catalog's title phrases and their MiniLM vectors, built once per vocabulary (a catalog
    version): about 1,500 to 2,500 phrases for 1,500 titles, a few seconds batched."""
    key = id(vocab)
    got = _PHRASES.get(key)
    if got is None or got[0] is not vocab:
        phrases = title_phrases(vocab.titles.values(), vocab.brands)
        got = (vocab, phrases, _embed_all(phrases, embed, embed_many))
        _PHRASES.clear()  # one catalog at a time: a new version replaces the old one
        _PHRASES[key] = got
    return got[1], got[2]


def _names_context(word: str, context: set[str]) -> bool:
    """``word`` is a context word or a form of one ("wired", "wires" of "a wire").

    >>> _names_context("wired", {"wire"}), _names_context("tvs", {"tv"}), _names_context("cable", {"tv"})
    (True, True, False)
    """
    return word in context or any(len(c) >= 2 and word.startswith(c) and len(word) - len(c) <= 2 for c in context)


def rank_kinds(scored: list[tuple[float, str]], context: set[str]) -> list[tuple[float, str]]:
    """The kinds that may answer, best first: none named by what the need is about (its head
    word, the last, is a ``context`` word: "my laptop" asks for no laptop), and of two where one
    contains the other only the better one ("uninterruptible power supply" over "power supply";
    "hdmi cable" over "hdmi"): the more general kind only when it is the better match.

    >>> rank_kinds([(0.5, "laptop"), (0.49, "hdmi"), (0.48, "hdmi cable"), (0.4, "tv mount")], {"laptop", "tv"})
    [(0.49, 'hdmi'), (0.4, 'tv mount')]
    """
    kept: list[tuple[float, str]] = []
    for s, p in sorted(scored, reverse=True):
        words = [_fold(w) for w in p.split()]
        if _names_context(words[-1], context) or all(w in context for w in words):
            continue
        if any(f" {p} " in f" {k} " or f" {k} " in f" {p} " for _, k in kept):
            continue
        kept.append((s, p))
    return kept


def need_kinds(message: str, vocab, embed: Embed | None, embed_many: EmbedMany | None = None) -> list[str]:
    """The kinds of product (title phrases) that serve the need the message states, best first;
    [] when the message states no need (``is_need``) or nothing is close enough (``KIND_MIN``).
    Near-ties of the best (``KIND_MARGIN``) are kept, at most ``MAX_KINDS``."""
    if embed is None or not vocab.titles or not is_need(message):
        return []
    if getattr(vocab, "groups", None) and not vocab.leaves:
        # a catalog filed by shared descriptions (category paths) says what serves a need better than
        # its title phrases: "measure how loud it is" is Sound Measurement, not "low noise" or "volume"
        served = _serving(need_text(message), vocab.groups, embed, by_text=True)
        if served:
            return served
    phrases, vectors = phrase_index(vocab, embed, embed_many)
    if not phrases:
        return []
    sims = vectors @ embed(need_text(message))
    scored = [(float(s), p) for s, p in zip(sims, phrases) if s >= KIND_MIN]
    ranked = rank_kinds(scored, context_words(message))
    if not ranked:
        return []
    best = ranked[0][0]
    return [p for s, p in ranked if s >= best - KIND_MARGIN][:MAX_KINDS]
