"""What a brand cap on the result list costs in NDCG@10 on Icecat, and what it does to exposure.

A seeded subset keeps the run short on 2 cores: ``--queries`` judged queries (seed 0) and a catalog
of every product judged for them plus ``--distractors`` other Icecat products (seed 0), ingested
through the real ingest into ``--data-dir``. For each cap the hybrid search's top 100 pass
``shopassist.ranking.cap_brands`` over the top 10 (as ``retrieval.evaluate.evaluate`` does with
``brand_cap``, and the assistant with ``Settings.brand_cap``); per query NDCG@10, the largest brand
share of the top 10, and over all queries the Gini of product exposure in the top 10 (over the
subset catalog) and the brand exposure shares. The cost is the paired mean difference against no
cap with a 95 % bootstrap interval over queries (2,000 resamples, seed 0). Prints one JSON object.

Produced the "Fairness: brand cap and exposure" section of BENCHMARKS.md (issue 16). Command
(repo root):

    .venv/bin/python benchmarks/studies/brand_cap.py --data-dir /tmp/bcap --queries 40 --distractors 2000
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import time
from collections import Counter
from pathlib import Path

import numpy as np
from _common import repo_on_path

repo_on_path()
from retrieval.evaluate import ensure_ingested, load_judgments  # noqa: E402
from retrieval.search import open_catalog  # noqa: E402
from shopassist.ranking import cap_brands, ndcg  # noqa: E402
from shopassist.settings import Settings  # noqa: E402
from shopassist.stats import gini  # noqa: E402

ICECAT = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "chorus_icecat_product_search_judgments_135q"
CAPS = (0.0, 0.5, 0.3, 0.2)  # share of the top 10 one brand may fill: off, 5, 3, 2 places


def subset(folder: Path, n_queries: int, n_distractors: int, seed: int = 0) -> Path:
    """A judged folder (products, judgments, queries) for a seeded subset of the Icecat set."""
    queries, judgments = load_judgments(ICECAT)
    rng = random.Random(seed)
    picked = sorted(rng.sample([q for q in queries if q in judgments], n_queries))
    judged = {d for q in picked for d in judgments[q]}
    with gzip.open(ICECAT / "products.jsonl.gz", "rt") as f:
        rows = [json.loads(line) for line in f]
    others = [r for r in rows if str(r["id"]) not in judged]
    keep = [r for r in rows if str(r["id"]) in judged] + rng.sample(others, n_distractors)
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / "products.jsonl.gz", "wt") as f:
        f.writelines(json.dumps(r) + "\n" for r in keep)
    with gzip.open(folder / "judgments.jsonl.gz", "wt") as f:
        f.writelines(json.dumps({"query": q, "docid": d, "rating": g}) + "\n" for q in picked for d, g in judgments[q].items())
    (folder / "queries.txt").write_text("\n".join(picked) + "\n")
    return folder


def bootstrap(diff: np.ndarray, n: int = 2000, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), (n, len(diff)))].mean(1)
    return [round(float(np.percentile(means, 2.5)), 4), round(float(np.percentile(means, 97.5)), 4)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--distractors", type=int, default=2000)
    args = ap.parse_args()
    t0 = time.perf_counter()
    folder = subset(args.data_dir / "subset", args.queries, args.distractors)
    settings = Settings(data_dir=args.data_dir / "data")
    ensure_ingested(settings, folder)
    catalog = open_catalog(settings)
    queries, judgments = load_judgments(folder)
    n_products = catalog.store.count()
    hits = {q: catalog.search(q, k=100) for q in queries}
    out: dict = {"dataset": f"{ICECAT.name} subset: {len(queries)} queries (seed 0), {n_products} products "
                 f"(judged for them + {args.distractors} others, seed 0)", "method": "hybrid, top 100 re-ordered"}
    base = None
    for cap in CAPS:
        per_q, top_share, shown = [], [], Counter()
        brands_shown = Counter()
        for q in queries:
            brand_of = {h.product.id: (h.product.brand or "").casefold() or None for h in hits[q]}
            ranked = cap_brands([h.product.id for h in hits[q]], brand_of, cap, 10)
            per_q.append(ndcg(ranked, judgments[q], 10))
            top = ranked[:10]
            shown.update(top)
            brands_shown.update(brand_of[d] or "(none)" for d in top)
            counts = Counter(brand_of[d] for d in top if brand_of[d])
            top_share.append(max(counts.values()) / len(top) if counts else 0.0)
        arr = np.asarray(per_q)
        row = {"ndcg@10": round(float(arr.mean()), 4), "max_brand_share_top10_mean": round(float(np.mean(top_share)), 4),
               "gini_product_exposure_top10": round(gini([shown.get(p.id, 0) for p in catalog.store.iter_products()]), 4),
               "gini_brand_exposure_top10": round(gini(list(brands_shown.values())), 4),
               "top_brands_share": {b: round(n / sum(brands_shown.values()), 4) for b, n in brands_shown.most_common(5)}}
        if base is None:
            base = arr
        else:
            row["ndcg@10_cost"] = round(float((base - arr).mean()), 4)
            row["ndcg@10_cost_ci95"] = [-x for x in reversed(bootstrap(arr - base))]
        out[f"cap_{cap}"] = row
    out["seconds"] = round(time.perf_counter() - t0, 1)
    out["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
