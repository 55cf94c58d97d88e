"""Hybrid search over the test shop: relevance, hard filters, superlatives, variants, server mode."""

from __future__ import annotations

import pytest

from retrieval.query import StructuredQuery
from tests.retrieval.conftest import SHOP


def ids(hits):
    return [h.product.id for h in hits]


def test_relevance_and_hit_shape(shop):
    hits = shop.search("noise cancelling headphones", k=3)
    assert set(ids(hits)[:2]) == {"hp-1", "hp-2"}
    for h in hits:
        assert 0.0 <= h.score <= 1.0 and h.dense is not None and h.bm25 is not None
    assert hits[0].score >= hits[-1].score
    assert "headphone" in hits[0].matched


def test_methods_differ_but_all_work(shop):
    for method in ("bm25", "dense", "rrf", "normalized"):
        hits = shop.search("espresso machine", k=3, method=method)
        assert "cf-1" in ids(hits), method


def test_dense_finds_meaning_without_shared_words(shop):
    hits = shop.search("something to make a morning brew", k=4, method="dense")
    assert any(i.startswith("cf-") for i in ids(hits)[:2])


def test_price_brand_and_exclusion_filters_are_hard(shop):
    q = shop.parse("running shoes under $100 not Nike")
    assert q.price_max == 100.0 and q.exclude_brands == ["Nike"]
    hits = shop.search(q, k=10)
    assert hits and all(h.product.price <= 100 and h.product.brand != "Nike" for h in hits)
    assert "shoe-4" in ids(hits)  # the Adidas at 59.99
    only_sony = shop.search(StructuredQuery(text="headphones", brands=["sony"]), k=10)
    assert ids(only_sony) == ["hp-1"]  # case-insensitive brand filter


def test_rating_category_colour_and_exclude_ids(shop):
    hits = shop.search("shoes 4.5 stars and up", k=10)
    assert hits and all(h.product.average_rating >= 4.5 for h in hits)
    q = StructuredQuery(text="bluetooth", categories=["speakers"])
    assert set(ids(shop.search(q, k=10))) == {"sp-1", "sp-2"}
    q = StructuredQuery(text="running shoes", attributes={"colour": "black"})
    hits = shop.search(q, k=10)
    assert set(ids(hits)[:2]) == {"shoe-1", "shoe-3"}
    assert all(h.product.attributes["colour"] == "black" for h in hits)
    q = StructuredQuery(text="noise cancelling headphones", exclude_ids=["hp-1"])
    assert "hp-1" not in ids(shop.search(q, k=10))


def test_nothing_matches_the_filters(shop):
    assert shop.search("headphones under $5", k=5) == []


def test_cheapest_is_answered_over_the_whole_filtered_catalog(shop):
    hits = shop.search("cheapest running shoes", k=3)
    prices = [h.product.price for h in hits]
    assert prices == sorted(prices)
    # the cheapest running shoe in the whole catalog, not just among the top semantic hits
    assert hits[0].product.id == "shoe-4"
    top = shop.search("most expensive coffee maker", k=1)
    assert top[0].product.id == "cf-1"


def test_best_rated_uses_volume_not_a_single_review(shop):
    hits = shop.search("best rated running shoes", k=3)
    assert hits[0].product.id == "shoe-5"  # 4.8 from 5 reviews beats 5.0 from none and 4.5 from 2


def test_filters_only_query_browses_the_catalog(shop):
    hits = shop.search("cheapest under $50", k=3)
    assert [h.product.id for h in hits] == ["hp-4", "cf-3", "cf-2"]


def test_near_duplicate_variants_are_collapsed(shop):
    hits = shop.search("laptop backpack", k=5)
    assert sum(i in ("bp-2", "bp-3") for i in ids(hits)) == 1
    raw = shop.search("laptop backpack", k=5, collapse=False)
    assert {"bp-2", "bp-3"} <= set(ids(raw))


def test_mmr_diversifies(shop):
    plain = shop.search("running shoes", k=4, collapse=False)
    diverse = shop.search("running shoes", k=4, collapse=False, diversify=True)
    assert len(diverse) == 4 and set(ids(diverse)) <= {s[0] for s in SHOP}
    assert ids(diverse)[0] == ids(plain)[0]


