"""Understanding one message in the context of the conversation so far.

Retrieval's ``parse_query`` reads prices, brands, categories and sort orders out
of one message; this module adds what only the conversation knows:

- the intent (find, refine, compare, ask, reviews, handoff, chitchat, out_of_scope);
- filters that carry over and are modified ("cheaper" lowers the cap below the
  cheapest shown, "in black", "not that brand", "under $50");
- references to shown items ("the second one", "that blender", "the Acme one", "it").

``understand(message, state, shown, parse, brands)`` puts these together into the
state after the message (``Understood``). The catalog comes in as plain callables and
lists (its parser, its brands, the shown products), so everything here is testable
without a store. The state is a plain dict stored in the assistant message's ``meta``
so any process can pick the conversation up (web workers, the agent console).

Example::

    >>> detect_intent("I want to talk to a human", has_state=False, has_refs=False)
    'handoff'
    >>> ordinal_refs("compare the first and the third one", 4)
    [0, 2]
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from assistant.answers import price_compared
from assistant.attributes import Embed, Reading, beyond, names_attribute, read, read_labels
from assistant.brands import missing_brands
from assistant.carryover import (
    adds_only_filters,
    cut,
    leftover,
    negated_categories,
    negated_words,
    strip_negated,
    whole_catalog,
)
from assistant.intents import (  # noqa: F401  (re-exported: replies and tests import them from here)
    _SUPERLATIVE_WORDS,
    ABOUT,
    ANOTHER,
    CHEAPER,
    COMPARE,
    FINDISH,
    NOT_THAT_BRAND,
    PRICIER,
    QUESTION,
    STOP,
    _colour_words,
    _content_words,
    asks_cart,
    asks_overview,
    asks_recommendation,
    detect_intent,
    is_superlative,
    thrifty,
    without_greeting,
)
from assistant.needs import EmbedMany, for_someone, need_kinds, need_text, serving_categories
from assistant.proposals import fill_state
from assistant.references import (
    ALL_SHOWN,
    COLOURS,
    PRONOUN,
    colour_refs,
    name_segments,
    named_products,
    ordinal_refs,
    price_rank_refs,
    title_refs,
    variants,
    which_of_shown,
)
from assistant.refinement import brand_mentions, fresh_state, negated_brands, refine  # noqa: F401 (re-exported)
from assistant.state import State, Understood
from assistant.variants import sibling_text
from assistant.vocabulary import CatalogVocabulary
from retrieval.query import StructuredQuery


def resolve_refs(message: str, shown: list, focus: str | None) -> list[str]:
    """Product ids the message refers to, among the shown products (Product objects).

    Order of evidence: price ranks ("the second cheapest"), positions ("the second one"),
    colours ("the black one"), brand or title words ("the Acme one", "that blender"),
    "both/these", then a bare pronoun ("it"). Never a product that is not on screen.
    """
    if not shown:
        return []
    ids = [p.id for p in shown]
    ranked = price_rank_refs(message, shown) if not re.search(r"\d", message) else []
    if ranked:
        return ranked
    idx = ordinal_refs(message, len(shown))
    if idx:
        return [ids[i] for i in idx]
    coloured = colour_refs(message, shown)
    if coloured and len(coloured) < len(shown):
        return [focus] if focus in coloured else coloured[:1]
    low = message.lower()
    models = [w for w in re.findall(r"[a-z0-9-]*\d[a-z0-9-]*", low) if len(w) >= 3]
    if models and not MONEY.search(low):  # a model number names one shown product ("the roomba 980", not the 860)
        named = title_refs(" ".join(models), shown)
        if len(named) == 1:
            return named
    # brand mentions
    by_brand = [p.id for p in shown if p.brand and re.search(rf"\b{re.escape(p.brand.lower())}\b", low)
                and not negated_brands(low, [p.brand])]  # "anything that's not hatchbox?" points at none
    if by_brand and len(by_brand) < len(shown):
        return by_brand
    # "that blender" / "the kettle": a title word after a determiner, matching some but not all shown
    if _unseen_word(low, shown):
        return []  # "the pocket size tds one" over pH meters: a product not on screen, searched for
    for m in re.finditer(r"\b(that|the|this|those|these)\s+(\w+)(?:\s+(\w+))?", low):
        plural = m.group(1) in ("those", "these")
        first = m.group(2)
        if first in ("most", "least", "best") or (first.endswith("est") and not any(first in p.title.lower() for p in shown)):
            continue  # "the quietest blender you have": a superlative over the catalog, not "that blender"
        for word in (w for w in m.groups()[1:] if w):
            if len(word) < 3 or word in STOP or word in COLOURS:
                continue
            stem = word[:-1] if word.endswith("s") and len(word) > 4 else word
            hits = [p.id for p in shown if re.search(rf"\b{re.escape(stem)}", p.title.lower())]
            if not hits or (len(hits) == len(shown) and not plural and focus not in hits):
                continue
            if plural:
                return hits
            return [focus] if focus in hits else hits[:1]
    said = " ".join(NAMED_AFTER.findall(low))  # "does the Pulse 600 come in green?": what follows "the"
    if QUESTION.search(message) and said and not (focus in ids and IT.search(low)):
        named = title_refs(said, shown)  # (not "is it loud", nor "any good for power outages": the focus)
        if named and len(named) < len(shown):
            return named
    if ALL_SHOWN.search(low):
        return ids
    if PRONOUN.search(RELATIVE_THAT.sub("", low)):  # "a tent that is light": no pronoun
        return [focus] if focus in ids else [ids[0]]
    return []


def _unseen_word(low: str, shown: list) -> bool:
    """ "the X Y one" where one word is in some shown titles and another in none: the shopper
    describes a product that is not on screen ("the pocket size tds one" over pocket pH meters).

    >>> from retrieval.catalog import Product
    >>> shown = [Product("a", "Pocket pH Meter"), Product("b", "Desk pH Meter")]
    >>> _unseen_word("the pocket size tds one", shown), _unseen_word("the pocket one", shown)
    (True, False)
    """
    m = _DESCRIBED_ONE.search(low)
    if not m or len(shown) < 2:
        return False
    titles = [p.title.lower() for p in shown]
    words = [w for w in re.findall(r"[a-z0-9]+", m.group(1)) if len(w) >= 3 and w not in STOP and w not in COLOURS]
    seen = [sum(bool(re.search(rf"\b{re.escape(w)}", t)) for t in titles) for w in words]
    return any(0 < n < len(shown) for n in seen) and 0 in seen


# "the pocket size tds one": the words describing one product, between the determiner and "one"
_DESCRIBED_ONE = re.compile(r"\b(?:the|that|this)\s+((?:[\w-]+\s+){2,4})one\b(?!s)")
IT = re.compile(r"\b(?:it|its|it's)\b")
# "that" opening a relative clause after an indefinite noun ("a tent that is not heavy", "something
# that fits"): it describes the thing asked for, it does not point at a shown product
RELATIVE_THAT = re.compile(r"\b(?:a|an|some|any)\s[\w\s-]{1,40}?\bthat\b|\b(?:something|anything|one|ones)\s+that\b")
# "the pepperhill one", "that nordvik one": one shown product by a word of its own
THE_X_ONE = re.compile(r"\b(?:the|that|this) [\w-]+(?: [\w-]+)? one\b(?!s)", re.I)
# a number in a budget or a bound is no model number ("anything under 10$", "more than 200 w")
MONEY = re.compile(r"\b(?:under|over|below|above|less|more|max|min|budget|up to|between|dollars?|bucks|usd|eur)\b|[$€£]")
NAMED_AFTER = re.compile(r"\b(?:the|that|this)\s+((?:[\w-]+\s*){1,3})")
# "any good for camping?", "is it good for running", "would it work for a small kitchen?"
GOOD_FOR = re.compile(r"^\s*(?:(?:is|would|will|does) it (?:be )?|it's )?(?:any |much |really )?(?:good|ok|okay|work|suitable|useful)"
                      r"(?: enough)? (?:for|at|in|with)\b", re.I)
# "stainless steel ones", "all metal only": the topic on screen, narrowed by the words said
ONES = re.compile(r"\b(?:ones|one)\b(?!\s+(?:of|more|for))|^\W*only\b|\bonly\W*$", re.I)
# a question whose subject is the product in focus: "is it comfy", "does this fold", "are they loud"
IT_QUESTION = re.compile(r"\b(?:is|does|can|will|would|did|has) (?:it|this|that)\b(?! (?:one|ones)\b)|"
                         r"\b(?:are|do|will|did) (?:they|these|those)\b(?! (?:ones|come in)\b)", re.I)


def asks_about_focus(message: str) -> bool:
    """A question about the product in focus that a search could take for a request: what reviewers
    make of it ("any downsides?"), or a clause about "it" ("i wear glasses, is it comfy with them").

    >>> [asks_about_focus(m) for m in ("any downsides?", "i wear glasses, is it comfy with them", "is it any good")]
    [True, True, True]
    >>> [asks_about_focus(m) for m in ("any tents?", "a lamp that is bright", "do you have them in red")]
    [False, False, False]
    """
    from assistant.evidence import is_opinion_question

    return bool(IT_QUESTION.search(message)) or (bool(QUESTION.search(message)) and is_opinion_question(message))


_WHAT_LIKE = re.compile(r"^\W*(?:(?:and|so|ok|okay|hmm)\W+)*(?:what|how)(?:'s|s| is| are)\s+(?:the\s+|its\s+)?"
                        r"([a-z][a-z -]{1,30}?)\s+(?:like|on it|on that|on this)\b", re.I)


def spec_like(message: str, product) -> bool:
    """ "whats the battery like", "how is the screen on it": a question about a part of ``product``
    that its spec sheet names (a key with that word), not a search for that part.

    >>> from retrieval.catalog import Product
    >>> p = Product("g", "Galaxy S20", attributes={"battery_capacity": "4000 mAh", "display_diagonal": "6.2"})
    >>> spec_like("whats the battery like", p), spec_like("what's the display like on it?", p), spec_like("whats the camera like", p)
    (True, True, False)
    """
    m = _WHAT_LIKE.search(message)
    if m is None or product is None:
        return False
    words = {w.rstrip("s") for w in re.findall(r"[a-z]+", m.group(1).lower())} - {"the", "its", "it"}
    keys = {w.rstrip("s") for k in (product.attributes or {}) for w in re.split(r"[_\W]+", k.lower()) if w}
    return bool(words) and words <= keys


Parse = Callable[[str], StructuredQuery]
Propose = Callable[[str], dict]


class Understander(Protocol):
    """Message + previous state + shown cards + catalog vocabulary -> the new structured state,
    the intent and the references (``Understood``). The turn pipeline calls one of these and
    nothing else of understanding; a capable LLM's understander fills the same state."""

    def __call__(self, message: str, state: State, shown: list, vocab: CatalogVocabulary) -> Understood: ...


