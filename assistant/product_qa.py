"""Answering a question about one product from its spec sheet, features and description.

The catalog's own data comes first: a question is matched to every attribute (its key,
e.g. Icecat ``attr_*``, Amazon details, ours), feature bullet and description sentence by
MiniLM similarity plus shared words, and the best one is said as a sentence that names
its source ("The spec sheet lists its noise as 72 dB."). Nothing is invented: yes/no is
said only when the evidence states the asked-for thing (a feature that mentions "USB"),
and the only knowledge that is not the catalog's is general and small: which connections
common devices take (``DEVICE_LINKS``) and unit conversions (``CONVERSIONS``).

Example::

    >>> key_words("attr_battery_life")
    'battery life'
    >>> convert("2.8 kg", "pounds")
    '6.2 lb'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.answers import clean, fmt_price, question_terms, short_title
from assistant.attributes import _SYNONYMS  # "ram" -> memory, "screen" -> display diagonal (English)
from assistant.variants import (  # noqa: F401  (re-exported: replies and tests import them from here)
    _IS_THERE,
    VariantAnswer,
    key_words,
    variant_answer,
    variant_question,
)
from retrieval.bm25 import tokenize

# MiniLM cosine (+ word bonus) above which a spec/feature/description line answers the question;
# measured on the demo and test shops: "how loud is it in dB?" vs "noise: 72 dB" scores 0.62 with
# the unit bonus, the nearest wrong attribute of a blender (wattage) 0.39
SPEC_MIN = 0.5
# a shared content word between the question and an attribute's *name* ("battery" in
# "battery_life") is strong evidence the attribute is what is asked about
KEY_WORD_BONUS = 0.3
# the question names the value's unit ("in dB?", "how many watts")
UNIT_BONUS = 0.25
# ... and every word of the attribute's name is asked: "how big is the screen?" (screen: display
# diagonal) is the display diagonal (50) of an Icecat TV, not its viewable size diagonal (1270 mm),
# which shares only "diagonal" and scores 0.02 higher by cosine
WHOLE_KEY_BONUS = 0.1
# "how big / how much / how many ...?" asks a quantity: a spec said in words ("display: LCD", whose
# one-word name is all asked after "screen" -> display diagonal) ranks this much lower; still an
# answer when nothing numeric is near ("size: Large")
NOT_A_QUANTITY = 0.2
_HOW_MUCH = re.compile(r"\bhow (?:much|many|big|large|small|heavy|long|wide|tall|high|deep|thick|fast|far)\b", re.I)

# adjectives a shopper uses for a dimension the spec sheet names by a noun (general English)
DIMENSIONS = {
    "heavy": "weight", "light": "weight", "weigh": "weight", "weighs": "weight", "lightweight": "weight",
    "loud": "noise", "quiet": "noise", "noisy": "noise", "silent": "noise",
    "big": "size", "large": "size", "small": "size", "compact": "size", "tall": "size", "wide": "size",
    "bright": "brightness", "powerful": "power wattage", "warm": "temperature", "thick": "thickness",
    "made": "material", "last": "battery life", "lasts": "battery life", "charge": "battery", "hold": "capacity", "holds": "capacity",
}  # fmt: skip
_UNIT_WORDS = {"watts": "w", "watt": "w", "decibels": "db", "hours": "h", "hrs": "h", "grams": "g",
               "kilograms": "kg", "kilos": "kg", "litres": "l", "liters": "l", "lumens": "lm"}  # fmt: skip

# general facts, not catalog data: the connections a device takes
DEVICE_LINKS = {
    "iphone": ("iPhones", ("bluetooth", "lightning", "usb-c", "wi-fi", "airplay")),
    "ipad": ("iPads", ("bluetooth", "lightning", "usb-c", "wi-fi", "airplay")),
    "android": ("Android phones", ("bluetooth", "usb-c", "wi-fi", "3.5 mm")),
    "phone": ("phones", ("bluetooth",)),
    "laptop": ("laptops", ("bluetooth", "usb", "wi-fi", "3.5 mm")),
    "mac": ("Macs", ("bluetooth", "usb", "wi-fi", "3.5 mm", "airplay")),
    "pc": ("PCs", ("bluetooth", "usb", "wi-fi", "3.5 mm")),
    "tv": ("TVs", ("bluetooth", "hdmi", "optical", "wi-fi")),
}
_WORKS_WITH = re.compile(r"\b(work|works|compatible|connect|connects|pair|pairs|use it|use them)\b.*\b(with|to)\b", re.I)

# unit -> {asked word: (unit shown, factor)}; °C is affine, handled in ``convert``
CONVERSIONS = {
    "kg": {"pounds": ("lb", 2.20462), "lbs": ("lb", 2.20462), "lb": ("lb", 2.20462), "ounces": ("oz", 35.274)},
    "g": {"ounces": ("oz", 0.035274), "oz": ("oz", 0.035274), "pounds": ("lb", 0.00220462), "lbs": ("lb", 0.00220462)},
    "cm": {"inches": ("in", 0.393701), "inch": ("in", 0.393701), "feet": ("ft", 0.0328084)},
    "mm": {"inches": ("in", 0.0393701), "inch": ("in", 0.0393701)},
    "l": {"cups": ("US cups", 4.22675), "quarts": ("US quarts", 1.05669), "gallons": ("US gallons", 0.264172),
          "ounces": ("fl oz", 33.814), "oz": ("fl oz", 33.814)},
    "ml": {"ounces": ("fl oz", 0.033814), "oz": ("fl oz", 0.033814), "cups": ("US cups", 0.00422675)},
}  # fmt: skip
_QTY = re.compile(r"(-?\d+(?:[.,]\d+)?)\s?(kg|g|cm|mm|ml|l|°c)\b", re.I)
_CONVERT_ASK = re.compile(r"\b(pounds|lbs?|ounces|oz|inches|inch|feet|cups|quarts|gallons|fahrenheit|°f)\b", re.I)
_YESNO = re.compile(r"^\s*(does|do|is|are|can|has|have|will|would)\b", re.I)
_SENT = re.compile(r"(?<=[.!?])\s+")


@dataclass(slots=True)
class Fact:
    """One line of a product's own data that may answer a question."""

    source: str  # "spec sheet" | "features" | "description"
    text: str  # as shown to the shopper, e.g. "noise: 72 dB"
    key: str = ""  # the attribute's name in words (spec sheet only)
    value: str = ""


