"""Judged-only vs whole-catalog NDCG@10 for fusion variants on Chorus/Icecat (100 queries), all
through the same search path (``Catalog.search`` with its fusion step replaced).

Per variant it reports NDCG@10 on the whole catalog (unjudged = 0), judged-only re-ranking
(``only_ids`` = the query's judged products), condensed NDCG@10 (unjudged products dropped from
the variant's own ranking) and unjudged@10. Per-query scores go to ``--out`` so variants can be
compared paired: ``--compare FILE`` prints the paired bootstrap 95% interval of each variant's
difference to the current hybrid, without a catalog.

Produced the table in BENCHMARKS.md, "Retrieval benchmarks" > "The judged-only gap (hybrid 0.725
< dense 0.782): fusion variants tried (item 4)". Commands (from the repo root; the measured runs
used ``--data-dir /tmp/rtr/icecat``, an ingested copy of the Icecat catalog; the first
``shopassist --data-dir DIR eval retrieval --dataset ...`` run ingests one):

    .venv/bin/python benchmarks/studies/fusion_study.py --data-dir DIR --out fusion_study.json
    .venv/bin/python benchmarks/studies/fusion_study.py --compare fusion_study.json

``--variant`` (repeatable) keeps only variants whose name contains the text, e.g.
``--variant current --variant weak``. Tiny smoke run: a small ingested data dir,
``--variant current --limit-queries 3``.

Adapted to the current code: nothing in the search path (``Catalog._fuse``, ``Catalog.bm25()
.scores``, ``search(only_ids=)``, ``retrieval.search.tokenize`` are unchanged). Added here: the
``--compare`` bootstrap (10,000 paired resamples of the queries, seed 0, percentile interval). The
original computed the intervals outside the script; run on the saved per-query scores of the
measured run, this one reproduces BENCHMARKS.md's intervals to within 0.003 (resampling noise).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import _common
import numpy as np

_common.repo_on_path()
import retrieval.search as S
from retrieval.evaluate import ndcg_at_k

CURRENT = "rrf 0.7/40 (current)"


def make_variants(c, cur):
    """The fusion variants, as functions (bm25 scores, dense scores) -> fused scores per row."""
    def coverage(rows):
        """distinct query tokens matched by each row / distinct query tokens (BM25 postings)."""
        index = c.bm25()
        toks = list(dict.fromkeys(cur["tokens"]))
        if not toks:
            return {r: 0.0 for r in rows}
        rows = list(rows)
        m = np.zeros(len(rows))
        for t in toks:
            s = index.scores([t])
            m += (s[rows] > 0)
        return {r: float(v) / len(toks) for r, v in zip(rows, m)}

    orig = type(c)._fuse.__get__(c)

    def rrf_w(w, k=40.0):
        def f(bm, de):
            c.fusion.weight_bm25, c.fusion.rrf_k = w, k
            return orig("rrf", bm, de)
        return f

    def tier(secondary):
        """order by query-word coverage first, then by the secondary fusion"""
        def f(bm, de):
            base = secondary(bm, de)
            cov = coverage(base)
            return {r: (round(cov[r], 6), v) for r, v in base.items()}
        return f

    def dense_only(bm, de):
        return {r: max(0.0, s) for r, s in de.items()}

    def dense_in_bm25_pool(bm, de):
        pool = [r for r in bm if bm[r] > 0]
        if not pool:
            return dense_only(bm, de)
        return {r: de.get(r, 0.0) for r in pool}

    def page_reorder(page, inner):
        """rrf 0.7/40 decides which products make the first page; `inner` orders them within it"""
        def f(bm, de):
            outer = rrf_w(0.7)(bm, de)
            order = sorted(outer, key=lambda r: -outer[r])
            head = order[:page]
            inn = inner({r: bm[r] for r in head if r in bm}, {r: de[r] for r in head if r in de})
            head = sorted(head, key=lambda r: -inn.get(r, -1e9))
            return {r: 1.0 - i / (len(order) + 1) for i, r in enumerate(head + order[page:])}
        return f

    def weak_bm25(bm, de):
        """BM25's RRF share scaled by how much of the query its best match covers"""
        pos = [r for r in bm if bm[r] > 0]
        if not pos:
            return rrf_w(0.7)(bm, de)
        cov = coverage(pos)
        best = max(pos, key=lambda r: bm[r])
        return rrf_w(0.7 * max(cov[best], 0.5) if cov[best] < 1 else 0.7)(bm, de)

    def bm25_only(bm, de):
        top = max(bm.values(), default=0.0) or 1.0
        return {r: v / top for r, v in bm.items() if v > 0}

    return {
        "weak bm25 match: share 0.7 x coverage of best": weak_bm25,
        "bm25": bm25_only,
        "dense": dense_only,
        "page 10: rrf 0.7 picks, dense orders": page_reorder(10, dense_only),
        "page 10: rrf 0.7 picks, rrf 0.5 orders": page_reorder(10, rrf_w(0.5)),
        "page 20: rrf 0.7 picks, dense orders": page_reorder(20, dense_only),
        CURRENT: rrf_w(0.7),
        "rrf 0.5/40": rrf_w(0.5),
        "coverage tier, then rrf 0.7/40": tier(rrf_w(0.7)),
        "coverage tier, then dense": tier(dense_only),
        "coverage tier, then rrf 0.5/40": tier(rrf_w(0.5)),
        "dense re-ranks bm25 pool": dense_in_bm25_pool,
    }


