"""Ingest: idempotent upserts, full sync, quarantine, crash-and-rerun, the real datasets."""

from __future__ import annotations

import gzip
import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from retrieval.catalog import Product
from retrieval.ingest import EXIT_QUARANTINED, ingest
from retrieval.store import CatalogStore
from retrieval.vectors import open_vectors
from tests.conftest import dataset
from tests.retrieval.conftest import shop_products, write_jsonl

REPO = Path(__file__).resolve().parents[2]


def _state(settings):
    """(ids in SQLite, ids in the vector store) of the catalog in settings.data_dir."""
    store = CatalogStore(settings.catalog_db)
    return set(store.all_ids()), set(open_vectors(settings).ids())


def test_ingest_is_idempotent_and_skips_unchanged_rows(settings, shop_dir, embedder):
    first = ingest(settings, shop_dir, progress=False, embedder=embedder)
    assert (first.added, first.updated, first.quarantined) == (21, 0, 0)
    assert first.reviews == 52 and first.embedded == 21
    again = ingest(settings, shop_dir, progress=False, embedder=embedder)
    assert (again.added, again.updated, again.unchanged, again.embedded) == (0, 0, 21, 0)
    ids, vec_ids = _state(settings)
    assert ids == vec_ids == {p.id for p in shop_products()}
    store = CatalogStore(settings.catalog_db)
    assert store.review_count() == 52  # reviews upsert by id: no duplicates either
    # ratings derived from the reviews, since the source has none
    p = store.get("shoe-5")
    assert p.average_rating == pytest.approx(4.8) and p.rating_count == 5


def test_update_price_only_costs_no_embedding(settings, tmp_path, embedder):
    products = shop_products()
    src = write_jsonl(tmp_path / "p.jsonl", [p.to_dict() for p in products])
    ingest(settings, src, progress=False, embedder=embedder)
    products[0].price = 99.0  # not in the embedded text
    products[1].title = "Revolution 7 Road Running Shoes"  # in the embedded text
    write_jsonl(src, [p.to_dict() for p in products])
    r = ingest(settings, src, progress=False, embedder=embedder)
    assert (r.updated, r.unchanged, r.embedded) == (2, 19, 1)
    store = CatalogStore(settings.catalog_db)
    assert store.get("shoe-1").price == 99.0
    assert store.get("shoe-2").title == "Revolution 7 Road Running Shoes"


def test_full_sync_deletes_absent_products_and_their_vectors(settings, tmp_path, embedder):
    products = shop_products()
    src = write_jsonl(tmp_path / "p.jsonl", [p.to_dict() for p in products])
    ingest(settings, src, progress=False, embedder=embedder)
    kept = products[5:]
    write_jsonl(src, [p.to_dict() for p in kept])
    plain = ingest(settings, src, progress=False, embedder=embedder)
    assert plain.deleted == 0 and len(_state(settings)[0]) == 21  # without --full-sync nothing goes
    synced = ingest(settings, src, full_sync=True, progress=False, embedder=embedder)
    assert synced.deleted == 5
    ids, vec_ids = _state(settings)
    assert ids == vec_ids == {p.id for p in kept}  # no ghost vectors


