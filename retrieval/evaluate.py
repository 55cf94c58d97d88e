"""Retrieval evaluation: NDCG@10, Recall@10/100, MRR and latency of BM25, dense and hybrid,
side by side, through the same ``Catalog.search`` the assistant calls.

Metric math is pure (lists and dicts in, floats out), with the formula in each docstring;
``tests/retrieval/test_evaluate.py`` checks NDCG against ``sklearn.metrics.ndcg_score``.

Dataset layout (the Chorus/Icecat folder): ``products.jsonl.gz`` (any format ``ingest`` reads),
``judgments.jsonl.gz`` (``{query, docid, rating}``, graded 0-3) and ``queries.txt``.
Unjudged products count as 0 (the standard, strict choice; the judgments are pooled from a
lexical engine, so this favours BM25). Two views remove that pooling bias: the condensed NDCG
(each method's own whole-catalog ranking with unjudged products dropped) and a second pass that
re-ranks only the judged products of each query; ``unjudged@10`` says how many of a method's
first ten results nobody judged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from shopassist.jsonl import read_jsonl
from shopassist.ranking import cap_brands
from shopassist.ranking import dcg as dcg_at_k  # noqa: F401  (the formula's one home; the ranker scores with it too)
from shopassist.ranking import ndcg as ndcg_at_k
from shopassist.settings import Settings

log = logging.getLogger(__name__)

RELEVANT = 2  # grade >= 2 ("relevant" or "highly relevant") counts as a hit for Recall and MRR
# name -> (fusion method, collapse variants); None = the catalog's configured fusion.
# The three headline methods rank without collapsing colour/size variants (each variant is judged
# on its own in the pooled labels); "hybrid_collapsed" is the assistant's default view.
METHODS = {
    "bm25": ("bm25", False),
    "dense": ("dense", False),
    "hybrid": (None, False),
    "hybrid_collapsed": (None, True),
}


def condensed_ndcg_at_k(ranked: Sequence[str], judgments: Mapping[str, float], k: int = 10) -> float:
    """NDCG@k of the ranking with the unjudged products removed ("condensed list", Sakai 2007):
    each method still retrieves from the whole catalog, but a product nobody judged neither
    counts as a miss nor takes a rank. The usual remedy when judgments were pooled from some
    systems (here a lexical engine) and another system (dense) finds products outside the pool.

    Worked example: judgments {a: 3, b: 2}, ranking [x, b, y, a] -> condensed [b, a]:
    DCG = 2 + 3/1.585 = 3.893; ideal 3 + 2/1.585 = 4.262; NDCG = 0.913.

    >>> round(condensed_ndcg_at_k(["x", "b", "y", "a"], {"a": 3, "b": 2}, k=10), 3)
    0.913
    """
    return ndcg_at_k([d for d in ranked if d in judgments], judgments, k)


def recall_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """|relevant in top k| / |relevant|; 0 when nothing is relevant.

    >>> recall_at_k(["a", "x", "b"], {"a", "b", "c", "d"}, 2)
    0.25
    """
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def reciprocal_rank(ranked: Sequence[str], relevant: set[str]) -> float:
    """1 / rank of the first relevant result (0 if none): MRR is its mean over queries.

    >>> reciprocal_rank(["x", "y", "a"], {"a"})
    0.3333333333333333
    """
    for i, d in enumerate(ranked, 1):
        if d in relevant:
            return 1.0 / i
    return 0.0


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (linear interpolation), 0 for no values.

    >>> percentile([1, 2, 3, 4], 50)
    2.5
    """
    return float(np.percentile(values, p)) if len(values) else 0.0


# -- dataset --------------------------------------------------------------------------------------
def load_judgments(dataset: Path) -> tuple[list[str], dict[str, dict[str, float]]]:
    """``(queries, {query: {docid: grade}})``; queries from queries.txt (else the judgments)."""
    judgments: dict[str, dict[str, float]] = {}
    path = dataset / "judgments.jsonl.gz"
    if not path.exists():
        path = dataset / "judgments.jsonl"
    for j in read_jsonl(path):
        judgments.setdefault(j["query"], {})[str(j["docid"])] = float(j["rating"])
    qfile = dataset / "queries.txt"
    queries = [q.strip() for q in qfile.read_text().splitlines() if q.strip()] if qfile.exists() else list(judgments)
    return queries, judgments


def _products_file(dataset: Path) -> Path:
    for name in ("products.jsonl.gz", "products.jsonl", "products.csv"):
        if (dataset / name).exists():
            return dataset / name
    raise FileNotFoundError(f"{dataset} has no products.jsonl(.gz)")