def facts(product) -> list[Fact]:
    """Every spec, feature bullet and description sentence of ``product``, cleaned (untrusted text)."""
    out = []
    for k, v in product.attributes.items():
        key, value = clean(key_words(k), 40), clean(str(v), 120)
        if key and value and key not in ("url", "image", "id"):
            out.append(Fact("spec sheet", f"{key}: {value}", key, value))
    out += [Fact("features", clean(f, 200)) for f in product.features if clean(f)]
    for s in _SENT.split(clean(product.description, 1500)):
        if len(s) >= 12:
            out.append(Fact("description", s))
    return out


def _expanded(question: str) -> str:
    """The question with the dimension nouns its adjectives stand for ("is it heavy?" + weight)
    and the spec-sheet words for a shopper's noun ("ram" + memory internal).

    >>> _expanded("how much ram?")
    'how much ram? memory internal'
    """
    words = re.findall(r"[a-z]+", question.lower())
    extra = [DIMENSIONS[w] for w in words if w in DIMENSIONS] + [_SYNONYMS[w] for w in words if w in _SYNONYMS]
    return question + (" " + " ".join(extra) if extra else "")


def _units(text: str) -> set[str]:
    return {_UNIT_WORDS.get(w, w) for w in re.findall(r"[a-zµ°]+", text.lower())}