def test_quarantine_bad_rows_with_line_and_reason(settings, tmp_path, embedder):
    good = [p.to_dict() for p in shop_products()[:3]]
    dup = dict(good[0], title="Something else entirely")
    lines = [
        json.dumps(good[0]).encode(),                                      # 1 ok
        b'{"id": "broken", "title": "no closing brace"',                    # 2 broken JSON
        json.dumps({"title": "No id here"}).encode(),                      # 3 missing id
        json.dumps({"id": "x1", "title": ""}).encode(),                    # 4 missing title
        json.dumps({"id": "x2", "title": "Minus", "price": -5}).encode(),  # 5 negative price
        '{"id": "x3", "title": "caf\u00e9"}'.encode("latin-1"),            # 6 not UTF-8
        json.dumps(good[1]).encode(),                                      # 7 ok
        json.dumps(dup).encode(),                                          # 8 duplicate id, other content
        json.dumps(good[1]).encode(),                                      # 9 identical duplicate: harmless
        b"",                                                               # 10 blank: skipped
        json.dumps(good[2]).encode(),                                      # 11 ok
    ]
    src = tmp_path / "bad.jsonl.gz"
    with gzip.open(src, "wb") as f:
        f.write(b"\n".join(lines) + b"\n")
    r = ingest(settings, src, progress=False, embedder=embedder)
    assert (r.added, r.quarantined, r.duplicates) == (3, 6, 1)
    assert r.exit_code == EXIT_QUARANTINED
    rows = [json.loads(x) for x in r.quarantine_path.read_text().splitlines()]
    got = {row["line"]: row["reason"] for row in rows}
    assert sorted(got) == [2, 3, 4, 5, 6, 8]
    assert got[2].startswith("broken JSON")
    assert got[3] == "missing id" and got[4] == "missing title"
    assert "negative price" in got[5] and "UTF-8" in got[6]
    assert "duplicate id" in got[8] and "line 1" in got[8]
    store = CatalogStore(settings.catalog_db)
    assert store.get(good[0]["id"]).title == good[0]["title"]  # the first version wins
    assert store.count() == 3


def test_cli_exit_codes(tmp_path, shop_dir):
    from shopassist.cli import main

    data = tmp_path / "cli-data"
    assert main(["--data-dir", str(data), "ingest", str(shop_dir), "--no-progress"]) == 0
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"id": "z", "title": ""}])
    assert main(["--data-dir", str(data), "ingest", str(bad), "--no-progress"]) == EXIT_QUARANTINED
    assert main(["--data-dir", str(data), "ingest", str(tmp_path / "missing.jsonl")]) == 2
    assert main(["--data-dir", str(data), "ingest", str(shop_dir), "--format", "csv", "--mapping", "{\"nope\": 1}"]) == 2


CHILD = textwrap.dedent(
    """
    import sys
    from shopassist.settings import Settings
    from retrieval.ingest import ingest
    ingest(Settings(data_dir=sys.argv[1]), sys.argv[2], progress=False, batch=8)
    """
)


def test_kill_9_mid_ingest_then_rerun_converges_exactly(settings, tmp_path, embedder):
    """A real subprocess is killed with SIGKILL after some batches committed; a rerun (with the
    source changed meanwhile, and full sync) must end exactly at the source: no loss, no dupes."""
    products = [
        Product(id=f"p{i:03d}", title=f"{b} {kind} model {i}", brand=b, price=10.0 + i, categories=[kind])
        for i, (b, kind) in enumerate((b, k) for b in ("Acme", "Zen", "Orbit", "Nova") for k in
                                      ("Kettle", "Toaster", "Lamp", "Fan", "Heater", "Radio", "Clock", "Mixer", "Blender",
                                       "Grill", "Juicer", "Scale", "Iron", "Dryer", "Vacuum", "Router", "Speaker",
                                       "Monitor", "Mouse", "Keyboard"))
    ]
    src = write_jsonl(tmp_path / "src.jsonl", [p.to_dict() for p in products])
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(settings.data_dir), str(src)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    store_path = settings.catalog_db
    while time.time() < deadline and proc.poll() is None:
        if store_path.exists():
            n = CatalogStore(store_path).count()
            if n >= 16:  # a couple of batches are in: kill mid-way
                break
        time.sleep(0.05)
    assert proc.poll() is None, f"ingest finished before it could be killed: {proc.stderr.read()[-500:]!r}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = CatalogStore(store_path).count()
    assert 0 < partial < len(products)

    # the source changes before the rerun: one product dropped, one edited
    products = [p for p in products if p.id != "p000"]
    products[0].title += " v2"
    write_jsonl(src, [p.to_dict() for p in products])
    r = ingest(settings, src, full_sync=True, progress=False, embedder=embedder)
    assert r.quarantined == 0
    ids, vec_ids = _state(settings)
    assert ids == vec_ids == {p.id for p in products}
    store = CatalogStore(store_path)
    assert {p.id: p.content_hash() for p in store.iter_products()} == {p.id: p.content_hash() for p in products}
    again = ingest(settings, src, full_sync=True, progress=False, embedder=embedder)
    assert (again.added, again.updated, again.deleted, again.embedded) == (0, 0, 0, 0)