@dataclass(slots=True)
class RuleUnderstander:
    """The default ``Understander``: deterministic rules over the catalog's vocabulary plus
    MiniLM (``embed``) where words must be matched by meaning; ``propose`` adds a capable
    LLM's validated filters (``assistant.proposals``)."""

    parse: Parse
    brands: list[str]
    embed: Embed | None = None
    propose: Propose | None = None
    embed_many: EmbedMany | None = None  # batched MiniLM: the catalog's title phrases, once (assistant.needs)

    def __call__(self, message: str, state: State, shown: list, vocab: CatalogVocabulary) -> Understood:
        return understand(message, state, shown, self.parse, self.brands, self.propose, vocab, self.embed,
                          self.embed_many)


# "A or B?": a choice between products when every side names exactly one model
_CHOICE = re.compile(r"\bor\b", re.I)


def _each_named(message: str, vocab) -> list[str]:
    """The models of "A or B" when each side names one (else none: "red or blue kettle" is a search).

    >>> from retrieval.catalog import Product
    >>> v = CatalogVocabulary.build([Product(id="a", title="Acme K100 Kettle"), Product(id="b", title="Acme K200 Kettle")])
    >>> _each_named("acme k100 or acme k200?", v), _each_named("k100 or blue kettle", v)
    (['a', 'b'], [])
    """
    named, ambiguous = named_products(message, vocab)
    return named if len(named) >= 2 and not ambiguous and len(named) == len(name_segments(message)) else []


