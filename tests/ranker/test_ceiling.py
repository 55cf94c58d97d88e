"""The split report: position statistics that add up, and methods scored on val and test."""

import numpy as np
import pytest

from ranker.baselines import BiasModel, GlobalMean
from ranker.ceiling import positions, split_report


def test_positions_cover_every_rating_and_name_the_splits(mi_small):
    pos = positions(mi_small)
    assert sum(p["n"] for p in pos.values()) == len(mi_small.ratings)
    # position 0 from the end is the test split, 1 the validation split (leave-last-out)
    assert pos["0"]["n"] == len(mi_small.test) and pos["1"]["n"] == len(mi_small.val)
    test = np.asarray([mi_small.ratings[k].stars for k in mi_small.test])
    assert pos["0"]["mean"] == pytest.approx(test.mean(), abs=1e-4) and pos["0"]["std"] == pytest.approx(test.std(), abs=1e-4)
    assert pos["0"]["share_1_2_stars"] == pytest.approx((test <= 2).mean(), abs=1e-4)


def test_split_report_scores_methods_fitted_on_train_only(mi_small):
    rep = split_report(mi_small, methods=[GlobalMean(), BiasModel()])
    train = [mi_small.ratings[k].stars for k in mi_small.train]
    test = np.asarray([mi_small.ratings[k].stars for k in mi_small.test])
    # the global mean's test RMSE is the test ratings' distance to the TRAIN mean, nothing fitted on test
    expect = float(np.sqrt(np.mean((np.clip(np.mean(train), 1, 5) - test) ** 2)))
    assert rep["methods"]["global_mean"]["test_rmse"] == pytest.approx(expect, abs=1e-4)
    for m in rep["methods"].values():
        assert m["test_over_val"] == pytest.approx(m["test_rmse"] / m["val_rmse"], abs=2e-3)
