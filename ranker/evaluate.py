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

``ranking`` (what a recommender is for: choosing what to show) puts the rating methods beside
peers that read no text and predict no stars (``ranker.peers``: popularity, recent popularity,
item-KNN on co-ratings) and the analytic random expectation, on two candidate sets:
``sampled`` (the 99 negatives above) and ``category`` (99 never-rated items of the held-out
item's own category, ``ranker.negatives``: what the shopper sees is an ordering within what
matched the query). Per set and method: NDCG@10 and Recall@10 with bootstrap intervals, and the
paired bootstrap of ours minus each peer. ``ours_blend``: ours + item-KNN + popularity, weights chosen
here on validation; ``served_blend``: what ``load_ranker`` serves (``ranker.blend``, its fixed
weights, the same code), scored on the same test candidates.

Every model input for a (user, item, time) is built by ``ranker.data`` (only earlier data,
target review never included), for negatives too (the item's reviews before the test time).
"""

from __future__ import annotations

import logging
import time
from collections import Counter

import numpy as np

from ranker import versions
from ranker.baselines import BASELINES, BiasModel
from ranker.blend import DISLIKED, WEIGHTS, CoRatings, contributions, zscore
from ranker.data import Example, RatingData, item_units, make_examples
from ranker.features import as_cold_items, featurize, predict_features
from ranker.metrics import (
    bootstrap_mean_diff,
    bootstrap_rmse_diff,
    hit_rank,
    mae,
    mean_ci,
    ndcg_single,
    random_ndcg,
    random_recall,
    recall_single,
    rmse,
)
from ranker.model import RatingModel, TextRegressor
from ranker.negatives import NEGATIVES, SEED, category_negatives, sample_negatives
from ranker.peers import PEERS
from ranker.train import TrainConfig, taste_inputs, taste_offsets, train, tune_taste
from shopassist.settings import Settings

log = logging.getLogger(__name__)
OURS = "ours"  # the method every peer is compared with (paired, per test user)


def ranking_table(ranks: dict[str, np.ndarray], n_candidates: np.ndarray, how: str, k: int = 10) -> dict:
    """NDCG@k and Recall@k per method from per-user ranks of the held-out item, with bootstrap
    intervals; the random expectation from each user's real candidate count; ours (and ours
    blended with the peers) minus each other method (paired bootstrap of per-user NDCG@k)."""
    ndcg = {m: np.asarray([ndcg_single(int(r), k) for r in rs]) for m, rs in ranks.items()}
    rec = {m: np.asarray([recall_single(int(r), k) for r in rs]) for m, rs in ranks.items()}
    out = {"candidates": how, "n": int(len(n_candidates)), "mean_candidates": round(float(np.mean(n_candidates)), 1) if len(n_candidates) else 0,
           "random": {f"ndcg@{k}": round(float(np.mean([random_ndcg(int(c), k) for c in n_candidates])), 4),
                      f"recall@{k}": round(float(np.mean([random_recall(int(c), k) for c in n_candidates])), 4)},
           "methods": {m: {f"ndcg@{k}": round(float(ndcg[m].mean()), 4), f"ndcg@{k}_ci95": mean_ci(ndcg[m]),
                           f"recall@{k}": round(float(rec[m].mean()), 4), f"recall@{k}_ci95": mean_ci(rec[m])} for m in ranks}}
    for ref in (OURS, "ours_blend", "served_blend"):
        if ref in ranks:
            out[f"{ref}_minus_ndcg@{k}"] = {m: bootstrap_mean_diff(ndcg[ref], ndcg[m]) for m in ranks if m != ref}
    return out


def _ranks(target: np.ndarray, negatives: np.ndarray, sizes: list[int]) -> np.ndarray:
    """Per user, the rank of their held-out item's score among their negatives' (flat, in order)."""
    out, pos = [], 0
    for t, n in zip(target, sizes):
        out.append(hit_rank(t, negatives[pos : pos + n]))
        pos += n
    return np.asarray(out, int)


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


BLEND_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)  # weight of each peer next to ours (weight 1), z-scored per candidate list
BLEND_PEERS = ("item_knn", "popularity")  # the co-occurrence and popularity signals the blend may add


def blend_ranks(ours: list[np.ndarray], peers: dict[str, list[np.ndarray]], weights: dict[str, float]) -> np.ndarray:
    """Per user, the held-out item's rank (index 0 of each candidate list) by z(ours) + sum_p w_p z(peer_p).

    >>> blend_ranks([np.array([1.0, 2.0, 0.0])], {"item_knn": [np.array([3.0, 0.0, 0.0])]}, {"item_knn": 1.0}).tolist()
    [1]
    """
    out = []
    for u, s in enumerate(ours):
        b = zscore(s) + sum(w * zscore(peers[p][u]) for p, w in weights.items() if w)
        out.append(hit_rank(b[0], b[1:]))
    return np.asarray(out)


def choose_blend(ours: list[np.ndarray], peers: dict[str, list[np.ndarray]]) -> tuple[dict[str, float], dict[str, float]]:
    """Peer weights by validation NDCG@10 over the grid ``BLEND_WEIGHTS`` x ``BLEND_PEERS``."""
    grid, best, best_w = {}, -1.0, {}
    for a in BLEND_WEIGHTS:
        for b in BLEND_WEIGHTS:
            w = dict(zip(BLEND_PEERS, (a, b)))
            v = float(np.mean([ndcg_single(int(r)) for r in blend_ranks(ours, peers, w)]))
            grid[f"{a:g}/{b:g}"] = round(v, 4)
            if v > best:
                best, best_w = v, w
    return best_w, grid


def _peer_lists(models: dict, data: RatingData, negs: dict[int, list[str]], keys: list[int]) -> dict[str, list[np.ndarray]]:
    """Each blend peer's scores of [held-out item, *negatives] per rating index in ``keys``."""
    return {p: [models[p].score(_history(data, k), [data.ratings[k].item, *negs[k]], at=data.ratings[k].ts) for k in keys]
            for p in BLEND_PEERS if p in models}


