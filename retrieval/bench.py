"""Benchmarks: ingest throughput against bare ``SentenceTransformer.encode``, and search latency
with and without filters on a catalog scaled up from the real Icecat items.

Scaling: the 19,406 Icecat products are replicated with new ids (``<id>-r<copy>``) and prices
perturbed by up to +-15% (seeded), so a 100k catalog has real text, brands and specs. A replica's
text is identical to its original's, so its vector is identical too: ``bench search`` memoises
embeddings by text (``MemoEmbedder``) and runs every other ingest step for real. Say so when
quoting the numbers.
"""

from __future__ import annotations

import json
import os
import random
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from retrieval.evaluate import percentile
from shopassist.jsonl import open_maybe_gzip
from shopassist.settings import Settings

ICECAT = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "chorus_icecat_product_search_judgments_135q"


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def scaled_rows(source: Path, n: int, seed: int = 0):
    """``n`` raw rows of ``source``, replicated with new ids and perturbed prices past its end.

    >>> rows = list(scaled_rows(ICECAT / "products.jsonl.gz", 3))  # doctest: +SKIP
    """
    rng = random.Random(seed)
    copy = 0
    made = 0
    while made < n:
        with open_maybe_gzip(source) as f:
            for line in f:
                d = json.loads(line)
                if copy:
                    d["id"] = f"{d['id']}-r{copy}"
                    if isinstance(d.get("price"), int | float):
                        d["price"] = type(d["price"])(d["price"] * rng.uniform(0.85, 1.15))
                yield d
                made += 1
                if made >= n:
                    return
        copy += 1


