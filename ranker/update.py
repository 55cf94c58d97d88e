"""Continual learning: fine-tune the current version on new ratings/feedback, with replay.

``update(settings, events)`` reads new ratings (or feedback events mapped to stars), starts
from the current version's weights, trains on the new examples mixed with a replayed sample
of the old training data (``replay`` old per new), and saves a child version (parent recorded)
that becomes current. Forgetting is measured, not assumed: RMSE on the OLD test split before
and after is stored in the new version's metadata (``continual``), next to the RMSE on held-out
new ratings (every 5th; they also join the validation set for early stopping) before/after. ``ranker use PARENT`` rolls back.

Event rows (JSONL): ``{"user_id", "product_id", "rating"?, "kind"?, "timestamp"?, "title"?, "text"?}``;
without a rating, kind thumb_up/buy/add_to_cart/more_like_this count as 5 stars, thumb_down as 1.
"""

from __future__ import annotations

import json
import logging
from dataclasses import fields
from pathlib import Path

import numpy as np

from ranker import versions
from ranker.baselines import BiasModel
from ranker.data import Rating, RatingData, make_examples, read_catalog, read_dataset
from ranker.features import featurize, predict_features
from ranker.metrics import rmse
from ranker.model import RatingModel
from ranker.scoring import KIND_STARS
from ranker.serve import open_store
from ranker.train import TrainConfig, train
from ranker.versions import VersionNotFound
from shopassist.settings import Settings

log = logging.getLogger(__name__)



def read_events(path: Path, start_order: int = 0) -> list[Rating]:
    """New ratings from a JSONL file; rows that are neither ratings nor known feedback are skipped."""
    out = []
    for n, line in enumerate(Path(path).read_text().splitlines()):
        if not line.strip():
            continue
        d = json.loads(line)
        stars = d.get("rating")
        if stars is None:
            stars = KIND_STARS.get(d.get("kind", ""))
        if stars is None or not d.get("user_id") or not d.get("product_id"):
            continue
        out.append(Rating(str(d["user_id"]), str(d["product_id"]), float(stars), int(d.get("timestamp") or 0),
                          start_order + n, d.get("title") or "", d.get("text") or ""))
    return out


def _old_data(settings: Settings, meta: dict) -> RatingData:
    source = meta.get("data", {}).get("source")
    if source == "catalog":
        store = open_store(settings)
        if store is None:
            raise FileNotFoundError(f"{meta['version']} was trained on the catalog, and there is none at {settings.catalog_db}")
        return read_catalog(store)
    if not source:
        raise ValueError(f"version {meta['version']} does not record its training data source; retrain it")
    return read_dataset(Path(source))


def old_test_rmse(model, data: RatingData, train_idx: list[int]) -> float:
    bias = BiasModel(*model.info.get("reg", (5.0, 5.0))).fit((data.ratings[k].user, data.ratings[k].item, data.ratings[k].stars) for k in train_idx)
    model.mu = bias.mu
    ex = make_examples(data, data.test)
    return rmse(predict_features(model, featurize(model, bias, ex)), [e.stars for e in ex])


def update(settings: Settings, events: Path, replay: float = 1.0, epochs: int | None = None, seed: int = 0,
           old_data: RatingData | None = None, make_current: bool = True) -> dict:
    """Train a child of the current version on ``events`` + replayed old data; returns its metadata.

    ``old_data``: the parent's training data when it is not re-readable from its recorded source.
    ``make_current=False``: save the child without serving it (``ranker.learn`` decides).
    """
    cur = versions.current_version(settings)
    if cur is None:
        raise VersionNotFound("no current ranker version to update: run `shopassist ranker train` first")
    meta = versions.read_metadata(cur)
    old = old_data if old_data is not None else _old_data(settings, meta)
    new = read_events(events, start_order=len(old.ratings))
    if not new:
        raise ValueError(f"{events}: no usable ratings or feedback events")
    n_old = len(old.ratings)
    ratings = old.ratings + new
    all_new = list(range(n_old, len(ratings)))
    # every 5th new rating is held out: early stopping then sees the new data too (old val alone
    # always prefers the parent), and the new-data RMSE before/after is out of sample
    new_val = all_new[4::5]
    new_idx = [k for k in all_new if k not in set(new_val)]
    data = RatingData(old.name + "+events", ratings, old.items, train=sorted(old.train + new_idx),
                      val=list(old.val) + new_val, test=list(old.test))

    parent = RatingModel.load(cur / "model", settings.device)
    parent.attach_cache(versions.root(settings) / "cache")
    before_old = old_test_rmse(parent, old, old.train)
    new_ex = make_examples(data, new_val or new_idx)
    bias_all = BiasModel(*parent.info.get("reg", (5.0, 5.0))).fit((data.ratings[k].user, data.ratings[k].item, data.ratings[k].stars) for k in data.train)
    parent.mu = bias_all.mu
    before_new = rmse(predict_features(parent, featurize(parent, bias_all, new_ex)), [e.stars for e in new_ex])

    rng = np.random.default_rng(seed)
    k = min(len(old.train), int(round(replay * len(new_idx))))
    replayed = sorted(rng.choice(old.train, k, replace=False).tolist()) if k else []
    known = {f.name for f in fields(TrainConfig)}  # a version's config also records how it ran ("processes")
    was = {k: v for k, v in meta.get("config", {}).items() if k in known}
    cfg = TrainConfig(**{**was, "epochs": epochs or 3, "max_examples": None, "text_only_examples": 0,
                         "sentiment_examples": 0, "dp_epsilon": None, "train_layers": 0, "seed": seed})
    res = train(data, settings, cfg, source=meta["data"].get("source", ""), parent_model=cur / "model", replay=new_idx + replayed,
                make_current=False)
    after_old = old_test_rmse(res.model, old, old.train)
    res.model.mu = bias_all.mu
    after_new = rmse(predict_features(res.model, featurize(res.model, bias_all, new_ex)), [e.stars for e in new_ex])
    res.metadata.update(
        parent=cur.name,
        continual={"events": str(events), "new_ratings": len(all_new), "new_train": len(new_idx), "new_heldout": len(new_val),
                   "replayed": len(replayed),
                   "old_test_rmse_before": before_old, "old_test_rmse_after": after_old,
                   "new_rmse_before": before_new, "new_rmse_after": after_new},
    )
    versions.write_metadata(res.version, **{k: v for k, v in res.metadata.items() if k not in ("version", "created")})
    if make_current:
        versions.use_version(settings, res.version.name)
    log.info("update %s -> %s: old test %.4f -> %.4f, new %.4f -> %.4f", cur.name, res.version.name, before_old, after_old, before_new, after_new)
    return versions.read_metadata(res.version)