_SHOP_RANGE = re.compile(r"\b(?:sell|carry|stock|offer|kinds? of|sorts? of|types? of)\b", re.I)


# "a printer that isn't too expensive": an article, then the thing asked for (these words are no thing)
_A_THING = re.compile(r"\b(?:a|an)\s+([a-z][a-z-]{2,})\b", re.I)
_NO_THING = frozenset("bit lot little few couple cheaper less more similar different other another same one "
                      "budget price good great nice new decent".split())


def names_new_thing(message: str, topic: str, vocab) -> bool:
    """Whether the message asks for "a X" where X is a word of the catalog's titles that the
    conversation's topic does not have ("a printer that isn't too expensive" after monitors; not
    "a bit cheaper", not "a cheaper one").

    >>> v = CatalogVocabulary.build([])
    >>> v.token_ids = {"printer": {"p"}, "monitor": {"m"}}
    >>> names_new_thing("a printer that isn't too expensive", "27 inch monitor", v), names_new_thing("a bit cheaper", "monitor", v)
    (True, False)
    >>> names_new_thing("a cheaper monitor", "27 inch monitor", v)
    False
    """
    said = {w.rstrip("s") for w in re.findall(r"[a-z]+", topic.lower())}
    for m in _A_THING.finditer(message):
        w = m.group(1).lower()
        if w in _NO_THING or w.rstrip("s") in said:
            continue
        if w in vocab.token_ids or w.rstrip("s") in vocab.token_ids:
            return True
    return False