def _head_gz(src: Path, dest: Path, n: int, keep=None) -> Path:
    with gzip.open(src, "rt", encoding="utf-8") as f, open(dest, "w", encoding="utf-8") as g:
        k = 0
        for line in f:
            if keep is None or keep(json.loads(line)):
                g.write(line)
                k += 1
                if k >= n:
                    break
    return dest


def test_ingest_real_amazon_2023_sample(settings, tmp_path, embedder):
    ds = dataset("amazon_reviews_2023_user_history_sample")
    folder = tmp_path / "a2023"
    folder.mkdir()
    _head_gz(ds / "items.jsonl.gz", folder / "items.jsonl", 150)
    asins = {json.loads(x)["parent_asin"] for x in (folder / "items.jsonl").read_text().splitlines()}
    _head_gz(ds / "reviews.jsonl.gz", folder / "reviews.jsonl", 10_000, keep=lambda d: d["parent_asin"] in asins)
    r = ingest(settings, folder, progress=False, embedder=embedder)
    assert r.added == len(asins) and r.quarantined == 0 and r.reviews > 100
    store = CatalogStore(settings.catalog_db)
    rated = [p for p in store.iter_products() if p.rating_count]
    assert rated and all(1.0 <= p.average_rating <= 5.0 for p in rated)  # derived from the reviews
    some = store.reviews_for(rated[0].id)
    assert some and some[0].timestamp < 2_000_000_000  # milliseconds became seconds
    assert store.categories()  # main_category became a category
    user = some[0].user_id
    assert store.reviews_by_user(user)


def test_ingest_real_scientific_2018_items_and_2014_reviews(settings, tmp_path, embedder):
    sci = dataset("amazon_reviews_2018_scientific_seqrec_unisrec")
    src = _head_gz(sci / "items.jsonl.gz", tmp_path / "sci.jsonl", 120)
    r = ingest(settings, src, progress=False, embedder=embedder)
    assert r.added == 120 and r.quarantined == 0
    store = CatalogStore(settings.catalog_db)
    p = store.get(json.loads(src.read_text().splitlines()[0])["asin"])
    assert p.brand == "eSUN" and p.title.startswith("eSUN Bronze filament")
    assert "eSUN" in store.brands()

    mi = dataset("amazon_reviews_2014_musical_instruments_5core")
    reviews = _head_gz(mi / "reviews.jsonl.gz", tmp_path / "mi.jsonl", 200)
    r2 = ingest(settings, reviews, full_sync=True, progress=False, embedder=embedder)
    assert r2.reviews == 200 and r2.quarantined == 0
    assert r2.deleted == 0  # a reviews-only source never deletes products
    assert len(store.users()) > 10


def test_content_hash_matches_the_asdict_reference_and_storage_keeps_spec_order(settings, tmp_path, embedder):
    """The faster hash is byte-for-byte the earlier one (catalogs ingested before stay unchanged),
    and the stored JSON keeps the source's spec order (BM25 takes the first 40 specs)."""
    import hashlib
    from dataclasses import asdict

    p = Product(id="x", title="Äpfel Tee", attributes={"zeta": "1", "alpha": "2"}, features=["a"], price=2.5,
                categories=["Food", "Tea"])
    reference = hashlib.sha1(json.dumps(asdict(p), sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()
    assert p.content_hash() == reference
    src = write_jsonl(tmp_path / "p.jsonl", [p.to_dict()])
    assert ingest(settings, src, progress=False, embedder=embedder).added == 1
    stored = CatalogStore(settings.catalog_db).get("x")
    assert list(stored.attributes) == ["zeta", "alpha"] and stored.content_hash() == reference
