"""The conversation suite's checks on what the answer says: a catalog value, a product's name,
no "couldn't find anything" fallback, an offer of a person.
"""

from __future__ import annotations

import re

from assistant.events import Handoff
from assistant.suite_facts import (
    as_list,
    attr_text,
    card_products,
    extreme,
    resolve_id,
    store_of,
    text_of,
)

FALLBACK = re.compile(
    r"(couldn'?t|could not|can'?t|cannot|didn'?t|did not) find|nothing in (the|our) catalog|"
    r"no (products?|results?|matches) (found|match)|nothing (matches|matched)", re.IGNORECASE)  # fmt: skip
PERSON = re.compile(
    r"\b(person|human|colleague|team member|member of (our|the) team|someone (from|on|in) (our|the) team|"
    r"staff|customer (service|support|care)|support team|agent|representative|hand (you )?over|connect you)\b",
    re.IGNORECASE,
)


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s.lower())


def _names(p) -> list[str]:
    """How an answer may name a product: its title, the title up to the first comma/bar/bracket,
    the brand and the next two words ("Cuisino QuietBlend 1000"; the first three words without
    a brand), or its model number.

    >>> from retrieval.catalog import Product
    >>> _names(Product(id="1", title="Pacer & Co Velo Carbon Racer, Volt/Black", brand="Pacer & Co"))
    ['Pacer & Co Velo Carbon Racer, Volt/Black', 'Pacer & Co Velo Carbon Racer', 'Pacer & Co Velo Carbon']
    """
    head = re.split(r"\s*[,|(\[]\s*|\s+[-–]\s+", p.title)[0]
    brand = p.brand if p.brand and head.lower().startswith(p.brand.lower()) else ""
    short = " ".join([brand, *head[len(brand):].split()[: 2 if brand else 3]]).strip()
    model = attr_text(p, "model") or ""
    names = [p.title, head, short] + ([model] if len(model) >= 4 else [])
    return list(dict.fromkeys(n for n in names if n))


def _fact(ctx, item) -> tuple[list[str], str]:
    """The texts of which the answer must state one: a plain text, ``{value_of: noise, card: 1}``
    (that catalog value of the previous turn's card N, or ``product: ID``), ``{name_of: {weight:
    min}}`` (the name of the lightest of the previous turn's cards, or of the products listed in
    ``among: [ids]``: "which of the two is lighter" after a comparison)."""
    if not isinstance(item, dict):
        return [str(item)], str(item)
    if "name_of" in item:
        pool = store_of(ctx).get_many([str(i) for i in item["among"]]) if "among" in item else card_products(ctx, ctx.prev_cards)
        ids, _ = extreme([p for p in pool if p], item["name_of"])
        return [n for i in sorted(ids) for n in _names(store_of(ctx).get(i))], f"the name of {sorted(ids)}"
    pid = str(item["product"]) if "product" in item else resolve_id(ctx, f"#{item.get('card', 1)}")
    p = store_of(ctx).get(pid) if pid else None
    v = attr_text(p, item["value_of"]) if p else None
    # "21 days (40 h GPS)": the answer may state just the part before the bracket
    texts = [v, re.split(r"\s*[(,;]", v)[0]] if v else []
    return texts, f"{item['value_of']} of {pid} ({v})"


_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def states(answer: str, text: str) -> bool:
    """Does ``answer`` state ``text``? Spacing and case aside; a bare number (Icecat's "48000",
    "8") must appear as a number ("48,000" counts, "780.95" does not contain "8").

    >>> states("It prints 48,000 pages.", "48000"), states("$780.95", "8"), states("It is 72dB.", "72 dB")
    (True, False, True)
    """
    if re.fullmatch(r"\d+(?:\.\d+)?", text.strip()):
        want = float(text)
        return any(float(n.replace(",", "")) == want for n in _NUMBER.findall(answer) if n.replace(",", "").replace(".", "", 1).isdigit())
    return _squash(text) in _squash(answer)


def _c_answer_has(ctx, items):
    answer = text_of(ctx.events)
    missing = []
    for item in as_list(items):
        texts, what = _fact(ctx, item)
        if not any(states(answer, t) for t in texts if t):
            missing.append(what)
    return "answers", not missing, f"answer lacks {missing}: {answer[:120]!r}"


def _c_answer_has_any(ctx, words):
    low = _squash(text_of(ctx.events))
    ok = any(_squash(w) in low for w in as_list(words))
    return "answers", ok, f"answer has none of {words}: {text_of(ctx.events)[:120]!r}"


def _c_not_fallback(ctx, want):
    text = text_of(ctx.events)
    hit = FALLBACK.search(text)
    ok = bool(text) and hit is None
    return "answers", ok == bool(want), f"fallback answer: {text[:120]!r}"


def offers_person(events) -> bool:
    return any(isinstance(e, Handoff) for e in events) or PERSON.search(text_of(events)) is not None


def _c_handoff_offer(ctx, want):
    got = offers_person(ctx.events)
    return "handoff", got == bool(want), f"offers a person: {got}: {text_of(ctx.events)[:120]!r}"


def _c_answer_or_handoff(ctx, words):
    ok = offers_person(ctx.events) or _c_answer_has_any(ctx, words)[1]
    return "answers", ok, f"answer has none of {words} and offers no person: {text_of(ctx.events)[:120]!r}"




ANSWER_CHECKS = {
    "answer_has": _c_answer_has,
    "answer_has_any": _c_answer_has_any,
    "not_fallback": _c_not_fallback,
    "handoff_offer": _c_handoff_offer,
    "answer_or_handoff": _c_answer_or_handoff,
}
