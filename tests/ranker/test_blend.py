"""The served blend (ranker.blend) on the demo catalog's real reviews in a real CatalogStore:
co-ratings equal the item-KNN peer, the order equals the blend recomputed from the raw reviews,
the co-rating reason names a product the shopper rated and another shopper rated both, a guest
gets stars + popularity only, and relevance stays safe in the fused score."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from ranker.blend import WEIGHTS, BlendedRanker, CoRatings, bought, show_term, zscore
from ranker.peers import ItemKNN
from ranker.scoring import UserContext, fuse
from ranker.serve import PriorRanker, build_user_context, load_ranker

WHO_BOUGHT = "shoppers who bought “"


def _raters(store):
    raters = defaultdict(set)
    for p in store.iter_products():
        for r in store.reviews_for(p.id):
            raters[p.id].add(r.user_id)
    return raters


@pytest.fixture
def blended(settings, catalog):
    return BlendedRanker(PriorRanker.from_settings(settings, catalog), catalog)


def test_co_ratings_equal_the_item_knn_peer(catalog):
    events = [(r.user_id, p.id, 0) for p in catalog.iter_products() for r in catalog.reviews_for(p.id)]
    knn = ItemKNN().fit(events)
    co = CoRatings.from_store(catalog)
    ids = sorted(p.id for p in catalog.iter_products())
    for user in ("carmen", "frank", "u0027"):
        hist = [r.product_id for r in catalog.reviews_by_user(user)]
        unrated = [i for i in ids if i not in set(hist)]  # the peer counts the user's own co-ratings; serving does not
        ours, _ = co.scores(hist, unrated, exclude_user=user)
        np.testing.assert_allclose(ours, knn.score(hist, unrated), atol=1e-6)
        assert ours.max() > 0


def test_order_is_the_blend_recomputed_from_the_reviews(blended, catalog):
    user = build_user_context(catalog, "carmen")
    products = [p for p in catalog.iter_products() if p.id not in {i for i, _ in user.rated}][:100]
    preds = blended.score(user, products)
    raters, hist = _raters(catalog), bought(user)
    knn = np.array([sum(len((raters[h] & raters[p.id]) - {"carmen"}) / np.sqrt(len(raters[h]) * len(raters[p.id]))
                        for h in hist if raters[h] and raters[p.id] and h != p.id) for p in products])
    stars = np.array([p.stars for p in blended.base.score(user, products)])
    expect = zscore(stars) + WEIGHTS["item_knn"] * zscore(knn) + WEIGHTS["popularity"] * zscore([p.rating_count for p in products])
    np.testing.assert_allclose([p.show for p in preds], show_term(expect), atol=1e-6)
    assert [p.stars for p in preds] == list(stars)  # the stars themselves are the base ranker's
    lifted = [(p, pr) for p, pr in zip(products, preds) if pr.explanation and pr.explanation[0].startswith(WHO_BOUGHT)]
    assert lifted, "carmen's co-ratings lift some cards"
    titles = {catalog.get(h).title: h for h in hist}
    for p, pr in lifted:
        title = pr.explanation[0][len(WHO_BOUGHT):].split("”")[0]
        h = titles[title]  # a product of her history ...
        assert (raters[h] & raters[p.id]) - {"carmen"}  # ... that another shopper rated together with this one


def test_a_guest_gets_stars_and_popularity_only(blended, catalog):
    products = list(catalog.iter_products())[:60]
    guest = UserContext(None)
    preds = blended.score(guest, products)
    assert not any(e.startswith(WHO_BOUGHT) for p in preds for e in p.explanation)
    stars = [p.stars for p in blended.base.score(guest, products)]
    expect = zscore(stars) + WEIGHTS["popularity"] * zscore([p.rating_count for p in products])
    np.testing.assert_allclose([p.show for p in preds], show_term(expect), atol=1e-6)


def test_disliked_history_is_not_bought(blended, catalog):
    user = build_user_context(catalog, "carmen")
    panned = UserContext("carmen", user.history, rated=[(i, 1.0) for i, _ in user.rated])  # every product thumbed down
    preds = blended.score(panned, list(catalog.iter_products())[:60])
    assert not any(e.startswith(WHO_BOUGHT) for p in preds for e in p.explanation)


def test_relevance_is_never_overturned_by_more_than_the_weight(blended, catalog):
    """Whatever the blend says, a relevance gap above w / (1 - w) keeps its order (ranker section 9)."""
    user = build_user_context(catalog, "carmen")
    products = list(catalog.iter_products())[:80]
    preds = blended.score(user, products)
    rel = np.random.default_rng(0).random(len(products))
    for w in (0.02, 0.25):
        fused = [fuse(r, p.stars, w, show=p.show) for r, p in zip(rel, preds)]
        for i in range(len(products)):
            for j in range(len(products)):
                if rel[i] - rel[j] > w / (1 - w):
                    assert fused[i] > fused[j]


def test_load_ranker_blends_by_default(settings, catalog):
    rk = load_ranker(settings, catalog)
    assert isinstance(rk, BlendedRanker) and rk.version is None and rk.mu == rk.base.mu
    assert not isinstance(load_ranker(settings.model_copy(update={"ranker_blend": False}), catalog), BlendedRanker)