def rank_facts(question: str, items: list[Fact], embed) -> list[tuple[float, Fact]]:
    """``items`` scored against the question, best first: MiniLM cosine of the (dimension-expanded)
    question and the line, plus bonuses for words of the attribute's name and for its unit."""
    if not items:
        return []
    q = _expanded(question)
    terms = set(tokenize(" ".join(question_terms(q))))
    asked_units = _units(question)
    quantity = bool(_HOW_MUCH.search(question))
    vecs = embed([q] + [f.text for f in items])
    sims = vecs[1:] @ vecs[0]
    scored = []
    for f, sim in zip(items, sims, strict=True):
        score = float(sim)
        named = set(tokenize(f.key))
        if f.key and _shares_word(terms, named):
            score += KEY_WORD_BONUS + (WHOLE_KEY_BONUS if named <= terms else 0.0)
        if f.value and {m.group(2) for m in re.finditer(r"(\d)\s?([a-zµ°]+)", f.value.lower())} & asked_units:
            score += UNIT_BONUS
        if quantity and f.value and not re.search(r"\d", f.value):
            score -= NOT_A_QUANTITY
        scored.append((score, f))
    scored.sort(key=lambda x: -x[0])
    return scored


def _shares_word(terms: set[str], words: set[str]) -> bool:
    """A shared stem, or one that starts like the other ("compatible" / "compatibility").

    >>> _shares_word({"compatible"}, {"compatibility"})
    True
    """
    return bool(terms & words) or any(len(t) >= 6 and len(w) >= 6 and t[:6] == w[:6] for t in terms for w in words)


# spec values that say a feature is absent ("touchscreen: no", "wi-fi: N", "bluetooth: not supported")
_NO_VALUE = re.compile(r"^\s*(?:no|n|false|0|none|not (?:supported|available|included|present)|without|absent|-)\s*\.?$", re.I)


def said_no(value: str) -> bool:
    """Whether a spec value says the feature is absent.

    >>> [said_no(v) for v in ("no", "N", "None", "not supported", "yes", "2", "USB-C")]
    [True, True, True, True, False, False, False]
    """
    return bool(_NO_VALUE.match(str(value or "")))


def mentions(question: str, items: list[Fact]) -> Fact | None:
    """The first line that contains every content word of a yes/no question about a feature
    ("does it have a USB port?" -> the bullet that says "USB-C charging port"); None if none does.
    Only the rarer words must match: "port" alone is not "USB port"."""
    terms = [t for t in question_terms(question) if t not in DIMENSIONS and t not in ("come", "have", "has")]
    if not terms:
        return None
    for f in items:
        low = f.text.lower()
        words = set(tokenize(low))
        if all(t in low or set(tokenize(t)) <= words for t in terms):
            return f
    # one distinctive word is enough when the rest are generic nouns: a name the shopper capitalised
    # ("USB", "Bluetooth", "HDMI") if any, else the longest word ("dishwasher")
    named = [w.lower() for w in re.findall(r"\b[A-Za-z]*[A-Z][A-Za-z0-9-]*\b", question[1:]) if w.lower() in terms]
    key = named[0] if named else max(terms, key=len)
    for f in items:
        if re.search(rf"\b{re.escape(key)}", f.text.lower()) and len(key) >= 3:
            return f
    return None


def convert(quantity: str, asked: str) -> str | None:
    """A metric quantity in the unit the shopper asked for (general arithmetic, no catalog data).

    >>> convert("-5 °C comfort", "fahrenheit")
    '23 °F'
    >>> convert("72 dB", "pounds") is None
    True
    """
    m = _QTY.search(quantity)
    if not m:
        return None
    value, unit = float(m.group(1).replace(",", ".")), m.group(2).lower()
    asked = asked.lower()
    if unit == "°c":
        return f"{value * 9 / 5 + 32:.0f} °F" if asked in ("fahrenheit", "°f") else None
    to = CONVERSIONS.get(unit, {}).get(asked)
    if not to:
        return None
    got = value * to[1]
    return f"{got:.1f} {to[0]}" if got < 100 else f"{got:.0f} {to[0]}"


