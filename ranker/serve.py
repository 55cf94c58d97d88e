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
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from ranker import versions
from ranker.data import ITEM_SNIPPETS, USER_HISTORY, ItemMeta, Rating, review_unit
from ranker.features import USER_COLS, make_cold, pool_item, pool_user
from ranker.model import RatingModel, TextRegressor, bias_features
from ranker.scoring import CatalogReader, Prediction, Ranker, UserContext, clip_stars
from ranker.sentiment import aspects_from_reviews
from ranker.taste import Taste, TasteParams, design, user_residuals
from ranker.versions import VersionNotFound
from retrieval.store import CatalogStore
from shopassist.settings import Settings

log = logging.getLogger(__name__)

AGGREGATE_RANK = 0.1  # stars: reasons that move the estimate more are listed before the reviewers' average
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


def open_store(settings: Settings) -> CatalogReader | None:
    """The catalog store of ``settings`` when one has been ingested, else None.

    The one place ``ranker`` opens ``retrieval.store`` (docs/ARCHITECTURE.md): callers that hold a
    store already hand it to ``load_ranker``; everything else reads through ``CatalogReader``."""
    return CatalogStore(settings.catalog_db) if settings.catalog_db.exists() else None


@dataclass
class PriorRanker(Ranker):
    """The Ranker contract without a trained model: catalog rating prior + user offset."""

    version: ClassVar[None] = None  # nothing trained: the catalog's own ratings
    personal: ClassVar[bool] = False  # no taste term; the user offset is the only personal part
    mu: float = DEFAULT_MU
    sentiment: object | None = None  # ranker.sentiment.AspectExtractor when available
    _item_bias_by_title: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings, store: CatalogReader | None = None) -> PriorRanker:
        store = store if store is not None else open_store(settings)
        return cls(mu=catalog_mean(store.iter_products()) if store is not None else DEFAULT_MU)

    def user_bias(self, user: UserContext) -> UserBias:
        if not user.history:
            return UserBias()
        resid = [stars - self.mu - self._item_bias_by_title.get(title, 0.0) for title, stars in user.history]
        return UserBias(sum(resid) / (len(resid) + K_USER), len(resid))

    def score(self, user: UserContext, products: list, explain: bool = True) -> list[Prediction]:
        """Predicted stars = mu + b_u + b_i (see module docstring), with the numbers as the reason
        (``explain`` is accepted for the contract's sake: the reasons cost nothing here)."""
        ub = self.user_bias(user)
        out = []
        for p in products:
            bi = shrunk_item_bias(p.average_rating, p.rating_count, self.mu)
            stars = clip_stars(self.mu + ub.value + bi)
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
    reviews = store.reviews_by_user(user_id)
    if not reviews:
        return UserContext(user_id, [], [], [])
    products = {p.id: p for p in store.get_many(list(dict.fromkeys(r.product_id for r in reviews)))}
    history = [(products[r.product_id].title if r.product_id in products else r.product_id, float(r.rating)) for r in reviews]
    likes, dislikes = aspects_from_reviews(reviews, model=sentiment)
    rated = [(r.product_id, float(r.rating)) for r in reviews]
    return UserContext(user_id, history, likes, dislikes, rated)