def understand(
    message: str, state: State, shown: list, parse: Parse, brands: list[str], propose: Propose | None = None,
    vocab: CatalogVocabulary | None = None, embed: Embed | None = None, embed_many: EmbedMany | None = None,
) -> Understood:
    """The intent, the references and the state after ``message``.

    ``shown`` are the products of ``state.shown`` (Product objects, in order), ``parse`` is
    the catalog's query parser, ``brands`` its brands (longest first), ``propose`` an optional
    capable LLM's filter proposals (validated, see ``assistant.proposals``), ``vocab`` the
    catalog's attributes, categories and titles (``assistant.vocabulary``; without it no
    attribute, category exclusion or product name is read) and ``embed`` MiniLM for choosing
    between attributes.
    """
    vocab = vocab or CatalogVocabulary()
    said, message = message, without_greeting(message)  # "hi, a tent for two": "hi" is no search word
    if propose is not None:  # asked once per message, used for the query and the state
        propose = functools.lru_cache(maxsize=1)(propose)
    named, ambiguous = named_products(message, vocab) if COMPARE.search(message) else ([], [])
    if not named and _CHOICE.search(message):  # "hp 2159v or hp 2009v?": a choice between two models
        named = _each_named(message, vocab)
    if len(named) >= 2 and not ambiguous:  # "compare the Sonvia Pulse ANC and the Sonvia Beat 200": those two
        new = state.copy()
        new.shown, new.focus = list(named), named[0]
        return Understood(intent="compare", state=new, refs=named)
    if ambiguous and len(named) + len(ambiguous) >= 2:  # a name several models share: show them, ask which
        new = fresh_state(ambiguous[0], state, parse, brands)
        return Understood(intent="find", state=new, notes=[f"Which “{ambiguous[0]}” do you mean? Here are the ones we have."])
    excluded = negated_categories(message, vocab.categories)
    ruled_out = [*excluded, *negated_words(message, excluded)]
    if asks_overview(said, ruled_out) and (ruled_out or not state.active or _SHOP_RANGE.search(said)):
        # "what do you sell?", "what else have you got apart from tea?": the shop's range, no search
        return Understood(intent="overview", state=state.copy(), ruled_out=ruled_out)
    if shown and asks_cart(said):  # "add the second one to my cart": the product meant (else "it")
        refs = resolve_refs(message, shown, state.focus)[:1] or [state.focus or shown[0].id]
        new = state.copy()
        new.focus = refs[0]
        return Understood(intent="cart", state=new, refs=refs)
    if len(shown) >= 2 and asks_recommendation(said):  # "which one would you recommend?": a pick among the cards
        return Understood(intent="recommend", state=state.copy())
    sibling = _sibling(message, state, shown, brands, vocab)
    if sibling is not None:  # "the i7 one", "same thing in red": the focus's sibling with those words
        new = state.copy()
        new.shown, new.focus = [sibling], sibling
        new.query.text = sibling_text(new.query.text, vocab.titles.get(state.focus, ""), vocab.titles.get(sibling, ""))
        return Understood(intent="find", state=new, refs=[sibling], variant=[sibling], sibling=True)
    kinds = {w for c in vocab.categories for w in re.findall(r"[a-z]+", c.lower())}
    kinds |= {w[:-1] for w in kinds if w.endswith("s")}
    base = parse

    def parse(m: str, _p=base) -> StructuredQuery:
        q = _p(strip_negated(m, excluded) if excluded else m)
        q.categories = [c for c in q.categories if c not in excluded]  # "not a kettle" asks for no kettle
        colour = q.attributes.get("colour")
        if colour and colour.lower() not in COLOURS and _names_a_material(m, colour, kinds):
            q.attributes = {k: v for k, v in q.attributes.items() if k != "colour"}  # "natural rubber"
        return q
    refs = resolve_refs(message, shown, state.focus)
    if not refs and state.focus in {p.id for p in shown} and GOOD_FOR.match(message):
        refs = [state.focus]  # "any good for power outages?": a question about the product in focus
    intent = detect_intent(message, state.active, bool(refs))
    if intent in ("ask", "reviews") and not refs and shown:
        refs = [state.focus or shown[0].id] if intent == "reviews" else []
    if intent == "ask" and not refs:
        intent = "find"
    if intent in ("refine", "find") and refs and refs == price_rank_refs(message, shown):
        intent = "ask"  # "the cheaper of those": a shown product, not a new price cap
    if intent == "find" and refs and not brand_mentions(message, brands) and len(message.split()) <= 6:
        # "the second one" on its own: talk about that product
        intent = "ask"
    if intent == "find" and len(refs) == 1 and THE_X_ONE.search(message):
        intent = "ask"  # "show me the pepperhill one": the shown product of that brand, not a new search
    colours = _colour_words(message)
    target = refs[0] if len(refs) == 1 else None if refs else state.focus
    if (target or refs) and colours and QUESTION.search(message):
        other = coloured(refs if len(refs) > 1 else [target], colours, vocab)
        if other:  # "does it come in black?": the same model in that colour
            new = state.copy()
            new.shown, new.focus = other[:3], other[0]
            return Understood(intent="find", state=new, refs=other[:1], variant=other[:3])
    q = parse(message)
    reading = read(message, q.categories or state.query.categories, vocab, embed)
    among = read(message, [], vocab, embed, among={p.id for p in shown}) if shown else reading
    # "which is cheaper, the first or the third?": the winner among the cards the message names
    pool = [p for p in shown if p.id in refs] if len(refs) >= 2 else shown
    best = which_of_shown(message, pool, among.order or reading.order, bool(is_superlative(message) or reading.graded and
                                                              re.search(r"est\b|\bmost\b|\bleast\b", message)))
    if best and intent in ("find", "ask", "refine", "compare"):
        # "which one is quieter?" after a comparison: the winner among the cards, named
        new = state.copy()
        new.focus = best[0]
        # "which is cheaper, the first or the third?": the other named card stays, for the price comparison
        rest = [r for r in refs if r not in best] if pool is not shown and price_compared(message) else []
        return Understood(intent="ask", state=new, refs=best + rest)
    content = _unbranded(_content_words(cut(q.text, [message[a:b] for a, b in reading.spans])), [*q.brands, *q.exclude_brands])
    labels = read_labels(reading, vocab)  # "too heavy for me, anything lighter?": "heavy" names the weight ordered by
    content = [w for w in content if not names_attribute(w, labels)]
    if intent == "refine" and CHEAPER.search(message) and names_new_thing(message, state.query.text, vocab):
        intent = "find"  # "a printer that isn't too expensive" after monitors: a new request with a budget word
    if intent == "find" and state.focus and shown and spec_like(message, next((p for p in shown if p.id == state.focus), None)):
        intent, refs = "ask", [state.focus]  # "whats the battery like": the focus's battery, not a search for batteries
    if intent == "find" and state.focus and asks_about_focus(message) and not q.brands and not is_superlative(message):
        # "any downsides?", "i wear glasses, is it comfy with them": about the product in focus, even
        # when a word of it names a category ("glasses") or reads like a search ("any downsides")
        intent, refs = "ask", [state.focus]
    if intent == "find" and state.focus and QUESTION.search(message) and not FINDISH.search(message):
        if (not q.categories and not q.brands and not q.exclude_brands and not reading.order and not reading.constraints
                and q.price_max is None and q.price_min is None):  # "anything under 100?" is a budget
            # "does the lid leak?" right after a product was shown: a question about it
            intent, refs = "ask", [state.focus]
    if intent in ("find", "ask") and state.active and adds_only_filters(
        content, q, reading, excluded, _colour_words(message)
    ):
        # "something under $300" after chairs, "which one is the quietest?" after blenders, "the best
        # rated of those?"; but "the second cheapest one" is a shown product, not a new order
        # "is it loud?" about the focused product stays a question; "the quietest?" re-orders
        sorting = q.sort != "relevance" or is_superlative(message) or (reading.order and reading.graded)
        if intent == "find" or (sorting and not (refs and refs == price_rank_refs(message, shown))):
            intent = "refine"
    adds_words = False
    if intent == "find" and state.active and not q.categories and not q.brands and ONES.search(message):
        # "stainless steel ones only" after kettles: the same topic, with these words added
        intent, adds_words = "refine", True
    if intent == "reviews" and not refs:
        # "what do reviewers say about blenders" with nothing on screen: find blenders first
        intent = "find"
    changes: list[str] = []
    cheaper_than = None
    notes: list[str] = []
    missing: list[str] = []  # brands asked for that the shop does not carry
    if intent == "find":
        new = fresh_state(message, state, parse, brands, propose)
        _apply(new, reading, excluded, message, changes, replace_all=True)
        if propose is not None:
            fill_state(new, propose(message))  # a capable LLM's validated constraints, order, exclusions
        missing = missing_brands(message, brands, vocab, kinds)  # qa hook: brands the shop lacks
        if missing:
            notes.append(f"We don't carry {' or '.join(missing)}.")
            new.query.text = cut(new.query.text, [*missing, *(m.lower() for m in missing)])
        if for_someone(message):  # "a gift for my dad who likes coffee": coffee is searched for, not gifts
            new.query.text = need_text(new.query.text)
        words = _content_words(new.query.text)
        if not (new.query.categories or new.query.brands or reading.order or reading.constraints or missing):
            served = serving_categories(message, vocab, embed)  # "a gift for my dad who likes coffee"
            if served:
                new.query.categories, new.need = served, new.query.text or message
                changes.append("for " + ", ".join(vocab.groups.get(c, c) for c in served))
            elif kinds := need_kinds(message, vocab, embed, embed_many):  # "connect my laptop to my tv": hdmi cables
                new.query.categories, new.need = kinds, message
                changes.append("for " + ", ".join(vocab.groups.get(c, c) for c in kinds))
        if whole_catalog(words) and (new.query.sort != "relevance" or new.order or missing):
            new.query.text = ""  # "the most expensive thing you sell": over the whole catalog
            if missing and new.query.sort == "relevance" and not new.order:
                new.query.sort = "rating_desc"  # nothing else asked: our best-rated, said to be instead
    elif intent == "refine":
        new, changes, cheaper_than = refine(message, state, shown, refs, parse, brands)
        if set(new.query.brands) != set(state.query.brands):  # "what about asus": the old brand leaves the search words
            new.query.text = cut(new.query.text, [b for b in state.query.brands if b not in new.query.brands]) or new.query.text
        _apply(new, reading, excluded, message, changes, replace_all=False)
        extra = [w for w in leftover(content) if w not in _colour_words(message)]
        if adds_words and extra:
            new.query.text = f"{new.query.text} {' '.join(extra)}".strip()
            changes.append(" ".join(extra))
        comparative = re.search(r"\b(\w+er|more \w+|less \w+)\b", message, re.I)
        if reading.order and reading.graded and comparative and not re.search(r"est\b|\bmost\b|\bleast\b", message, re.I):
            basis = [p for p in shown if p.id in refs] or [p for p in shown if p.id == state.focus]
            bound = beyond(basis[0], reading.order, comparative.group(1)) if basis else None
            if bound is not None:  # "a lighter one": lighter than the product in focus
                new.constraints = [c for c in new.constraints if c["key"] != bound["key"]] + [bound]
                changes.append(bound["text"])
                past_the_model(new, basis[0])
        # "any cheaper noise cancelling ones?": words said again are required, even if then nothing is left
        said = set(_content_words(message)) - {"cheaper", "pricier", "ones", "any", "else", "other", "options"}
        new.strict = bool(said & set(_content_words(new.query.text)))
    else:
        new = state.copy()
        if refs:
            new.focus = refs[0]
    return Understood(intent=intent, state=new, refs=refs, changes=changes, cheaper_than=cheaper_than, notes=notes,
                      lacking=missing)


