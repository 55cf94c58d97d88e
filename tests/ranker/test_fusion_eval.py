"""The fusion-weight measurement: pure re-ranking, flip counting and NDCG, by hand and against
``retrieval.evaluate``'s NDCG as an independent reference."""

import numpy as np
import pytest

from ranker.fusion_eval import QueryRun, assign_stars, flips, fused_order, ndcg10, sweep
from retrieval.evaluate import ndcg_at_k


def test_ndcg10_matches_the_retrieval_eval():
    rng = np.random.default_rng(1)
    for _ in range(20):
        ids = [f"p{i}" for i in rng.permutation(30)[:15]]
        grades = {f"p{i}": float(rng.integers(0, 4)) for i in rng.permutation(30)[:12]}
        assert ndcg10(ids, grades) == pytest.approx(ndcg_at_k(ids, grades, 10))


def test_flips_by_hand():
    # before: r0 (grade 3) > i1 (grade 0) > r2 (grade 2) > i3 (grade 0); after: i1, i3, r0, r2
    grades = [3, 0, 2, 0]
    f, n = flips([0, 1, 2, 3], [1, 3, 0, 2], grades)
    # eligible: (i1 below r0), (i3 below r0), (i3 below r2) = 3; all three flipped
    assert (f, n) == (3, 3)
    assert flips([0, 1, 2, 3], [0, 1, 2, 3], grades) == (0, 3)
    assert flips([0, 1, 2, 3], [1, 3, 0, 2], grades, top=1) == (2, 2)  # only r0 was in the top 1
    assert flips([0, 1], [1, 0], [2, -1]) == (0, 0)  # unjudged (-1) is not counted as irrelevant


def test_weight_zero_is_relevance_alone_and_the_gap_bound_holds():
    runs = [QueryRun(["a", "b", "c", "d"], [0.9, 0.5, 0.45, 0.1], {"a": 3, "b": 0, "c": 2, "d": 0}),
            QueryRun(["x", "y"], [0.8, 0.7], {"x": 0, "y": 3})]
    rep = sweep(runs, weights=[0.0, 0.1, 0.5], draws=3)
    w0 = rep["weights"]["0.0"]
    for kind in ("adversarial", "random"):
        assert w0[kind]["ndcg@10"] == pytest.approx(rep["relevance_only"]["ndcg@10"])
        assert w0[kind]["flip_rate"] == 0.0
    adv = [rep["weights"][w]["adversarial"]["flip_rate"] for w in ("0.0", "0.1", "0.5")]
    assert adv == sorted(adv) and adv[-1] > 0  # more weight, more flips under adversarial ratings
    # fuse's documented bound: a relevance gap above w / (1 - w) is never overturned
    assert fused_order([0.9, 0.5], [1.0, 5.0], 0.25) == [0, 1]  # gap 0.4 > 1/3
    assert fused_order([0.6, 0.5], [1.0, 5.0], 0.25) == [1, 0]  # gap 0.1 < 1/3


def test_adversarial_assignment():
    assert assign_stars("adversarial", [3, 2, 1, 0, None]) == [1.0, 1.0, 3.0, 5.0, 5.0]
    r = assign_stars("random", [0] * 100, np.random.default_rng(0))
    assert min(r) >= 1.0 and max(r) <= 5.0 and np.std(r) > 0.5
    with pytest.raises(ValueError):
        assign_stars("kind", [1])