def load_ranker(settings: Settings, store: CatalogReader | None = None, blend: bool | None = None,
                co_ratings=None) -> Ranker:
    """The current trained model version, or the catalog rating prior before any training; blended
    with co-ratings and popularity into ``Prediction.show`` (``ranker.blend``) unless ``blend`` is
    False (default: ``settings.ranker_blend``). ``co_ratings``: the ``ranker.blend.CoRatingSource``
    to blend with (serving shares one with the shoppers' live events across versions and arms;
    default: the catalog's reviews alone).

    ``store``: the catalog to read ratings and reviews from (default: ``open_store(settings)``).
    Raises ``VersionNotFound`` when the current version is named but gone or has no model.

    >>> from shopassist.settings import Settings
    >>> rk = load_ranker(Settings(data_dir="/nonexistent"))
    >>> type(rk).__name__, type(rk.base).__name__, rk.version, rk.personal
    ('BlendedRanker', 'PriorRanker', None, False)
    >>> type(load_ranker(Settings(data_dir="/nonexistent"), blend=False)).__name__
    'PriorRanker'
    """
    version = versions.current_version(settings)
    if version is None:
        log.info("no trained rating model in %s: using the catalog rating prior", settings.models_dir)
        return _blended(PriorRanker.from_settings(settings, store), settings, store, blend, co_ratings)
    return _blended(TwoTowerRanker.load(version, settings, store), settings, store, blend, co_ratings)


def _blended(base: Ranker, settings: Settings, store: CatalogReader | None, blend: bool | None, source=None) -> Ranker:
    """``base`` wrapped in ``ranker.blend.BlendedRanker`` when the blend is on."""
    from ranker.blend import BlendedRanker

    if not (settings.ranker_blend if blend is None else blend):
        return base
    return BlendedRanker(base, store, store_fn=lambda: open_store(settings), source=source)


def load_version(settings: Settings, name: str, store: CatalogReader | None = None, co_ratings=None) -> Ranker:
    """A saved version by name, whichever is current (the candidate arm of an A/B test).

    Raises ``VersionNotFound`` naming the versions there are."""
    d = versions.root(settings) / name
    if not (d / "metadata.json").exists():
        known = ", ".join(m["version"] for m in versions.list_versions(settings)) or "none"
        raise VersionNotFound(f"no ranker version {name!r} to serve (known: {known}): fix ab_candidate")
    return _blended(TwoTowerRanker.load(d, settings, store), settings, store, None, co_ratings)


def _meta_text(p) -> str:
    """A catalog product's metadata unit (as ``ItemMeta.text`` builds it for training)."""
    return ItemMeta(p.title, p.brand or "", list(p.categories), list(p.features), p.description).text()


