"""Cost of a catalog change for search: ingest N changed products (half price-only, half with a new
title, which re-embeds them) into an existing catalog, then time the BM25 index and the dense matrix
catching up and the first filtered search. Prints one JSON line.

Produced the "before (full rebuild)" / "after (delta of 500 rows)" table in BENCHMARKS.md,
"Retrieval benchmarks" > "Catalog changes at 100k: a BM25 delta instead of a rebuild (item 3)",
run on a copy of the 100k scaled Icecat catalog (``shopassist bench search --products 100000
--workdir W`` builds one; the measured copies were /tmp/rtr/c100k_old and /tmp/rtr/c100k_new).
**It edits the catalog it is given: run it on a copy.** Commands (from the repo root):

    # after (this code)
    .venv/bin/python benchmarks/studies/change_bench.py COPY_OF_100K_DATA_DIR 1000
    # before (full BM25 rebuild on every change): the last commit before the delta, f492ae6^
    # (5c17f87; the measured old tree was c3e75d9's retrieval/, whose search path is the same)
    git worktree add /tmp/shopassist-before f492ae6^
    PYTHONPATH=/tmp/shopassist-before .venv/bin/python benchmarks/studies/change_bench.py OTHER_COPY 1000

(the repo root is appended to ``sys.path``, so ``PYTHONPATH`` decides which code is measured.)
The changed rows are written to ``--change-file`` (default ``<data dir>/../change-N.jsonl``, as the
original did). Tiny smoke run: a copy of a small ingested data dir and N = 10.

Adapted to the current code: none needed (``Catalog.bm25()/matrix()``, ``CatalogStore.all_ids/
get_many/count``, ``ingest(embedder=)`` and ``retrieval.bench.peak_rss_mb`` exist in both the old
and the current code; ``delta_rows`` is null with the old code, which has no delta).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

import _common

_common.repo_on_path()
from retrieval.bench import peak_rss_mb
from retrieval.ingest import ingest
from retrieval.models import load_embedder
from retrieval.query import StructuredQuery
from retrieval.search import open_catalog
from shopassist.settings import Settings


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data_dir", type=Path, help="an ingested catalog (a copy: it is edited)")
    ap.add_argument("n_change", type=int, help="products to change (half price-only, half new titles)")
    ap.add_argument("--change-file", type=Path, help="where the changed rows are written (default: <data dir>/../change-N.jsonl)")
    ap.add_argument("--seed", type=int, default=0, help="which products are picked (default %(default)s, as measured)")
    a = ap.parse_args(argv)
    data, n_change = a.data_dir, a.n_change
    s = Settings(data_dir=data)
    model = load_embedder()
    cat = open_catalog(s, embedder=model)
    out = {"products": cat.store.count(), "load_average_1m_start": os.getloadavg()[0]}
    t = time.perf_counter(); cat.bm25(); out["bm25_open_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter(); cat.matrix(); out["matrix_open_s"] = round(time.perf_counter() - t, 2)
    q = StructuredQuery(text="laser printer", price_max=200.0)
    cat.search(q, k=10)
    ids = cat.store.all_ids()
    pick = random.Random(a.seed).sample(ids, n_change)
    prods = cat.store.get_many(pick)
    for i, p in enumerate(prods):
        if i % 2 == 0:
            p.price = round((p.price or 10.0) * 1.1, 2)
        else:
            p.title = p.title + " (2025 edition)"
    src = a.change_file or data.parent / f"change-{n_change}.jsonl"
    src.write_text("".join(json.dumps(p.to_dict()) + "\n" for p in prods))
    t = time.perf_counter(); r = ingest(s, src, progress=False, embedder=model); out["ingest_change_s"] = round(time.perf_counter() - t, 2)
    out["updated"], out["embedded"] = r.updated, r.embedded
    t = time.perf_counter(); index = cat.bm25(); out["bm25_after_change_s"] = round(time.perf_counter() - t, 2)
    out["delta_rows"] = getattr(index, "delta_size", None)
    t = time.perf_counter(); cat.matrix(); out["matrix_after_change_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter(); cat.search(q, k=10); out["first_search_after_change_ms"] = round((time.perf_counter() - t) * 1000, 1)
    edited = prods[1]
    hits = cat.search(edited.title, k=5, method="bm25")
    out["edited_product_found_by_new_title"] = edited.id in [h.product.id for h in hits]
    out["peak_rss_mb"] = peak_rss_mb()
    out["load_average_1m_end"] = os.getloadavg()[0]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
