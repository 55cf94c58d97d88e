"""One real training run on ~400 real MI reviews (real MiniLM), shared by the tests below:
it learns, it is saved as a version, it serves with reasons, it evaluates side by side,
it updates with replay, it rolls back, and DP-SGD reports its privacy budget."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ranker import versions
from ranker.baselines import GlobalMean
from ranker.metrics import rmse
from ranker.train import TrainConfig, train
from shopassist.settings import Settings


@pytest.fixture(scope="module")
def run(tmp_path_factory, mi_small):
    s = Settings(data_dir=tmp_path_factory.mktemp("ranker") / "data")
    cfg = TrainConfig(epochs=4, text_only_examples=16, sentiment_examples=16)
    return s, train(mi_small, s, cfg, source="mi_small")


def test_it_learns(run, mi_small):
    s, res = run
    m = res.metadata["metrics"]
    triples = [(mi_small.ratings[k].user, mi_small.ratings[k].item, mi_small.ratings[k].stars) for k in mi_small.train]
    gm = GlobalMean().fit(triples)
    val = [mi_small.ratings[k] for k in mi_small.val]
    gm_val = rmse([gm.predict(r.user, r.item) for r in val], [r.stars for r in val])
    assert m["val_rmse"] < gm_val  # below the global-mean baseline on the training users
    assert m["val_rmse"] <= m["val_rmse_untrained"] + 1e-9  # never worse than where it started
    curve = json.loads((res.version / "curve.json").read_text())
    loss = curve["train_loss"]
    assert np.mean(loss[-5:]) < np.mean(loss[:5])  # the head fits its training signal


def test_version_is_saved_with_artifacts(run):
    s, res = run
    v = res.version
    assert versions.current_name(s) == v.name == "v0001"
    meta = versions.read_metadata(v)
    assert meta["parent"] is None and meta["data"]["dataset"].endswith("[60 users]") and meta["metrics"]["test_rmse"] > 0
    assert (v / "model" / "encoder" / "config.json").exists() and (v / "model" / "head.pt").exists()
    assert (v / "curve.png").stat().st_size > 1000
    assert any((v / "tensorboard").iterdir())
    assert (v / "text_only" / "config.json").exists() and (v / "sentiment" / "config.json").exists()


def test_serving_scores_with_reasons(run, mi_small):
    from ranker.bench import DatasetStore
    from ranker.scoring import UserContext
    from ranker.serve import TwoTowerRanker, load_ranker

    s, res = run
    rk = load_ranker(s, blend=False)  # the rating model itself (its blend: tests/ranker/test_blend.py)
    assert isinstance(rk, TwoTowerRanker)
    assert rk.version == res.version.name and rk.personal == bool(rk.taste.weight)  # declared capabilities
    store = DatasetStore(mi_small)
    rk._store = store
    products = store.get_many(mi_small.item_ids()[:20])
    user = UserContext("u", [(products[0].title, 5.0), (products[1].title, 1.0)], ["strings"], ["buzz"])
    preds = rk.score(user, products)
    assert [p.product_id for p in preds] == [p.id for p in products]
    assert all(1.0 <= p.stars <= 5.0 for p in preds)
    assert all(p.explanation[-1] == "rating model v0001" for p in preds)
    assert all("reviewers rate it" in p.explanation[0] for p in preds)
    fast = rk.score(user, products, explain=False)
    assert [p.stars for p in fast] == [p.stars for p in preds]  # explanations never change the score
    from retrieval.catalog import Product

    new = Product("new-1", "Brand new capo", description="A light aluminium capo for acoustic guitars.")
    assert "no ratings yet" in rk.score(UserContext(None), [new])[0].explanation[0]
    assert rk.warm(products) > 0 and rk.model.cache_path.exists()


def test_leave_one_out_grid_equals_the_head_on_rows(run, mi_small):
    """The explanation fast path (``residual_grid``: the first layer split into user, item and
    interaction parts) gives the head's own numbers, and the same stars and reasons in serving."""
    from ranker.bench import DatasetStore
    from ranker.scoring import UserContext
    from ranker.serve import load_ranker

    s, _ = run
    rk = load_ranker(s, blend=False)  # the rating model itself (its blend: tests/ranker/test_blend.py)
    m = rk.model
    rng = np.random.default_rng(0)
    V = rng.normal(size=(4, m.encoder.dim)).astype(np.float32) / 10
    P = rng.normal(size=(7, m.encoder.dim)).astype(np.float32) / 10
    feats = rng.normal(size=(7, 6)).astype(np.float32)
    rows = m.residual(np.repeat(V, 7, 0), np.tile(P, (4, 1)), np.tile(feats, (4, 1))).reshape(4, 7)
    grid = m.residual_grid(V, P, feats)
    assert grid.shape == (4, 7) and np.abs(rows).max() > 0
    np.testing.assert_allclose(grid, rows, atol=1e-5)
    store = DatasetStore(mi_small)
    rk._store = store
    products = store.get_many(mi_small.item_ids()[:30])
    user = UserContext("u", [(p.title, st) for p, st in zip(products[:5], (5.0, 1.0, 4.0, 2.0, 5.0))], ["strings"], ["buzz"])
    fast = rk.score(user, products)
    rk.grid = False
    ref = rk.score(user, products)
    assert [p.stars for p in fast] == pytest.approx([p.stars for p in ref], abs=1e-3)
    assert [p.explanation for p in fast] == [p.explanation for p in ref]
    for p, pred in zip(products, fast):  # a quoted review/description is one of the product's own units
        for reason in pred.explanation:
            if reason.startswith(("a review says", "its description says")):
                quote = reason.split("“", 1)[1].split("”", 1)[0]
                assert any(u.startswith(quote) for u in rk.item_units(p))
    one = UserContext("u", [(products[0].title, 5.0)])  # leaving out the only unit = a cold user
    rk.grid = True
    a = rk.score(one, products)
    rk.grid = False
    assert [p.explanation for p in a] == [p.explanation for p in rk.score(one, products)]


