"""Metric functions against hand-computed values and independent references (sklearn)."""

import math

import numpy as np
import pytest

from ranker.metrics import dcg, hit_rank, mae, ndcg_at_k, ndcg_single, rmse


def test_rmse_mae_hand_computed():
    assert rmse([4, 5, 3], [5, 5, 1]) == pytest.approx(math.sqrt(5 / 3))
    assert mae([4, 5, 3], [5, 5, 1]) == pytest.approx(1.0)
    assert math.isnan(rmse([], []))


def test_rmse_mae_match_sklearn():
    from sklearn.metrics import mean_absolute_error, mean_squared_error

    rng = np.random.default_rng(1)
    p, t = rng.uniform(1, 5, 200), rng.integers(1, 6, 200)
    assert rmse(p, t) == pytest.approx(math.sqrt(mean_squared_error(t, p)))
    assert mae(p, t) == pytest.approx(mean_absolute_error(t, p))


def test_dcg_textbook_example():
    # 3/log2(2) + 2/log2(3) + 0/log2(4) + 1/log2(5)
    assert dcg([3, 2, 0, 1], 4) == pytest.approx(3 + 2 / math.log2(3) + 1 / math.log2(5))


def test_ndcg_matches_sklearn_on_random_graded_lists():
    from sklearn.metrics import ndcg_score

    rng = np.random.default_rng(0)
    for _ in range(20):
        rel = rng.integers(0, 4, 30).astype(float)
        scores = rng.normal(size=30)  # no ties: sklearn averages ties, we are pessimistic
        assert ndcg_at_k(scores, rel, 10) == pytest.approx(ndcg_score([rel], [scores], k=10))


def test_single_relevant_item_and_pessimistic_ties():
    assert ndcg_single(1) == 1.0 and ndcg_single(3) == 0.5 and ndcg_single(11) == 0.0
    assert hit_rank(4.0, [4.5, 4.0, 3.0]) == 3  # the tie counts against the held-out item
    # a constant predictor gets no credit from input order
    assert ndcg_at_k([1.0] * 100, [1] + [0] * 99, 10) == 0.0
    assert ndcg_single(hit_rank(3.0, [3.0] * 99)) == 0.0
    scores = np.r_[2.0, np.linspace(0, 1, 99)]
    assert ndcg_at_k(scores, np.r_[1, np.zeros(99)], 10) == ndcg_single(hit_rank(2.0, scores[1:])) == 1.0


def test_bootstrap_rmse_diff_is_the_paired_difference_with_an_interval():
    from ranker.metrics import bootstrap_rmse_diff

    rng = np.random.default_rng(3)
    t = rng.integers(1, 6, 200).astype(float)
    a = t + rng.normal(0, 0.5, 200)
    b = t + rng.normal(0, 1.0, 200)
    r = bootstrap_rmse_diff(a, b, t)
    assert r["diff"] == pytest.approx(rmse(a, t) - rmse(b, t), abs=1e-4)
    assert r["ci95"][0] <= r["diff"] <= r["ci95"][1] < 0 and r["p_a_better"] > 0.99 and r["n"] == 200
    s = bootstrap_rmse_diff(b, a, t)  # swapping the methods mirrors the interval
    assert s["ci95"] == pytest.approx([-r["ci95"][1], -r["ci95"][0]], abs=1e-3)
    assert bootstrap_rmse_diff([], [], [])["n"] == 0
