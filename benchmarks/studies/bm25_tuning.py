"""BM25 tuning on Chorus/Icecat: field weights, k1 and b, with and without the query parser's brand
filter. NDCG@10 mean over the judged queries (unjudged products count as 0).

Produced the "BM25 tuning" block of BENCHMARKS.md, "Retrieval benchmarks" > "Tuning log"
(Icecat 19,406 products, 100 queries). Each grid is one of the original one-off harnesses:

    --grid fields     plain text vs field-weighted, weight vectors         (was bm25tune.py)
    --grid k1b        k1/b and weights around (4,2,2,1,1,1)                (was bm25tune2.py)
    --grid k1b-fine   k1 0.6-0.9, b 0.3-0.5: the plateau that was chosen   (was bm25tune3.py)

Commands (from the repo root; the three grids in BENCHMARKS.md):

    .venv/bin/python benchmarks/studies/bm25_tuning.py --grid fields
    .venv/bin/python benchmarks/studies/bm25_tuning.py --grid k1b
    .venv/bin/python benchmarks/studies/bm25_tuning.py --grid k1b-fine

Tiny smoke run: ``--limit-products 2000 --limit-queries 10`` (numbers meaningless).

It builds its own in-memory bm25s index per configuration from the products file (no data dir, no
embeddings), so it measures BM25 alone, not the full search path (that is ``fusion_tuning.py``).

Adapted to the current code: ``tokenize``, ``bm25_text`` and ``FIELD_WEIGHTS`` moved from
``retrieval.search`` to ``retrieval.bm25``; the weights are now set on ``retrieval.bm25`` (and
restored after each run). The old "weighted default" rows used the weights of that time,
(3,2,2,1,1,1); they are named explicitly here because today's default is the chosen (4,2,2,1,1,1).
The tokenizer and ``bm25_text`` are unchanged since the tuning commit bc543b5.
Re-run with this script and the current code (``--grid k1b-fine``, full data, 25 s): 0.6607,
0.6571, 0.6611, 0.6612, 0.6607 vs the logged 0.6598, 0.6565, 0.6603, 0.6635, 0.6605, i.e. within
0.0025 (the reader/parser changed a little since); the plateau and the chosen cell stand.
"""
from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import _common
import numpy as np

_common.repo_on_path()
from retrieval import bm25 as B
from retrieval.evaluate import ndcg_at_k
from retrieval.query import Vocabulary, parse_query
from retrieval.sources import read_source

FIELDS = ["title", "brand", "categories", "description", "features", "attributes"]

GRIDS = {
    # (weights, k1, b) run with the parser's brand filter on
    "k1b": [((4, 2, 2, 1, 1, 1), 1.2, 0.5), ((4, 2, 2, 1, 1, 1), 1.2, 0.9), ((4, 2, 2, 1, 1, 1), 1.5, 0.75),
            ((4, 2, 2, 1, 1, 1), 0.9, 0.75), ((5, 2, 2, 1, 1, 1), 1.2, 0.75), ((6, 2, 2, 1, 1, 2), 1.2, 0.75),
            ((4, 2, 2, 1, 1, 2), 1.2, 0.75), ((4, 1, 2, 1, 1, 1), 1.2, 0.75)],
    "k1b-fine": [((4, 2, 2, 1, 1, 1), 0.9, 0.5), ((4, 2, 2, 1, 1, 1), 0.9, 0.3), ((4, 2, 2, 1, 1, 1), 0.6, 0.5),
                 ((5, 2, 2, 1, 1, 1), 0.9, 0.5), ((3, 2, 2, 1, 1, 1), 0.9, 0.5)],
}
FIELDS_GRID_WEIGHTS = [(2, 1, 1, 1, 1, 1), (3, 2, 2, 1, 1, 0), (2, 2, 2, 1, 1, 0), (4, 2, 2, 1, 1, 1), (1, 1, 1, 1, 1, 1)]


class Study:
    def __init__(self, ds: Path, limit_products: int | None, limit_queries: int | None):
        recs = read_source(ds / "products.jsonl.gz")
        self.prods = [r.item for r in itertools.islice(recs, limit_products) if r.item is not None]
        self.queries, self.judgments = _common.judged_queries(ds, limit_queries)
        self.vocab = Vocabulary(brands=sorted({p.brand for p in self.prods if p.brand}))
        self.brand_of = np.array([(p.brand or "").lower() for p in self.prods])

    def run(self, name, textf, k1=1.2, b=0.75, use_parse=False, weights=None):
        import bm25s

        saved = B.FIELD_WEIGHTS
        if weights is not None:
            B.FIELD_WEIGHTS = dict(zip(FIELDS, weights))
        try:
            corpus = [textf(p) or ["_e_"] for p in self.prods]
        finally:
            B.FIELD_WEIGHTS = saved
        r = bm25s.BM25(k1=k1, b=b)
        r.index(corpus, show_progress=False)
        n = len(self.prods)
        sc = []
        for q in self.queries:
            qq = parse_query(q, self.vocab) if use_parse else None
            toks = [r.vocab_dict[t] for t in B.tokenize(q) if t in r.vocab_dict]
            s = r.get_scores_from_ids(toks) if toks else np.zeros(n)
            if qq and qq.brands:
                s = np.where(np.isin(self.brand_of, [x.lower() for x in qq.brands]), s + 1e-3, 0)
            top = np.argsort(-s)[:10]
            sc.append(ndcg_at_k([self.prods[i].id for i in top if s[i] > 0], self.judgments[q], 10))
        print(f"{name:40s} {np.mean(sc):.4f}", flush=True)
        return float(np.mean(sc))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grid", choices=["fields", "k1b", "k1b-fine"], default="fields", help="which tuning grid (see above)")
    ap.add_argument("--dataset", type=Path, default=_common.dataset(), help="Chorus/Icecat judgments folder (default: %(default)s)")
    ap.add_argument("--limit-products", type=int, default=None, help="index only the first N products (smoke runs)")
    ap.add_argument("--limit-queries", type=int, default=None, help="only the first N judged queries (smoke runs)")
    a = ap.parse_args(argv)
    st = Study(a.dataset, a.limit_products, a.limit_queries)
    print(f"{len(st.prods)} products, {len(st.queries)} queries", flush=True)
    if a.grid == "fields":
        def plain(p):
            return B.tokenize(" ".join([p.title, p.brand or "", p.description]))
        st.run("plain title+brand+desc", plain)
        st.run("plain + parse", plain, use_parse=True)
        st.run("weighted (3,2,2,1,1,1)", B.bm25_text, weights=(3, 2, 2, 1, 1, 1))
        st.run("weighted (3,2,2,1,1,1) + parse", B.bm25_text, use_parse=True, weights=(3, 2, 2, 1, 1, 1))
        for w in FIELDS_GRID_WEIGHTS:
            st.run(f"weights {w} + parse", B.bm25_text, use_parse=True, weights=w)
    else:
        for w, k1, b in GRIDS[a.grid]:
            st.run(f"{w} k1={k1} b={b}", B.bm25_text, k1=k1, b=b, use_parse=True, weights=w)


if __name__ == "__main__":
    main()
