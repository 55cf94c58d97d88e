"""Rating and ranking metrics: pure array math, no torch, no I/O.

All ratings are in stars. Each function states its formula and a worked example.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from shopassist.ranking import dcg  # DCG@k = sum_r rel_r / log2(r + 1): one home for retrieval and ranker


def rmse(pred: Sequence[float], true: Sequence[float]) -> float:
    """Root mean squared error: sqrt(mean((p - t)^2)).

    >>> rmse([4, 5, 3], [5, 5, 1])   # errors -1, 0, 2 -> sqrt((1 + 0 + 4) / 3)
    1.2909944487358056
    """
    p, t = np.asarray(pred, float), np.asarray(true, float)
    if p.size == 0:
        return float("nan")
    return float(np.sqrt(np.mean((p - t) ** 2)))


def mae(pred: Sequence[float], true: Sequence[float]) -> float:
    """Mean absolute error: mean(|p - t|).

    >>> mae([4, 5, 3], [5, 5, 1])     # (1 + 0 + 2) / 3
    1.0
    """
    p, t = np.asarray(pred, float), np.asarray(true, float)
    if p.size == 0:
        return float("nan")
    return float(np.mean(np.abs(p - t)))


def ndcg_at_k(scores: Sequence[float], relevances: Sequence[float], k: int = 10) -> float:
    """NDCG@k = DCG@k(items sorted by score) / DCG@k(items sorted by relevance).

    Ties in score are broken pessimistically (a relevant item ranks after equal-score
    irrelevant ones), so a constant predictor gets no credit from input order.

    >>> ndcg_at_k([0.9, 0.5, 0.7], [0, 1, 0], k=10)   # relevant item at rank 3: 1/log2(4)
    0.5
    """
    s, rel = np.asarray(scores, float), np.asarray(relevances, float)
    order = np.lexsort((rel, -s))  # primary: score desc; ties: lower relevance first
    ideal = dcg(sorted(rel, reverse=True), k)
    return dcg(rel[order], k) / ideal if ideal > 0 else 0.0


def hit_rank(target_score: float, other_scores: Sequence[float]) -> int:
    """1-based rank of the held-out item among sampled negatives (ties count against it).

    >>> hit_rank(4.0, [4.5, 4.0, 3.0])
    3
    """
    o = np.asarray(other_scores, float)
    return int(1 + np.sum(o >= target_score))


def ndcg_single(rank: int, k: int = 10) -> float:
    """NDCG@k with one relevant item at ``rank``: 1 / log2(rank + 1) if rank <= k else 0.

    >>> ndcg_single(1), ndcg_single(3), ndcg_single(11)
    (1.0, 0.5, 0.0)
    """
    return 1.0 / math.log2(rank + 1) if rank <= k else 0.0


def bootstrap_rmse_diff(pred_a: Sequence[float], pred_b: Sequence[float], true: Sequence[float], n: int = 2000,
                        seed: int = 0) -> dict:
    """RMSE(a) - RMSE(b) on the same rows, with a paired bootstrap 95 % interval: rows are
    resampled with replacement ``n`` times and both RMSEs recomputed on each resample.
    ``p_a_better``: the share of resamples where a has the lower RMSE.

    >>> r = bootstrap_rmse_diff([4, 4, 4, 4], [5, 5, 5, 5], [4, 4, 5, 4], n=200)
    >>> r["diff"], r["ci95"][0] <= r["diff"] <= r["ci95"][1], r["p_a_better"] > 0.5
    (-0.366, True, True)
    """
    a, b, t = np.asarray(pred_a, float), np.asarray(pred_b, float), np.asarray(true, float)
    if t.size == 0:
        return {"diff": None, "ci95": None, "p_a_better": None, "n": 0}
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, t.size, size=(n, t.size))
    ea, eb = (a[idx] - t[idx]) ** 2, (b[idx] - t[idx]) ** 2
    d = np.sqrt(ea.mean(1)) - np.sqrt(eb.mean(1))
    lo, hi = np.percentile(d, [2.5, 97.5])
    return {"diff": round(rmse(a, t) - rmse(b, t), 4), "ci95": [round(float(lo), 4), round(float(hi), 4)],
            "p_a_better": round(float(np.mean(d < 0)), 3), "n": int(t.size)}


def recall_single(rank: int, k: int = 10) -> float:
    """Recall@k (= hit rate@k) with one relevant item at ``rank``: 1 if rank <= k else 0.

    >>> recall_single(10), recall_single(11)
    (1.0, 0.0)
    """
    return 1.0 if rank <= k else 0.0


def random_ndcg(n_candidates: int, k: int = 10) -> float:
    """E[NDCG@k] of a uniformly random order of ``n_candidates`` with one relevant item: each
    rank r is equally likely, so (1/n) * sum_{r <= min(k, n)} 1/log2(r + 1).

    >>> round(random_ndcg(100), 4)     # 4.5436 / 100: the chance level of "1 + 99 sampled"
    0.0454
    >>> random_ndcg(1)
    1.0
    """
    return sum(ndcg_single(r, k) for r in range(1, min(k, n_candidates) + 1)) / n_candidates


def random_recall(n_candidates: int, k: int = 10) -> float:
    """E[Recall@k] of a random order with one relevant item among ``n_candidates``: min(k, n) / n.

    >>> random_recall(100), random_recall(5)
    (0.1, 1.0)
    """
    return min(k, n_candidates) / n_candidates


def bootstrap_mean_diff(a: Sequence[float], b: Sequence[float], n: int = 2000, seed: int = 0) -> dict:
    """mean(a) - mean(b) over the same rows (e.g. per-user NDCG@10 of two methods), with a paired
    bootstrap 95 % interval (rows resampled with replacement ``n`` times); ``p_a_better``: the
    share of resamples where a's mean is higher.

    >>> r = bootstrap_mean_diff([1, 0, 1, 1], [0, 0, 1, 0], n=200)
    >>> r["diff"], r["ci95"][0] <= 0.5 <= r["ci95"][1], r["n"]
    (0.5, True, 4)
    """
    x, y = np.asarray(a, float), np.asarray(b, float)
    if x.size == 0:
        return {"diff": None, "ci95": None, "p_a_better": None, "n": 0}
    rng = np.random.default_rng(seed)
    d = x - y
    means = d[rng.integers(0, d.size, size=(n, d.size))].mean(1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return {"diff": round(float(d.mean()), 4), "ci95": [round(float(lo), 4), round(float(hi), 4)],
            "p_a_better": round(float(np.mean(means > 0)), 3), "n": int(d.size)}


def mean_ci(values: Sequence[float], n: int = 2000, seed: int = 0) -> list[float]:
    """Bootstrap 95 % interval of a mean (rows resampled with replacement ``n`` times).

    >>> lo, hi = mean_ci([0, 1] * 50)
    >>> lo < 0.5 < hi
    True
    """
    x = np.asarray(values, float)
    if x.size == 0:
        return [float("nan"), float("nan")]
    rng = np.random.default_rng(seed)
    lo, hi = np.percentile(x[rng.integers(0, x.size, size=(n, x.size))].mean(1), [2.5, 97.5])
    return [round(float(lo), 4), round(float(hi), 4)]
