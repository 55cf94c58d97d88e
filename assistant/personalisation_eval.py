"""How visible is personalisation in the cards? The same queries for several shoppers.

For each query every shopper gets a fresh conversation; the first turn's card order is compared
between every pair of shoppers. Browse queries (only a catalog category named) are where the
predicted rating may order the cards (``Settings.rating_weight_browse``); specific queries keep
relevance first (``Settings.rating_weight``), so there the rating only breaks near-ties.

    share_pairs_differ = pairs (query, shopper a, shopper b) whose top cards differ / all pairs
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from assistant.chat import Assistant, Turn
from assistant.events import Cards
from assistant.understand import is_browse

BROWSE = ("headphones", "recommend me a blender", "coffee makers", "desk lamps", "show me running shoes",
          "office chairs", "speakers", "backpacks", "tents", "kettles")  # fmt: skip
SPECIFIC = ("quiet blender", "wireless headphones with long battery", "lightweight tent", "metal dumbbells")


def card_orders(assistant: Assistant, users: list[str], query: str) -> dict[str, tuple[str, ...]]:
    """Each shopper's first-turn card ids for ``query`` (fresh conversation each)."""
    out = {}
    for u in users:
        cid = assistant.start(u)
        cards = [e for e in assistant.respond(Turn(cid, u, query)) if isinstance(e, Cards)]
        out[u] = tuple(c.product_id for c in cards[0].cards) if cards else ()
    return out


def visibility(assistant: Assistant, users: list[str], queries: list[str]) -> dict:
    """Share of shopper pairs whose cards differ, and queries where any pair differs.

    ``browse_detected`` counts the queries the assistant itself took for browse queries."""
    pairs = differ = queries_differ = browse = 0
    for q in queries:
        orders = card_orders(assistant, users, q)
        browse += is_browse(assistant.catalog.parse(q))
        queries_differ += len(set(orders.values())) > 1
        for a, b in itertools.combinations(users, 2):
            pairs += 1
            differ += orders[a] != orders[b]
    return {"queries": len(queries), "browse_detected": browse, "queries_where_users_differ": queries_differ,
            "share_pairs_differ": round(differ / pairs, 3) if pairs else None}  # fmt: skip


def sweep(make: Callable[[float], Assistant], users: list[str], weights: list[float]) -> dict:
    """``visibility`` for browse and specific queries at each browse weight (same process)."""
    out = {}
    for w in weights:
        a = make(w)
        out[str(w)] = {"browse": visibility(a, users, list(BROWSE)), "specific": visibility(a, users, list(SPECIFIC))}
    return out
