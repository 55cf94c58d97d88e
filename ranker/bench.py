"""``shopassist bench ranker``: scoring latency for one user and N candidates, per speed-up,
with the accuracy cost of each speed-up measured on validation data in the same run.

Speed-ups measured (each row: p50/p95 ms over ``repeats``):
  cold_cache      no cached item encodings: every candidate's units are encoded now
  warm_cache      item encodings cached (as after ``warm``/ingest): only the user is encoded;
                  with explanations (exact leave-one-out through ``residual_grid``)
  explain_rows    warm, explanations with the head run on materialised rows (the reference
                  ``residual_grid`` replaced: what ``score`` did before)
  no_explain      warm, without the leave-one-out explanations
  taste_refit     warm, the user's taste term (``ranker.taste``) refitted every call (a new user context)
  int8_encoder    warm, encoder Linear layers quantised to int8 (torch dynamic quantisation)
  blend           warm, with explanations, through ``ranker.blend.BlendedRanker`` (what ``load_ranker``
                  serves: the stars blended with co-ratings and popularity); ``blend_no_explain`` without
Profiles (``profiles`` > 0): the first shopper's profile cost, ``user_context`` for the most
active users with the review-sentiment model loaded up front (``sentiment_load_ms``: int8 +
warm-up call), int8 (served) vs fp32 side by side, with how many profiles come out identical.
Accuracy cost: validation RMSE (stars) of the full-precision vs int8 encoder on a user subset;
caching and skipping explanations do not change predictions (cost 0 by construction), and the
grid's stars and explanations are compared with the reference rows in the same run
(``grid_vs_rows``: max star difference, explanations identical).
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np

from ranker import versions
from ranker.baselines import BiasModel
from ranker.blend import BlendedRanker
from ranker.data import RatingData, make_examples, read_dataset
from ranker.features import featurize, predict_features
from ranker.metrics import rmse
from ranker.model import RatingModel, TextRegressor
from ranker.scoring import UserContext
from ranker.serve import TwoTowerRanker, build_user_context, catalog_mean, open_store
from ranker.versions import VersionNotFound
from retrieval.catalog import Product, Review
from shopassist.settings import Settings

DEFAULT_DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "amazon_reviews_2014_musical_instruments_5core"


class DatasetStore:
    """The slice of the CatalogStore contract serving reads, over a rating dataset (in memory)."""

    def __init__(self, data: RatingData):
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

    def reviews_by_user(self, user_id):
        """The user's reviews, oldest first (ties in file order), as ``CatalogStore.reviews_by_user``."""
        return [Review(f"{r.user}:{r.item}", r.item, r.user, r.stars, r.title, r.text, r.ts)
                for r in (self.data.ratings[k] for k in self.data.user_sequence(user_id))]

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


def _timeit_interleaved(fns: dict, repeats: int) -> dict:
    ts = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            ts[k].append((time.perf_counter() - t) * 1000)
    return {k: {"p50_ms": round(float(np.percentile(v, 50)), 1), "p95_ms": round(float(np.percentile(v, 95)), 1), "runs": repeats}
            for k, v in ts.items()}


def _val_rmse(model, data: RatingData, users: int) -> float:
    bias = BiasModel(*model.info.get("reg", (5.0, 5.0))).fit((data.ratings[k].user, data.ratings[k].item, data.ratings[k].stars) for k in data.train)
    model.mu = bias.mu
    keep = set(data.users()[:users])
    ex = make_examples(data, [k for k in data.val if data.ratings[k].user in keep])
    return rmse(predict_features(model, featurize(model, bias, ex)), [e.stars for e in ex])


