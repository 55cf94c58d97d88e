"""``shopassist bench ranker``: scoring latency for one user and N candidates, per speed-up,
with the accuracy cost of each speed-up measured on validation data in the same run.

Speed-ups measured (each row: p50/p95 ms over ``repeats``):
  cold_cache      no cached item encodings: every candidate's units are encoded now
  warm_cache      item encodings cached (as after ``warm``/ingest): only the user is encoded
  no_explain      warm, without the leave-one-out explanations
  int8_encoder    warm, encoder Linear layers quantised to int8 (torch dynamic quantisation)
Accuracy cost: validation RMSE (stars) of the full-precision vs int8 encoder on a user subset;
caching and skipping explanations do not change predictions (cost 0 by construction).
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np

from ranker import versions
from ranker.data import RatingData, read_dataset
from shopassist.settings import Settings

DEFAULT_DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "amazon_reviews_2014_musical_instruments_5core"


class DatasetStore:
    """The slice of the CatalogStore contract serving reads, over a rating dataset (in memory)."""

    def __init__(self, data: RatingData):
        from retrieval.catalog import Product, Review

        self.data = data
        self._reviews = {}
        for i in data.item_ids():
            self._reviews[i] = [Review(f"{r.user}:{r.item}", r.item, r.user, r.stars, r.title, r.text, r.ts)
                                for r in (data.ratings[k] for k in data.item_sequence(i))]
        self.products = {}
        for i, rs in self._reviews.items():
            meta = data.items.get(i)
            self.products[i] = Product(i, meta.title if meta and meta.title else f"item {i}",
                                       average_rating=round(float(np.mean([r.rating for r in rs])), 2), rating_count=len(rs))

    def reviews_for(self, product_id, limit=None):
        rs = sorted(self._reviews.get(product_id, []), key=lambda r: -r.timestamp)
        return rs[:limit] if limit else rs

    def get_many(self, ids):
        return [self.products[i] for i in ids if i in self.products]

    def count(self):
        return len(self.products)

    def iter_products(self):
        return iter(self.products.values())


def _timeit(fn, repeats: int) -> dict:
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t) * 1000)
    return {"p50_ms": round(float(np.percentile(ts, 50)), 1), "p95_ms": round(float(np.percentile(ts, 95)), 1), "runs": repeats}


def _val_rmse(model, data: RatingData, users: int) -> float:
    from ranker.baselines import BiasModel
    from ranker.data import make_examples
    from ranker.metrics import rmse
    from ranker.train import featurize, predict_features

    bias = BiasModel(*model.info.get("reg", (5.0, 5.0))).fit((data.ratings[k].user, data.ratings[k].item, data.ratings[k].stars) for k in data.train)
    model.mu = bias.mu
    keep = set(data.users()[:users])
    ex = make_examples(data, [k for k in data.val if data.ratings[k].user in keep])
    return rmse(predict_features(model, featurize(model, bias, ex)), [e.stars for e in ex])


def bench_scoring(settings: Settings, dataset: Path | None = None, candidates: int = 100, repeats: int = 20,
                  accuracy_users: int = 150, cold_repeats: int = 3) -> dict:
    import torch

    from ranker.model import RatingModel
    from ranker.scoring import UserContext
    from ranker.serve import TwoTowerRanker

    version = versions.current_version(settings)
    if version is None:
        raise LookupError("no trained ranker version: run `shopassist ranker train` first")
    data = read_dataset(dataset or DEFAULT_DATASET)
    store = DatasetStore(data)
    model = RatingModel.load(version / "model", settings.device)
    rk = TwoTowerRanker(model, settings, version, store=store)
    user = max(data.users(), key=lambda u: len(data.user_sequence(u)))
    hist = [(store.products[data.ratings[k].item].title, data.ratings[k].stars) for k in data.user_sequence(user)]
    ctx = UserContext(user, hist[-8:], [], [])
    rng = np.random.default_rng(0)
    prods = store.get_many(rng.choice(data.item_ids(), candidates, replace=False).tolist())
    torch.set_num_threads(max(1, torch.get_num_threads()))
    rows = {}

    def cold():
        rk.model.cache.clear()
        rk.score(ctx, prods)

    rows["cold_cache"] = _timeit(cold, cold_repeats)
    rk.score(ctx, prods)  # warm
    rows["warm_cache"] = _timeit(lambda: rk.score(ctx, prods), repeats)
    rows["no_explain"] = _timeit(lambda: rk.score(ctx, prods, explain=False), repeats)
    base_rmse = _val_rmse(model, data, accuracy_users)
    q = copy.copy(model)
    q.encoder = copy.copy(model.encoder)
    q.encoder.model = torch.ao.quantization.quantize_dynamic(copy.deepcopy(model.encoder.model), {torch.nn.Linear}, dtype=torch.qint8)
    q.cache = {}
    q.info = {**model.info, "fingerprint": "int8-bench"}
    q.cache_path = None
    rq = TwoTowerRanker.__new__(TwoTowerRanker)
    rq.__dict__.update(rk.__dict__)
    rq.model = q
    rq.score(ctx, prods)
    rows["int8_encoder"] = _timeit(lambda: rq.score(ctx, prods), repeats)
    int8_rmse = _val_rmse(q, data, accuracy_users)
    for k in ("cold_cache", "warm_cache", "no_explain"):
        rows[k]["val_rmse_cost"] = 0.0
    rows["int8_encoder"]["val_rmse_cost"] = round(int8_rmse - base_rmse, 4)
    return {"bench": "ranker", "version": version.name, "candidates": candidates, "threads": torch.get_num_threads(),
            "val_rmse_fp32_subset": round(base_rmse, 4), "accuracy_users": accuracy_users, "rows": rows,
            "goal": "warm p50 <= 100 ms for 100 candidates on 2 CPU cores"}