def measure(a) -> dict:
    from retrieval.search import open_catalog
    from shopassist.settings import Settings

    queries, J = _common.judged_queries(a.dataset, a.limit_queries)
    c = open_catalog(Settings(data_dir=a.data_dir))
    cur = {}
    _tok = S.tokenize

    def tok(text):  # remember the query's tokens for the coverage variants
        t = _tok(text)
        cur["tokens"] = t
        return t

    S.tokenize = tok
    out = {}
    try:
        for name, fuse in make_variants(c, cur).items():
            if a.variant and not any(o in name for o in a.variant):
                continue

            def patched(method, bm, de, fuse=fuse):
                res = fuse(bm, de)
                # tuples (tier, score) -> a sortable float that keeps the order (search sorts by -value)
                if res and isinstance(next(iter(res.values())), tuple):
                    order = sorted(res, key=lambda r: res[r], reverse=True)
                    return {r: 1.0 - i / (len(order) + 1) for i, r in enumerate(order)}
                return res

            c._fuse = patched
            t = time.time()
            whole, judged, unj, condensed = [], [], [], []
            for q in queries:
                hits = c.search(q, k=100, method="rrf", collapse=False)
                ranked = [h.product.id for h in hits]
                whole.append(ndcg_at_k(ranked, J[q], 10))
                unj.append(sum(d not in J[q] for d in ranked[:10]))
                condensed.append(ndcg_at_k([d for d in ranked if d in J[q]], J[q], 10))
                hits = c.search(q, k=len(J[q]), method="rrf", only_ids=list(J[q]), collapse=False)
                judged.append(ndcg_at_k([h.product.id for h in hits], J[q], 10))
            out[name] = {"whole": whole, "judged": judged, "unjudged10": unj, "condensed": condensed}
            print(f"{name:36s} whole {np.mean(whole):.4f}  judged-only {np.mean(judged):.4f}  condensed "
                  f"{np.mean(condensed):.4f}  unjudged@10 {np.mean(unj):.2f}  ({time.time() - t:.0f}s)", flush=True)
    finally:
        S.tokenize = _tok
        c.__dict__.pop("_fuse", None)
    return out


def compare(paths: list[Path], n: int = 10000, seed: int = 0) -> None:
    """Paired bootstrap 95% interval of (variant - current) per metric, from saved per-query scores."""
    data = {}
    for p in paths:
        data.update(json.loads(Path(p).read_text()))
    if CURRENT not in data:
        raise SystemExit(f"{CURRENT!r} is not in {', '.join(map(str, paths))}: measure it too (--variant current)")
    base = data[CURRENT]
    rng = np.random.default_rng(seed)
    for name, v in data.items():
        parts = []
        for m in ("whole", "judged", "condensed"):
            if m not in v or m not in base:
                continue
            d = np.asarray(v[m]) - np.asarray(base[m])
            boot = d[rng.integers(0, len(d), (n, len(d)))].mean(axis=1)
            parts.append(f"{m} {np.mean(v[m]):.3f} ({d.mean():+.3f} [{np.percentile(boot, 2.5):+.3f}, {np.percentile(boot, 97.5):+.3f}])")
        if "unjudged10" in v:
            parts.append(f"unjudged@10 {np.mean(v['unjudged10']):.2f}")
        print(f"{name:46s} " + "  ".join(parts))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, help="an ingested Icecat catalog (products + vectors)")
    ap.add_argument("--dataset", type=Path, default=_common.dataset(), help="Chorus/Icecat judgments folder (default: %(default)s)")
    ap.add_argument("--variant", action="append", default=[], help="only variants whose name contains this (repeatable)")
    ap.add_argument("--limit-queries", type=int, default=None, help="only the first N judged queries (smoke runs)")
    ap.add_argument("--out", type=Path, help="write per-query scores (JSON) here")
    ap.add_argument("--compare", type=Path, nargs="+", metavar="FILE",
                    help="no measuring: paired bootstrap intervals vs the current hybrid from saved --out files")
    a = ap.parse_args(argv)
    if a.compare:
        compare(a.compare)
        return
    if not a.data_dir:
        ap.error("--data-dir is required unless --compare is given")
    out = measure(a)
    if a.out:
        a.out.write_text(json.dumps(out))


if __name__ == "__main__":
    main()
