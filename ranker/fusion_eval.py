"""How much weight the predicted rating may get in the final rank, measured on a relevance set.

The assistant orders retrieval hits by ``fuse(relevance, stars, w)`` (``ranker.scoring``).
A judged relevance set (Chorus/Icecat: graded 0-3 query->product judgments) has no ratings,
so ratings are *assigned* and the question is how far they can push the relevance order:

- ``adversarial``: 5 stars to every product judged irrelevant (grade 0) or unjudged, 3 to
  grade 1, 1 star to every relevant one (grade >= 2): the worst case a rating can do;
- ``random``: stars drawn uniformly from [1, 5] (seeded; averaged over ``draws``): rating
  noise that is unrelated to relevance, which is what a predicted rating is for a query;
- ``none``: relevance alone (w = 0 for every weight; the reference).

Per weight w and assignment, over the queries' top-k hits (the assistant re-ranks k = 50):

- ``ndcg@10`` of the fused order (ideal = the query's best judged products, unjudged = 0,
  as in ``retrieval.evaluate``);
- ``flip_rate``: over the pairs (irrelevant i: grade 0, relevant r: grade >= 2) in the top k
  with i ranked BELOW r by relevance alone, the fraction that fusion puts ABOVE r;
- ``top10_flip_rate``: the same, counting only pairs where r was in the top 10 before
  (what a shopper sees on the cards);
- ``irrelevant_top1``: fraction of queries whose first hit is a grade-0 product.

Everything here is pure (lists in, floats out); ``shopassist ranker eval-fusion`` runs the
searches and calls ``sweep``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ranker.scoring import fuse
from shopassist.ranking import ndcg

RELEVANT = 2  # grade >= 2 ("relevant", "highly relevant"), as in retrieval.evaluate
IRRELEVANT = 0  # judged grade 0 (unjudged products are not counted as irrelevant in the flips)
WEIGHTS = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
ASSIGNMENTS = ("adversarial", "random")


@dataclass
class QueryRun:
    """One query's retrieval result: product ids best first, their relevance in [0, 1], and
    the query's judgments (docid -> grade)."""

    ids: list[str]
    relevance: list[float]
    grades: Mapping[str, float]


def fused_order(relevance: Sequence[float], stars: Sequence[float], weight: float) -> list[int]:
    """Positions sorted by ``fuse`` (best first); equal scores keep the retrieval order.

    >>> fused_order([0.9, 0.8, 0.7], [1.0, 5.0, 5.0], 0.0)
    [0, 1, 2]
    >>> fused_order([0.9, 0.8, 0.7], [1.0, 5.0, 5.0], 0.5)   # 0.45, 0.9, 0.85
    [1, 2, 0]
    """
    scores = [fuse(r, s, weight) for r, s in zip(relevance, stars)]
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))


def flips(order_before: Sequence[int], order_after: Sequence[int], grades: Sequence[float], top: int | None = None) -> tuple[int, int]:
    """(flipped, eligible): eligible pairs are (irrelevant i: grade 0, relevant r: grade >= 2) with
    i below r before; flipped ones have i above r after (other grades, e.g. -1 for unjudged, are skipped).
    ``top``: only pairs whose r was in the top ``top`` before.

    >>> flips([0, 1, 2], [1, 0, 2], [2, 0, 0])    # item 1 (grade 0) jumps over item 0 (grade 2)
    (1, 2)
    """
    pos_b = {x: k for k, x in enumerate(order_before)}
    pos_a = {x: k for k, x in enumerate(order_after)}
    rel = [x for x in order_before if grades[x] >= RELEVANT and (top is None or pos_b[x] < top)]
    irr = [x for x in order_before if grades[x] == IRRELEVANT]
    n = f = 0
    for r in rel:
        for i in irr:
            if pos_b[i] > pos_b[r]:
                n += 1
                f += pos_a[i] < pos_a[r]
    return f, n


def ndcg10(ids: Sequence[str], grades: Mapping[str, float]) -> float:
    """NDCG@10 with the ideal over all judged products (unjudged = 0), as ``retrieval.evaluate``.

    >>> round(ndcg10(["b", "x", "a"], {"a": 3, "b": 2, "c": 1}), 3)   # 3.5 / 4.762
    0.735
    """
    return ndcg(ids, grades, 10)


def assign_stars(kind: str, grades: Sequence[float | None], rng: np.random.Generator | None = None) -> list[float]:
    """Stars per hit. ``grades``: judged grade per hit (None = unjudged).

    >>> assign_stars("adversarial", [3, 2, 1, 0, None])
    [1.0, 1.0, 3.0, 5.0, 5.0]
    """
    if kind == "adversarial":
        return [5.0 if g is None or g <= IRRELEVANT else 1.0 if g >= RELEVANT else 3.0 for g in grades]
    if kind == "random":
        rng = rng or np.random.default_rng(0)
        return rng.uniform(1.0, 5.0, len(grades)).tolist()
    raise ValueError(f"unknown rating assignment {kind!r}: use one of {ASSIGNMENTS}")


def sweep(runs: Sequence[QueryRun], weights: Sequence[float] = WEIGHTS, draws: int = 20, seed: int = 0) -> dict:
    """Metrics per assignment and weight (module docstring), plus relevance alone."""
    runs = [r for r in runs if r.ids and any(g >= RELEVANT for g in r.grades.values())]
    base = {"ndcg@10": float(np.mean([ndcg10(r.ids, r.grades) for r in runs])),
            "irrelevant_top1": float(np.mean([r.grades.get(r.ids[0], None) == IRRELEVANT for r in runs]))}
    out: dict = {"queries": len(runs), "relevance_only": {k: round(v, 4) for k, v in base.items()}, "weights": {}}
    for w in weights:
        row = {}
        for kind in ASSIGNMENTS:
            reps = draws if kind == "random" else 1
            rng = np.random.default_rng(seed)
            nd, top1, fl, el, fl10, el10 = [], [], 0, 0, 0, 0
            for _ in range(reps):
                for r in runs:
                    g = [r.grades.get(i) for i in r.ids]
                    stars = assign_stars(kind, g, rng)
                    after = fused_order(r.relevance, stars, w)
                    before = list(range(len(r.ids)))
                    gg = [-1.0 if x is None else float(x) for x in g]  # unjudged: neither relevant nor irrelevant
                    f, n = flips(before, after, gg)
                    f10, n10 = flips(before, after, gg, top=10)
                    fl, el, fl10, el10 = fl + f, el + n, fl10 + f10, el10 + n10
                    ranked = [r.ids[k] for k in after]
                    nd.append(ndcg10(ranked, r.grades))
                    top1.append(r.grades.get(ranked[0], None) == IRRELEVANT)
            row[kind] = {"ndcg@10": round(float(np.mean(nd)), 4), "flip_rate": round(fl / el, 4) if el else 0.0,
                         "top10_flip_rate": round(fl10 / el10, 4) if el10 else 0.0,
                         "irrelevant_top1": round(float(np.mean(top1)), 4)}
        out["weights"][str(w)] = row
    return out
