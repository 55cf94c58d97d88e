"""Classic rating predictors the model must beat: global mean, item mean, user+item bias, SVD.

All share one small protocol: ``fit(triples)`` with (user, item, stars) training triples,
then ``predict(user, item) -> stars``; ``user=None`` means a cold user (no history) and
an item never seen in training is a cold item. Predictions are clipped to [1, 5].
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np

from ranker.scoring import clip_stars

Triple = tuple[str, str, float]


class GlobalMean:
    """mu = mean of all training ratings.

    >>> GlobalMean().fit([("u", "a", 4), ("v", "a", 2)]).predict("u", "a")
    3.0
    """

    name = "global_mean"

    def fit(self, triples: Iterable[Triple]) -> "GlobalMean":
        self.mu = float(np.mean([t[2] for t in triples]))
        return self

    def predict(self, user: str | None, item: str) -> float:
        return clip_stars(self.mu)


class ItemMean:
    """The item's mean training rating; the global mean for an unseen item.

    >>> m = ItemMean().fit([("u", "a", 5), ("v", "a", 4), ("u", "b", 1)])
    >>> m.predict("u", "a"), m.predict(None, "zzz")
    (4.5, 3.3333333333333335)
    """

    name = "item_mean"

    def fit(self, triples: Iterable[Triple]) -> "ItemMean":
        triples = list(triples)
        self.mu = float(np.mean([t[2] for t in triples]))
        sums: dict[str, list[float]] = defaultdict(list)
        for _, i, r in triples:
            sums[i].append(r)
        self.means = {i: float(np.mean(v)) for i, v in sums.items()}
        return self

    def predict(self, user: str | None, item: str) -> float:
        return clip_stars(self.means.get(item, self.mu))


class BiasModel:
    """r_hat = mu + b_u + b_i, fitted by regularised alternating least squares:

        b_i = sum_{u in R(i)} (r_ui - mu - b_u) / (lambda_i + |R(i)|)
        b_u = sum_{i in R(u)} (r_ui - mu - b_i) / (lambda_u + |R(u)|)

    repeated ``iters`` times from zero (Koren's baseline predictor). Unknown users or
    items contribute 0. Worked example (one pass, lambda = 0): ratings u:a=5, u:b=3,
    v:a=4 -> mu = 4; b_a = (1 + 0)/2 = 0.5, b_b = -1; b_u = ((5-4-0.5) + (3-4+1))/2 = 0.25.

    >>> m = BiasModel(reg_item=0, reg_user=0, iters=1).fit([("u", "a", 5), ("u", "b", 3), ("v", "a", 4)])
    >>> m.bi["a"], m.bi["b"], m.bu["u"]
    (0.5, -1.0, 0.25)
    """

    name = "bias"

    def __init__(self, reg_item: float = 5.0, reg_user: float = 5.0, iters: int = 10):
        # regularisation 5 ~ "five ratings before an item's own average counts half";
        # tuned on MI2014 validation RMSE among {1, 3, 5, 10, 20}
        self.reg_item, self.reg_user, self.iters = reg_item, reg_user, iters

    def fit(self, triples: Iterable[Triple]) -> "BiasModel":
        triples = list(triples)
        self.mu = float(np.mean([t[2] for t in triples]))
        by_item: dict[str, list[tuple[str, float]]] = defaultdict(list)
        by_user: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for u, i, r in triples:
            by_item[i].append((u, r))
            by_user[u].append((i, r))
        self.bu = {u: 0.0 for u in by_user}
        self.bi = {i: 0.0 for i in by_item}
        self.n_user = {u: len(v) for u, v in by_user.items()}
        self.n_item = {i: len(v) for i, v in by_item.items()}
        for _ in range(self.iters):
            for i, rs in by_item.items():
                self.bi[i] = sum(r - self.mu - self.bu[u] for u, r in rs) / (self.reg_item + len(rs))
            for u, rs in by_user.items():
                self.bu[u] = sum(r - self.mu - self.bi[i] for i, r in rs) / (self.reg_user + len(rs))
        return self

    def user_bias(self, user: str | None) -> float:
        return self.bu.get(user, 0.0) if user is not None else 0.0

    def item_bias(self, item: str) -> float:
        return self.bi.get(item, 0.0)

    def predict(self, user: str | None, item: str) -> float:
        return clip_stars(self.mu + self.user_bias(user) + self.item_bias(item))


def surprise_trainset(triples: Iterable[Triple]):
    """(user, item, stars) triples as a scikit-surprise trainset on the 1-5 scale."""
    import pandas as pd  # pandas and surprise load slowly; only the SVD baselines need them
    from surprise import Dataset, Reader

    df = pd.DataFrame(list(triples), columns=["u", "i", "r"])
    return Dataset.load_from_df(df, Reader(rating_scale=(1, 5))).build_full_trainset()


class SVDModel:
    """Biased matrix factorisation (Funk SVD) from scikit-surprise, seeded.

    Surprise drops the terms of an unknown user or item, so a cold user gets mu + b_i.
    """

    name = "svd"

    def __init__(self, n_factors: int = 50, n_epochs: int = 20, seed: int = 0):
        self.n_factors, self.n_epochs, self.seed = n_factors, n_epochs, seed

    def fit(self, triples: Iterable[Triple]) -> "SVDModel":
        from surprise import SVD

        self.algo = SVD(n_factors=self.n_factors, n_epochs=self.n_epochs, random_state=self.seed)
        self.algo.fit(surprise_trainset(triples))
        return self

    def predict(self, user: str | None, item: str) -> float:
        uid = user if user is not None else "\x00cold-user"
        return clip_stars(self.algo.predict(uid, item).est)


BASELINES = {"global_mean": GlobalMean, "item_mean": ItemMean, "bias": BiasModel, "svd": SVDModel}
