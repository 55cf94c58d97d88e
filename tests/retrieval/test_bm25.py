"""The BM25 index follows catalog changes with a delta instead of a rebuild (``retrieval.bm25``)."""

from __future__ import annotations

import numpy as np

from retrieval import bm25 as B
from retrieval.ingest import ingest
from retrieval.query import StructuredQuery
from retrieval.search import open_catalog
from tests.retrieval.conftest import shop_products, write_jsonl


def ids(hits):
    return [h.product.id for h in hits]


def test_delta_scoring_reproduces_bm25s_on_the_same_documents(fresh_shop):
    """Reference check: the delta's formula (base IDF, base average length) scores the base's own
    documents exactly as bm25s scored them."""
    base = fresh_shop.bm25().base
    docs = [B.bm25_text(p) or ["_empty_"] for p in fresh_shop.store.iter_products()]
    delta = B._Delta(docs, base.doc_freqs(), len(base.seqs), base.avgdl)
    for q in (["running", "shoe"], ["bluetooth", "speaker", "speaker"], ["espresso"], ["nothing-here"]):
        np.testing.assert_allclose(delta.scores(q), base.scores(q), rtol=1e-5, atol=1e-6)


def _edit(tmp_path, products, settings, embedder, full_sync=False):
    src = write_jsonl(tmp_path / "edit.jsonl", [p.to_dict() for p in products])
    return ingest(settings, src, full_sync=full_sync, progress=False, embedder=embedder)


def test_catalog_change_is_a_delta_not_a_rebuild(fresh_shop, settings, embedder, tmp_path):
    shop = fresh_shop
    before = shop.bm25()
    n = len(before.seqs)
    products = shop_products()
    products[0].price = 1.0  # shoe-1: price only
    products[1].title = "Revolution 7 Trail Zyzzyva Shoes"  # shoe-2: new text
    gone = products.pop(2)  # shoe-3: deleted
    products.append(products[0].__class__(id="uk-1", title="Soprano Ukulele", brand="Kala", price=59.0))
    _edit(tmp_path, products, settings, embedder, full_sync=True)

    index = shop.bm25()
    assert index.base is before.base and index.n_base == n  # same base, no rebuild
    assert index.delta_size == 2 and int((~index.live).sum()) == 2  # shoe-2 + uk-1 in; old shoe-2 + shoe-3 out
    seq = shop.store.id_seqs(["shoe-1", "shoe-2", "uk-1"])
    assert index.row_of[seq["shoe-1"]] < n <= index.row_of[seq["shoe-2"]]  # price-only stays in the base
    assert ids(shop.search("zyzzyva", k=3, method="bm25")) == ["shoe-2"]
    assert ids(shop.search("ukulele", k=3))[0] == "uk-1"
    assert gone.id not in ids(shop.search("ultraboost running shoes", k=20, method="bm25"))
    assert ids(shop.search("revolution", k=20, method="bm25", collapse=False)).count("shoe-2") == 1  # no dead twin
    assert shop.store.get("shoe-1").price == 1.0


def test_delta_rows_filter_and_embed_like_base_rows(fresh_shop, settings, embedder, tmp_path):
    """Filters (facets and SQL) and the exact dense matrix see the delta rows, not the dead ones."""
    shop = fresh_shop
    shop.matrix()  # cached before the change: only the delta rows are fetched afterwards
    products = shop_products()
    products[8].title = "Handheld Milk Frother"  # hp-2 (Bose, 329.00) becomes a kitchen gadget
    _edit(tmp_path, products, settings, embedder)
    index = shop.bm25()
    for filters in ({"price_max": 350.0}, {"brands": ["Bose"]}, {"exclude_brands": ["Sony"]}, {}):
        q = StructuredQuery(text="x", **filters)
        fast = set(index.seqs[shop._filter_mask(q, index)].tolist())
        assert fast == set(shop.store.filter_seqs(q)), filters
    hits = shop.search(StructuredQuery(text="milk frother", price_max=350.0), k=3, method="dense")
    assert ids(hits)[0] == "hp-2"
    plain = shop.search("milk frother", k=3, method="dense")  # unfiltered, matrix already loaded
    assert ids(plain)[0] == "hp-2" and ids(plain).count("hp-2") == 1