def device_answer(question: str, product) -> str | None:
    """ "Do they work with an iPhone?" answered from the product's connectivity specs and general
    facts about the device; None when the question names no known device or the product lists
    no connection."""
    low = question.lower()
    if not _WORKS_WITH.search(low) and "compatible" not in low:
        return None
    device = next((d for d in DEVICE_LINKS if re.search(rf"\b{d}s?\b", low)), None)
    if device is None:
        return None
    name, links = DEVICE_LINKS[device]
    conn = [clean(str(v), 80) for k, v in product.attributes.items()
            if re.search(r"connect|interface|wireless|bluetooth|port", k, re.I)]  # fmt: skip
    text = " ".join(conn) + " " + " ".join(product.features) + " " + product.description
    found = [link for link in links if link in text.lower()]
    if found:
        how = next((c for c in conn if found[0] in c.lower()), found[0].title() if len(found[0]) > 3 else found[0])
        return f"Yes: it connects over {how}, which {name} support (the listing's spec sheet)."
    if conn:
        return f"It connects with {conn[0]} (the listing's spec sheet); {name} without that connection need an adapter."
    return None


def spec_answer(question: str, product, embed) -> str | None:
    """One or two sentences answering ``question`` from the product's own data, naming the source;
    None when nothing there answers it."""
    dev = device_answer(question, product)
    if dev:
        return dev
    items = facts(product)
    if _YESNO.match(question) and not any(w in DIMENSIONS for w in re.findall(r"[a-z]+", question.lower())):
        hit = mentions(question, items)
        if hit is not None:
            # the seller's words, quoted as the listing's (catalog text is untrusted)
            where = "the listing's spec sheet says" if hit.source == "spec sheet" else f"the listing's {hit.source} say"
            if hit.source == "description":
                where = "the listing's description says"
            verdict = "No" if hit.source == "spec sheet" and said_no(hit.value) else "Yes"
            return f"{verdict}: {where} “{hit.text.rstrip('.')}”."
    ranked = rank_facts(question, items, embed)
    if not ranked or ranked[0][0] < SPEC_MIN:
        return None
    best = ranked[0][1]
    if best.source != "spec sheet":
        return f"The listing's {best.source} {'say' if best.source == 'features' else 'says'}: “{best.text.rstrip('.')}”."
    asked = _CONVERT_ASK.search(question)
    got = convert(best.value, asked.group(1)) if asked else None
    return f"Its {best.key} is {best.value}{f', about {got}' if got else ''} (the listing's spec sheet)."


# "how much is it?", "whats the price", "what does it cost": the price of the product in focus (a
# short question; "how much does it weigh" and "under $50" are not price questions)
PRICE_QUESTION = re.compile(
    r"^\s*(?:and |so |ok |also |hmm,? )?(?:how much(?! does it (?:weigh|hold))(?:\s+(?:is|does|are|for|do)\b.*)?|"
    r"what(?:'s|s| is| are) (?:the |its |their )?(?:price|cost)\b.*|what does (?:it|that|this|the \w+) cost\b.*|"
    r"(?:the )?price\b.*|cost\b.*|is it (?:expensive|cheap|pricey)\b.*)$", re.I)


# "and the most expensive one?", "the cheaper of those?": the reference is the whole question
PRICE_RANK_ONLY = re.compile(
    r"^\s*(?:and |so |ok |what about |how about )?(?:which(?: one)?(?: of (?:them|those|these|the \w+))? is )?"
    r"(?:the )?(?:(?:second|third|2nd|3rd) )?"
    r"(?:cheapest|least expensive|most expensive|priciest|dearest|cheaper|pricier|more expensive|less expensive)"
    r"(?: one| of (?:them|those|these|the \w+))?\s*[?.!]*\s*$", re.I)


def price_answer(product) -> str:
    """The product's price from the catalog, said as a sentence.

    >>> from retrieval.catalog import Product
    >>> price_answer(Product(id="k1", title="Kanoodle 3D Brain Teaser", price=9.99))
    'Kanoodle 3D Brain Teaser is $9.99 (catalog price).'
    >>> bool(PRICE_QUESTION.match("whats the price")), bool(PRICE_QUESTION.match("how much does it weigh?"))
    (True, False)
    """
    if product.price is None:
        return f"The listing for {short_title(product)} doesn't give a price."
    return f"{short_title(product)} is {fmt_price(product.price, product.currency)} (catalog price)."


_WHICH = re.compile(r"^\s*(?:and |so |ok )?which\b", re.I)


