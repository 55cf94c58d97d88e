"""Ranking peers, negatives and the ranking table on real data, against counts and references
computed independently from the data (no trained version needed)."""

from collections import Counter

import numpy as np
import pytest

from ranker.metrics import ndcg_at_k, random_ndcg, random_recall
from ranker.peers import ItemKNN, Popularity, RecentPopularity, Transitions
from tests.conftest import dataset


def _events(data, split):
    return [(data.ratings[k].user, data.ratings[k].item, data.ratings[k].ts) for k in split]


def test_random_expectation_is_the_average_over_every_position():
    for n in (1, 7, 100, 4385):
        # the relevant item at each position of n equally likely ones, NDCG by the sklearn-checked ndcg_at_k
        pos = range(min(n, 12))  # beyond position 10 every term is 0
        by_position = sum(ndcg_at_k(-np.arange(n, dtype=float), np.eye(n)[p], 10) for p in pos) / n
        assert random_ndcg(n) == pytest.approx(by_position)
        assert random_recall(n) == pytest.approx(sum(1 for p in range(n) if p < 10) / n)


def test_popularity_scores_are_the_training_counts(mi_small):
    events = _events(mi_small, mi_small.train)
    items = mi_small.item_ids()
    counts = Counter(mi_small.ratings[k].item for k in mi_small.train)
    assert Popularity().fit(events).score([], items).tolist() == [float(counts.get(i, 0)) for i in items]
    # recent popularity: an event at or after `at` never counts; with an endless half-life it is the count before `at`
    at = int(np.median([t for _, _, t in events]))
    before = Counter(i for _, i, t in events if t < at)
    rp = RecentPopularity(half_life=1e15).fit(events)
    assert rp.score([], items, at=at) == pytest.approx([before.get(i, 0) for i in items], abs=1e-6)
    assert rp.score([], items) .tolist() == [float(counts.get(i, 0)) for i in items]


def test_item_knn_is_the_cosine_of_item_columns(mi_small):
    from sklearn.metrics.pairwise import cosine_similarity

    events = _events(mi_small, mi_small.train)
    users, items = sorted({u for u, _, _ in events}), sorted({i for _, i, _ in events})
    x = np.zeros((len(users), len(items)))
    for u, i, _ in events:
        x[users.index(u), items.index(i)] = 1.0
    ref = cosine_similarity(x.T)
    np.fill_diagonal(ref, 0.0)
    m = ItemKNN().fit(events)
    hist = items[:3]
    expect = ref[[items.index(h) for h in hist]].sum(0)
    assert m.score(hist, items) == pytest.approx(expect, abs=1e-5)
    assert m.score(hist, ["not-an-item"]).tolist() == [0.0]


def test_als_puts_a_users_own_items_above_the_rest(mi_small):
    from ranker.peers import ALS

    events = _events(mi_small, mi_small.train)
    m = ALS().fit(events)
    items = mi_small.item_ids()
    own = {}
    for u, i, _ in events:
        own.setdefault(u, []).append(i)
    above = [np.mean(s[np.isin(items, h)]) > np.mean(s[~np.isin(items, h)]) for h in own.values() for s in [m.score(h, items)]]
    assert np.mean(above) > 0.9
    assert m.score(own[next(iter(own))], ["not-an-item"]).tolist() == [0.0]


def test_transitions_count_what_followed(mi_small):
    events = _events(mi_small, sorted(mi_small.train, key=lambda k: (mi_small.ratings[k].user, mi_small.ratings[k].ts,
                                                                     mi_small.ratings[k].order)))
    seqs = {}
    for u, i, _ in events:
        seqs.setdefault(u, []).append(i)
    pairs = Counter((a, b) for s in seqs.values() for a, b in zip(s, s[1:]))
    a = pairs.most_common(1)[0][0][0]
    out = sum(c for (x, _), c in pairs.items() if x == a)
    m = Transitions(decay=0.5).fit(events)
    items = mi_small.item_ids()
    assert m.score([a], items) == pytest.approx([pairs.get((a, b), 0) / out for b in items])


def test_category_negatives_come_from_the_item_category(mi_small):
    from ranker.data import read_amazon2023
    from ranker.negatives import category_negatives, item_categories, text_neighbourhoods

    # MI 2014 has no metadata: the "category" is the item's 297 nearest items by review text
    negs, how = category_negatives(mi_small, n=20)
    assert how == "text_neighbours"
    near = text_neighbourhoods(mi_small, 60)
    for k, ns in negs.items():
        r = mi_small.ratings[k]
        rated = {mi_small.ratings[j].item for j in mi_small.user_sequence(r.user)}
        assert ns and not rated & set(ns) and set(ns) <= set(near[r.item])
    # the Amazon 2023 sample has a category per item: negatives share the held-out item's
    data = read_amazon2023(dataset("amazon_reviews_2023_user_history_sample"))
    negs, how = category_negatives(data, n=20)
    cats = item_categories(data)
    with_cat = [k for k in data.test if data.ratings[k].item in cats]
    assert how.startswith("metadata") and len(negs) == len(data.test) and len(with_cat) > len(data.test) / 2
    assert all(cats.get(j) == cats[data.ratings[k].item] for k in with_cat for j in negs[k])


def test_ranking_table_on_real_data_without_a_version(mi_small, settings):
    from ranker.evaluate import evaluate

    report = evaluate(mi_small, settings, ndcg=True)
    assert report["notes"]["version"] is None
    n_test = len(mi_small.test)
    for s in ("sampled", "category"):
        t = report["ranking"][s]
        assert t["n"] == n_test and {"popularity", "recent_popularity", "item_knn", "als", "svd", "bias"} <= set(t["methods"])
        for m in t["methods"].values():
            lo, hi = m["ndcg@10_ci95"]
            assert 0 <= lo <= m["ndcg@10"] <= hi <= 1 and 0 <= m["recall@10"] <= 1
        assert t["methods"]["global_mean"]["ndcg@10"] == 0.0  # constant: ties count against the held-out item
    # 60 users leave every one of them 99 never-rated items of the subset's items: the chance level is exactly 1/100's
    assert report["ranking"]["sampled"]["random"]["ndcg@10"] == pytest.approx(round(random_ndcg(100), 4))
    assert report["ranking"]["sampled"]["random"]["recall@10"] == 0.1
    # the table's popularity NDCG recomputed by hand from the counts
    from ranker.metrics import hit_rank, ndcg_single
    from ranker.negatives import sample_negatives

    counts = Counter(mi_small.ratings[k].item for k in mi_small.train)
    negs = sample_negatives(mi_small)
    by_hand = np.mean([ndcg_single(hit_rank(counts.get(mi_small.ratings[k].item, 0), [counts.get(j, 0) for j in negs[k]]))
                       for k in sorted(mi_small.test, key=lambda k: mi_small.ratings[k].user)])
    assert report["ranking"]["sampled"]["methods"]["popularity"]["ndcg@10"] == pytest.approx(by_hand, abs=1e-4)