# a follow-up naming a variant is short: "do you have the german qwertz one in black" (9 words)
SIBLING_WORDS = 10


def _sibling(message: str, state: State, shown: list, brands: list[str], vocab: CatalogVocabulary) -> str | None:
    """The sibling of the product in focus that a short follow-up asks for by its differing words
    (``variants.asked_sibling``); not when it names a budget, a price move, an order or another brand."""
    from assistant.variants import asked_sibling

    focus = state.focus if state.focus in {p.id for p in shown} else None
    if focus is None or len(message.split()) > SIBLING_WORDS or MONEY.search(message.lower()) or state.constraints:
        return None  # (a sibling would escape the bounds asked for: "yellow" after cables of at least 10 m filters them)
    if CHEAPER.search(message) or PRICIER.search(message) or is_superlative(message) or ANOTHER.search(message):
        return None
    title = vocab.titles.get(focus, "")
    if any(b.lower() not in title for b in brand_mentions(message, brands)):
        return None  # "id rather have apc": another brand, searched for
    return asked_sibling(message, focus, vocab, frozenset(STOP))


def past_the_model(new: State, product) -> None:
    """After "anything lighter?" about a product asked for by its model ("jvc ha-rx900 headphones"):
    the search is for others of its kind, so the model code (a title word with a digit) leaves the
    request, and with it the brand that only named the model.

    >>> from retrieval.catalog import Product
    >>> s = State(StructuredQuery(text="jvc ha-rx900 headphones how are they", brands=["JVC"]))
    >>> past_the_model(s, Product("j", "JVC HA-RX900 Headphones Black", brand="JVC")); s.query.text, s.query.brands
    ('headphones how are they', [])
    """
    model = {w for w in re.findall(r"[a-z0-9-]+", (product.title or "").lower()) if re.search(r"\d", w)}
    words = new.query.text.split()
    if not any(w.lower() in model for w in words):
        return
    brands = {b.lower() for b in new.query.brands}
    new.query.text = " ".join(w for w in words if w.lower() not in model and w.lower() not in brands)
    new.query.brands = []