def test_catalog_follows_new_ingests(fresh_shop, settings, embedder, tmp_path):
    from retrieval.ingest import ingest
    from tests.retrieval.conftest import write_jsonl

    shop = fresh_shop
    assert shop.search("ukulele", k=3, method="bm25") == []
    src = write_jsonl(tmp_path / "more.jsonl", [{"id": "uk-1", "title": "Soprano Ukulele", "brand": "Kala", "price": 59.0}])
    ingest(settings, src, progress=False, embedder=embedder)
    assert ids(shop.search("ukulele", k=3))[0] == "uk-1"  # the BM25 index was rebuilt
    assert "Kala" in shop.store.brands() and shop.parse("kala ukulele").brands == ["Kala"]


def test_store_contract(shop):
    store = shop.store
    assert store.count() == len(SHOP)
    assert [p.id for p in store.get_many(["sp-2", "nope", "sp-1"])] == ["sp-2", "sp-1"]
    assert store.get("nope") is None
    assert "Running Shoes" in store.categories() and "Nike" in store.brands()
    assert store.users() == ["user0", "user1", "user2"]
    assert len(store.reviews_for("shoe-5", limit=2)) == 2
    assert store.price_range() == (9.99, 699.95)


def test_search_cli_prints_filters_and_scores(shop, capsys):
    from shopassist.cli import main

    assert main(["--data-dir", str(shop.settings.data_dir), "search", "bluetooth speaker under $125", "-k", "2"]) == 0
    out = capsys.readouterr().out
    assert '"price_max": 125.0' in out and "SoundLink Micro" in out and "bm25" in out


@pytest.mark.timeout(300)
def test_chroma_server_mode(chroma_server, tmp_path, shop_dir, embedder):
    """The same ingest and search against a real `chroma run` server on loopback."""
    from retrieval.ingest import ingest
    from retrieval.search import open_catalog
    from retrieval.vectors import ChromaVectors
    from shopassist.settings import Settings

    s = Settings(data_dir=tmp_path / "server-data", chroma=chroma_server, collection="server_test")
    r = ingest(s, shop_dir, progress=False, embedder=embedder)
    assert r.added == len(SHOP)
    cat = open_catalog(s, embedder=embedder)
    assert isinstance(cat.vectors, ChromaVectors) and cat.vectors.count() == len(SHOP)
    assert not (tmp_path / "server-data" / "chroma").exists()  # vectors live in the server
    assert ids(cat.search("noise cancelling headphones", k=2, method="dense"))[0] in ("hp-1", "hp-2")


def test_chroma_server_down_is_a_clear_error(tmp_path):
    from retrieval.vectors import VectorStoreDown, open_vectors
    from shopassist.settings import Settings
    from tests.conftest import free_port

    with pytest.raises(VectorStoreDown, match="chroma run"):
        open_vectors(Settings(data_dir=tmp_path, chroma=f"127.0.0.1:{free_port()}"))


@pytest.mark.parametrize("filters", [
    {"price_max": 100.0}, {"price_min": 50.0, "price_max": 150.0}, {"brands": ["adidas", "Bose"]},
    {"exclude_brands": ["Nike", "Acme"]}, {"min_rating": 4.2}, {"brands": ["Nobody"]},
    {"price_max": 200.0, "exclude_brands": ["Sony"], "categories": ["headphones"], "min_rating": 4.0},
])
def test_facet_filters_agree_with_sqlite(shop, filters):
    """The in-memory facet filter and the SQL in CatalogStore select exactly the same products."""
    q = StructuredQuery(text="x", **filters)
    index = shop.bm25()
    fast = set(index.seqs[shop._filter_mask(q, index)].tolist())
    assert fast == set(shop.store.filter_seqs(q))


def test_variants_collapse_on_their_own_colour_attribute():
    """A colour missing from the common variant words still collapses when it is the product's colour."""
    from retrieval.catalog import Product
    from retrieval.search import variant_key

    def duo(pid, colour):
        return Product(id=pid, title=f"Pepperhill Duo, {colour}", brand="Pepperhill", attributes={"colour": colour})

    assert variant_key(duo("1", "Charcoal")) == variant_key(duo("2", "Sage")) == variant_key(duo("3", "White"))
    assert variant_key(duo("1", "Charcoal")) != variant_key(Product(id="4", title="Pepperhill Trio, Sage", brand="Pepperhill"))


