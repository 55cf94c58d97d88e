"""Answer building blocks that need no LLM: fencing, prompts, templates, tables, review evidence.

Everything here is built from catalog data only, so a template answer is grounded by
construction; the LLM (when its text passes the validator) only rephrases.

Example::

    >>> clean("<b>Great</b> blender<script>x</script>")
    'Great blender'
    >>> fmt_price(49.0, "USD")
    '$49.00'
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from pathlib import Path

PROMPTS = Path(__file__).parent / "prompts"
_TAG = re.compile(r"<(script|style)[^>]*>.*?</\1>|<[^>]+>", re.S | re.I)
_FENCE = re.compile(r"<<<|>>>")
_SYMBOL = {"USD": "$", "EUR": "€", "GBP": "£"}
PROMPT_CANDIDATES = 3


@lru_cache(maxsize=None)
def prompt(name: str) -> str:
    """A prompt template from assistant/prompts/<name>.txt."""
    return (PROMPTS / f"{name}.txt").read_text(encoding="utf-8")


def clean(text: str, limit: int | None = None) -> str:
    """Untrusted text made safe to show and to fence: tags and fence markers removed,
    entities decoded, whitespace collapsed, optionally truncated."""
    text = html.unescape(_TAG.sub(" ", text or ""))
    text = _TAG.sub(" ", text)  # entity-encoded tags decode to tags: strip again
    text = _FENCE.sub(" ", text)
    text = re.sub(r"\s+", " ", text).strip()
    if limit and len(text) > limit:
        text = text[: limit - 1].rsplit(" ", 1)[0] + "…"
    return text


def fmt_price(price: float | None, currency: str = "USD") -> str:
    if price is None:
        return "price not listed"
    sym = _SYMBOL.get(currency)
    return f"{sym}{price:,.2f}" if sym else f"{price:,.2f} {currency}"


def fmt_rating(p) -> str:
    if p.average_rating is None:
        return "no ratings yet"
    n = f" ({p.rating_count} review{'s' if p.rating_count != 1 else ''})" if p.rating_count else ""
    return f"{p.average_rating:.1f}/5{n}"


def candidate_line(n: int, p) -> str:
    """One fenced candidate line, in prose a small model can safely repeat.

    >>> from retrieval.catalog import Product
    >>> candidate_line(1, Product(id="1", title="Acme Blender", price=49.0, brand="Acme"))
    '[1] Acme Blender costs $49.00, has no ratings yet, brand Acme.'
    """
    specs = ", ".join(f"{clean(k, 30)} {clean(v, 40)}" for k, v in list(p.attributes.items())[:3])
    rating = f"is rated {p.average_rating:.1f} out of 5" if p.average_rating is not None else "has no ratings yet"
    if p.average_rating is not None and p.rating_count:
        rating += f" by {p.rating_count} reviewers"
    line = f"[{n}] {clean(p.title, 120)} costs {fmt_price(p.price, p.currency)}, {rating}"
    if p.brand:
        line += f", brand {clean(p.brand, 40)}"
    if specs:
        line += f", {specs}"
    return line + "."


def answer_messages(question: str, products: list, context: str = "") -> list[dict]:
    """The chat messages for a grounded answer about exactly these products."""
    # the top 3 only: prompt processing dominates a small CPU model's latency
    cands = "\n".join(candidate_line(i + 1, p) for i, p in enumerate(products[:PROMPT_CANDIDATES]))
    user = prompt("answer").format(question=clean(question, 300), context=context, candidates=cands)
    return [{"role": "system", "content": prompt("system")}, {"role": "user", "content": user}]


def listed(items: list[str]) -> str:
    """Items joined as a sentence says them.

    >>> listed(["tea"]), listed(["kettles", "blenders", "toasters"])
    ('tea', 'kettles, blenders and toasters')
    """
    items = list(items)
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def short_title(p, words: int = 8) -> str:
    t = clean(p.title)
    w = t.split()
    return t if len(w) <= words else " ".join(w[:words]) + "…"


def unmatched_note(unmatched: list[str], asked: str = "", alternative: tuple[int, str] | None = None) -> str:
    """The sentence that says which asked-for words no shown product mentions (put before the
    LLM's text, which may not say it), and which card from another category does.

    >>> unmatched_note(["gym"], "Headphones", (5, "Earbuds"))
    'None of the Headphones mention “gym”; [5] does, from Earbuds.'
    """
    note = _none_mention(unmatched, asked)
    return note[0].upper() + note[1:] + (f"; [{alternative[0]}] does, from {clean(alternative[1], 40)}." if alternative else ".")


def _none_mention(unmatched: list[str], asked: str) -> str:
    words = " or ".join(f"“{clean(w, 30)}”" for w in unmatched)
    return f"none of the {plural(clean(asked, 60))} mention {words}" if asked else f"none of these mention {words}"


def plural(kind: str) -> str:
    """A lower-case kind of product said in the plural; a category name ("Blenders") as it is.

    >>> plural("tent"), plural("battery"), plural("dog food"), plural("Blenders"), plural("glass")
    ('tents', 'batteries', 'dog foods', 'Blenders', 'glasses')
    """
    if not kind or kind[0].isupper() or " or " in kind or kind.endswith(("s", "x")) and not kind.endswith(("ss", "x")):
        return kind
    if re.search(r"[^aeiou]y$", kind):
        return kind[:-1] + "ies"
    return kind + ("es" if kind.endswith(("ss", "sh", "ch", "x")) else "s")


def template_answer(products: list, why: dict[str, list[str]], changes: list[str] | None = None,
                    unmatched: list[str] | None = None, asked: str = "", refined: bool = True) -> str:
    """A grounded answer built from catalog data alone (the fallback); ``unmatched``: words of the
    request none of the ``asked`` (category) products mentions, said up front so the list is not
    taken as matching them (a last product from another category may; its reason says so).
    ``changes`` are the filters read from the message: a follow-up (``refined``) says "Updated (...)",
    a first request "Here is what I found (...)" (nothing was there to update).

    >>> from retrieval.catalog import Product
    >>> p = Product(id="b1", title="Zestra Whirl Mini Blender", price=24.5)
    >>> template_answer([p], {}, ["quietest first"], refined=False).splitlines()[0]
    'Here is what I found (quietest first):'
    """
    if not products:
        return "I couldn't find anything in the catalog matching that. Could you try different words or loosen a filter?"
    said = " (" + "; ".join(changes) + ")" if changes else ""
    lead = ("Updated" if refined and changes else "Here is what I found") + said
    if unmatched:
        lead += f" ({_none_mention(unmatched, asked)}; the closest matches)"
    lines = [f"{lead}:"]
    for i, p in enumerate(products):
        # only the retrieval match goes in the text: the ranker's explanations (with their own
        # numbers, e.g. a shrunk average) stay on the card, outside the validated answer
        reason = next((w for w in why.get(p.id, []) if w.startswith("matches ")), "")
        tail = f" — {reason}" if reason else ""
        rating = f"rated {fmt_rating(p)}" if p.average_rating is not None else fmt_rating(p)  # not "rated no ratings yet"
        lines.append(f"[{i + 1}] {short_title(p)}, {fmt_price(p.price, p.currency)}, {rating}{tail}")
    return "\n".join(lines)


def comparison_table(products: list) -> list[list[str]]:
    """Rows of a comparison table from catalog attributes (header row first).

    Rows: price, rating, brand, then every attribute at least two of the products share.
    """
    header = ["", *[f"[{i + 1}] {short_title(p, 6)}" for i, p in enumerate(products)]]
    rows = [
        header,
        ["price", *[fmt_price(p.price, p.currency) for p in products]],
        ["rating", *[fmt_rating(p) for p in products]],
        ["brand", *[clean(p.brand or "—") for p in products]],
    ]
    keys: dict[str, int] = {}
    for p in products:
        for k in p.attributes:
            keys[k.lower()] = keys.get(k.lower(), 0) + 1
    for key, n in keys.items():
        if n < 2 or len(rows) >= 14:
            continue
        vals = []
        for p in products:
            v = next((v for k, v in p.attributes.items() if k.lower() == key), "—")
            vals.append(clean(str(v), 40))
        rows.append([clean(key, 30), *vals])
    return rows


def table_text(rows: list[list[str]]) -> str:
    """A Markdown table."""
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(out)


def comparison_summary(products: list) -> str:
    """One grounded sentence over the table: the cheapest and the best rated."""
    priced = [(p.price, i) for i, p in enumerate(products) if p.price is not None]
    rated = [(p.average_rating, i) for i, p in enumerate(products) if p.average_rating is not None]
    bits = []
    if priced:
        price, i = min(priced)
        bits.append(f"[{i + 1}] is the cheapest at {fmt_price(price, products[i].currency)}")
    if rated:
        r, i = max(rated)
        bits.append(f"[{i + 1}] has the best rating ({r:.1f}/5)")
    return ("Side by side: " + " and ".join(bits) + ".") if bits else "Side by side:"


_PRICE_CMP = re.compile(r"\b(?P<low>cheaper|less expensive|more affordable|costs? less|lower[- ]priced)\b|"
                        r"\b(?P<high>pricier|more expensive|dearer|costs? more)\b|\bprice difference\b|"
                        r"\bdifference in price\b|\bhow much more\b|\bhow much less\b", re.I)
_YES_NO = re.compile(r"^\W*(?:so\s+|and\s+|ok\s+|okay\s+)*(?:is|are|was|does|do)\b", re.I)


def price_compared(message: str) -> bool:
    """Whether the message asks how prices compare ("cheaper", "more expensive", "how much more").

    >>> price_compared("which is cheaper, the first or the third?"), price_compared("which one is quieter?")
    (True, False)
    """
    return bool(_PRICE_CMP.search(message))


def price_comparison(message: str, products: list) -> str | None:
    """The price relation between two or more referenced products, from their listed prices, or
    None when the message is not about how their prices compare. A yes/no question ("is the second
    one cheaper than the first?") is answered yes or no about the first product named.

    >>> from types import SimpleNamespace as P
    >>> a, b = P(title="Kestrel Mini Kettle", price=22.0, currency="USD"), P(title="Cuisino Glass Kettle", price=54.0, currency="USD")
    >>> price_comparison("is the second one cheaper than the first?", [a, b])
    'Yes: the Kestrel Mini Kettle ($22.00) is $32.00 cheaper than the Cuisino Glass Kettle ($54.00).'
    >>> price_comparison("is the first pricier than the second?", [a, b])
    'No: the Kestrel Mini Kettle ($22.00) is $32.00 cheaper than the Cuisino Glass Kettle ($54.00).'
    >>> price_comparison("which is cheaper, the first or the third?", [b, a])
    'The Kestrel Mini Kettle ($22.00) is $32.00 cheaper than the Cuisino Glass Kettle ($54.00).'
    >>> price_comparison("does the second one come in black?", [a, b]) is None
    True
    """
    m = _PRICE_CMP.search(message)
    if m is None or len(products) < 2:
        return None
    priced = [p for p in products if p.price is not None]
    unpriced = [p for p in products if p.price is None]
    if len(priced) < 2:
        names = " or ".join(f"the {short_title(p)}" for p in unpriced)
        return f"We don't list a price for {names}, so I can't compare their prices."
    ordered = sorted(priced, key=lambda p: p.price)
    low, high = ordered[0], ordered[-1]
    if low.price == high.price:
        return f"They cost the same: {fmt_price(low.price, low.currency)} each."
    gap = fmt_price(high.price - low.price, low.currency)
    text = (f"the {short_title(low)} ({fmt_price(low.price, low.currency)}) is {gap} cheaper than "
            f"the {short_title(high)} ({fmt_price(high.price, high.currency)}).")
    if len(priced) > 2:
        text = text[:-1] + f"; it is the cheapest of the {len(priced)}."
    if _YES_NO.search(message) and len(priced) == 2:
        subject_is_low = products[0] is low
        asks_low = m.group("high") is None  # "cheaper", "how much less", "price difference": about the lower price
        yes = subject_is_low == asks_low
        return ("Yes: " if yes else "No: ") + text
    return text[0].upper() + text[1:]


_SENT = re.compile(r"(?<=[.!?])\s+")
_QSTOP = set(
    "a an the is it this that does do did how what which are was were be of to in on for and or with my i you "
    "can will would should could any there its it's about have has they them their one".split()
)


def review_sentences(reviews, limit_per_review: int = 12) -> list[tuple[str, object]]:
    """(sentence, review) pairs from cleaned review text and titles."""
    out = []
    for r in reviews:
        text = clean(f"{r.title}. {r.text}" if r.title else r.text)
        for s in _SENT.split(text)[:limit_per_review]:
            s = s.strip()
            if 12 <= len(s) <= 300:
                out.append((s, r))
    return out


def question_terms(question: str) -> list[str]:
    words = re.findall(r"[a-z0-9]+", question.lower())
    return [w for w in words if w not in _QSTOP and len(w) > 2]
