"""Hybrid product search: hard filters in SQLite, then BM25 + dense, fused; superlatives over
the whole filtered catalog.

``open_catalog(settings)`` opens the store, the vector store and the BM25 index once;
``Catalog.search(query, k)`` is what the assistant, the CLI and the eval all call:

1. parse the text against the catalog vocabulary (unless a StructuredQuery is given);
2. hard filters (price, brand, category, rating, exclusions, colour) -> allowed rows, in SQLite;
3. BM25 (``retrieval.bm25``: field-weighted text, a ``bm25s`` base persisted in ``data_dir/bm25``
   plus a small delta of the products changed since, refreshed when the catalog version changes)
   scores the allowed rows; dense (MiniLM) retrieves from Chroma when
   unfiltered, or scores the allowed rows exactly from a cached matrix when filtered;
4. fuse (``retrieval.fusion``; method and weight in ``FUSION``, chosen by measurement);
5. collapse near-duplicate variants, optionally diversify with MMR;
6. a superlative ("cheapest") re-orders the *whole* filtered set of text matches, not the top k.

When the vector store is down (a Chroma server killed or stalled: ``VectorStoreDown``) a search
degrades to BM25 alone instead of failing: the catalog's ``vectors_outage`` records it (the
assistant tells the shopper, the console shows it: ``Catalog.health()``), the server is asked
again ``settings.chroma_retry_s`` later, and the first search that reaches it is hybrid again;
nothing is restarted. Once the filtered-search matrix is cached (``Catalog.matrix``) dense
scores need no server at all until the catalog changes.

Example::

    >>> cat = open_catalog(settings)                       # doctest: +SKIP
    >>> [h.product.title for h in cat.search("cheapest bluetooth speaker", k=3)]  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import numpy as np

from retrieval.bm25 import BM25Base, BM25Index, tokenize
from retrieval.catalog import Product
from retrieval.fusion import mmr, normalized_fusion, rrf, rrf_max
from retrieval.query import StructuredQuery, parse_query
from retrieval.store import CatalogStore
from retrieval.vectors import VectorStoreDown, open_vectors
from shopassist.outage import Outage
from shopassist.settings import Settings

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Hit:
    product: Product
    score: float  # fused relevance in [0, 1], higher is better
    bm25: float | None = None
    dense: float | None = None
    matched: list[str] = field(default_factory=list)  # query words found in the product's text


@dataclass(slots=True)
class FusionConfig:
    """How BM25 and dense are combined; the defaults are the measured best (BENCHMARKS.md)."""

    # weighted RRF beat score normalisation by 3-4 NDCG points on Icecat (BENCHMARKS.md):
    # MiniLM's cosines are too flat to add as scores, but its ranks still carry signal
    method: str = "rrf"  # "rrf" | "normalized" | "bm25" | "dense"
    # rrf: BM25's share of the total list weight (0.7 -> weights 1.4 : 0.6); normalized: BM25's weight
    weight_bm25: float = 0.7
    rrf_k: float = 40.0  # plateau 20..40 measured; 60 (the paper's default) was 0.01 lower
    candidates: int = 100  # taken from each side before fusion


FUSION = FusionConfig()
QUERY_CACHE = 2048  # query vectors kept (LRU): 2048 x 384 floats = 3 MB

# -- the catalog -------------------------------------------------------------------------------------
VARIANT_WORDS = re.compile(
    r"\b(black|white|silver|grey|gray|blue|red|green|pink|gold|rose gold|yellow|purple|orange|brown|beige|"
    r"xs|s|m|l|xl|xxl|small|medium|large|\d+(?:\.\d+)?\s?(?:gb|tb|mb|ml|l|oz|cm|mm|in|inch|\"))\b"
)


VARIANT_ATTRIBUTES = ("colour", "color", "size")


def variant_key(p: Product) -> str:
    """Products that differ only in colour/size/capacity share a key (collapsed in results):
    the common variant words, and the product's own colour/size attribute values, are dropped.

    >>> variant_key(Product(id="1", title="Acme Tee (Black, XL)", brand="Acme")) == \\
    ...     variant_key(Product(id="2", title="Acme Tee (White, M)", brand="Acme"))
    True
    >>> variant_key(Product(id="1", title="Acme Duo, Charcoal", brand="Acme", attributes={"colour": "Charcoal"})) == \\
    ...     variant_key(Product(id="2", title="Acme Duo, Sage", brand="Acme", attributes={"colour": "Sage"}))
    True
    """
    t = re.sub(r"[()\[\],/-]", " ", p.title.lower())
    for name in VARIANT_ATTRIBUTES:
        value = str(p.attributes.get(name) or "").lower().strip()
        if value:
            t = re.sub(rf"\b{re.escape(value)}\b", " ", t)
    t = VARIANT_WORDS.sub(" ", t)
    return f"{(p.brand or '').lower()}|{' '.join(t.split())}"


class Catalog:
    """Store + vectors + BM25, opened once; thread-safe for searching."""

    def __init__(self, settings: Settings, store: CatalogStore, vectors, embedder=None):
        self.settings = settings
        self.store = store
        self.vectors = vectors
        self._embedder = embedder
        self._lock = threading.Lock()
        self._bm25: tuple[int, BM25Index] | None = None
        self._matrix: tuple[BM25Index, np.ndarray] | None = None
        self._base_matrix: tuple[BM25Base, np.ndarray | None, np.ndarray] | None = None  # base, rows, filled
        self._qcache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._facets: tuple[int, dict] | None = None
        self.fusion = replace(FUSION)  # per catalog: the eval compares settings side by side
        self.vectors_outage = Outage(settings.chroma_retry_s)

    # -- the vector store's health ----------------------------------------------------------------
    def _ask_vectors(self, call, *args):
        """A vector-store call, skipped (``VectorStoreDown``) while an outage waits for its retry
        time; a failure starts or extends the outage, a success ends it."""
        outage = self.vectors_outage
        if not outage.available():
            raise VectorStoreDown(outage.error)
        try:
            out = call(*args)
        except VectorStoreDown as e:
            if not outage.down:
                log.warning("%s", e)
            outage.failed(str(e))
            raise
        if outage.down:
            log.warning("the vector store is back after %d failed calls: hybrid search again", outage.failures)
            outage.recovered()
        return out

    @property
    def dense_down(self) -> bool:
        """The last call to the vector store failed: searches are BM25 alone until it answers."""
        return self.vectors_outage.down

    def health(self) -> dict:
        """What the console shows: the search mode and the vector store's state.

        ``{"search": "hybrid" | "bm25 only", "vectors": {"state": "ok" | "down", ...}, "where": ...}``"""
        where = self.settings.chroma
        return {"search": "bm25 only" if self.dense_down else "hybrid", "vectors": self.vectors_outage.status(),
                "where": where}

    # -- components, (re)built when the catalog version changes ---------------------------------
    def bm25(self) -> BM25Index:
        """The BM25 index for the current catalog version. A catalog change costs a refresh
        (re-tokenize the changed products into the delta, ``retrieval.bm25``), not a rebuild;
        the base is rebuilt only when missing, of an older version, or outgrown by its delta."""
        version = self.store.version()
        if self._bm25 and self._bm25[0] == version:
            return self._bm25[1]
        with self._lock:
            if self._bm25 and self._bm25[0] == version:
                return self._bm25[1]
            path = self.settings.data_dir / "bm25"
            t = time.perf_counter()
            base = self._bm25[1].base if self._bm25 else None
            if base is None:
                try:
                    base = BM25Base.load(path)
                except (OSError, ValueError, KeyError, json.JSONDecodeError) as e:
                    log.warning("BM25 index at %s unreadable (%s): rebuilding", path, e)
            index = None
            if base is not None:
                index, hash_only = BM25Index(base).refresh(self.store)
                if index.stale():
                    index = None
                elif hash_only:
                    base.save_hashes(path)
            if index is None:
                index = BM25Index.build(self.store)
                if index.n_base:  # an empty catalog has nothing to save (and bm25s cannot save it)
                    index.base.save(path)
                log.info("built BM25 index over %d products in %.1fs", len(index.seqs), time.perf_counter() - t)
            else:
                log.info("BM25 index: %d changed products in the delta (%.2fs)", index.delta_size,
                         time.perf_counter() - t)
            self._bm25 = (version, index)
            return index

    def matrix(self) -> np.ndarray:
        """All vectors in BM25 row order (float32, normalised), for exact filtered dense search.

        Base rows are fetched from the vector store once per BM25 base; after a catalog change
        only delta rows (and base rows that came back to life) are fetched: a live base row has
        its build-time embedded text, so its vector. Dead rows hold stale vectors; every search
        path masks them out with ``index.live``."""
        index = self.bm25()
        if self._matrix and self._matrix[0] is index:
            return self._matrix[1]
        with self._lock:
            if self._matrix and self._matrix[0] is index:
                return self._matrix[1]
            nb = index.n_base
            cached = self._base_matrix
            if cached is None or cached[0] is not index.base:
                cached = (index.base, None, np.zeros(nb, dtype=bool))
            base, m_base, filled = cached
            need = np.flatnonzero(index.live[:nb] & ~filled)
            if len(need):
                got = self._fetch_rows(index, need, dim=m_base.shape[1] if m_base is not None else None)
                if m_base is None:
                    m_base = np.zeros((nb, got.shape[1]), dtype=np.float32)
                m_base[need] = got
                filled[need] = True
            elif m_base is None:
                m_base = np.zeros((nb, 384), dtype=np.float32)
            self._base_matrix = (base, m_base, filled)
            if len(index.seqs) > nb:
                delta = self._fetch_rows(index, np.arange(nb, len(index.seqs)), dim=m_base.shape[1])
                m = np.concatenate([m_base, delta])
            else:
                m = m_base
            self._matrix = (index, m)
            return m

    def _fetch_rows(self, index: BM25Index, rows: np.ndarray, dim: int | None = None) -> np.ndarray:
        """Vectors of the given rows' products from the vector store (zeros where none)."""
        seq_id = self.store.seq_ids()
        ids = [seq_id.get(int(index.seqs[r])) for r in rows]
        got = self._ask_vectors(self.vectors.get, [i for i in ids if i is not None])
        dim = dim or (len(next(iter(got.values()))) if got else 384)
        m = np.zeros((len(rows), dim), dtype=np.float32)
        for i, pid in enumerate(ids):
            v = got.get(pid) if pid is not None else None
            if v is not None:
                m[i] = v
        return m

    def embed(self, text: str) -> np.ndarray:
        """The query vector; cached (LRU), since a conversation re-runs the same text often."""
        hit = self._qcache.get(text)
        if hit is not None:
            self._qcache.move_to_end(text)
            return hit
        if self._embedder is None:
            from retrieval.models import load_embedder

            self._embedder = load_embedder(self.settings.embedding_model, self.settings.device)
        v = self._embedder.encode([text], normalize_embeddings=True, show_progress_bar=False)[0]
        with self._lock:
            self._qcache[text] = v
            while len(self._qcache) > QUERY_CACHE:
                self._qcache.popitem(last=False)
        return v

    def facets(self) -> dict[str, np.ndarray]:
        """Price, brand and rating of every row, read from SQLite once per catalog version: the
        common filters then cost a few vector comparisons instead of a SQLite row fetch."""
        version = self.store.version()
        if self._facets and self._facets[0] == version:
            return self._facets[1]
        index = self.bm25()
        rows = self.store.facet_rows()
        n = len(index.seqs)
        price = np.full(n, np.nan)
        rating = np.full(n, np.nan)
        brand = np.full(n, -1, dtype=np.int32)  # code into brand_codes; -1 = no brand
        codes: dict[str, int] = {}
        for seq, pr, br, ra in rows:
            r = index.row_of.get(seq)
            if r is None:
                continue
            if pr is not None:
                price[r] = pr
            if ra is not None:
                rating[r] = ra
            if br:
                brand[r] = codes.setdefault(br, len(codes))
        f = {"price": price, "rating": rating, "brand": brand, "codes": codes}
        with self._lock:
            self._facets = (version, f)
        return f

    def _filter_mask(self, q: StructuredQuery, index: BM25Index) -> np.ndarray:
        """Rows passing the hard filters: price/brand/rating from the facet arrays (same NULL rules
        as the SQL in ``CatalogStore._where``), the rest (categories, colours, ids) from SQLite."""
        f = self.facets()
        m = index.live.copy()
        with np.errstate(invalid="ignore"):
            if q.price_min is not None:
                m &= f["price"] >= q.price_min
            if q.price_max is not None:
                m &= f["price"] <= q.price_max
            if q.min_rating is not None:
                m &= f["rating"] >= q.min_rating
        if q.brands:
            want = [f["codes"][b.strip().lower()] for b in q.brands if b.strip().lower() in f["codes"]]
            m &= np.isin(f["brand"], want)
        if q.exclude_brands:
            drop = [f["codes"][b.strip().lower()] for b in q.exclude_brands if b.strip().lower() in f["codes"]]
            m &= ~np.isin(f["brand"], drop)
        rest = replace(q, price_min=None, price_max=None, min_rating=None, brands=[], exclude_brands=[])
        if self.store.has_filters(rest):
            m &= index.mask(self.store.filter_seqs(rest))
        return m

    def clear_query_cache(self) -> None:
        with self._lock:
            self._qcache.clear()

    def parse(self, text: str) -> StructuredQuery:
        return parse_query(text, self.store.vocabulary())

    # -- search ------------------------------------------------------------------------------------
    def search(self, query: str | StructuredQuery, k: int = 10, method: str | None = None,
               diversify: bool = False, collapse: bool = True, only_ids: list[str] | None = None) -> list[Hit]:
        """The top ``k`` products for a query; see the module docstring for the steps.

        ``method`` overrides the fusion ("bm25", "dense", "rrf", "normalized") for evaluation;
        ``only_ids`` restricts the search to those products (the eval's judged-only re-ranking).
        """
        q = self.parse(query) if isinstance(query, str) else query
        cfg = self.fusion
        method = method or cfg.method
        index = self.bm25()
        n = len(index.seqs)
        if n == 0:
            return []
        allowed: np.ndarray | None = None  # boolean mask over rows, None = everything
        if self.store.has_filters(q):
            allowed = self._filter_mask(q, index)
        if only_ids is not None:
            keep = index.mask(list(self.store.id_seqs(only_ids).values()))
            allowed = keep if allowed is None else (allowed & keep)
        if allowed is not None and not allowed.any():
            return []
        text = q.text.strip()
        if not text:
            return self._browse(q, k)
        qtokens = tokenize(text)
        pool = max(cfg.candidates, 4 * k)

        bm = index.scores(qtokens) if method != "dense" else np.zeros(n, dtype=np.float32)
        if allowed is not None:
            bm = np.where(allowed, bm, 0.0)
        bm_top = _top(bm, pool, positive=True)
        dense: dict[int, float] = {}
        if method != "bm25":
            try:
                dense = self._dense(text, allowed, index, pool, bm_top)
            except VectorStoreDown:
                if method == "dense":  # asked for dense alone (the eval): nothing to fall back to
                    raise
                method, dense = "bm25", {}  # logged once by _ask_vectors; the shopper is told by the assistant
        # every candidate gets both scores: the fusion sees the whole picture
        bm_scores = {} if method == "dense" else {r: float(bm[r]) for r in [*bm_top, *dense]}
        fused = self._fuse(method, bm_scores, dense)

        if q.sort != "relevance":
            return self._superlative(q, k, bm, allowed, fused, index, qtokens, dense)
        ranked = sorted(fused, key=lambda r: -fused[r])
        return self._hits(ranked, fused, bm_scores, dense, index, qtokens, k, collapse, diversify)

    def _dense(self, text: str, allowed, index: BM25Index, pool: int, bm_top: list[int]) -> dict[int, float]:
        """Row -> cosine of the query for the dense candidates and the BM25 top rows."""
        dense: dict[int, float] = {}
        qv = self.embed(text)
        # small catalogs (settings.exact_search_max) search exactly: the same cards in every process
        if allowed is None and self._matrix is None and len(index.seqs) > self.settings.exact_search_max:
            seq_row = index.row_of
            near = self._ask_vectors(self.vectors.query, qv, pool)
            id_seq = self.store.id_seqs([i for i, _ in near])
            for pid, sim in near:
                if pid in id_seq and id_seq[pid] in seq_row:
                    dense[seq_row[id_seq[pid]]] = sim
            missing = [r for r in bm_top if r not in dense]
            if missing:
                dense.update(self._dense_for_rows(missing, qv, index))
        else:
            sims = self.matrix() @ qv
            if allowed is not None:
                sims = np.where(allowed, sims, -np.inf)
            elif not index.all_live:
                sims = np.where(index.live, sims, -np.inf)
            for r in _top(sims, pool):
                dense[r] = float(sims[r])
            for r in bm_top:
                dense.setdefault(r, float(sims[r]))
        return dense

    def _fuse(self, method: str, bm: dict[int, float], dense: dict[int, float]) -> dict[int, float]:
        cfg = self.fusion
        if method == "bm25":
            top = max(bm.values(), default=0.0) or 1.0
            return {r: s / top for r, s in bm.items() if s > 0}
        if method == "dense":
            return {r: max(0.0, s) for r, s in dense.items()}
        if method == "rrf":
            lists = [sorted((r for r in bm if bm[r] > 0), key=lambda r: -bm[r]), sorted(dense, key=lambda r: -dense[r])]
            weights = [cfg.weight_bm25 * 2, 2 - cfg.weight_bm25 * 2]
            s = rrf(lists, k=cfg.rrf_k, weights=weights)
            top = rrf_max(weights, cfg.rrf_k)
            return {r: v / top for r, v in s.items()}
        return normalized_fusion(bm, dense, cfg.weight_bm25)

    def _dense_for_rows(self, rows: list[int], qv: np.ndarray, index: BM25Index) -> dict[int, float]:
        seq_id = self.store.seq_ids() if len(rows) > 500 else None
        if seq_id is None:
            seq_id = self.store.ids_for_seqs([int(index.seqs[r]) for r in rows])
        ids = {seq_id[int(index.seqs[r])]: r for r in rows if int(index.seqs[r]) in seq_id}
        got = self._ask_vectors(self.vectors.get, list(ids))
        return {ids[pid]: float(np.dot(v, qv)) for pid, v in got.items()}

    def _row_ids(self, rows: list[int], index: BM25Index) -> dict[int, str]:
        if not rows:
            return {}
        got = self.store.ids_for_seqs([int(index.seqs[r]) for r in rows])
        return {index.row_of[s]: pid for s, pid in got.items()}

    def _hits(self, ranked, fused, bm, dense, index, qtokens, k, collapse=True, diversify=False) -> list[Hit]:
        head = ranked[: max(4 * k, 40)]
        row_id = self._row_ids(head, index)
        products = {p.id: p for p in self.store.get_many([row_id[r] for r in head if r in row_id])}
        vecs: dict = {}
        if diversify and len(head) > 1:
            try:
                vecs = self._ask_vectors(self.vectors.get, [row_id[r] for r in head if r in row_id])
            except VectorStoreDown:
                diversify = False  # no vectors, no MMR: the fused order stands
        if diversify and vecs:
            keep = [r for r in head if r in row_id and row_id[r] in vecs]
            emb = np.stack([vecs[row_id[r]] for r in keep])
            order = mmr([fused[r] for r in keep], emb @ emb.T, k=len(keep))
            head = [keep[i] for i in order]
        hits, seen = [], set()
        qset = set(qtokens)
        for r in head:
            p = products.get(row_id.get(r, ""))
            if p is None:
                continue
            if collapse:
                key = variant_key(p)
                if key in seen:
                    continue
                seen.add(key)
            words = set(tokenize(f"{p.title} {p.brand or ''} {' '.join(p.categories)} {p.description[:300]}"))
            hits.append(Hit(product=p, score=round(min(1.0, max(0.0, fused[r])), 4),
                            bm25=round(bm[r], 4) if r in bm else None,
                            dense=round(dense[r], 4) if r in dense else None,
                            matched=sorted(qset & words)))
            if len(hits) >= k:
                break
        return hits

    def _browse(self, q: StructuredQuery, k: int) -> list[Hit]:
        """No free text (e.g. "cheapest Acme under $50"): the filtered catalog in the asked order."""
        ids = self.store.filter_ids(q if q.sort != "relevance" else _with_sort(q, "rating_desc"), limit=k * 4)
        out, seen = [], set()
        for p in self.store.get_many(ids):
            key = variant_key(p)
            if key in seen:
                continue
            seen.add(key)
            out.append(Hit(product=p, score=1.0))
            if len(out) >= k:
                break
        return out

    def _superlative(self, q, k, bm, allowed, fused, index, qtokens, dense) -> list[Hit]:
        """"Cheapest X": every product of the filtered catalog that matches X lexically (BM25 at
        least half the best match) or is among the dense candidates, ordered by the sort key."""
        rows = set()
        if bm.max() > 0:
            rows.update(np.flatnonzero(bm >= 0.5 * bm.max()).tolist())
        if not rows or len(rows) < k:
            rows.update(r for r in sorted(fused, key=lambda r: -fused[r])[: max(20, k)])
        row_id = self._row_ids(sorted(rows), index)
        ordered = self.store.order_ids(list(row_id.values()), q.sort)
        id_row = {v: r for r, v in row_id.items()}
        top = max(fused.values(), default=1.0) or 1.0
        fused = {r: fused.get(r, float(bm[r]) / (bm.max() or 1.0)) / top for r in rows}
        ranked = [id_row[i] for i in ordered]
        bm_scores = {r: float(bm[r]) for r in ranked}
        return self._hits(ranked, fused, bm_scores, dense, index, qtokens, k)


def _with_sort(q: StructuredQuery, sort: str) -> StructuredQuery:
    return replace(q, sort=sort)


def _top(scores: np.ndarray, n: int, positive: bool = False) -> list[int]:
    """Row indices of the ``n`` largest scores, best first (only > 0 when ``positive``)."""
    if scores.size == 0:
        return []
    n = min(n, scores.size)
    idx = np.argpartition(-scores, n - 1)[:n]
    idx = idx[np.argsort(-scores[idx], kind="stable")]
    if positive:
        idx = idx[scores[idx] > 0]
    else:
        idx = idx[np.isfinite(scores[idx])]
    return idx.tolist()


def open_catalog(settings: Settings, embedder=None) -> Catalog:
    """The catalog named by settings (store + vectors + BM25), opened once and shared."""
    store = CatalogStore(settings.catalog_db)
    return Catalog(settings, store, open_vectors(settings), embedder)
