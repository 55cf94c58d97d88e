"""All rating methods side by side on one dataset's test split, in one run.

Methods: global mean, item mean, user+item bias, SVD (scikit-surprise), the text-only
baseline (fine-tuned MiniLM: item text -> rating, no user) and ours (the current version, with the
personal taste term of ``ranker.taste`` tuned on validation; ``ours_no_taste`` without it).
Metrics (stars): RMSE and MAE over every test rating (each user's last), and

- ``rmse_cold_items``: the test ratings whose item has NO training rating (natural cold
  items: in MI 5-core leave-last-out these are items whose few ratings all fell in val/test);
- ``rmse_cold_users``: every test rating predicted as if the user were new: no history
  text, no user bias, an unknown id for SVD (5-core leaves no naturally cold test user);
- ``rmse_as_cold_items``: every test rating predicted as if its item had no training
  rating: no item bias or count, an unknown id for the baselines, its text kept (what a
  natural cold item has: other users' earlier reviews). All n test ratings instead of the
  few natural ones, so the cold-item comparison has an interval worth reading;
- ``ndcg@10``: each test user's held-out item ranked among 99 items they never rated,
  sampled once with a fixed seed (the same candidates for every method); ties count
  against the held-out item, so constant predictors score 0.

Every model input for a (user, item, time) is built by ``ranker.data`` (only earlier data,
target review never included), for negatives too (the item's reviews before the test time).
"""

from __future__ import annotations

import logging
import time

import numpy as np

from ranker import versions
from ranker.baselines import BASELINES, BiasModel
from ranker.data import Example, RatingData, item_units, make_examples
from ranker.features import as_cold_items, featurize, predict_features
from ranker.metrics import bootstrap_rmse_diff, hit_rank, mae, ndcg_single, rmse
from ranker.model import RatingModel, TextRegressor
from ranker.train import TrainConfig, taste_inputs, taste_offsets, train, tune_taste
from shopassist.settings import Settings

log = logging.getLogger(__name__)
NEGATIVES = 99
SEED = 0


def sample_negatives(data: RatingData, n: int = NEGATIVES, seed: int = SEED) -> dict[int, list[str]]:
    """Per test rating: ``n`` items the user never rated (any split), seeded; same for all methods."""
    rng = np.random.default_rng(seed)
    items = np.asarray(data.item_ids())
    out = {}
    for k in data.test:
        u = data.ratings[k].user
        rated = {data.ratings[j].item for j in data.user_sequence(u)}
        pool = items[~np.isin(items, list(rated))]
        out[k] = rng.choice(pool, size=min(n, len(pool)), replace=False).tolist()
    return out


COLD_ITEM = "\x00cold-item"  # an id no training rating has


def _summary(pred, true, cold_item_mask, cold_user_pred, ranks, as_cold_item_pred) -> dict:
    pred, true = np.asarray(pred), np.asarray(true)
    m = {
        "rmse": rmse(pred, true),
        "mae": mae(pred, true),
        "rmse_cold_items": rmse(pred[cold_item_mask], true[cold_item_mask]) if cold_item_mask.any() else None,
        "rmse_cold_users": rmse(cold_user_pred, true),
        "rmse_as_cold_items": rmse(as_cold_item_pred, true),
        "ndcg@10": float(np.mean([ndcg_single(r) for r in ranks])) if ranks else None,
    }
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items()}


