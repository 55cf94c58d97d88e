"""The serving contract without a trained model: fuse(), the rating-prior fallback, user context."""

import pytest

from ranker.scoring import Prediction, Ranker, UserContext, fuse
from ranker.sentiment import aspects_from_reviews, candidate_aspects
from ranker.serve import DEFAULT_MU, PriorRanker, catalog_mean, load_ranker, shrunk_item_bias


def test_fuse_formula_and_bounds():
    assert fuse(0.8, 5.0, 0.25) == pytest.approx(0.75 * 0.8 + 0.25 * 1.0)
    assert fuse(0.8, None, 0.25) == 0.8
    assert fuse(0.5, 9.0, 0.5) == fuse(0.5, 5.0, 0.5)  # stars clipped to 1..5
    assert fuse(0.5, -3.0, 0.5) == fuse(0.5, 1.0, 0.5)
    with pytest.raises(ValueError):
        fuse(0.5, 3.0, 1.5)


def test_fuse_never_lets_a_well_rated_irrelevant_product_win():
    """With w = 0.25 a relevance gap larger than w/(1-w) = 1/3 always wins over any rating gap."""
    w = 0.25
    for rel_good in (0.5, 0.7, 1.0):
        rel_bad = rel_good - (w / (1 - w)) - 0.01
        assert fuse(rel_good, 1.0, w) > fuse(rel_bad, 5.0, w)


def test_prior_math():
    assert shrunk_item_bias(5.0, 5, 4.0) == pytest.approx(0.5)
    assert shrunk_item_bias(None, 0, 4.0) == 0.0


def test_a_handed_in_store_is_the_one_read(settings, catalog, tmp_path):
    """``load_ranker(settings, store)`` reads the catalog it is given, not the data dir's."""
    from tests.ranker.conftest import demo_store

    assert load_ranker(settings).mu == pytest.approx(catalog_mean(list(catalog.iter_products())))
    empty = demo_store(tmp_path / "other.sqlite")
    empty.delete_products(empty.all_ids())
    assert load_ranker(settings, empty).mu == DEFAULT_MU


def test_load_ranker_falls_back_to_the_catalog_prior(settings, catalog):
    assert isinstance(load_ranker(settings).base, PriorRanker)  # served blended (ranker.blend)
    rk = load_ranker(settings, blend=False)
    assert isinstance(rk, PriorRanker) and isinstance(rk, Ranker)
    assert rk.version is None and rk.personal is False  # declared: nothing trained, no taste term
    products = list(catalog.iter_products())
    assert rk.mu == pytest.approx(catalog_mean(products))
    rated = max(products, key=lambda p: p.rating_count)
    new = next(p for p in products if p.rating_count == 0)
    preds = rk.score(UserContext(None), [rated, new])
    assert all(isinstance(p, Prediction) for p in preds)
    assert [p.product_id for p in preds] == [rated.id, new.id]
    assert preds[1].stars == pytest.approx(rk.mu, abs=1e-3)  # cold item: the catalog mean
    assert all("not trained yet" in " ".join(p.explanation) for p in preds)
    # shrinkage: the prediction lies between the catalog mean and the product's own average
    lo, hi = sorted([rk.mu, rated.average_rating])
    assert lo - 1e-6 <= preds[0].stars <= hi + 1e-6


def test_user_context_from_catalog_and_user_offset(settings, catalog):
    rk = load_ranker(settings)
    user = catalog.users()[0]
    ctx = rk.user_context(catalog, user)
    reviews = catalog.reviews_by_user(user)
    assert len(ctx.history) == len(reviews) and ctx.user_id == user
    assert [s for _, s in ctx.history] == [r.rating for r in reviews]  # oldest first, stars kept
    assert ctx.likes or ctx.dislikes
    harsh = UserContext("h", [(t, 1.0) for t, _ in ctx.history])
    p = next(iter(catalog.iter_products()))
    assert rk.score(harsh, [p])[0].stars < rk.score(UserContext(None), [p])[0].stars
    assert rk.user_context(catalog, "nobody") == UserContext("nobody", [], [], [])


def test_aspects_follow_review_polarity():
    class R:
        def __init__(self, rating, text, title=""):
            self.rating, self.text, self.title = rating, text, title

    likes, dislikes = aspects_from_reviews([
        R(5, "The tuning pegs are superb and hold pitch for weeks. Tuning pegs again, lovely."),
        R(1, "The battery cover snapped off on day two. Battery cover is junk."),
    ])
    assert "tuning pegs" in likes and "battery cover" in dislikes
    assert candidate_aspects("") == []


def test_sentiment_model_is_asked_once_and_only_where_it_can_change_the_answer():
    """One batched call; complaint sentences (always a dislike) and sentences naming no aspect are
    not sent; the result equals scoring every sentence on its own (the reference loop below)."""
    from ranker.sentiment import _NEG, _SENT, _WORD

    class R:
        def __init__(self, rating, text, title=""):
            self.rating, self.text, self.title = rating, text, title

    class Tone:  # a deterministic review-sentiment model: "superb" 5, "awful" 1, else 3
        def __init__(self):
            self.calls = []

        def predict(self, texts):
            self.calls.append(list(texts))
            return [5.0 if "superb" in t else 1.0 if "awful" in t else 3.0 for t in texts]

    reviews = [R(4, "The tuning pegs are superb and hold pitch. The strap buckle broke in a week. Okay then, yes."),
               R(2, "Gig bag zipper is awful. Shipping box arrived quickly. The gig bag padding is superb though."),
               R(5, "Solid tone knobs, superb value for money.")]
    m = Tone()
    likes, dislikes = aspects_from_reviews(reviews, model=m)
    assert len(m.calls) == 1
    assert not any(set(_WORD.findall(t.lower())) & _NEG for t in m.calls[0])  # "broke": never asked
    ref_likes, ref_dislikes = {}, {}
    for r in reviews:  # reference: every sentence scored on its own
        for s in [s for s in _SENT.split(f"{r.title}. {r.text}" if r.title else r.text) if len(s) > 12][:6]:
            st = (Tone().predict([s])[0] + r.rating) / 2
            if set(_WORD.findall(s.lower())) & _NEG:
                st = min(st, 2.0)
            target = ref_likes if st >= 4 else ref_dislikes if st <= 2 else None
            if target is not None:
                for a in candidate_aspects(s, top=2):
                    target[a] = target.get(a, 0) + 1
    assert set(likes) <= set(ref_likes) and set(dislikes) <= set(ref_dislikes)
    assert set(ref_likes) - set(ref_dislikes) <= set(likes) and set(ref_dislikes) - set(ref_likes) <= set(dislikes)
    assert "gig bag" in dislikes and "tuning pegs" in likes and "strap buckle" in dislikes