def product_answer(a, product, question: str, reviews: list) -> tuple[str, object | None]:
    """The answer to a question about ``product`` in the assistant ``a``'s catalog, and the sibling
    variant to show as a card (or None): variants first ("does it come in black?"), then the
    product's own data and its reviews (``evidence.answer_question``), then the shop's policies
    when the product's data says nothing ("does it come with a warranty?")."""
    from assistant import evidence, policies

    if len(question.split()) <= 8 and (PRICE_QUESTION.match(question) or PRICE_RANK_ONLY.match(question)):
        return price_answer(product), None
    got = variant_question(a, product, question)
    if got is not None:
        return got.text, got.variant
    if policies.SHOP_ONLY.search(question):  # "if it's too loud can i send it back?": the returns policy, not its noise
        asked = re.sub(r"\b(?:send|take) (?:it|them|this|that) back\b|\bmoney back\b", "return it", question, flags=re.I)
        return policies.answer_for(a, asked, strict=False) or policies.NO_POLICY_TEXT, None
    text = evidence.answer_question(question, product, reviews, evidence.cached(a.embed, a.settings.embedding_model))
    if _WHICH.match(question) and evidence.NO_ANSWER not in text:
        first = text[0].lower() if text[1:2].islower() else text[0]  # "Its ..." -> "its ...", "NOCO ..." stays
        text = f"{short_title(product)}: {first}{text[1:]}"  # "which of the two ...?" is answered by naming it
    if evidence.NO_ANSWER in text:
        # a shop-policy word ("can I return it if it doesn't fit?") asks the shop, not the product:
        # the policy needs no more than its usual score then
        about_shop = policies.TOPIC.search(question)
        policy = policies.answer_for(a, question, strict=not about_shop)
        if policy:
            return policy, None
        if policies.SHOP_ONLY.search(question):  # returns, shipping, payment: never in a product's data
            return policies.NO_POLICY_TEXT, None
        text += " " + policies.OFFER_PERSON
    return text, None


# -- "in pounds?" after a spec answer ----------------------------------------------------------------
_CONVERT_FOLLOW_UP = re.compile(
    r"\s*(?:and |so |what(?:'s| is) (?:that|it) |how much is (?:that|it) |how (?:many|much) )?(?:in )?"
    r"(pounds|lbs?|ounces|oz|inches|feet|cups|quarts|gallons|fahrenheit|°f)\s*\??\s*", re.I)


def route(a, ctx):
    """The reply for a unit follow-up ("in pounds?") or a colour question ("is there a green one?")
    about the product in focus, else None."""
    if _CONVERT_FOLLOW_UP.fullmatch(ctx.message):
        return convert_reply if a.state(ctx.cid).focus else None
    if ctx.understood.intent in ("find", "refine") and _SPEC_FOLLOW_UP.match(ctx.message) and _about_focus_spec(a, ctx):
        return spec_follow_up
    if (ctx.understood.intent in ("find", "refine") and len(ctx.message.split()) <= 8
            and PRICE_QUESTION.match(ctx.message) and a.state(ctx.cid).focus):
        return spec_follow_up  # "whats the price": of the product in focus, not a search for "price"
    if ctx.understood.variant or (ctx.understood.intent in ("find", "refine") and _IS_THERE.fullmatch(ctx.message)):
        # the tracker found the same model in the asked colour ("does it come in black?"): answer
        # yes/no in words with that card first, rather than a bare search result
        focus = a.state(ctx.cid).focus
        product = a.products([focus])[0] if focus and a.products([focus]) else None
        got = variant_question(a, product, ctx.message) if product is not None else None
        if got is not None and (not ctx.understood.sibling or got.variant is not None):
            return variant_reply  # (a sibling found by the words asked is shown when the family has no answer with a card)
    return None


# "whats the capacity", "and how much does it weigh": a question the search would take for a new
# request; a superlative or price word ("the cheapest", "cheaper") is left to the search, and a
# question about several shown ("the difference in noise between both") to superlatives
_SPEC_FOLLOW_UP = re.compile(
    r"^\s*(?:and |so |also |ok )?(?:how|what|whats|what's|which|is|does|do|are|can)\b"
    r"(?!.*\b(?:\w+est|cheaper|price|cost|costs|most|least|both|these|those|them|each)\b)", re.I)