def test_evaluate_all_methods_side_by_side(run, mi_small):
    from ranker.evaluate import evaluate

    s, _ = run
    report = evaluate(mi_small, s, ndcg=True)
    assert set(report["methods"]) == {"global_mean", "item_mean", "bias", "svd", "text_only", "ours", "ours_no_taste"}
    taste = report["notes"]["ours_taste"]  # tuned on validation: the grid is over validation RMSEs
    assert taste["weight"] >= 0 and taste["val_rmse_by_alpha_weight"][f"{taste['alpha']:g}/{taste['weight']:g}"] == \
        min(taste["val_rmse_by_alpha_weight"].values())
    for m in report["methods"].values():
        assert set(m) == {"rmse", "mae", "rmse_cold_items", "rmse_cold_users", "rmse_as_cold_items", "ndcg@10"}
        assert 0 < m["rmse"] < 2.5 and 0 <= m["ndcg@10"] <= 1
    assert report["methods"]["global_mean"]["ndcg@10"] == 0.0  # constant scores: no credit
    gm = report["methods"]["global_mean"]
    # as-cold items: an item without training ratings is the global mean for the item mean, and a constant is unmoved
    assert gm["rmse_as_cold_items"] == gm["rmse"] == report["methods"]["item_mean"]["rmse_as_cold_items"]
    assert report["notes"]["ours_minus_global_mean_rmse_as_cold_items"]["n"] == report["notes"]["n_test"]
    # the ranking table: the rating methods beside the peers, and ours blended with them (weights from validation)
    for s in ("sampled", "category"):
        t = report["ranking"][s]
        assert {"ours", "ours_blend", "popularity", "item_knn"} <= set(t["methods"])
        assert t["methods"]["ours"]["ndcg@10"] == report["methods"]["ours"]["ndcg@10"] or s == "category"
        assert set(t["ours_blend_minus_ndcg@10"]) == set(t["methods"]) - {"ours_blend"}
        assert set(t["served_blend_minus_ndcg@10"]) == set(t["methods"]) - {"served_blend"}  # what load_ranker serves
    blend = report["notes"]["ours_blend"]
    grid = blend["val_ndcg@10_by_item_knn/popularity_weight"]
    assert grid[f"{blend['weights']['item_knn']:g}/{blend['weights']['popularity']:g}"] == max(grid.values())
    json.dumps(report)


