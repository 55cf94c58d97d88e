"""Fusion tuning on Chorus/Icecat through the full search path (``Catalog.search``): how BM25 and
dense are combined (score normalisation, raw cosine, dense re-ranking, weighted RRF) and with which
weight / RRF k. NDCG@10 mean over the judged queries (unjudged products count as 0).

Produced the "Fusion tuning" block of BENCHMARKS.md, "Retrieval benchmarks" > "Tuning log"
(Icecat 19,406 products, 100 queries, parse on). Each grid is one of the original harnesses:

    --grid methods    each method alone, parse on/off, normalized and RRF  (was fusetune.py;
                      collapse on, the search default then)
    --grid fusions    collapse off: min-max, bm25/max + raw cosine, dense re-ranks BM25
                      candidates only, a few RRF cells                      (was fusetune2.py)
    --grid rrf        the weighted-RRF plateau (share w, k)                  (was fusetune3.py)

The catalog must already hold the Icecat products with their vectors; the first
``shopassist eval retrieval`` run ingests them. Commands (from the repo root; BENCHMARKS.md's
runs used ``--data-dir /tmp/rt/icecat``):

    shopassist --data-dir DIR eval retrieval --dataset ../shared/datasets/chorus_icecat_product_search_judgments_135q
    .venv/bin/python benchmarks/studies/fusion_tuning.py --data-dir DIR --grid fusions
    .venv/bin/python benchmarks/studies/fusion_tuning.py --data-dir DIR --grid rrf

Tiny smoke run: any small ingested data dir and ``--limit-queries 5``.

Adapted to the current code: none needed for the search path (``Catalog.search(method=,
collapse=)``, ``Catalog._fuse(method, bm, dense)`` and ``Catalog.fusion`` are unchanged);
``normalized_fusion`` is imported from ``retrieval.fusion`` (it used to be reached through
``retrieval.search``). The grids change ``Catalog.fusion`` in place, one cell after another, as the
originals did: a cell's RRF k is kept by the next cell that does not set it.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import _common
import numpy as np

_common.repo_on_path()
from retrieval.evaluate import ndcg_at_k
from retrieval.fusion import normalized_fusion
from retrieval.query import StructuredQuery
from retrieval.search import open_catalog
from shopassist.settings import Settings


class Study:
    def __init__(self, data_dir: Path, ds: Path, limit_queries: int | None):
        self.queries, self.judgments = _common.judged_queries(ds, limit_queries)
        self.c = open_catalog(Settings(data_dir=data_dir))

    def ndcg(self, query, method, collapse=True):
        hits = self.c.search(query, k=10, method=method, collapse=collapse)
        return ndcg_at_k([h.product.id for h in hits], self.judgments[query if isinstance(query, str) else query.text], 10)

    def run(self, name, method, w=None, k=None, parse=True, cands=None):
        """fusetune.py: the catalog's own fusion, collapse on."""
        c = self.c
        if w is not None:
            c.fusion.weight_bm25 = w
        if k is not None:
            c.fusion.rrf_k = k
        if cands:
            c.fusion.candidates = cands
        sc = [self.ndcg(q if parse else StructuredQuery(text=q), method) for q in self.queries]
        print(f"{name:40s} {np.mean(sc):.4f}", flush=True)
        return float(np.mean(sc))

    def run_fuse(self, name, fuse):
        """fusetune2.py: replace the 'normalized' fusion by ``fuse(bm, dense)``, collapse off."""
        c = self.c
        orig = c._fuse
        c._fuse = lambda m, bm, de: fuse(bm, de) if m == "normalized" else orig(m, bm, de)
        try:
            sc = [self.ndcg(q, "normalized", collapse=False) for q in self.queries]
        finally:
            del c._fuse  # back to the class method
        print(f"{name:40s} {np.mean(sc):.4f}", flush=True)

    def run_rrf(self, w, k):
        self.c.fusion.weight_bm25, self.c.fusion.rrf_k = w, k
        sc = [self.ndcg(q, "rrf", collapse=False) for q in self.queries]
        print(f"rrf w={w} k={k}", round(float(np.mean(sc)), 4), flush=True)


def raw(w):
    """bm25/max + raw (clipped) cosine"""
    def f(bm, de):
        top = max(bm.values(), default=0) or 1
        return {r: w * bm.get(r, 0) / top + (1 - w) * max(0, de.get(r, 0)) for r in set(bm) | set(de)}
    return f


def rerank_only(w):
    """dense only re-scores products BM25 matched"""
    def f(bm, de):
        top = max(bm.values(), default=0)
        if top <= 0:
            return {r: max(0, s) for r, s in de.items()}
        keys = [r for r in bm if bm[r] > 0]
        return {r: w * bm[r] / top + (1 - w) * max(0, de.get(r, 0)) for r in keys}
    return f


def grid_methods(st: Study):
    t = time.time()
    st.run("bm25", "bm25")
    print("t", round(time.time() - t, 1), flush=True)
    st.run("dense", "dense")
    st.run("bm25 noparse", "bm25", parse=False)
    st.run("dense noparse", "dense", parse=False)
    for w in (0.5, 0.6, 0.7, 0.8):
        st.run(f"normalized w={w}", "normalized", w=w)
    for w, k in ((0.5, 60), (0.6, 60), (0.7, 60), (0.7, 20)):
        st.run(f"rrf w={w} k={k}", "rrf", w=w, k=k)


def grid_fusions(st: Study):
    c = st.c
    for m in ("bm25", "dense"):
        sc = [st.ndcg(q, m, collapse=False) for q in st.queries]
        print(m, round(float(np.mean(sc)), 4), flush=True)
    for w in (0.5, 0.7, 0.8, 0.9):
        c.fusion.weight_bm25 = w
        st.run_fuse(f"minmax w={w}", lambda bm, de: normalized_fusion(bm, de, c.fusion.weight_bm25))
    for w in (0.5, 0.6, 0.7, 0.8):
        st.run_fuse(f"raw cos w={w}", raw(w))
    for w in (0.5, 0.6, 0.7):
        st.run_fuse(f"rerank-only raw w={w}", rerank_only(w))
    for w, k in ((0.7, 20), (0.8, 20), (0.8, 60)):
        st.run_rrf(w, k)


def grid_rrf(st: Study):
    for w, k in ((0.6, 20), (0.65, 20), (0.75, 20), (0.7, 10), (0.7, 40), (0.65, 40), (0.6, 60), (0.5, 20)):
        st.run_rrf(w, k)


GRIDS = {"methods": grid_methods, "fusions": grid_fusions, "rrf": grid_rrf}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, required=True, help="an ingested Icecat catalog (products + vectors)")
    ap.add_argument("--grid", choices=sorted(GRIDS), default="rrf", help="which tuning grid (see above)")
    ap.add_argument("--dataset", type=Path, default=_common.dataset(), help="Chorus/Icecat judgments folder (default: %(default)s)")
    ap.add_argument("--limit-queries", type=int, default=None, help="only the first N judged queries (smoke runs)")
    a = ap.parse_args(argv)
    st = Study(a.data_dir, a.dataset, a.limit_queries)
    print(f"{st.c.store.count()} products, {len(st.queries)} queries", flush=True)
    GRIDS[a.grid](st)


if __name__ == "__main__":
    main()