def coloured(ids: list[str], colours: list[str], vocab: CatalogVocabulary) -> list[str]:
    """The products asked about in one of ``colours``: each one itself when its title names the
    colour ("does it come in pink?" about the pink one), then its variants in that colour ("got
    them in black?" about several shown: theirs).

    >>> from retrieval.catalog import Product
    >>> v = CatalogVocabulary.build([Product(id="p", title="Acme Scope - Pink"), Product(id="b", title="Acme Scope - Black"),
    ...                              Product(id="w", title="Zed Tape, White"), Product(id="k", title="Zed Tape, Black")])
    >>> coloured(["p"], ["pink"], v), coloured(["p", "w"], ["black"], v)
    (['p'], ['b', 'k'])
    """
    out: list[str] = []
    for i in ids:
        own = [i] if any(re.search(rf"\b{c}\b", vocab.titles.get(i, "")) for c in colours) else []
        out += [o for o in [*own, *variants(i, colours, vocab)] if o not in out]
    return out


def _names_a_material(message: str, colour: str, kinds: set[str]) -> bool:
    """A catalog colour that is not a plain colour word ("natural", "walnut") followed by a
    noun that names no product: "natural rubber" is a material, "walnut turntable" a colour.

    >>> _names_a_material("yoga mat made of natural rubber", "natural", {"yoga", "mat"})
    True
    >>> _names_a_material("the natural one", "natural", {"yoga", "mat"})
    False
    """
    m = re.search(rf"\b{re.escape(colour.lower())}\s+([a-z]+)", message.lower())
    return bool(m) and m.group(1) not in kinds and m.group(1) not in {"one", "ones", "colour", "color", "version",
                                                                      "model", "please", "finish", "or", "and"}