def served_blend_ranks(data: RatingData, lists: list[np.ndarray], negs: dict[int, list[str]], keys: list[int]) -> np.ndarray:
    """Per user, the held-out item's rank by what ``ranker.blend.BlendedRanker`` serves: z(ours) +
    ``WEIGHTS`` x (co-ratings over the training ratings, from the user's earlier items rated above
    ``DISLIKED``; popularity = training ratings per item), the same code as serving."""
    train = [data.ratings[k] for k in data.train]
    co = CoRatings.from_pairs((r.user, r.item) for r in train)
    pop = Counter(r.item for r in train)
    out = []
    for s, k in zip(lists, keys):
        items = [data.ratings[k].item, *negs[k]]
        seq = data.user_sequence(data.ratings[k].user)
        hist = [data.ratings[h].item for h in seq[: seq.index(k)] if data.ratings[h].stars > DISLIKED]
        knn, _ = co.scores(hist, items, exclude_user=data.ratings[k].user)
        b = sum(contributions(s, knn, [pop.get(i, 0) for i in items], WEIGHTS).values())
        out.append(hit_rank(b[0], b[1:]))
    return np.asarray(out)


def _split_lists(target: np.ndarray, negatives: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    out, pos = [], 0
    for t, n in zip(target, sizes):
        out.append(np.r_[t, negatives[pos : pos + n]])
        pos += n
    return out


def _history(data: RatingData, k: int) -> list[str]:
    """The items the user rated before rating ``k`` (oldest first): what a peer may read."""
    seq = data.user_sequence(data.ratings[k].user)
    return [data.ratings[h].item for h in seq[: seq.index(k)]]


def evaluate(data: RatingData, settings: Settings, ndcg: bool = True, finetune_examples: int = 0) -> dict:
    """Fit the baselines on train, load the current version, score the test split; one report dict."""
    t0 = time.time()
    triples = [(data.ratings[k].user, data.ratings[k].item, data.ratings[k].stars) for k in data.train]
    test_ex = make_examples(data, data.test)
    cold_ex = make_examples(data, data.test, cold_user=True)
    true = [e.stars for e in test_ex]
    train_items = {data.ratings[k].item for k in data.train}
    cold_items = np.asarray([e.item not in train_items for e in test_ex])
    # candidate sets: the same negatives for every method; "sampled" is the one behind methods[...]["ndcg@10"]
    negsets: dict[str, dict[int, list[str]]] = {}
    how = {"sampled": f"{NEGATIVES} never-rated items sampled uniformly (seed {SEED})"}
    if ndcg:
        negsets["sampled"] = sample_negatives(data)
        negsets["category"], cat_how = category_negatives(data)
        how["category"] = f"up to {NEGATIVES} never-rated items of the held-out item's category ({cat_how}; seed {SEED})"
    ranks: dict[str, dict[str, np.ndarray]] = {s: {} for s in negsets}
    sizes = {s: [len(ns[e.index]) for e in test_ex] for s, ns in negsets.items()}
    methods: dict[str, dict] = {}
    preds: dict[str, np.ndarray] = {}  # per-row test predictions, for the paired intervals below

    for name, cls in BASELINES.items():
        m = cls().fit(triples)
        pred = [m.predict(e.user, e.item) for e in test_ex]
        preds[name] = np.asarray(pred)
        cold = [m.predict(None, e.item) for e in test_ex]
        preds[f"{name}_as_cold_items"] = np.asarray([m.predict(e.user, COLD_ITEM) for e in test_ex])
        for s, ns in negsets.items():
            ranks[s][name] = np.asarray([hit_rank(p, [m.predict(e.user, j) for j in ns[e.index]]) for e, p in zip(test_ex, pred)])
        methods[name] = _summary(pred, true, cold_items, cold, list(ranks["sampled"][name]) if ndcg else [],
                                 preds[f"{name}_as_cold_items"])
        log.info("%s: %s", name, methods[name])

    # peers that predict no stars: only the order of the candidates counts
    events = [(data.ratings[k].user, data.ratings[k].item, data.ratings[k].ts) for k in data.train]
    skipped, fitted = {}, {}
    for name, cls in PEERS.items() if ndcg else ():
        try:
            m = fitted[name] = cls().fit(events)
        except ImportError as e:  # ALS needs the dev extra `implicit`: the table says so instead of failing
            skipped[name] = str(e)
            continue
        for s, ns in negsets.items():
            rs = []
            for e in test_ex:
                sc = m.score(_history(data, e.index), [e.item, *ns[e.index]], at=data.ratings[e.index].ts)
                rs.append(hit_rank(sc[0], sc[1:]))
            ranks[s][name] = np.asarray(rs)

    def report() -> dict:
        out = {"dataset": data.name, "methods": methods, "notes": notes}
        if ndcg:
            out["ranking"] = {s: ranking_table(ranks[s], np.asarray(sizes[s]) + 1, how[s]) for s in negsets}
        return out

    version = versions.current_version(settings)
    notes = {"n_test": len(test_ex), "n_cold_items": int(cold_items.sum()), "negatives": NEGATIVES if ndcg else 0, "seed": SEED,
             "version": version.name if version else None, **({"peers_skipped": skipped} if skipped else {})}
    if version is None:
        log.warning("no trained ranker version in %s: only baselines evaluated", settings.models_dir)
        return report()

    # text-only baseline: item text -> rating, no user (trained with the version)
    text_dir = version / "text_only"
    if text_dir.exists():
        tm = TextRegressor(str(text_dir), max_length=96, device=settings.device)
        neg_texts = {s: {k: [" | ".join(item_units(data, j, data.ratings[k].ts)) for j in ns[k]] for k in ns} for s, ns in negsets.items()}
        all_texts = [e.item_text for e in test_ex] + [t for nt in neg_texts.values() for ts in nt.values() for t in ts]
        tm.predict(all_texts)  # one batched pass over distinct texts, then cached
        pred = tm.predict([e.item_text for e in test_ex])
        for s in negsets:
            ranks[s]["text_only"] = np.asarray([hit_rank(p, tm.predict(neg_texts[s][e.index])) for e, p in zip(test_ex, pred)])
        methods["text_only"] = _summary(pred, true, cold_items, pred, list(ranks["sampled"]["text_only"]) if ndcg else [], pred)
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
        # the taste offset of the held-out item: one fit per test user over their earlier ratings
        offs = taste_offsets(taste_inputs(mdl, data, bias, taste, [(e.index, [(e.item, e.item_units)]) for e in test_ex]), taste)
        pred = np.clip(pred0 + np.asarray([o[0] for o in offs]), 1, 5)
        as_cold = np.clip(as_cold0 + np.asarray([o[0] for o in offs]), 1, 5)  # the taste term reads item text, not its bias
        test_lists = {}
        for s, ns in negsets.items():
            neg0, neg = _negative_scores(mdl, data, bias, taste, test_ex, ns)
            ranks[s][f"{name}_no_taste"], ranks[s][name] = _ranks(pred0, neg0, sizes[s]), _ranks(pred, neg, sizes[s])
            test_lists[s] = _split_lists(pred, neg, sizes[s])
        if ndcg and name == OURS:
            # ours + co-occurrence/popularity, weights chosen on VALIDATION (sampled negatives), then scored on test
            val_negs = sample_negatives(data, indices=data.val, seed=SEED + 1)
            vp = predict_features(mdl, featurize(mdl, bias, val_ex))
            v_off = taste_offsets(taste_inputs(mdl, data, bias, taste, [(e.index, [(e.item, e.item_units)]) for e in val_ex]), taste)
            vp = np.clip(vp + np.asarray([o[0] for o in v_off]), 1, 5)
            _, vneg = _negative_scores(mdl, data, bias, taste, val_ex, val_negs)
            v_lists = _split_lists(vp, vneg, [len(val_negs[e.index]) for e in val_ex])
            w, grid = choose_blend(v_lists, _peer_lists(fitted, data, val_negs, [e.index for e in val_ex]))
            notes["ours_blend"] = {"weights": w, "val_ndcg@10_by_item_knn/popularity_weight": grid}
            for s, ns in negsets.items():
                ranks[s]["ours_blend"] = blend_ranks(test_lists[s], _peer_lists(fitted, data, ns, [e.index for e in test_ex]), w)
                # what load_ranker serves (ranker.blend, its fixed WEIGHTS): the same code path, on test
                ranks[s]["served_blend"] = served_blend_ranks(data, test_lists[s], ns, [e.index for e in test_ex])
            notes["served_blend"] = {"weights": WEIGHTS, "history": f"earlier items rated > {DISLIKED:g} stars",
                                     "user's own co-ratings": "excluded"}
        mdl.save_cache()
        for label, p_test, p_as_cold in ((f"{name}_no_taste", pred0, as_cold0), (name, pred, as_cold)):
            preds[label], preds[f"{label}_as_cold_items"] = np.asarray(p_test), np.asarray(p_as_cold)
            methods[label] = _summary(p_test, true, cold_items, cold, list(ranks["sampled"][label]) if ndcg else [], p_as_cold)
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
    return report()


def _negative_scores(mdl, data: RatingData, bias, taste, test_ex: list[Example], negs: dict[int, list[str]]) -> tuple[np.ndarray, np.ndarray]:
    """The model's stars for every test user's negatives (flat, user by user), without and with the
    taste term; each negative's item side as of the held-out rating's time."""
    neg_ex = [Example(-1, e.user, j, 0.0, e.user_units, item_units(data, j, data.ratings[e.index].ts), []) for e in test_ex for j in negs[e.index]]
    if not neg_ex:
        return np.zeros(0), np.zeros(0)
    neg0 = predict_features(mdl, featurize(mdl, bias, neg_ex, progress=True))
    targets, pos = [], 0
    for e in test_ex:
        n = len(negs[e.index])
        targets.append((e.index, [(x.item, x.item_units) for x in neg_ex[pos : pos + n]]))
        pos += n
    offs = taste_offsets(taste_inputs(mdl, data, bias, taste, targets), taste)
    return neg0, np.clip(neg0 + np.concatenate(offs), 1, 5)