# rank_facts score (cosine + word bonuses) a spec of the product in focus needs for such a question
# to be about it: "whats the capacity" vs "capacity: 70 l" scores ~1.0, a new request below 0.6
SPEC_FOLLOW_UP_MIN = 0.8
# ... and when the question points at the product ("how heavy is it?": weight 0.79 on the demo
# blender, the next spec 0.31), a clear best spec is enough
SPEC_FOLLOW_UP_IT_MIN = 0.6
_POINTS_AT_IT = re.compile(r"\b(it|its|it's|this one|that one|this|that)\b", re.I)


def _about_focus_spec(a, ctx) -> bool:
    from assistant.evidence import cached

    focus = a.state(ctx.cid).focus
    products = a.products([focus]) if focus else []
    q = a.catalog.parse(ctx.message)
    if not products or q.categories or q.brands:
        return False
    specs = [f for f in facts(products[0]) if f.source == "spec sheet"]
    ranked = rank_facts(ctx.message, specs, cached(a.embed, a.settings.embedding_model))
    need = SPEC_FOLLOW_UP_IT_MIN if _POINTS_AT_IT.search(ctx.message) else SPEC_FOLLOW_UP_MIN
    return bool(ranked) and ranked[0][0] >= need


def spec_follow_up(a, ctx):
    """A spec question the search took for a request, answered as a question about the product in focus."""
    import time as _time

    from assistant.events import Cards

    u = ctx.understood
    said = [r for r in u.refs if r in a.state(ctx.cid).shown][:1]  # "the price of the second one"
    u.state = a.state(ctx.cid)
    u.intent, u.refs, u.changes = "ask", said or [u.state.focus], []
    u.state.focus = u.refs[0]
    product = a.products(u.refs)[0]
    card = a.simple_card(product, ["the product you asked about"])
    yield Cards([card])
    ctx.timings["first_card"] = _time.perf_counter() - ctx.t0
    text, _ = product_answer(a, product, ctx.message, a.reviews(product.id, limit=200))
    yield a.finish(ctx, text, cards=[card], citations=[product.id])


def variant_reply(a, ctx, product=None, got: VariantAnswer | None = None):
    """The variant's card first (the one asked for, else the product) and the variant answer;
    the search state stays, with the focus on the variant."""
    import time as _time

    from assistant.events import Cards

    u = ctx.understood
    if product is None:  # routed before understanding's reply: the product in focus
        u.intent, u.changes, u.state = "ask", [], a.state(ctx.cid)
        product = a.products([u.state.focus])[0]
        got = variant_question(a, product, ctx.message)
    cards = ([a.simple_card(got.variant, ["the variant you asked about"])] if got.variant is not None else []) + [
        a.simple_card(product, ["the product you asked about"])]
    ctx.state.focus = got.variant.id if got.variant is not None else product.id
    yield Cards(cards)
    ctx.timings["first_card"] = _time.perf_counter() - ctx.t0
    yield a.finish(ctx, got.text, cards=cards, citations=[c.product_id for c in cards])


def convert_reply(a, ctx):
    """The focused product's spec (the one the last answer named, else the first that converts) in the asked unit."""
    import time as _time

    from assistant.events import Cards

    u = ctx.understood
    before = a.state(ctx.cid)
    product = a.products([before.focus])[0]
    u.intent, u.changes, u.state = "ask", [], before
    card = a.simple_card(product, ["the product you asked about"])
    yield Cards([card])
    ctx.timings["first_card"] = _time.perf_counter() - ctx.t0
    asked = _CONVERT_FOLLOW_UP.fullmatch(ctx.message).group(1)
    last = next((m.text for m in reversed(a.store.messages(ctx.cid)) if m.role == "assistant"), "")
    specs = [f for f in facts(product) if f.source == "spec sheet" and convert(f.value, asked)]
    specs.sort(key=lambda f: f.value not in last)  # the spec the last answer gave first
    if specs:
        f = specs[0]
        text = f"Its {f.key} of {f.value} is about {convert(f.value, asked)} (the listing's spec sheet)."
    else:
        text = f"Its spec sheet has nothing I can give in {asked}."
    yield a.finish(ctx, text, cards=[card], citations=[product.id])
