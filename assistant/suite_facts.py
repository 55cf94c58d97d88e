"""What the conversation suite's checks read: the played turn and the catalog facts they compare with.

Catalog lookups are the suite's own (attribute keys, units, whole-catalog extremes), never the
assistant's, so the suite measures the assistant's understanding instead of repeating it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.events import Answer, Cards, Notice
from assistant.suite_units import Quantity, is_constraint, parse_quantity, satisfies


@dataclass(slots=True)
class Ctx:
    """One played turn: what the assistant yielded and what the conversation showed before."""

    assistant: object
    cid: str
    say: str
    events: list
    cards: list
    prev_cards: list  # the cards of the last earlier turn that showed any
    shown_before: set[str] = field(default_factory=set)  # every product id shown earlier in the conversation
    cache: dict = field(default_factory=dict)  # shared by a whole suite run (the catalog's products)


# -- reading a turn -----------------------------------------------------------------------------


def cards_of(events) -> list:
    for e in events:
        if isinstance(e, Cards):
            return e.cards
    return []


def answer_of(events) -> Answer | None:
    return next((e for e in events if isinstance(e, Answer)), None)


def text_of(events) -> str:
    """The answer, its comparison table and any notices: everything the shopper reads."""
    a = answer_of(events)
    table = " ".join(" ".join(row) for row in (a.table or [])) if a else ""
    notes = " ".join(e.text for e in events if isinstance(e, Notice))
    return " ".join(x for x in ((a.text if a else ""), table, notes) if x).strip()


def as_list(x) -> list:
    return x if isinstance(x, list) else [x]


def store_of(ctx):
    return ctx.assistant.catalog.store


def catalog_products(ctx) -> list:
    """Every catalog product, read once per suite run (whole-catalog extremes need them all)."""
    if "products" not in ctx.cache:
        ctx.cache["products"] = list(store_of(ctx).iter_products())
    return ctx.cache["products"]


def card_products(ctx, cards=None) -> list:
    store = store_of(ctx)
    return [store.get(c.product_id) for c in (ctx.cards if cards is None else cards)]


# -- catalog facts the checks compare against -------------------------------------------------


def _key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", re.sub(r"^attr_[tnb]_", "", name.strip().lower()))


def attr_text(p, name: str) -> str | None:
    """The product's value of attribute ``name`` as the catalog writes it (keys compared
    case- and separator-insensitively; ``price`` and ``rating`` are the product's own fields)."""
    if name == "price":
        return None if p.price is None else str(p.price)
    if name == "rating":
        return None if p.average_rating is None else str(p.average_rating)
    want = _key(name)
    return next((v for k, v in p.attributes.items() if _key(k) == want), None)


def attr_quantity(p, name: str) -> Quantity | None:
    return parse_quantity(attr_text(p, name))


def word_in(word: str, text: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(word.lower())}", text.lower()) is not None


def in_categories(p, names) -> bool:
    cats = {c.lower() for c in p.categories}
    return any(n.lower() in cats for n in as_list(names))


def matches(p, key: str, want) -> bool:
    """Does product ``p`` meet one scope or constraint entry of a suite spec?

    ``category`` (any of), ``not_category`` (none of), ``title_has`` (a title word starts with any
    of the words), ``not_title_has`` (none of them), a numeric constraint (``">=1.5 l"``) or a categorical value (``black``: the
    attribute's text, else the title, has the word).
    """
    if key == "category":
        return in_categories(p, want)
    if key == "not_category":
        return not in_categories(p, want)
    if key == "title_has":
        return any(word_in(w, p.title) for w in as_list(want))
    if key == "not_title_has":
        return not any(word_in(w, p.title) for w in as_list(want))
    if isinstance(want, (int, float)) or is_constraint(str(want)):
        return satisfies(attr_quantity(p, key), str(want) if is_constraint(str(want)) else f"={want}")
    return any(word_in(w, attr_text(p, key) or p.title) for w in as_list(want))


def split_extreme(spec: dict) -> tuple[str, str, dict, int]:
    """``{noise: min, category: Blenders, nth: 2}`` -> ("noise", "min", {"category": "Blenders"}, 2)."""
    ext = [(k, v) for k, v in spec.items() if v in ("min", "max")]
    if len(ext) != 1:
        raise ValueError(f"{spec}: name exactly one attribute as min or max")
    scope = {k: v for k, v in spec.items() if k not in (ext[0][0], "nth")}
    return ext[0][0], ext[0][1], scope, int(spec.get("nth", 1))


def extreme(pool: list, spec: dict) -> tuple[set[str], float | None]:
    """The ids of the products of ``pool`` in ``spec``'s scope holding the ``nth`` extreme value
    (ties all count), and that value.

    >>> from retrieval.catalog import Product
    >>> ps = [Product(id=str(i), title=t, attributes={"noise": n}) for i, t, n in
    ...       [(1, "A blender", "72 dB"), (2, "B blender", "58 dB"), (3, "C kettle", "40 dB")]]
    >>> extreme(ps, {"noise": "min", "title_has": ["blender"]})
    ({'2'}, 58.0)
    >>> extreme(ps, {"noise": "min", "title_has": ["blender"], "nth": 2})
    ({'1'}, 72.0)
    >>> ids, best = extreme(ps + [Product(id="4", title="D", attributes={"noise": "58 dB"})], {"noise": "min", "nth": 2})
    >>> sorted(ids), best
    (['2', '4'], 58.0)
    """
    attr, mode, scope, nth = split_extreme(spec)
    vals = [(p.id, q.value) for p in pool if all(matches(p, k, v) for k, v in scope.items())
            if (q := attr_quantity(p, attr)) is not None]  # fmt: skip
    # "the second cheapest" of [$69, $69, $129] is a $69 one: rank products, not distinct prices
    levels = sorted((v for _, v in vals), reverse=mode == "max")
    if len(levels) < nth:
        return set(), None
    best = levels[nth - 1]
    return {i for i, v in vals if abs(v - best) <= 1e-9}, best


def resolve_id(ctx, x) -> str | None:
    """A product id, or ``"#2"`` = card 2 of the previous turn that showed cards."""
    s = str(x)
    if re.fullmatch(r"#\d+", s):
        n = int(s[1:])
        return ctx.prev_cards[n - 1].product_id if 1 <= n <= len(ctx.prev_cards) else None
    return s