def test_a_new_process_loads_the_base_and_rebuilds_the_delta(fresh_shop, settings, embedder, tmp_path):
    fresh_shop.bm25()  # the base is built and saved
    products = shop_products()
    products[4].title = "Gel-Kayano Zyzzyva"
    products[5].price = 5.0
    _edit(tmp_path, products, settings, embedder)
    fresh_shop.bm25()  # refresh in this process: the price-only change moves the saved hashes on
    other = open_catalog(settings, embedder=embedder)  # a second process opening the same data dir
    index = other.bm25()
    assert index.delta_size == 1 and ids(other.search("zyzzyva", k=1, method="bm25")) == ["shoe-5"]
    again, hash_only = B.BM25Index(index.base).refresh(other.store)
    assert hash_only == 0 and again.delta_size == 1  # the price-only change is not re-read


def test_a_large_delta_rebuilds_the_base(fresh_shop, settings, embedder, tmp_path, monkeypatch):
    shop = fresh_shop
    before = shop.bm25().base
    monkeypatch.setattr(B, "DELTA_MIN", 2)
    monkeypatch.setattr(B, "DELTA_SHARE", 0.1)
    products = shop_products()
    for p in products[:5]:
        p.title += " Mk II"
    _edit(tmp_path, products, settings, embedder)
    index = shop.bm25()
    assert index.base is not before and index.delta_size == 0 and index.all_live
    assert B.BM25Base.load(settings.data_dir / "bm25").seqs.tolist() == index.seqs.tolist()


def test_an_old_index_layout_is_rebuilt(fresh_shop, settings):
    fresh_shop.bm25()
    path = settings.data_dir / "bm25"
    (path / "base.json").write_text('{"bm25_version": "0", "avgdl": 1}')
    assert B.BM25Base.load(path) is None
    other = open_catalog(settings)
    assert len(other.bm25().seqs) == other.store.count()
    assert B.BM25Base.load(path) is not None


def test_index_key_depends_on_tokens_and_text():
    assert B.index_key(["a", "b"], "t") == B.index_key(["a", "b"], "t")
    assert B.index_key(["a", "b"], "t") != B.index_key(["a", "b", "c"], "t") != B.index_key(["a", "b"], "u")


def test_search_before_the_first_ingest_then_after_it(settings, embedder, tmp_path):
    """An empty catalog searches to nothing (and saves no index); the first products then get a
    real base, not a delta over an empty one."""
    cat = open_catalog(settings, embedder=embedder)
    assert cat.search("kettle", k=3) == [] and not (settings.data_dir / "bm25").exists()
    _edit(tmp_path, shop_products()[:3], settings, embedder)
    index = cat.bm25()
    assert index.n_base == 3 and index.delta_size == 0
    assert ids(cat.search("pegasus", k=1, method="bm25")) == ["shoe-1"]


def test_a_process_never_writes_its_hashes_into_a_newer_base(fresh_shop, settings, embedder, tmp_path, monkeypatch):
    """Process A holds an old base while process B rebuilds and saves a new one; A's hash update
    after a price change must not land in B's files (they would no longer match B's rows)."""
    a = fresh_shop
    old = a.bm25().base
    b = open_catalog(settings, embedder=embedder)
    products = shop_products()
    for p in products[:6]:
        p.title += " Mk II"
    _edit(tmp_path, products, settings, embedder)
    monkeypatch.setattr(B, "DELTA_MIN", 1)
    monkeypatch.setattr(B, "DELTA_SHARE", 0.1)
    newer = b.bm25().base  # B: the delta is too big, a new base is saved
    assert newer.build_id != old.build_id
    products[10].price = 1.0
    _edit(tmp_path, products, settings, embedder)
    monkeypatch.setattr(B, "DELTA_MIN", 2000)  # A keeps its old base and a delta; its hash update is skipped
    assert a.bm25().base is old
    saved = B.BM25Base.load(settings.data_dir / "bm25")
    assert saved.build_id == newer.build_id and saved.hashes.tolist() == newer.hashes.tolist()
    c = open_catalog(settings, embedder=embedder)
    assert {p.id for p in products[:6]} <= set(ids(c.search("mk ii", k=10, method="bm25", collapse=False)))