def test_taste_inputs_use_only_earlier_ratings(run, mi_small):
    """Leakage guard of the taste term: the rows for a held-out rating come from the user's
    earlier ratings only; changing that rating or any later one changes nothing."""
    from ranker.baselines import BiasModel
    from ranker.taste import TasteParams
    from ranker.train import taste_inputs

    _, res = run
    k = mi_small.val[0]
    seq = mi_small.user_sequence(mi_small.ratings[k].user)
    later = seq[seq.index(k):]  # the target and everything after it (its test rating)
    bias = BiasModel(5.0, 5.0).fit((mi_small.ratings[j].user, mi_small.ratings[j].item, mi_small.ratings[j].stars) for j in mi_small.train)
    target = [(k, [(mi_small.ratings[k].item, ["some candidate text"])])]
    X, e, Xc = taste_inputs(res.model, mi_small, bias, TasteParams(), target)[0]
    assert len(X) == len(e) == seq.index(k) >= 1 and Xc.shape == (1, X.shape[1])
    saved = [mi_small.ratings[j].stars for j in later]
    try:
        for j in later:
            mi_small.ratings[j].stars = 6.0 - mi_small.ratings[j].stars
        X2, e2, _ = taste_inputs(res.model, mi_small, bias, TasteParams(), target)[0]
    finally:
        for j, st in zip(later, saved):
            mi_small.ratings[j].stars = st
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(e, e2)


def test_taste_term_separates_users_who_pan_pricey_items(run, catalog):
    """Two users who rated the same products, one panning the pricey ones and praising the cheap
    ones, the other the reverse: for an unseen pricey product the first gets the lower stars, and
    the reason names one of the rated products."""
    from ranker.scoring import UserContext
    from ranker.serve import load_ranker
    from ranker.taste import TasteParams, price_stats

    s, _ = run
    rk = load_ranker(s, blend=False)  # the rating model itself (its blend: tests/ranker/test_blend.py)
    rk._store = catalog
    products = sorted((p for p in catalog.iter_products() if p.price and p.rating_count), key=lambda p: p.price)
    pricey, cheap, unseen = products[-9:-1], products[:8], products[-1]
    pm, ps = price_stats([p.price for p in products])

    def user(uid, pricey_stars, cheap_stars):
        rated = [(p.id, pricey_stars) for p in pricey] + [(p.id, cheap_stars) for p in cheap]
        return UserContext(uid, [(p.title, st) for p, st in ((catalog.get(i), st) for i, st in rated)], [], [], rated)

    frugal, lavish = user("frugal", 1.0, 5.0), user("lavish", 5.0, 1.0)
    gaps = {}
    for w in (0.0, 1.0):
        rk.taste, rk._taste_fits = TasteParams(alpha=1.0, weight=w, price_mean=pm, price_std=ps), {}
        f, lv = rk.score(frugal, [unseen])[0], rk.score(lavish, [unseen])[0]
        gaps[w] = lv.stars - f.stars
    assert gaps[1.0] > 0 and gaps[1.0] > gaps[0.0]  # the term, not the head, puts the frugal user lower
    names = {p.title[:60] for p in pricey + cheap}
    taste_reasons = [r for r in f.explanation if r.startswith("your taste:")]
    assert taste_reasons and all(r.split("“", 1)[1].split("”", 1)[0] in names for r in taste_reasons)
    assert f.explanation[-1].startswith("rating model")
    # strongest reason first: the card shows one or two, so a personal reason that moves the
    # estimate more than AGGREGATE_RANK must come before the reviewers' average
    from ranker.serve import AGGREGATE_RANK

    def moves(r):
        return abs(float(r.rsplit("(", 1)[1].split("★")[0])) if "★)" in r else None

    big = [i for i, r in enumerate(f.explanation) if (moves(r) or 0) >= AGGREGATE_RANK and "on its own" not in r]
    avg = next(i for i, r in enumerate(f.explanation) if r.startswith("reviewers rate it"))
    assert big and all(i < avg for i in big)