def _write(rows, path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for d in rows:
            f.write(json.dumps(d) + "\n")
    return path


class MemoEmbedder:
    """A SentenceTransformer whose vectors are memoised by text (replicas repeat texts)."""

    def __init__(self, model, memo: dict[str, np.ndarray] | None = None):
        self.model = model
        self.memo = memo or {}
        self.computed = 0

    def encode(self, texts, **kw):
        missing = list(dict.fromkeys(t for t in texts if t not in self.memo))
        if missing:
            vecs = self.model.encode(missing, **kw)
            self.memo.update(zip(missing, vecs))
            self.computed += len(missing)
        return np.stack([self.memo[t] for t in texts])


def bench_ingest(settings: Settings, n: int, source: Path | None = None, rounds: int = 3) -> dict:
    """Products/s of ``ingest`` vs bare ``encode`` of the same texts, same model, same run.

    Fair on a machine whose load drifts: ``rounds`` pairs of (bare encode, ingest into a fresh
    data dir), the order alternating (E I, I E, E I, ...), so a slow stretch hits both sides;
    the ratio is total products/s of ingest over total products/s of encode, with each round's
    ratio reported too, and the same ratio in process CPU seconds (all threads), which other
    processes' load disturbs less. Both sides get the same texts and ``embed_batch_size``; the
    model is loaded and warmed on all the texts before either is timed, and so is the
    ``chromadb`` module (a once-per-process import, like loading the model; opening the client
    and the collection is timed, in ingest).
    """
    from retrieval.ingest import dense_text, ingest
    from retrieval.models import load_embedder
    from retrieval.sources import read_source

    source = Path(source or ICECAT / "products.jsonl.gz")
    model = load_embedder(settings.embedding_model, settings.device)
    t = time.perf_counter()
    import chromadb  # noqa: F401  (warm import, see the docstring)

    import_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        src = _write(scaled_rows(source, n), Path(tmp) / "products.jsonl")
        texts = [dense_text(r.item) for r in read_source(src) if r.item is not None]
        # warm-up: one untimed pass over every text, so neither side pays first-call costs (kernel
        # selection for each new batch shape); with only 64 texts warmed, the first timed encode
        # ran ~25% slower than later ones and flattered whichever side came second
        model.encode(texts, batch_size=settings.embed_batch_size, normalize_embeddings=True, show_progress_bar=False)

        def run_encode() -> tuple[float, float]:
            t, c = time.perf_counter(), time.process_time()
            model.encode(texts, batch_size=settings.embed_batch_size, normalize_embeddings=True,
                         show_progress_bar=False)
            return time.perf_counter() - t, time.process_time() - c

        def run_ingest(i: int):
            s = settings.model_copy(update={"data_dir": Path(tmp) / f"data{i}", "chroma": "embedded"})
            t, c = time.perf_counter(), time.process_time()
            report = ingest(s, src, progress=False, embedder=model)
            return (time.perf_counter() - t, time.process_time() - c), report, s

        encode_s, ingest_s, per_round = [], [], []
        for i in range(rounds):
            if i % 2:
                ing = run_ingest(i)
                enc = run_encode()
            else:
                enc = run_encode()
                ing = run_ingest(i)
            encode_s.append(enc)
            ingest_s.append(ing[0])
            report, s = ing[1], ing[2]
            per_round.append(round((report.added / ing[0][0]) / (len(texts) / enc[0]), 3))
        t = time.perf_counter()
        rerun = ingest(s, src, progress=False, embedder=model)
        rerun_s = time.perf_counter() - t
    encode_rate = len(texts) * rounds / sum(w for w, _ in encode_s)
    ingest_rate = report.added * rounds / sum(w for w, _ in ingest_s)
    # CPU seconds of the whole process (all threads): less sensitive to other processes' load
    cpu_ratio = (report.added / sum(c for _, c in ingest_s)) / (len(texts) / sum(c for _, c in encode_s))
    return {
        "bench": "ingest",
        "products": n,
        "source": f"{source} (replicated with new ids and +-15% prices beyond its end)" if n > 19406 else str(source),
        "rounds": rounds,
        "encode_products_per_s": round(encode_rate, 1),
        "ingest_products_per_s": round(ingest_rate, 1),
        "ingest_vs_encode": round(ingest_rate / encode_rate, 3),
        "ingest_vs_encode_per_round": per_round,
        "ingest_vs_encode_cpu_time": round(cpu_ratio, 3),
        "rerun_unchanged_products_per_s": round(rerun.unchanged / rerun_s, 1),
        "added": report.added,
        "quarantined": report.quarantined,
        "chromadb_import_s": round(import_s, 2),
        "peak_rss_mb": peak_rss_mb(),
        "batch_size": settings.embed_batch_size,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


QUERY_FILTERS = [  # filters applied in the filtered runs, cycled over the queries
    {"price_max": 100.0},
    {"price_min": 20.0, "price_max": 200.0},
    {"exclude_brands": ["HP"]},
    {"brands": ["Samsung", "Sony", "Logitech"]},
    {"price_max": 50.0, "exclude_brands": ["Xerox"]},
]


def bench_search(settings: Settings, n: int, n_queries: int = 100, source: Path | None = None,
                 workdir: Path | None = None, change: float = 0.01) -> dict:
    """Search p50/p95 (ms) with and without filters on an ``n``-product scaled catalog; then a
    catalog change (``change`` of the products edited) and what it costs search to catch up."""
    from dataclasses import replace

    from retrieval.ingest import dense_text, ingest
    from retrieval.models import load_embedder
    from retrieval.search import open_catalog
    from retrieval.store import CatalogStore
    from retrieval.vectors import open_vectors

    source = Path(source or ICECAT / "products.jsonl.gz")
    queries = [q for q in (ICECAT / "queries.txt").read_text().splitlines() if q.strip()][:n_queries]
    model = load_embedder(settings.embedding_model, settings.device)
    memo = MemoEmbedder(model)
    # vectors already computed in settings.data_dir (e.g. by `eval retrieval`) seed the memo
    base = CatalogStore(settings.catalog_db)
    if base.count():
        vecs = open_vectors(settings)
        for chunk_start in range(0, base.count(), 5000):
            ps = list(base.get_many(base.all_ids()[chunk_start : chunk_start + 5000]))
            got = vecs.get([p.id for p in ps])
            memo.memo.update((dense_text(p), got[p.id]) for p in ps if p.id in got)
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="bench-search-"))
    work.mkdir(parents=True, exist_ok=True)
    s = settings.model_copy(update={"data_dir": work / "data", "chroma": "embedded"})
    src = work / f"scaled-{n}.jsonl"
    t = time.perf_counter()
    if not src.exists():
        _write(scaled_rows(source, n), src)
    report = ingest(s, src, progress=False, embedder=memo)
    build_s = time.perf_counter() - t
    catalog = open_catalog(s, embedder=model)
    t = time.perf_counter()
    catalog.bm25()
    bm25_s = time.perf_counter() - t
    t = time.perf_counter()
    catalog.matrix()
    matrix_s = time.perf_counter() - t
    # query embedding is timed on its own below; the search timings use warm query vectors,
    # so they measure the retrieval work (filters, BM25, dense, fusion, fetching products)
    lat = []
    for text in queries:
        t = time.perf_counter()
        catalog.embed(catalog.parse(text).text)
        lat.append((time.perf_counter() - t) * 1000)
    embed_p50, embed_p95 = percentile(lat, 50), percentile(lat, 95)
    out = {"bench": "search", "products": catalog.store.count(), "queries": len(queries),
           "scaled_from": f"{source.name}: replicas with new ids and +-15% prices; vectors memoised by text",
           "build_s": round(build_s, 1), "embedded_now": memo.computed, "ingest_added": report.added,
           "bm25_load_s": round(bm25_s, 2), "dense_matrix_load_s": round(matrix_s, 2)}
    for label, filtered in (("unfiltered", False), ("filtered", True)):
        lat = []
        for i, text in enumerate(queries):
            q = catalog.parse(text)
            if filtered:
                q = replace(q, **QUERY_FILTERS[i % len(QUERY_FILTERS)])
            t = time.perf_counter()
            catalog.search(q, k=10)
            lat.append((time.perf_counter() - t) * 1000)
        out[label] = {"p50_ms": round(percentile(lat, 50), 1), "p95_ms": round(percentile(lat, 95), 1)}
    out["query_embed_ms"] = {"p50_ms": round(embed_p50, 1), "p95_ms": round(embed_p95, 1)}
    if change > 0:
        out["after_change"] = _after_change(catalog, s, memo, max(2, int(catalog.store.count() * change)), work)
    out["peak_rss_mb"] = peak_rss_mb()
    out["load_average_1m"] = round(os.getloadavg()[0], 2)
    return out


