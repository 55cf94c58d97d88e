"""Source readers: format detection and each format's fields, on real rows where we have them."""

from __future__ import annotations

import gzip
import json

import pytest

from retrieval.catalog import Product, Review
from retrieval.sources import detect_row, read_source, source_files
from tests.conftest import dataset


def _first(path, n=1):
    out = []
    for rec in read_source(path):
        out.append(rec)
        if len(out) >= n:
            break
    return out


def test_icecat_as_it_is():
    ds = dataset("chorus_icecat_product_search_judgments_135q")
    rec = _first(ds / "products.jsonl.gz")[0]
    p = rec.item
    assert isinstance(p, Product) and p.id == "3920564"
    assert p.price == 49.95  # 4995 US cents
    assert p.brand == "Xerox"  # supplier
    assert p.attributes["printing_colours"] == "Black" and p.attributes["quantity_per_pack"] == "6"
    assert p.attributes["model"] == "006R90321"
    assert p.image_urls[0].endswith(".jpg") and len(p.image_urls) == 4
    assert p.description.startswith("Toner (6 Per Box)")


def test_amazon_2023_meta_and_reviews():
    ds = dataset("amazon_reviews_2023_user_history_sample")
    p = _first(ds / "items.jsonl.gz")[0].item
    assert isinstance(p, Product) and p.id == "B095RWJJB8" and p.categories == ["All Beauty"] and p.price is None
    r = _first(ds / "reviews.jsonl.gz")[0].item
    assert isinstance(r, Review) and r.product_id == "B095RWJJB8" and r.rating == 4.0
    assert r.timestamp == 1627679830  # ms -> s


def test_amazon_2014_reviews_and_unisrec_items():
    r = _first(dataset("amazon_reviews_2014_musical_instruments_5core") / "reviews.jsonl.gz")[0].item
    assert isinstance(r, Review) and r.user_id == "A2IBPI20UZIR0U" and r.product_id == "1384719342"
    assert r.rating == 5.0 and r.title == "good" and r.timestamp == 1393545600
    p = _first(dataset("amazon_reviews_2018_scientific_seqrec_unisrec") / "items.jsonl.gz")[0].item
    assert p.brand == "eSUN" and "3D Printing Filament" in p.description


def test_amazon_2018_full_meta_row():
    row = {"asin": "B01", "title": "Pipette", "brand": "Lab Co", "price": "$1,299.50",
           "category": ["Industrial & Scientific", "Lab"], "feature": ["a", "b"], "description": ["x"],
           "imageURLHighRes": ["https://i/1.jpg"]}
    p = detect_row(row)(row)
    assert (p.price, p.brand, p.categories, p.features) == (1299.5, "Lab Co", ["Industrial & Scientific", "Lab"], ["a", "b"])


def test_generic_csv_with_mapping(tmp_path):
    src = tmp_path / "shop.csv"
    src.write_text("sku,name,maker,cents,cats,attr_colour\n"
                   "A1,Blue Kettle,Acme,2599,Kitchen|Kettles,blue\n"
                   "A2,,Acme,100,Kitchen,red\n"
                   "A3,Lamp,Zen,-5,Home,white\n", encoding="utf-8")
    mapping = {"id": "sku", "title": "name", "brand": "maker", "price": "cents", "price_scale": 0.01,
               "categories": "cats"}
    recs = list(read_source(src, "csv", mapping))
    p = recs[0].item
    assert (p.id, p.title, p.brand, p.price, p.categories, p.attributes) == (
        "A1", "Blue Kettle", "Acme", 25.99, ["Kitchen", "Kettles"], {"colour": "blue"})
    assert recs[1].reason == "missing title" and recs[1].line == 3
    assert "negative price" in recs[2].reason


def test_folder_reads_products_before_reviews_and_skips_eval_files(tmp_path):
    (tmp_path / "reviews.jsonl").write_text("")
    (tmp_path / "products.jsonl.gz").write_bytes(gzip.compress(b""))
    (tmp_path / "judgments.jsonl.gz").write_bytes(gzip.compress(b""))
    (tmp_path / "users.json").write_text("[]")
    assert [p.name for p in source_files(tmp_path)] == ["products.jsonl.gz", "reviews.jsonl"]


def test_unknown_format_and_missing_source(tmp_path):
    with pytest.raises(ValueError, match="unknown format"):
        list(read_source(tmp_path, "xml"))
    with pytest.raises(FileNotFoundError):
        list(read_source(tmp_path / "nope.jsonl"))
    src = tmp_path / "odd.jsonl"
    src.write_text(json.dumps({"foo": 1}) + "\n[1, 2]\n")
    reasons = [r.reason for r in read_source(src)]
    assert reasons[0].startswith("unknown row shape") and reasons[1] == "not a JSON object"