class TwoTowerRanker(Ranker):
    """The Ranker contract over a trained version: user tower once per request, cached item
    towers, the light head per candidate; reasons from leave-one-out over the model's inputs.

    Serving features mirror training: b_i from the product's catalog aggregates (shrunk like
    the bias model), b_u from the user's rated history, n_u / n_i their counts.
    """

    def __init__(self, model: RatingModel, settings: Settings, version_dir: Path, store: CatalogReader | None = None):
        self.model, self.settings, self.version = model, settings, version_dir.name
        self.version_dir = version_dir
        self.model.attach_cache(versions.root(settings) / "cache")
        self._store = store
        self._sentiment = None
        self._sentiment_lock = threading.Lock()  # the assistant builds profiles from several threads
        self.reg = float((model.info.get("reg") or [K_USER, K_ITEM])[1])
        self._review_units: dict[tuple[str, int], list[tuple[str, str]]] = {}  # (product id, rating count) -> (reviewer, unit)
        self.grid = True  # score through ``residual_grid`` (False: materialised rows, the reference)
        self.taste = TasteParams.from_dict(model.info.get("taste"))  # weight 0 (off) for versions trained before it
        self._taste_fits: dict = {}  # (user id, rated) -> ranker.taste.Taste: one n_u x n_u solve per user context

    @property
    def personal(self) -> bool:
        """True when this version fitted a taste term (versions trained before it have weight 0)."""
        return bool(self.taste.weight)

    @classmethod
    def load(cls, version_dir: Path, settings: Settings, store: CatalogReader | None = None) -> TwoTowerRanker:
        if not (version_dir / "model" / "model.json").exists():
            raise VersionNotFound(f"ranker version {version_dir.name} has no model in {version_dir / 'model'}: "
                                  "`shopassist ranker use` another version (`ranker list`) or retrain")
        model = RatingModel.load(version_dir / "model", settings.device)
        rk = cls(model, settings, version_dir, store)
        store = rk.store
        if store is not None and store.count():
            rk.model.mu = catalog_mean(store.iter_products())  # serve on this catalog's scale
        _ = rk.sentiment  # warm-up: load the review-sentiment model now, not on the first shopper's turn
        return rk

    @property
    def store(self) -> CatalogReader | None:
        """The catalog handed in, or this data dir's once it has been ingested (it may appear later)."""
        if self._store is None:
            self._store = open_store(self.settings)
        return self._store

    @property
    def sentiment(self):
        """The version's review-sentiment model (None when it was trained without one), int8 on
        CPU; ``load`` loads it up front so the first shopper's profile does not pay for it."""
        with self._sentiment_lock:
            if self._sentiment is None and (self.version_dir / "sentiment").exists():
                m = TextRegressor(str(self.version_dir / "sentiment"), max_length=64, device=self.settings.device)
                if self.settings.device == "cpu":
                    m.quantize()
                m.predict(["Warm-up: the first call sets up the kernels."])
                self._sentiment = m
        return self._sentiment

    # -- inputs, as in training ---------------------------------------------------------------
    def item_units(self, p, exclude_user: str | None = None) -> list[str]:
        """The product's text units as in training: its metadata, then the earliest ITEM_SNIPPETS
        reviews by OTHER users than ``exclude_user`` (training never shows a user their own review)."""
        meta = _meta_text(p)
        units = [meta] if meta else []
        others = [u for who, u in self._snippets(p) if exclude_user is None or who != exclude_user]
        return units + others[:ITEM_SNIPPETS]

    def _snippets(self, p) -> list[tuple[str, str]]:
        """(reviewer, review unit) of the product's earliest ITEM_SNIPPETS + 1 reviews (one spare for
        the excluded user). They change only when reviews are removed, so they are kept per (product,
        rating count) and a request runs no catalog query for them."""
        if self.store is None:
            return []
        key = (p.id, p.rating_count)
        snippets = self._review_units.get(key)
        if snippets is None:
            snippets = [(r.user_id, review_unit(Rating(r.user_id, r.product_id, r.rating, r.timestamp, 0, r.title, r.text)))
                        for r in list(reversed(self.store.reviews_for(p.id)))[: ITEM_SNIPPETS + 1]]
            if len(self._review_units) >= 100_000:  # bound memory on huge catalogs
                self._review_units.clear()
            self._review_units[key] = snippets
        return snippets

    @staticmethod
    def user_units(user: UserContext) -> list[tuple[str, float]]:
        units = [(t, float(s)) for t, s in user.history[-USER_HISTORY:]]
        units += [(a, 5.0) for a in user.likes[:4]] + [(a, 1.0) for a in user.dislikes[:4]]
        return units

    def _features(self, user: UserContext, products: list) -> np.ndarray:
        mu = self.model.mu
        bu = sum(s - mu for _, s in user.history) / (len(user.history) + K_USER) if user.history else 0.0
        return np.asarray([bias_features(bu, shrunk_item_bias(p.average_rating, p.rating_count, mu, self.reg), len(user.history),
                                         p.rating_count) for p in products], np.float32)

    def score(self, user: UserContext, products: list, explain: bool = True) -> list[Prediction]:
        """Predicted stars for each product for this user, with reasons taken from the model."""
        if not products:
            return []
        units_u = self.user_units(user)
        units_p = [self.item_units(p, user.user_id) for p in products]
        texts = list(dict.fromkeys([t for t, _ in units_u] + [t for us in units_p for t in us]))
        emb = dict(zip(texts, self.model.embed(texts)))
        if len(self.model.cache) - self.model._saved >= 64:
            self.model.save_cache()
        dim = self.model.encoder.dim
        U1 = pool_user(emb, units_u, dim)
        P = np.stack([pool_item(emb, us, dim) for us in units_p])
        feats = self._features(user, products)
        stars = self._grid_stars(U1[None], P, feats)[0]
        taste = self.user_taste(user)
        contrib = None
        if taste is not None:  # [n, n_rated]: what each of the user's rated items adds (ranker.taste)
            contrib = taste.contributions(design(P, [p.price for p in products], self.taste))
        final = stars if contrib is None else np.clip(stars + contrib.sum(1), 1.0, 5.0)
        if not explain:
            return [Prediction(p.id, round(float(s), 3), []) for p, s in zip(products, final)]
        why = [[] for _ in products]
        for j, p in enumerate(products):
            if p.rating_count:
                why[j].append((AGGREGATE_RANK, f"reviewers rate it {p.average_rating:.1f} ({p.rating_count} ratings)"))
            else:
                why[j].append((AGGREGATE_RANK, "no ratings yet: predicted from its description"))
        # Leave-one-out, exactly: which of the user's history/aspects moved this prediction, what
        # the item's text adds, and which of its units most. No encoder pass: the variants re-pool
        # cached unit encodings; each family of variants is one ``residual_grid`` call.
        if units_u:
            delta = stars[None, :] - self._user_variants(emb, units_u, P, feats)  # [J, n]
            top = np.abs(delta).argmax(0)
            for j in range(len(products)):
                i, d = int(top[j]), float(delta[top[j], j])
                if abs(d) >= 0.03:
                    t, s = units_u[i]
                    what = "liked" if s >= 3.5 else "disliked" if s <= 2.5 else "rated 3★"
                    why[j].append((abs(d), f"you {what} “{t[:60]}” ({d:+.2f}★)"))
        no_text = self._grid_stars(U1[None], np.zeros_like(P), feats)[0]  # item vector zeroed
        top_unit = self._top_item_units(emb, U1, units_p, feats, no_text)
        for j, d in enumerate(stars - no_text):  # what its description/reviews add beyond its ratings
            if abs(d) >= 0.03:
                why[j].append((abs(d), f"its description and reviews {'raise' if d > 0 else 'lower'} the estimate ({d:+.2f}★)"))
                k, dk = top_unit.get(j, (0, 0.0))
                if abs(dk) >= 0.03 and dk * d > 0:  # the unit that pulls the same way most, on its own
                    us, p = units_p[j], products[j]
                    what = "its description says" if k == 0 and _meta_text(p) else "a review says"  # item_units: metadata first
                    why[j].append((abs(d) - 1e-6, f"{what} “{us[k][:60]}” ({dk:+.2f}★ on its own)"))  # right after its total
        if contrib is not None:
            for j in range(len(products)):
                for i in np.argsort(-np.abs(contrib[j]))[:2]:  # the two rated items that moved it most
                    c = float(contrib[j, i])
                    if abs(c) < 0.03:
                        break
                    title, st = taste.labels[i]
                    kind = "like" if c * taste.a[i] > 0 else "unlike"  # sign of the similarity x_j . x
                    why[j].append((abs(c), f"your taste: {kind} “{title[:60]}” you rated {st:.0f}★ ({c:+.2f}★)"))
        # strongest first (a card shows the first one or two): a personal reason that moves the
        # estimate by >= AGGREGATE_RANK stars comes before the reviewers' average
        why = [[t for _, t in sorted(w, key=lambda x: -x[0])] + [f"rating model {self.version}"] for w in why]
        return [Prediction(p.id, round(float(s), 3), w) for p, s, w in zip(products, final, why)]

    def user_taste(self, user: UserContext):
        """The user's fitted taste term (``ranker.taste.Taste``) over their rated products, or None
        (term off in this version, no rated products, no catalog). Cached per user context."""
        if not self.taste.weight or not user.rated or self.store is None:
            return None
        key = (user.user_id, tuple(user.rated))
        fit = self._taste_fits.get(key)
        if fit is not None:
            return fit
        found = {p.id: p for p in self.store.get_many(list(dict.fromkeys(i for i, _ in user.rated)))}
        rated = [(found[i], s) for i, s in user.rated if i in found]
        if not rated:
            return None
        units = [self.item_units(p, user.user_id) for p, _ in rated]  # as train.taste_inputs: not their own review
        texts = list(dict.fromkeys(t for us in units for t in us))
        emb = dict(zip(texts, self.model.embed(texts)))
        P = np.stack([pool_item(emb, us, self.model.encoder.dim) for us in units])
        mu = self.model.mu
        resid = user_residuals([s for _, s in rated], [shrunk_item_bias(p.average_rating, p.rating_count, mu, self.reg) for p, _ in rated],
                               mu, self.reg)
        fit = Taste.fit(design(P, [p.price for p, _ in rated], self.taste), resid, self.taste.alpha, self.taste.weight,
                        [(p.title, s) for p, s in rated])
        if len(self._taste_fits) >= 10_000:  # bound memory
            self._taste_fits.clear()
        self._taste_fits[key] = fit
        return fit

    def _user_variants(self, emb: dict, units_u: list, P: np.ndarray, feats: np.ndarray) -> np.ndarray:
        """Stars [J, n] with each of the J user units left out of the user vector in turn."""
        dim = P.shape[1]
        if len(units_u) > 1:
            V = np.stack([pool_user(emb, units_u[:i] + units_u[i + 1 :], dim) for i in range(len(units_u))])
            return self._grid_stars(V, P, feats)
        fc = feats.copy()  # without its only unit the user is cold: drop the user features too
        make_cold(fc, slice(None), USER_COLS)
        return self._grid_stars(np.zeros((1, dim), np.float32), P, fc)

    def _top_item_units(self, emb: dict, U1: np.ndarray, units_p: list, feats: np.ndarray, no_text: np.ndarray) -> dict:
        """Per candidate with 2+ text units: (unit index, effect) of the unit that moves the stars
        most when it alone is the item text, against no text. (Leaving one unit out of a pool of
        ~4 moves a prediction by ~0.01: too little to tell the units apart.)"""
        owner, unit, rows = [], [], []
        for j, us in enumerate(units_p):
            if len(us) > 1:
                for k, t in enumerate(us):
                    owner.append(j)
                    unit.append(k)
                    rows.append(emb[t])
        top: dict[int, tuple[int, float]] = {}
        if rows:
            own = np.asarray(owner)
            effect = self._grid_stars(U1[None], np.stack(rows), feats[own])[0] - no_text[own]
            for j, k, d in zip(owner, unit, effect):
                if abs(d) > abs(top.get(j, (0, 0.0))[1]):
                    top[j] = (k, float(d))
        return top

    def _grid_stars(self, V, P, feats) -> np.ndarray:
        """Stars for every (user vector, candidate) pair, ``[len(V), len(P)]``.

        ``grid = True`` (default): ``RatingModel.residual_grid``; False: the head on the
        materialised rows (the reference the grid is tested and benchmarked against)."""
        m = self.model
        V, P = np.asarray(V, np.float32), np.asarray(P, np.float32)
        if self.grid:
            res = m.residual_grid(V, P, feats)
        else:
            J, n = len(V), len(P)
            res = m.residual(np.repeat(V, n, 0), np.tile(P, (J, 1)), np.tile(feats, (J, 1))).reshape(J, n)
        return np.stack([m.combine(feats, r) for r in res])

    def user_context(self, store, user_id: str) -> UserContext:
        return build_user_context(store, user_id, self.sentiment)

    def warm(self, products) -> int:
        """Encode every product's units now (e.g. after ingest) so requests only encode the user."""
        units = list(dict.fromkeys(t for p in products for t in [*self.item_units(p), *(u for _, u in self._snippets(p))]))
        self.model.embed(units, progress=True)
        self.model.save_cache()
        return len(units)
