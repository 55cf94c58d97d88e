"""Fusion and diversity math: pure functions over plain lists and arrays, no I/O.

Hybrid search has two rankers with scores on different scales: BM25 (0..unbounded) and
cosine similarity (about -1..1, MiniLM mostly 0..0.8). Two ways to combine them are here,
both measured in BENCHMARKS.md:

- ``rrf``: reciprocal rank fusion, only ranks count;
- ``normalized_fusion``: each score min-max normalised over the candidates, then a weighted
  sum (keeps *how much* better the top result is, which RRF throws away).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def rrf(rankings: Sequence[Sequence[str]], k: float = 60.0, weights: Sequence[float] | None = None) -> dict[str, float]:
    """Weighted reciprocal rank fusion.

    score(d) = sum_i w_i / (k + rank_i(d)), rank starting at 1; a list that lacks d adds 0.

    Worked example, k = 60, equal weights: d1 is 1st in list A and 3rd in list B,
    d2 is 2nd in A only: score(d1) = 1/61 + 1/63 = 0.03227, score(d2) = 1/62 = 0.01613.

    >>> s = rrf([["d1", "d2"], ["x", "y", "d1"]])
    >>> round(s["d1"], 5), round(s["d2"], 5)
    (0.03227, 0.01613)
    """
    weights = list(weights) if weights is not None else [1.0] * len(rankings)
    out: dict[str, float] = {}
    for w, ranking in zip(weights, rankings):
        for rank, doc in enumerate(ranking, 1):
            out[doc] = out.get(doc, 0.0) + w / (k + rank)
    return out


def rrf_max(n_lists_weights: Sequence[float], k: float = 60.0) -> float:
    """The largest possible RRF score (first in every list): divides RRF into [0, 1].

    >>> round(rrf_max([1.0, 1.0]), 5)
    0.03279
    """
    return sum(w / (k + 1) for w in n_lists_weights)


def minmax(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Scale to [0, 1]: (x - min) / (max - min); all equal -> all 1 (nothing to tell apart).

    >>> minmax([2.0, 4.0, 3.0]).tolist()
    [0.0, 1.0, 0.5]
    """
    a = np.asarray(values, dtype=np.float64)
    if a.size == 0:
        return a
    lo, hi = float(a.min()), float(a.max())
    if hi - lo < 1e-12:
        return np.ones_like(a)
    return (a - lo) / (hi - lo)


def normalized_fusion(
    bm25: Mapping[str, float], dense: Mapping[str, float], weight_bm25: float = 0.5
) -> dict[str, float]:
    """Convex combination of min-max-normalised scores over the union of candidates.

    score(d) = w * norm_bm25(d) + (1 - w) * norm_dense(d), with norm = min-max over the
    candidates; a candidate missing from one side gets that side's minimum (0 after scaling).
    BM25 is divided by its max instead of min-max (a BM25 of 0 means no term matched, a real
    zero, not just "the worst of these").

    Worked example, w = 0.5: bm25 = {a: 10, b: 5}, dense = {a: 0.2, b: 0.6, c: 0.4}
    -> norm_bm25 = {a: 1, b: 0.5, c: 0}, norm_dense = {a: 0, b: 1, c: 0.5}
    -> a = 0.5, b = 0.75, c = 0.25.

    >>> s = normalized_fusion({"a": 10, "b": 5}, {"a": 0.2, "b": 0.6, "c": 0.4})
    >>> {k: round(v, 2) for k, v in sorted(s.items())}
    {'a': 0.5, 'b': 0.75, 'c': 0.25}
    """
    docs = list(dict.fromkeys([*bm25, *dense]))
    if not docs:
        return {}
    b = np.array([bm25.get(d, 0.0) for d in docs], dtype=np.float64)
    b = b / b.max() if b.max() > 0 else np.zeros_like(b)
    dmin = min(dense.values()) if dense else 0.0
    dn = minmax([dense.get(d, dmin) for d in docs]) if dense else np.zeros(len(docs))
    return {d: float(weight_bm25 * x + (1 - weight_bm25) * y) for d, x, y in zip(docs, b, dn)}


def mmr(relevance: Sequence[float], similarity: np.ndarray, k: int, lam: float = 0.7) -> list[int]:
    """Maximal marginal relevance: pick, one at a time, the item maximising
    lam * relevance(i) - (1 - lam) * max_{j picked} similarity(i, j).

    Worked example, lam = 0.5: relevance [1.0, 0.9, 0.5], items 0 and 1 near-identical
    (similarity 0.95), item 2 unlike both (0.1): pick 0 first; then item 1 scores
    0.5*0.9 - 0.5*0.95 = -0.025 and item 2 scores 0.5*0.5 - 0.5*0.1 = 0.2, so 2 comes second.

    >>> sim = np.array([[1, .95, .1], [.95, 1, .1], [.1, .1, 1]])
    >>> mmr([1.0, 0.9, 0.5], sim, k=3, lam=0.5)
    [0, 2, 1]
    """
    rel = np.asarray(relevance, dtype=np.float64)
    n = len(rel)
    picked: list[int] = []
    left = list(range(n))
    while left and len(picked) < k:
        if picked:
            penalty = np.max(similarity[np.ix_(left, picked)], axis=1)
        else:
            penalty = np.zeros(len(left))
        scores = lam * rel[left] - (1 - lam) * penalty
        best = left[int(np.argmax(scores))]
        picked.append(best)
        left.remove(best)
    return picked
