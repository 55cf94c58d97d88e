"""The benchmarks run end to end on a tiny scaled catalog (numbers are not asserted: no timing in tests)."""

from __future__ import annotations

from retrieval.bench import bench_ingest, bench_search, scaled_rows
from tests.conftest import dataset


def test_scaled_rows_replicate_with_new_ids_and_perturbed_prices(tmp_path):
    src = tmp_path / "p.jsonl"
    src.write_text('{"id": "1", "title": "A", "price": 1000}\n{"id": "2", "title": "B", "price": 2000}\n')
    rows = list(scaled_rows(src, 5))
    assert [r["id"] for r in rows] == ["1", "2", "1-r1", "2-r1", "1-r2"]
    assert rows[2]["price"] != 1000 and 850 <= rows[2]["price"] <= 1150
    # the replicas reach the catalog: ingest's id rule accepts them (it quarantined "1~1")
    from retrieval.catalog import Product
    from retrieval.sanitise import sanitise_product

    assert all(sanitise_product(Product(id=r["id"], title=r["title"]))[0] is not None for r in rows)


def test_bench_ingest_and_search_report_their_numbers(settings, tmp_path, embedder):
    ds = dataset("chorus_icecat_product_search_judgments_135q")
    r = bench_ingest(settings, 24, source=ds / "products.jsonl.gz", rounds=2)
    assert r["added"] == 24 and r["encode_products_per_s"] > 0 and r["ingest_vs_encode"] > 0
    assert r["rounds"] == 2 and len(r["ingest_vs_encode_per_round"]) == 2
    s = bench_search(settings, 30, n_queries=4, source=ds / "products.jsonl.gz", workdir=tmp_path / "bs")
    assert s["products"] == 30 and s["unfiltered"]["p95_ms"] > 0 and s["filtered"]["p50_ms"] > 0
    assert s["peak_rss_mb"] > 0
    change = s["after_change"]  # 1 of 30 rows is too few: at least 2, one price-only, one new title
    assert (change["changed"], change["updated"], change["embedded"], change["bm25_delta_rows"]) == (2, 2, 1, 1)
