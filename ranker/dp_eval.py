"""What DP-SGD costs, end to end, in one run: the same recipe trained twice on the same data with
the same seed, once plain and once with ``TrainConfig.dp_epsilon`` (opacus on the head), both
scored on the same test split.

Reported: the privacy actually spent (epsilon at delta, from opacus' accountant: early stopping
can spend less than the target), test RMSE of both with the paired bootstrap interval of the
difference (``ranker.metrics.bootstrap_rmse_diff``), and NDCG@10 of each test user's held-out item
among the 99 sampled never-rated items ``ranker.evaluate.sample_negatives`` draws (seed 0), with a
paired bootstrap interval over test users. Predictions are the versions' own (head + blend); the
per-user taste term is left out of both (validation turns it off on MI). What DP covers: the head's
gradients; the bias tables and the frozen encoder are not privatised (BENCHMARKS.md, ranker
section 4).
"""

from __future__ import annotations

import time

import numpy as np

from ranker.baselines import BiasModel
from ranker.data import Example, RatingData, item_units, make_examples
from ranker.evaluate import sample_negatives
from ranker.features import featurize, predict_features
from ranker.metrics import bootstrap_rmse_diff, hit_rank, ndcg_single, rmse
from ranker.replay import paired_diff_ci
from shopassist.settings import Settings


def score_test_split(model, data: RatingData, negs: dict[int, list[str]]) -> tuple[np.ndarray, list[float]]:
    """(test predictions, per test user NDCG@10 of the held-out item among its negatives)."""
    bias = BiasModel(*model.info.get("reg", (5.0, 5.0))).fit((data.ratings[k].user, data.ratings[k].item, data.ratings[k].stars)
                                                           for k in data.train)
    model.mu = bias.mu
    test_ex = make_examples(data, data.test)
    pred = predict_features(model, featurize(model, bias, test_ex))
    neg_ex = [Example(-1, e.user, j, 0.0, e.user_units, item_units(data, j, data.ratings[e.index].ts), [])
              for e in test_ex for j in negs[e.index]]
    neg = predict_features(model, featurize(model, bias, neg_ex)) if neg_ex else np.zeros(0)
    ndcg, pos = [], 0
    for e, p in zip(test_ex, pred):
        n = len(negs[e.index])
        ndcg.append(ndcg_single(hit_rank(p, neg[pos : pos + n])))
        pos += n
    return pred, ndcg


def dp_cost(data: RatingData, settings: Settings, epsilon: float, epochs: int = 4, max_examples: int | None = None,
            seed: int = 0) -> dict:
    """Train plain and DP-SGD versions (saved, not made current) and compare them (module docstring)."""
    from ranker.train import TrainConfig, train

    t0 = time.time()
    negs = sample_negatives(data)
    true = np.asarray([data.ratings[k].stars for k in data.test])
    runs = {}
    for name, eps in (("non_private", None), ("dp_sgd", epsilon)):
        cfg = TrainConfig(epochs=epochs, max_examples=max_examples, dp_epsilon=eps, text_only_examples=0, sentiment_examples=0, seed=seed)
        res = train(data, settings, cfg, source=data.name, make_current=False)
        pred, ndcg = score_test_split(res.model, data, negs)
        runs[name] = {"version": res.version.name, "pred": pred, "ndcg": ndcg, "dp": res.metadata.get("dp"),
                      "val_rmse": res.metadata["metrics"]["val_rmse"], "best_step": res.metadata["metrics"]["best_step"]}
    plain, dp = runs["non_private"], runs["dp_sgd"]
    out = {"dataset": data.name, "n_train": len(data.train), "n_test": len(data.test), "negatives": len(next(iter(negs.values()), [])),
           "epochs": epochs, "seed": seed}
    for name, r in runs.items():
        out[name] = {"version": r["version"], "test_rmse": round(rmse(r["pred"], true), 4),
                     "ndcg@10": round(float(np.mean(r["ndcg"])), 4), "val_rmse": round(r["val_rmse"], 4), "best_step": r["best_step"]}
    d = dp["dp"] or {}
    out["privacy"] = {"epsilon_target": epsilon, "epsilon_spent": round(d.get("epsilon_spent", float("nan")), 4),
                      "delta": d.get("delta"), "noise_multiplier": d.get("noise_multiplier"), "max_grad_norm": d.get("max_grad_norm"),
                      "scope": d.get("scope")}
    out["cost"] = {"rmse_dp_minus_plain": bootstrap_rmse_diff(dp["pred"], plain["pred"], true),
                   "ndcg_dp_minus_plain": paired_diff_ci(dp["ndcg"], plain["ndcg"])}
    out["seconds"] = round(time.time() - t0, 1)
    return out