def test_eval_taste_compares_off_and_on_and_restores_the_ranker(run, catalog):
    from ranker.serve import load_ranker
    from ranker.taste import TasteParams
    from ranker.taste_eval import compare

    s, _ = run
    rk = load_ranker(s, blend=False)  # the rating model itself (its blend: tests/ranker/test_blend.py)
    rk._store = catalog
    rk.taste = TasteParams(alpha=1.0, weight=1.0)
    by_cat = {}
    for p in catalog.iter_products():
        by_cat.setdefault(p.categories[-1].lower() if p.categories else "", []).append(p)
    search = lambda q, k: next(ps for c, ps in by_cat.items() if q in c)[:k]  # noqa: E731  (a category as the hits)
    report = compare(rk, catalog, search, ["alice", "bob", "carmen"], queries=("headphones", "kettles"), k=8)
    for side in ("no_taste", "taste"):
        r = report[side]
        assert r["n"] > 0 and r["queries"] == 2 and -1 <= r["mean_kendall_tau_between_users"] <= 1
    assert report["taste"]["prequential_rmse"] != report["no_taste"]["prequential_rmse"]  # the term acts
    assert rk.taste.weight == 1.0  # restored


def test_update_with_replay_then_rollback(run, mi_small, tmp_path):
    from ranker.update import update

    s, res = run
    users, items = mi_small.users(), mi_small.item_ids()
    events = tmp_path / "events.jsonl"
    rows = [{"user_id": users[i], "product_id": items[-1 - i], "rating": 5.0 if i % 2 else 2.0, "timestamp": 2_000_000_000 + i,
             "title": "new", "text": f"new feedback number {i} on this item"} for i in range(12)]
    rows.append({"user_id": users[0], "product_id": items[0], "kind": "thumb_down"})
    events.write_text("\n".join(json.dumps(r) for r in rows))
    meta = update(s, events, replay=1.0, epochs=2, old_data=mi_small)
    c = meta["continual"]
    assert meta["parent"] == "v0001" and versions.current_name(s) == meta["version"]
    assert c["new_ratings"] == 13 and c["new_heldout"] == 2 and c["replayed"] == c["new_train"] == 11
    assert c["old_test_rmse_after"] < c["old_test_rmse_before"] + 0.05  # no catastrophic forgetting
    assert versions.rollback(s)["version"] == "v0001" and versions.current_name(s) == "v0001"
    with pytest.raises(versions.VersionNotFound):
        versions.use_version(s, "v0099")


def test_update_from_the_shoppers_feedback_in_the_store(run, mi_small):
    """The loop the app closes: thumbs logged by the chat -> an events file -> a child version."""
    from assistant.store import ConversationStore
    from ranker.update import read_events, update
    from shopassist.commands.ranker import feedback_events

    s, _ = run
    parent = versions.current_name(s)
    store = ConversationStore(s.events_db_url)
    users, items = mi_small.users(), mi_small.item_ids()
    for i in range(10):
        cid = store.start_conversation(users[i])
        store.log_event("impression", cid, users[i], items[i])  # seen, not rated
        store.log_event("thumb_up" if i % 2 else "thumb_down", cid, users[i], items[i])
    path = feedback_events(s)
    assert path.parent == versions.root(s) / "feedback" and parent in path.name
    got = read_events(path)
    assert [(r.user, r.item, r.stars) for r in got] == [(users[i], items[i], 5.0 if i % 2 else 1.0) for i in range(10)]
    try:
        meta = update(s, path, replay=1.0, epochs=1, old_data=mi_small)
        assert meta["parent"] == parent and meta["continual"]["new_ratings"] == 10 and versions.current_name(s) == meta["version"]
        with pytest.raises(ValueError, match="no shopper feedback"):
            feedback_events(s)  # nothing new since the child was made
    finally:
        versions.use_version(s, parent)  # the tests below serve the parent (it has the side models)