def bench_scoring(settings: Settings, dataset: Path | None = None, candidates: int = 100, repeats: int = 20,
                  accuracy_users: int = 150, cold_repeats: int = 3, int8: bool = True, history: int = 8, profiles: int = 10,
                  catalog: bool = False) -> dict:
    """The rows in the module docstring. ``catalog``: serve from the data dir's ingested catalog
    (SQLite reads, a real user's history and review aspects) instead of a rating dataset."""
    import torch  # heavy: only the bench needs it directly (int8 quantisation, thread count)

    version = versions.current_version(settings)
    if version is None:
        raise VersionNotFound("no trained ranker version: run `shopassist ranker train` first")
    model = RatingModel.load(version / "model", settings.device)
    rng = np.random.default_rng(0)
    if catalog:  # the ingested catalog in SQLite, its most active reviewer's real profile (likes/dislikes too)
        store = open_store(settings)
        if store is None:
            raise FileNotFoundError(f"no catalog at {settings.catalog_db}: run `shopassist ingest SOURCE` first")
        data = None
        rk = TwoTowerRanker(model, settings, version, store=store)
        model.mu = catalog_mean(store.iter_products())
        users = sorted(store.users(), key=lambda u: (-len(store.reviews_by_user(u)), u))
        ctx = rk.user_context(store, users[0])
        ids = sorted(p.id for p in store.iter_products())
        prods = store.get_many(rng.choice(ids, min(candidates, len(ids)), replace=False).tolist())
        int8 = False  # the accuracy cost needs a rating dataset's validation split
    else:
        data = read_dataset(dataset or DEFAULT_DATASET)
        store = DatasetStore(data)
        rk = TwoTowerRanker(model, settings, version, store=store)
        user = max(data.users(), key=lambda u: len(data.user_sequence(u)))
        hist = [(store.products[data.ratings[k].item].title, data.ratings[k].stars) for k in data.user_sequence(user)]
        ctx = UserContext(user, hist[-history:], [], [], [(data.ratings[k].item, data.ratings[k].stars) for k in data.user_sequence(user)])
        users = sorted(data.users(), key=lambda u: (-len(data.user_sequence(u)), u))
        prods = store.get_many(rng.choice(data.item_ids(), candidates, replace=False).tolist())
    torch.set_num_threads(max(1, torch.get_num_threads()))
    rows = {}

    def cold():
        rk.model.cache.clear()
        rk.score(ctx, prods)

    if cold_repeats:
        rows["cold_cache"] = _timeit(cold, cold_repeats)
    rk.score(ctx, prods)  # warm
    grid = rk.score(ctx, prods)
    rk.grid = False
    ref = rk.score(ctx, prods)
    rk.grid = True

    def rows_path():
        rk.grid = False
        rk.score(ctx, prods)
        rk.grid = True

    # interleaved, one run of each per round: on a shared machine load drifts between rows
    def taste_refit():  # a new user context: its taste term (ranker.taste) is fitted once, then cached
        rk._taste_fits.clear()
        rk.score(ctx, prods)

    # the served blend (ranker.blend: stars + co-ratings + popularity), its co-ratings read from the catalog once
    blend = BlendedRanker(rk, store)
    t = time.perf_counter()
    blend.co_ratings()
    co_ms = (time.perf_counter() - t) * 1000
    blend.score(ctx, prods)
    rows.update(_timeit_interleaved({"warm_cache": lambda: rk.score(ctx, prods), "explain_rows": rows_path,
                                     "no_explain": lambda: rk.score(ctx, prods, explain=False), "taste_refit": taste_refit,
                                     "blend": lambda: blend.score(ctx, prods),
                                     "blend_no_explain": lambda: blend.score(ctx, prods, explain=False)}, repeats))
    blended = blend.score(ctx, prods)
    same = {"max_star_diff": round(max(abs(a.stars - b.stars) for a, b in zip(grid, ref)), 4),
            "explanations_identical": sum(a.explanation == b.explanation for a, b in zip(grid, ref)), "of": len(grid)}
    for k in rows:
        rows[k]["val_rmse_cost"] = 0.0
    base_rmse = int8_rmse = None
    if int8:
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
        rows["int8_encoder"]["val_rmse_cost"] = round(int8_rmse - base_rmse, 4)
    prof = bench_profiles(rk, store, users[:profiles]) if profiles else None
    return {"bench": "ranker", "version": version.name, "source": "catalog" if catalog else (data.name if data else None),
            "candidates": len(prods), "threads": torch.get_num_threads(),
            "user_units": len(rk.user_units(ctx)), "history_units": len(ctx.history),
            "taste": {"weight": rk.taste.weight, "alpha": rk.taste.alpha, "rated": len(ctx.rated), "active": rk.user_taste(ctx) is not None},
            "val_rmse_fp32_subset": None if base_rmse is None else round(base_rmse, 4),
            "accuracy_users": accuracy_users if int8 else 0, "rows": rows, "grid_vs_rows": same, "profiles": prof,
            "blend": {"weights": blend.weights, "co_ratings_build_ms": round(co_ms, 1), "items_with_raters": len(blend.co_ratings().raters),
                      "co_rating_reasons": sum(any(e.startswith("shoppers who bought") for e in p.explanation) for p in blended)},
            "goal": "warm p50 <= 100 ms for 100 candidates on 2 CPU cores"}


def bench_profiles(rk, store, top: list[str]) -> dict | None:
    """First-profile cost per user (sentiment model already loaded), int8 (served) vs fp32."""
    if not (rk.version_dir / "sentiment").exists():
        return None
    rk._sentiment = None  # time a fresh load
    t = time.perf_counter()
    served = rk.sentiment  # int8 + warm-up, as ``TwoTowerRanker.load`` does at start
    load_ms = (time.perf_counter() - t) * 1000
    fp32 = TextRegressor(str(rk.version_dir / "sentiment"), max_length=64, device=rk.settings.device)
    fp32.predict(["Warm-up: the first call sets up the kernels."])
    out, ctxs = {"sentiment_load_ms": round(load_ms, 1), "users": len(top), "int8": bool(getattr(served, "int8", False))}, {}
    for name, model in (("int8", served), ("fp32", fp32)):
        ts = []
        for u in top:
            model._cache.clear()  # a new shopper: nothing of theirs scored yet
            t0 = time.perf_counter()
            ctxs.setdefault(name, []).append(build_user_context(store, u, model))
            ts.append((time.perf_counter() - t0) * 1000)
        out[name] = {"p50_ms": round(float(np.percentile(ts, 50)), 1), "p95_ms": round(float(np.percentile(ts, 95)), 1)}
    out["identical_profiles"] = sum(a == b for a, b in zip(ctxs["int8"], ctxs["fp32"]))
    return out