def _after_change(catalog, settings: Settings, embedder, n: int, work: Path) -> dict:
    """Edit ``n`` products (every other one price-only, the rest a new title: those are
    re-embedded), ingest the edit, then time the BM25 index and the dense matrix catching up
    and the first filtered search after it."""
    from dataclasses import replace

    from retrieval.ingest import ingest

    products = catalog.store.get_many(random.Random(1).sample(catalog.store.all_ids(), n))
    for i, p in enumerate(products):
        if i % 2:
            p.title = f"{p.title} (2025 edition)"
        else:
            p.price = round((p.price or 10.0) * 1.1, 2)
    src = _write((p.to_dict() for p in products), work / f"change-{n}.jsonl")
    t = time.perf_counter()
    report = ingest(settings, src, progress=False, embedder=embedder)
    ingest_s = time.perf_counter() - t
    t = time.perf_counter()
    index = catalog.bm25()
    bm25_s = time.perf_counter() - t
    t = time.perf_counter()
    catalog.matrix()
    matrix_s = time.perf_counter() - t
    q = replace(catalog.parse("laser printer"), price_max=200.0)
    t = time.perf_counter()
    catalog.search(q, k=10)
    first_ms = (time.perf_counter() - t) * 1000
    return {"changed": n, "updated": report.updated, "embedded": report.embedded, "ingest_s": round(ingest_s, 2),
            "bm25_catch_up_s": round(bm25_s, 2), "bm25_delta_rows": index.delta_size,
            "dense_matrix_catch_up_s": round(matrix_s, 2), "first_filtered_search_ms": round(first_ms, 1)}