def evaluate(data: RatingData, settings: Settings, ndcg: bool = True, finetune_examples: int = 0) -> dict:
    """Fit the baselines on train, load the current version, score the test split; one report dict."""
    t0 = time.time()
    triples = [(data.ratings[k].user, data.ratings[k].item, data.ratings[k].stars) for k in data.train]
    test_ex = make_examples(data, data.test)
    cold_ex = make_examples(data, data.test, cold_user=True)
    true = [e.stars for e in test_ex]
    train_items = {data.ratings[k].item for k in data.train}
    cold_items = np.asarray([e.item not in train_items for e in test_ex])
    negs = sample_negatives(data) if ndcg else {}
    methods: dict[str, dict] = {}
    preds: dict[str, np.ndarray] = {}  # per-row test predictions, for the paired intervals below

    for name, cls in BASELINES.items():
        m = cls().fit(triples)
        pred = [m.predict(e.user, e.item) for e in test_ex]
        preds[name] = np.asarray(pred)
        cold = [m.predict(None, e.item) for e in test_ex]
        preds[f"{name}_as_cold_items"] = np.asarray([m.predict(e.user, COLD_ITEM) for e in test_ex])
        ranks = [hit_rank(p, [m.predict(e.user, j) for j in negs[e.index]]) for e, p in zip(test_ex, pred)] if ndcg else []
        methods[name] = _summary(pred, true, cold_items, cold, ranks, preds[f"{name}_as_cold_items"])
        log.info("%s: %s", name, methods[name])

    version = versions.current_version(settings)
    notes = {"n_test": len(test_ex), "n_cold_items": int(cold_items.sum()), "negatives": NEGATIVES if ndcg else 0, "seed": SEED,
             "version": version.name if version else None}
    if version is None:
        log.warning("no trained ranker version in %s: only baselines evaluated", settings.models_dir)
        return {"dataset": data.name, "methods": methods, "notes": notes}

    # text-only baseline: item text -> rating, no user (trained with the version)
    text_dir = version / "text_only"
    if text_dir.exists():
        tm = TextRegressor(str(text_dir), max_length=96, device=settings.device)
        neg_texts = {k: [" | ".join(item_units(data, j, data.ratings[k].ts)) for j in negs[k]] for k in negs}
        all_texts = [e.item_text for e in test_ex] + [t for ts in neg_texts.values() for t in ts]
        tm.predict(all_texts)  # one batched pass over distinct texts, then cached
        pred = tm.predict([e.item_text for e in test_ex])
        ranks = [hit_rank(p, tm.predict(neg_texts[e.index])) for e, p in zip(test_ex, pred)] if ndcg else []
        methods["text_only"] = _summary(pred, true, cold_items, pred, ranks, pred)  # no user, no item id: cold either way
        log.info("text_only: %s", methods["text_only"])

    model = RatingModel.load(version / "model", settings.device)
    model.attach_cache(versions.root(settings) / "cache")
    bias = BiasModel(*model.info.get("reg", (5.0, 5.0))).fit(triples)  # the regularisation the model was trained with
    model.mu = bias.mu  # biases of THIS dataset (cross-domain: the head is transferred, biases are local)
    runs = [("ours", model)]
    if finetune_examples:
        cfg = TrainConfig(max_examples=finetune_examples, text_only_examples=0, sentiment_examples=0)
        res = train(data, settings, cfg, source=data.name, parent_model=version / "model", make_current=False)
        notes["finetuned_version"] = res.version.name
        runs.append(("ours_finetuned", res.model))
    val_ex = make_examples(data, data.val)
    for name, mdl in runs:
        # the personal taste term (ranker.taste), tuned on THIS dataset's validation split, never on test;
        # "<name>_no_taste" is the same model without it, side by side
        taste, grid = tune_taste(mdl, data, bias, val_ex, predict_features(mdl, featurize(mdl, bias, val_ex)))
        notes[f"{name}_taste"] = {**taste.to_dict(), "val_rmse_by_alpha_weight": grid}
        test_f = featurize(mdl, bias, test_ex, progress=True)
        pred0 = predict_features(mdl, test_f)
        as_cold0 = predict_features(mdl, as_cold_items(test_f))
        cold = predict_features(mdl, featurize(mdl, bias, cold_ex, cold_user=True))  # a new user has no taste term
        neg_ex = [
            Example(-1, e.user, j, 0.0, e.user_units, item_units(data, j, data.ratings[e.index].ts), [])
            for e in test_ex for j in negs[e.index]
        ] if ndcg else []
        neg0 = predict_features(mdl, featurize(mdl, bias, neg_ex, progress=True)) if neg_ex else np.zeros(0)
        # one fit per test user over their earlier ratings; candidates = the held-out item + its negatives
        targets, pos = [], 0
        for e in test_ex:
            n = len(negs.get(e.index, []))
            targets.append((e.index, [(e.item, e.item_units)] + [(x.item, x.item_units) for x in neg_ex[pos : pos + n]]))
            pos += n
        offs = taste_offsets(taste_inputs(mdl, data, bias, taste, targets), taste)
        pred = np.clip(pred0 + np.asarray([o[0] for o in offs]), 1, 5)
        as_cold = np.clip(as_cold0 + np.asarray([o[0] for o in offs]), 1, 5)  # the taste term reads item text, not its bias
        neg = np.clip(neg0 + np.concatenate([o[1:] for o in offs]), 1, 5) if neg_ex else neg0
        mdl.save_cache()
        for label, p_test, p_neg, p_as_cold in ((f"{name}_no_taste", pred0, neg0, as_cold0), (name, pred, neg, as_cold)):
            ranks, pos = [], 0
            if ndcg:
                for e, p in zip(test_ex, p_test):
                    n = len(negs[e.index])
                    ranks.append(hit_rank(p, p_neg[pos : pos + n]))
                    pos += n
            preds[label], preds[f"{label}_as_cold_items"] = np.asarray(p_test), np.asarray(p_as_cold)
            methods[label] = _summary(p_test, true, cold_items, cold, ranks, p_as_cold)
            log.info("%s: %s", label, methods[label])
    # how sure the goals' comparisons are: paired bootstrap of the RMSE difference (95 % interval)
    t = np.asarray(true)
    if "svd" in preds:
        notes["ours_minus_svd_rmse"] = bootstrap_rmse_diff(preds["ours"], preds["svd"], t)
    notes["ours_minus_ours_no_taste_rmse"] = bootstrap_rmse_diff(preds["ours"], preds["ours_no_taste"], t)
    if cold_items.any():
        notes["ours_minus_global_mean_rmse_cold_items"] = bootstrap_rmse_diff(preds["ours"][cold_items], preds["global_mean"][cold_items],
                                                                              t[cold_items])
    notes["ours_minus_global_mean_rmse_as_cold_items"] = bootstrap_rmse_diff(preds["ours_as_cold_items"], preds["global_mean_as_cold_items"], t)
    notes["seconds"] = round(time.time() - t0, 1)
    return {"dataset": data.name, "methods": methods, "notes": notes}
