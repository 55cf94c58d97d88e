"""Baselines against hand-computed predictions, and SVD on real data."""

import pytest

from ranker.baselines import BiasModel, GlobalMean, ItemMean, SVDModel
from ranker.metrics import rmse

TOY = [("u", "a", 5.0), ("u", "b", 3.0), ("v", "a", 4.0), ("w", "c", 1.0)]


def test_global_and_item_mean():
    assert GlobalMean().fit(TOY).predict("x", "zz") == pytest.approx(13 / 4)
    m = ItemMean().fit(TOY)
    assert m.predict("u", "a") == 4.5 and m.predict("u", "c") == 1.0
    assert m.predict(None, "unknown") == pytest.approx(13 / 4)  # cold item -> global mean


def test_bias_one_als_step_by_hand():
    m = BiasModel(reg_item=1.0, reg_user=1.0, iters=1).fit(TOY)
    mu = 13 / 4
    b_a = ((5 - mu) + (4 - mu)) / (1 + 2)
    b_b = (3 - mu) / (1 + 1)
    b_c = (1 - mu) / (1 + 1)
    b_u = ((5 - mu - b_a) + (3 - mu - b_b)) / (1 + 2)
    assert m.bi["a"] == pytest.approx(b_a) and m.bi["b"] == pytest.approx(b_b) and m.bi["c"] == pytest.approx(b_c)
    assert m.bu["u"] == pytest.approx(b_u)
    assert m.predict("u", "a") == pytest.approx(mu + b_u + b_a)
    assert m.predict(None, "a") == pytest.approx(mu + b_a)  # cold user: item term only
    assert m.predict("u", "new") == pytest.approx(mu + b_u)  # cold item: user term only


def test_bias_and_svd_beat_global_mean_on_real_validation(mi_data):
    triples = [(mi_data.ratings[k].user, mi_data.ratings[k].item, mi_data.ratings[k].stars) for k in mi_data.train]
    val = [mi_data.ratings[k] for k in mi_data.val]
    truth = [r.stars for r in val]
    scores = {}
    for cls in (GlobalMean, BiasModel, SVDModel):
        m = cls().fit(triples)
        scores[cls.name] = rmse([m.predict(r.user, r.item) for r in val], truth)
    assert scores["bias"] < scores["global_mean"]
    assert scores["svd"] < scores["global_mean"]
    svd = SVDModel().fit(triples)
    assert 1.0 <= svd.predict(None, val[0].item) <= 5.0  # a cold user still gets a prediction