def _unbranded(words: list[str], brands: list[str]) -> list[str]:
    """The words that are no part of a brand the message named: "ridgid ones only" names no
    product, and neither does "what about shark" (a short form of SharkNinja).

    >>> _unbranded(["shark", "vacuum"], ["SharkNinja"]), _unbranded(["uni", "t", "meter"], ["UNI-T"])
    (['vacuum'], ['meter'])
    """
    names = [b.lower() for b in brands]
    parts = {w for b in names for w in re.findall(r"[a-z0-9]+", b)}
    return [w for w in words if w not in parts and not any(b.startswith(w) and len(w) >= 3 for b in names)]


def brands_said(state: State) -> list[str]:
    """The brands the state names either way (their words are no excluded words)."""
    return [*state.query.brands, *state.query.exclude_brands]


def _apply(new: State, reading: Reading, excluded: list[str], message: str, changes: list[str], replace_all: bool) -> None:
    """Put one message's constraints, order and excluded categories into the state: a bound on an
    attribute replaces an earlier bound on it (same direction), an order replaces the order."""
    if replace_all:
        new.constraints, new.order = [], None
    for c in reading.constraints:
        new.constraints = [o for o in new.constraints if not (o["key"] == c["key"] and o["op"] == c["op"])]
        new.constraints.append(c)
        changes.append(c["text"])
    if reading.order:
        new.order = reading.order
        changes.append(reading.order["text"])
        if new.query.sort in ("price_asc", "price_desc") and not is_superlative(message):
            new.query.sort = "relevance"
    spans = [message[a:b] for a, b in reading.spans]
    if spans:
        new.query.text = cut(new.query.text, spans)
    for w in negated_words(message, [*excluded, *brands_said(new)]):
        if w not in new.exclude_words:  # "not an orthopedic one": out of the titles and the search text
            new.exclude_words.append(w)
            new.query.text = re.sub(rf"\b(?:not|no|without|except|excluding|minus|avoid)\s+(?:an?\s+|any\s+|the\s+|with\s+)?"
                                    rf"{re.escape(w)}(?:\s+ones?)?", " ", new.query.text, flags=re.I).strip(" ,")
            changes.append(f"no {w}")
            new.query.text = cut(new.query.text, [])  # no "dog bed but" left dangling
    for c in excluded:
        if c not in new.exclude_categories:
            new.exclude_categories.append(c)
            changes.append(f"not {c}")
    new.query.categories = [c for c in new.query.categories if c not in excluded]



_BROWSE_FILLER = {"something", "anything", "recommend", "recommendation", "recommendations", "suggest",
                  "suggestion", "suggestions", "options", "option", "have", "sell", "stock", "carry", "got",
                  "your", "you", "we", "us", "for", "me", "there", "here", "nice", "decent", "top"}


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def is_browse(q: StructuredQuery) -> bool:
    """True when the shopper named a catalog category and nothing else to match.

    Then every candidate already satisfies all they said (category, brand, price filters) and
    the relevance differences between candidates are noise on the category word itself, so the
    predicted rating may order them (``Settings.rating_weight_browse``); any other query keeps
    relevance first (``Settings.rating_weight``).

    >>> is_browse(StructuredQuery(text="recommend me some headphones", categories=["Headphones"]))
    True
    >>> is_browse(StructuredQuery(text="quiet headphones", categories=["Headphones"]))
    False
    >>> is_browse(StructuredQuery(text="headphones"))
    False
    """
    if not q.categories:
        return False
    allowed = {_stem(w) for name in [*q.categories, *q.brands] for w in re.findall(r"[a-z]+", name.lower())}
    words = [_stem(w) for w in _content_words(q.text) if w not in _BROWSE_FILLER]
    return all(w in allowed for w in words)
