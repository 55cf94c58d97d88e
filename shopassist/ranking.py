"""Ranking-quality math shared by retrieval and the ranker: DCG and graded NDCG, pure.

``cap_brands`` (the brand cap of a result list, ``Settings.brand_cap``) lives here too, so the
assistant applies it and the retrieval eval measures its cost with the same code.

One home for the formula: ``retrieval.evaluate`` scores search with it and ``ranker``
(metrics, the fusion-weight study) with it too; both may import ``shopassist.*`` helpers
(docs/ARCHITECTURE.md), and neither may import the other's evaluation code.

Linear gain (sklearn's ``ndcg_score`` convention), rank r counted from 1:

    DCG@k  = sum_{r=1..k} gain_r / log2(r + 1)
    NDCG@k = DCG@k(ranking) / DCG@k(ideal ordering of every judged item); 0 when nothing is relevant
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def dcg(gains: Sequence[float], k: int) -> float:
    """DCG@k of the gains in ranked order.

    Worked example: gains [3, 2, 0, 1] at k = 4 -> 3/1 + 2/1.585 + 0/2 + 1/2.322 = 4.6925.

    >>> round(dcg([3, 2, 0, 1], 4), 4)
    4.6925
    >>> dcg([], 10)
    0.0
    """
    return float(sum(g / math.log2(r + 2) for r, g in enumerate(list(gains)[:k])))


def ndcg(ranked: Sequence[str], judgments: Mapping[str, float], k: int = 10) -> float:
    """NDCG@k of a ranking of ids against graded judgments; unjudged ids gain 0, and the ideal is
    taken over every judged id (also those the ranking missed).

    Worked example: judgments {a: 3, b: 2, c: 1}, ranking [b, x, a]:
    DCG = 2/1 + 0 + 3/2 = 3.5; ideal [a, b, c] = 3 + 2/1.585 + 1/2 = 4.762; NDCG = 0.735.

    >>> round(ndcg(["b", "x", "a"], {"a": 3, "b": 2, "c": 1}, k=3), 3)
    0.735
    >>> ndcg(["a"], {"a": 0.0})
    0.0
    """
    ideal = dcg(sorted(judgments.values(), reverse=True), k)
    if ideal <= 0:
        return 0.0
    return dcg([judgments.get(d, 0.0) for d in ranked], k) / ideal


def cap_brands(ranked: Sequence[str], brand_of: Mapping[str, str | None], share: float, k: int) -> list[str]:
    """The ranking with no brand filling more than ``share`` of its first ``k`` places (at least one
    place each): an item over its brand's limit moves down behind the next items of other brands,
    keeping its order among the moved. Items without a brand are never moved. ``share`` 0 = no cap.
    Nothing is dropped; when too few other brands are there, the first ``k`` keep over-cap items.

    Worked example, k = 4 at share 0.5 (2 places per brand): a a a b a c -> a a b c | a a.

    >>> cap_brands(["a1", "a2", "a3", "b1", "a4", "c1"], {"a1": "A", "a2": "A", "a3": "A", "a4": "A", "b1": "B", "c1": "C"}, 0.5, 4)
    ['a1', 'a2', 'b1', 'c1', 'a3', 'a4']
    >>> cap_brands(["a1", "a2"], {"a1": "A", "a2": "A"}, 0.25, 2)
    ['a1', 'a2']
    """
    if share <= 0 or k <= 0:
        return list(ranked)
    limit = max(1, int(share * k))
    top, moved, used = [], [], {}
    rest = list(ranked)
    while rest and len(top) < k:
        d = rest.pop(0)
        b = brand_of.get(d)
        if b is not None and used.get(b, 0) >= limit:
            moved.append(d)
            continue
        used[b] = used.get(b, 0) + 1
        top.append(d)
    return top + moved + rest
