"""Metric and fusion math against hand-computed numbers and an independent reference (sklearn)."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.evaluate import condensed_ndcg_at_k, ndcg_at_k, recall_at_k, reciprocal_rank
from retrieval.fusion import minmax, mmr, normalized_fusion, rrf, rrf_max


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("k", [3, 10])
def test_ndcg_matches_sklearn(seed, k):
    from sklearn.metrics import ndcg_score

    rng = np.random.default_rng(seed)
    n = 25
    grades = rng.integers(0, 4, size=n).astype(float)
    scores = rng.permutation(n).astype(float)  # distinct scores: no tie handling differences
    ids = [f"d{i}" for i in range(n)]
    ranked = [ids[i] for i in np.argsort(-scores)]
    judgments = {ids[i]: grades[i] for i in range(n)}
    expected = ndcg_score([grades], [scores], k=k)
    assert ndcg_at_k(ranked, judgments, k) == pytest.approx(expected, abs=1e-9)


def test_ndcg_hand_computed_and_edge_cases():
    assert ndcg_at_k(["b", "x", "a"], {"a": 3, "b": 2, "c": 1}, k=3) == pytest.approx(3.5 / 4.7619, abs=1e-4)
    assert ndcg_at_k(["a", "b", "c"], {"a": 3, "b": 2, "c": 1}, k=3) == 1.0
    assert ndcg_at_k(["x"], {"a": 0}, k=10) == 0.0  # no positive judgment
    assert ndcg_at_k([], {"a": 2}, k=10) == 0.0


def test_condensed_ndcg_drops_unjudged_products():
    j = {"a": 3, "b": 2}
    assert condensed_ndcg_at_k(["x", "b", "y", "a"], j) == pytest.approx((2 + 3 / np.log2(3)) / (3 + 2 / np.log2(3)))
    assert condensed_ndcg_at_k(["x", "a", "b"], j) == 1.0 > ndcg_at_k(["x", "a", "b"], j)
    assert condensed_ndcg_at_k(["x", "y"], j) == 0.0


def test_recall_and_mrr():
    assert recall_at_k(["a", "x", "b"], {"a", "b"}, 3) == 1.0
    assert recall_at_k(["a", "x", "b"], {"a", "b"}, 1) == 0.5
    assert recall_at_k(["a"], set(), 10) == 0.0
    assert reciprocal_rank(["x", "a"], {"a"}) == 0.5
    assert reciprocal_rank(["x"], {"a"}) == 0.0


def test_rrf_worked_example_and_bound():
    s = rrf([["d1", "d2"], ["x", "y", "d1"]], k=60)
    assert s["d1"] == pytest.approx(1 / 61 + 1 / 63)
    assert s["d2"] == pytest.approx(1 / 62)
    assert max(s.values()) <= rrf_max([1, 1], 60)
    w = rrf([["a"], ["b"]], k=60, weights=[2.0, 1.0])
    assert w["a"] == pytest.approx(2 * w["b"])


def test_normalized_fusion_worked_example():
    s = normalized_fusion({"a": 10, "b": 5}, {"a": 0.2, "b": 0.6, "c": 0.4}, weight_bm25=0.5)
    assert s == pytest.approx({"a": 0.5, "b": 0.75, "c": 0.25})
    assert all(0 <= v <= 1 for v in s.values())
    only_bm25 = normalized_fusion({"a": 2.0, "b": 1.0}, {}, weight_bm25=1.0)
    assert only_bm25 == pytest.approx({"a": 1.0, "b": 0.5})


def test_minmax_and_mmr():
    assert minmax([3, 3]).tolist() == [1.0, 1.0]
    sim = np.array([[1, 0.95, 0.1], [0.95, 1, 0.1], [0.1, 0.1, 1]])
    assert mmr([1.0, 0.9, 0.5], sim, k=3, lam=0.5) == [0, 2, 1]
    assert mmr([1.0, 0.9, 0.5], sim, k=3, lam=1.0) == [0, 1, 2]  # lam = 1: pure relevance