def test_eval_reports_whole_condensed_and_judged_only_ndcg(shop):
    """The eval's three views on one small judged set: dropping unjudged products (condensed) can
    only raise NDCG, and unjudged@10 counts what nobody judged."""
    from retrieval.evaluate import evaluate

    judgments = {"running shoes": {"shoe-1": 3, "shoe-2": 2, "shoe-5": 2, "hp-1": 0},
                 "bluetooth speaker": {"sp-1": 3, "sp-2": 3}}
    out = evaluate(shop, list(judgments), judgments, methods={"bm25": ("bm25", False), "hybrid": (None, False)})
    for m in out.values():
        assert 0 < m["ndcg@10"] <= m["ndcg@10_condensed"] <= 1
        assert 0 <= m["unjudged@10"] <= 10 and 0 < m["ndcg@10_judged_only"] <= 1


@pytest.mark.timeout(300)
def test_a_killed_chroma_server_degrades_search_to_bm25_and_recovers(tmp_path, shop_dir, embedder):
    """The server is killed between two searches of one open catalog: the second is BM25 alone (no
    dense scores, the health says so), no error reaches the caller; restarted on the same port and
    path, the next search is hybrid again without reopening anything."""
    from retrieval.ingest import ingest
    from retrieval.search import open_catalog
    from shopassist.settings import Settings
    from tests.chroma import ChromaServer, chroma_exe

    if chroma_exe() is None:
        pytest.skip("the chroma CLI is not installed in this environment")
    server = ChromaServer(tmp_path / "chroma").start()
    try:
        # a catalog above exact_search_max (here: any): a filtered search caches every vector in
        # memory (Catalog.matrix) and then needs no server at all; the unfiltered one asks Chroma
        s = Settings(data_dir=tmp_path / "data", chroma=server.address, chroma_retry_s=0, exact_search_max=0)
        ingest(s, shop_dir, progress=False, embedder=embedder)
        cat = open_catalog(s, embedder=embedder)
        query = StructuredQuery(text="noise cancelling headphones")
        before = cat.search(query, k=3)
        assert all(h.dense is not None for h in before) and cat.health()["search"] == "hybrid"
        bm25_only = ids(cat.search(query, k=3, method="bm25"))

        server.stop()
        during = cat.search(query, k=3)
        assert ids(during) == bm25_only and all(h.dense is None for h in during)
        health = cat.health()
        assert health["search"] == "bm25 only" and health["vectors"]["state"] == "down"
        assert server.address in health["vectors"]["error"] and "BM25" in health["vectors"]["error"]

        server.start()
        after = cat.search(query, k=3)
        assert ids(after) == ids(before) and all(h.dense is not None for h in after)
        assert cat.health() == {"search": "hybrid", "vectors": {"state": "ok"}, "where": server.address}
    finally:
        server.stop()


def test_a_stalled_chroma_server_costs_one_timeout_then_waits_for_the_retry_time(tmp_path, shop_dir, embedder):
    """SIGSTOP: the server accepts connections and never answers. The first search waits
    ``chroma_timeout_s`` and falls back; the next ones, within ``chroma_retry_s``, do not ask it."""
    import time

    from retrieval.ingest import ingest
    from retrieval.search import open_catalog
    from shopassist.settings import Settings
    from tests.chroma import ChromaServer, chroma_exe

    if chroma_exe() is None:
        pytest.skip("the chroma CLI is not installed in this environment")
    server = ChromaServer(tmp_path / "chroma").start()
    try:
        s = Settings(data_dir=tmp_path / "data", chroma=server.address, chroma_timeout_s=1.0, chroma_retry_s=30,
                     exact_search_max=0)  # the unfiltered search asks the server (Catalog._dense)
        ingest(s, shop_dir, progress=False, embedder=embedder)
        cat = open_catalog(s, embedder=embedder)
        assert cat.search(StructuredQuery(text="bluetooth speaker"), k=2)[0].dense is not None
        server.pause()
        t = time.monotonic()
        first = cat.search(StructuredQuery(text="running shoes"), k=2)
        took_first = time.monotonic() - t
        t = time.monotonic()
        second = cat.search(StructuredQuery(text="espresso machine"), k=2)
        took_second = time.monotonic() - t
        assert first and second and all(h.dense is None for h in first + second)
        assert 1.0 <= took_first < 1.0 + 3.0, took_first  # the timeout, plus a search's own time
        assert took_second < 1.0, took_second  # not asked again within chroma_retry_s
        assert cat.health()["vectors"]["failures"] == 1
    finally:
        server.stop()