def ensure_ingested(settings: Settings, dataset: Path, progress: bool = False) -> dict | None:
    """Ingest the dataset's products unless this exact file (path, size, mtime) already was.

    The stamp is only a shortcut: ingest itself is idempotent, so a missing stamp costs a
    hash scan, never duplicates."""
    from retrieval.ingest import ingest
    from retrieval.store import CatalogStore

    products = _products_file(dataset).resolve()
    st = products.stat()
    stamp = f"{products}|{st.st_size}|{int(st.st_mtime)}"
    store = CatalogStore(settings.catalog_db)
    if store.get_meta("eval_ingested") == stamp and store.count() > 0:
        return None
    report = ingest(settings, products, progress=progress)
    store.set_meta("eval_ingested", stamp)
    return report.to_dict()


def evaluate(catalog, queries: list[str], judgments: dict[str, dict[str, float]],
             methods: Mapping[str, tuple[str | None, bool]] = METHODS,
             judged_only: bool = True, brand_cap: float = 0.0) -> dict:
    """Metrics per method over the queries that have at least one judgment.

    ``brand_cap`` > 0: each result list first passes ``shopassist.ranking.cap_brands`` over its top
    10 (the assistant's ``Settings.brand_cap``), so its NDCG@10 cost is measured here."""
    queries = [q for q in queries if q in judgments]
    for q in queries[:2]:  # warm-up: load the model and indexes outside the timed loop
        catalog.search(q, k=10)
    out: dict[str, dict] = {}
    for name, (method, collapse) in methods.items():
        catalog.clear_query_cache()  # each method pays its own query embedding in the latency
        rows = {"ndcg@10": [], "recall@10": [], "recall@100": [], "mrr": [], "ndcg@10_condensed": [],
                "unjudged@10": []}
        lat = []
        for q in queries:
            j = judgments[q]
            rel = {d for d, g in j.items() if g >= RELEVANT}
            t = time.perf_counter()
            hits = catalog.search(q, k=100, method=method, collapse=collapse)
            lat.append((time.perf_counter() - t) * 1000)
            ranked = [h.product.id for h in hits]
            if brand_cap:
                ranked = cap_brands(ranked, {h.product.id: (h.product.brand or "").casefold() or None for h in hits},
                                    brand_cap, 10)
            rows["ndcg@10"].append(ndcg_at_k(ranked, j, 10))
            rows["recall@10"].append(recall_at_k(ranked, rel, 10))
            rows["recall@100"].append(recall_at_k(ranked, rel, 100))
            rows["mrr"].append(reciprocal_rank(ranked, rel))
            rows["ndcg@10_condensed"].append(condensed_ndcg_at_k(ranked, j, 10))
            rows["unjudged@10"].append(sum(d not in j for d in ranked[:10]))
        res = {m: round(float(np.mean(v)), 4) for m, v in rows.items()}
        res["p50_ms"] = round(percentile(lat, 50), 1)
        res["p95_ms"] = round(percentile(lat, 95), 1)
        if judged_only and not collapse:
            scores = []
            for q in queries:
                hits = catalog.search(q, k=len(judgments[q]), method=method, only_ids=list(judgments[q]), collapse=False)
                ranked = [h.product.id for h in hits]
                scores.append(ndcg_at_k(ranked, judgments[q], 10))
            res["ndcg@10_judged_only"] = round(float(np.mean(scores)), 4)
        out[name] = res
        log.info("%s: %s", name, res)
    return out


def evaluate_dataset(settings: Settings, dataset: Path, limit: int | None = None, verbose: bool = True,
                     brand_cap: float = 0.0) -> dict:
    """Ingest (if needed) and evaluate a judged dataset folder; the CLI's ``eval retrieval``."""
    from retrieval.search import open_catalog

    dataset = Path(dataset)
    queries, judgments = load_judgments(dataset)
    if limit:
        queries = queries[:limit]
    t = time.perf_counter()
    report = ensure_ingested(settings, dataset, progress=verbose)
    ingest_s = time.perf_counter() - t
    catalog = open_catalog(settings)
    methods = evaluate(catalog, queries, judgments, brand_cap=brand_cap)
    result = {
        "brand_cap": brand_cap,
        "dataset": dataset.name,
        "queries": len([q for q in queries if q in judgments]),
        "methods": methods,
        "products": catalog.store.count(),
        "fusion": {"method": catalog.fusion.method, "weight_bm25": catalog.fusion.weight_bm25},
        "relevant_grade": RELEVANT,
        "unjudged": "counted as 0",
        "ingest_s": round(ingest_s, 1),
        "ingested": report is not None,
    }
    if verbose:
        for name, m in methods.items():
            print(f"{name:>7}: " + "  ".join(f"{k} {v}" for k, v in m.items()))
    return result
