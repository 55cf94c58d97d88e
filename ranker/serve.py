"""Serving: predicted stars and short reasons for one user's candidate products.

``load_ranker(settings)`` returns the current trained model version when there is
one (``ranker/versions.py``), and otherwise a ``PriorRanker``: the user+item bias
model computed from the catalog's own ratings, which says so in every explanation.

Prior (no training needed)::

    b_i = n_i * (avg_i - mu) / (n_i + K_ITEM)        item bias, shrunk to 0 for few ratings
    b_u = sum_j (r_uj - mu - b_j) / (n_u + K_USER)   user bias over the user's rated history
    stars = clip(mu + b_u + b_i, 1, 5)

``mu`` is the rating-count weighted mean of the catalog's average ratings (4.2 if the
catalog has none yet, the typical Amazon mean).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from ranker.scoring import Prediction, UserContext
from shopassist.settings import Settings

log = logging.getLogger(__name__)

K_ITEM = 5.0  # ratings before an item's own average counts half: damps 1-review 5-star items
K_USER = 5.0  # same for the user's offset
DEFAULT_MU = 4.2  # Amazon reviews' typical mean; used only with an empty catalog


def shrunk_item_bias(average: float | None, count: int, mu: float, k: float = K_ITEM) -> float:
    """Item bias from catalog aggregates, shrunk toward 0.

    >>> shrunk_item_bias(5.0, 5, 4.0)
    0.5
    >>> shrunk_item_bias(None, 0, 4.0)
    0.0
    """
    if average is None or count <= 0:
        return 0.0
    return count * (float(average) - mu) / (count + k)


def catalog_mean(products) -> float:
    """Rating-count weighted mean of the products' average ratings (DEFAULT_MU when none).

    >>> from retrieval.catalog import Product
    >>> catalog_mean([Product("a", "A", average_rating=4.0, rating_count=3), Product("b", "B", average_rating=5.0, rating_count=1)])
    4.25
    """
    total = n = 0.0
    for p in products:
        if p.average_rating is not None and p.rating_count:
            total += p.average_rating * p.rating_count
            n += p.rating_count
    return total / n if n else DEFAULT_MU


@dataclass
class UserBias:
    """The user's offset over the prior, from their rated history."""

    value: float = 0.0
    n: int = 0


def _clip(x: float) -> float:
    return min(max(float(x), 1.0), 5.0)


@dataclass
class PriorRanker:
    """The Ranker contract without a trained model: catalog rating prior + user offset."""

    mu: float = DEFAULT_MU
    sentiment: object | None = None  # ranker.sentiment.AspectExtractor when available
    _item_bias_by_title: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> "PriorRanker":
        mu = DEFAULT_MU
        if settings.catalog_db.exists():
            from retrieval.store import CatalogStore

            mu = catalog_mean(CatalogStore(settings.catalog_db).iter_products())
        return cls(mu=mu)

    def user_bias(self, user: UserContext) -> UserBias:
        if not user.history:
            return UserBias()
        resid = [stars - self.mu - self._item_bias_by_title.get(title, 0.0) for title, stars in user.history]
        return UserBias(sum(resid) / (len(resid) + K_USER), len(resid))

    def score(self, user: UserContext, products: list) -> list[Prediction]:
        """Predicted stars = mu + b_u + b_i (see module docstring), with the numbers as the reason."""
        ub = self.user_bias(user)
        out = []
        for p in products:
            bi = shrunk_item_bias(p.average_rating, p.rating_count, self.mu)
            stars = _clip(self.mu + ub.value + bi)
            why = []
            if p.rating_count:
                why.append(f"rated {p.average_rating:.1f} by {p.rating_count} reviewers (shrunk toward the {self.mu:.2f} average)")
            else:
                why.append(f"no ratings yet: catalog average {self.mu:.2f}")
            if ub.n and abs(ub.value) >= 0.05:
                why.append(f"you rate {'above' if ub.value > 0 else 'below'} average ({ub.value:+.2f} over {ub.n} reviews)")
            why.append("catalog rating prior (the rating model is not trained yet)")
            out.append(Prediction(p.id, round(stars, 3), why))
        return out

    def user_context(self, store, user_id: str) -> UserContext:
        return build_user_context(store, user_id, self.sentiment)


def build_user_context(store, user_id: str, sentiment=None) -> UserContext:
    """A user's catalog history (oldest first) and liked/disliked aspects from their reviews.

    Aspects come from the review-sentiment model when one is trained (``ranker.sentiment``),
    else from the lexical aspect extractor over each review's sentences and its stars.
    """
    from ranker.sentiment import aspects_from_reviews

    reviews = store.reviews_by_user(user_id)
    if not reviews:
        return UserContext(user_id, [], [], [])
    products = {p.id: p for p in store.get_many(list(dict.fromkeys(r.product_id for r in reviews)))}
    history = [(products[r.product_id].title if r.product_id in products else r.product_id, float(r.rating)) for r in reviews]
    likes, dislikes = aspects_from_reviews(reviews, model=sentiment)
    return UserContext(user_id, history, likes, dislikes)


def load_ranker(settings: Settings):
    """The current trained model version, or the catalog rating prior before any training.

    >>> from shopassist.settings import Settings
    >>> type(load_ranker(Settings(data_dir="/nonexistent"))).__name__
    'PriorRanker'
    """
    from ranker.versions import current_version

    version = current_version(settings)
    if version is None:
        log.info("no trained rating model in %s: using the catalog rating prior", settings.models_dir)
        return PriorRanker.from_settings(settings)
    from ranker.model import TwoTowerRanker

    return TwoTowerRanker.load(version, settings)
