"""Where an RMSE goal sits on a leave-last-out split: how hard each position is, for everyone.

``split_report(data)`` answers "is the test split harder than the rest, and for which methods?"
without any model of ours, so a missed goal can be told apart from a weak model:

- ``positions``: the ratings by their place from the end of each user's sequence (0 = the
  test rating, 1 = validation, ...): count, mean, standard deviation, share of 1-2 stars.
- ``methods``: classic recommenders fitted on train only, RMSE on validation and on test,
  and their ratio: the global mean, user+item bias, our SVD baseline, and scikit-surprise's
  SVD++, baseline-only (ALS) and the item- and user-based KNN over baseline residuals.

A position effect is not something a model may learn from: knowing that a rating is a
user's LAST is knowledge of the future (that they will not review again), so a serving model
cannot condition on it.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ranker.baselines import BiasModel, GlobalMean, SVDModel, surprise_trainset
from ranker.data import RatingData
from ranker.metrics import rmse
from ranker.scoring import clip_stars

FROM_END = 5  # positions 0..4 from the end, then "5+" for everything earlier


def _stats(stars: list[float]) -> dict:
    y = np.asarray(stars, float)
    return {"n": int(y.size), "mean": round(float(y.mean()), 4), "std": round(float(y.std()), 4),
            "share_1_2_stars": round(float((y <= 2).mean()), 4)}


def positions(data: RatingData) -> dict[str, dict]:
    """Rating statistics by place from the end of each user's sequence ("0" = test, "1" = validation)."""
    by: dict[int, list[float]] = defaultdict(list)
    for u in data.users():
        seq = data.user_sequence(u)
        for j, k in enumerate(seq):
            by[min(len(seq) - 1 - j, FROM_END)].append(data.ratings[k].stars)
    return {(f"{p}" if p < FROM_END else f"{FROM_END}+"): _stats(v) for p, v in sorted(by.items())}


class _Surprise:
    """Any scikit-surprise algorithm behind the baselines' fit/predict protocol."""

    def __init__(self, name: str, make):
        self.name, self.make = name, make

    def fit(self, triples):
        self.algo = self.make()
        self.algo.fit(surprise_trainset(triples))
        return self

    def predict(self, user, item) -> float:
        return clip_stars(self.algo.predict(user, item).est)


def classic_methods() -> list:
    from surprise import BaselineOnly, KNNBaseline, SVDpp  # slow to load; only this report needs them

    return [
        GlobalMean(), BiasModel(), SVDModel(),
        _Surprise("svdpp", lambda: SVDpp(random_state=0)),
        _Surprise("baseline_only", lambda: BaselineOnly(verbose=False)),
        _Surprise("knn_item", lambda: KNNBaseline(sim_options={"user_based": False, "name": "pearson_baseline"}, verbose=False)),
        _Surprise("knn_user", lambda: KNNBaseline(sim_options={"user_based": True, "name": "pearson_baseline"}, verbose=False)),
    ]


def split_report(data: RatingData, methods: list | None = None) -> dict:
    """Positions plus every method's validation and test RMSE (fitted on train only)."""
    triples = [(data.ratings[k].user, data.ratings[k].item, data.ratings[k].stars) for k in data.train]
    out = {}
    for m in methods if methods is not None else classic_methods():
        m.fit(triples)
        row = {s: rmse([m.predict(data.ratings[k].user, data.ratings[k].item) for k in idx], [data.ratings[k].stars for k in idx])
               for s, idx in (("val", data.val), ("test", data.test))}
        out[m.name] = {"val_rmse": round(row["val"], 4), "test_rmse": round(row["test"], 4), "test_over_val": round(row["test"] / row["val"], 4)}
    return {"dataset": data.name, "positions": positions(data), "methods": out}