def test_dp_sgd_reports_its_budget(run, mi_small):
    pytest.importorskip("opacus", reason="DP-SGD needs the dp extra: pip install -e '.[dp]'")
    s, _ = run
    cfg = TrainConfig(epochs=1, dp_epsilon=2.0, text_only_examples=0, sentiment_examples=0)
    res = train(mi_small, s, cfg, source="mi_small", make_current=False)
    dp = res.metadata["dp"]
    assert dp["epsilon_spent"] <= 2.0 + 0.1 and dp["delta"] == pytest.approx(1 / len(mi_small.train))
    assert res.metadata["metrics"]["val_rmse"] <= res.metadata["metrics"]["val_rmse_untrained"] + 1e-9


@pytest.mark.slow
def test_encoder_fine_tuning_path(mi_data, tmp_path):
    """train_layers > 0: the top encoder layer is fine-tuned with the head and saved."""
    import torch

    from ranker.model import RatingModel

    s = Settings(data_dir=tmp_path / "data")
    tiny = mi_data.subset_users(12)
    res = train(tiny, s, TrainConfig(epochs=1, train_layers=1, max_examples=32, text_only_examples=0, sentiment_examples=0),
                source="tiny")
    loaded = RatingModel.load(res.version / "model")
    assert loaded.info["train_layers"] == 1 and loaded.fingerprint != res.model.info.get("base")
    from ranker.model import Encoder, resolve_base

    base = Encoder(resolve_base()).model.state_dict()
    tuned = loaded.encoder.model.state_dict()
    changed = [k for k in tuned if "layer.5." in k and not torch.equal(tuned[k], base[k])]
    frozen = [k for k in tuned if "layer.0." in k and not torch.equal(tuned[k], base[k])]
    assert changed and not frozen


def test_user_context_uses_the_review_sentiment_model(run, catalog):
    from ranker.serve import load_ranker

    s, _ = run
    rk = load_ranker(s, blend=False)  # the rating model itself (its blend: tests/ranker/test_blend.py)
    assert rk.sentiment is not None  # trained with the version (same recipe: review text -> stars)
    user = catalog.users()[0]
    ctx = rk.user_context(catalog, user)
    assert len(ctx.history) == len(catalog.reviews_by_user(user))
    assert isinstance(ctx.likes, list) and isinstance(ctx.dislikes, list) and (ctx.likes or ctx.dislikes)
    stars = rk.sentiment.predict(["Terrible, it broke after one day and support ignored me.", "Absolutely love it, perfect."])
    assert all(1.0 <= x <= 5.0 for x in stars)


def test_serving_never_shows_a_user_their_own_review(run, catalog):
    """As in training (``data.item_units(..., exclude_user)``): a product's text for a shopper
    skips that shopper's own review and takes the next reviewer's instead."""
    from ranker.data import ITEM_SNIPPETS
    from ranker.serve import load_ranker

    s, _ = run
    rk = load_ranker(s, blend=False)  # the rating model itself (its blend: tests/ranker/test_blend.py)
    rk._store = catalog
    p = next(p for p in catalog.iter_products() if p.rating_count > ITEM_SNIPPETS)
    first = list(reversed(catalog.reviews_for(p.id)))[0]  # the earliest review: the unit after the description
    full, without = rk.item_units(p), rk.item_units(p, first.user_id)
    assert first.text[:30] in full[1] and len(without) == len(full)
    assert without[0] == full[0] and without[1:-1] == full[2:] and without[-1] not in full  # the next reviewer fills in


def test_as_cold_items_removes_only_the_item_bias():
    import numpy as np

    from ranker.features import Features, as_cold_items
    from ranker.model import bias_features

    feats = np.asarray([bias_features(0.3, -0.4, 7, 12), bias_features(-0.1, 0.2, 3, 0)], np.float32)
    f = Features(np.ones((2, 4), np.float32), np.ones((2, 4), np.float32), feats, np.zeros(2, np.float32))
    cold = as_cold_items(f)
    # the item side is what a never-rated item has; the user side and the text are untouched
    assert cold.feats.tolist() == np.asarray([bias_features(0.3, 0.0, 7, 0), bias_features(-0.1, 0.0, 3, 0)], np.float32).tolist()
    assert f.feats[0, 1] == np.float32(-0.4)  # a copy: the original keeps its bias
    assert cold.U is f.U and cold.P is f.P
