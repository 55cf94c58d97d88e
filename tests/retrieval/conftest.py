"""Retrieval fixtures: a small hand-written shop, files in tmp_path (the Chroma server: tests/conftest.py).

The shop is written here (not the bundled demo) so the filter and superlative tests know
every price, brand and rating they assert on.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrieval.catalog import Product, Review

# (id, title, brand, categories, price, colour, description)
SHOP = [
    ("shoe-1", "Pegasus 40 Running Shoes", "Nike", ["Shoes", "Running Shoes"], 129.99, "black", "Cushioned daily road running shoe."),
    ("shoe-2", "Revolution 7 Running Shoes", "Nike", ["Shoes", "Running Shoes"], 69.99, "white", "Lightweight budget running shoe."),
    ("shoe-3", "Ultraboost Light Running Shoes", "Adidas", ["Shoes", "Running Shoes"], 179.99, "black", "Energy-returning foam running shoe."),
    ("shoe-4", "Duramo SL Running Shoes", "Adidas", ["Shoes", "Running Shoes"], 59.99, "blue", "Everyday running and gym shoe."),
    ("shoe-5", "Gel-Kayano 30 Running Shoes", "Asics", ["Shoes", "Running Shoes"], 159.99, "grey", "Stability running shoe for overpronation."),
    ("shoe-6", "Trail Runner GTX Trail Shoes", "Salomon", ["Shoes", "Trail Shoes"], 149.99, "green", "Waterproof trail running shoe with grippy lugs."),
    ("shoe-7", "Court Classic Tennis Shoes", "Adidas", ["Shoes", "Tennis Shoes"], 79.99, "white", "Leather tennis shoe."),
    ("hp-1", "WH-1000XM5 Wireless Noise Cancelling Headphones", "Sony", ["Audio", "Headphones"], 399.99, "black",
     "Over-ear bluetooth headphones with noise cancelling."),
    ("hp-2", "QuietComfort 45 Bluetooth Headphones", "Bose", ["Audio", "Headphones"], 329.00, "white", "Comfortable noise cancelling over-ear headphones."),
    ("hp-3", "Studio Monitor Wired Headphones", "Audio-Technica", ["Audio", "Headphones"], 149.00, "black", "Closed-back wired studio headphones."),
    ("hp-4", "Budget Wired Earphones", "Acme", ["Audio", "Earphones"], 9.99, "black", "In-ear wired earphones with microphone."),
    ("hp-5", "Sport Wireless Earbuds", "Jabra", ["Audio", "Earphones"], 89.00, "blue", "Sweat-proof bluetooth earbuds for running."),
    ("sp-1", "Flip 6 Portable Bluetooth Speaker", "JBL", ["Audio", "Speakers"], 129.95, "red", "Waterproof portable bluetooth speaker."),
    ("sp-2", "SoundLink Micro Bluetooth Speaker", "Bose", ["Audio", "Speakers"], 119.00, "black", "Small rugged bluetooth speaker."),
    ("cf-1", "Barista Express Espresso Machine", "Breville", ["Kitchen", "Coffee Makers"], 699.95, "silver", "Espresso machine with built-in grinder."),
    ("cf-2", "12-Cup Drip Coffee Maker", "Acme", ["Kitchen", "Coffee Makers"], 39.99, "black", "Programmable drip coffee maker."),
    ("cf-3", "French Press Coffee Maker 1L", "Bodum", ["Kitchen", "Coffee Makers"], 34.50, "silver", "Glass and steel french press."),
    ("cf-4", "Vertuo Next Coffee Machine", "Nespresso", ["Kitchen", "Coffee Makers"], 179.00, "grey", "Capsule coffee and espresso machine."),
    ("bp-1", "Daypack 20L Backpack", "Osprey", ["Bags", "Backpacks"], 89.95, "green", "Hiking daypack with hydration sleeve."),
    ("bp-2", "Laptop Backpack 15.6 inch", "Targus", ["Bags", "Backpacks"], 49.99, "black", "Padded laptop backpack for commuting."),
    ("bp-3", "Laptop Backpack 15.6 inch", "Targus", ["Bags", "Backpacks"], 49.99, "grey", "Padded laptop backpack for commuting."),
]

# (product id, ratings): average ratings are derived from these reviews at ingest
RATINGS = {
    "shoe-1": [5, 5, 4, 5], "shoe-2": [4, 3, 4], "shoe-3": [5, 4], "shoe-4": [3, 3, 4], "shoe-5": [5, 5, 5, 4, 5],
    "shoe-6": [4, 5], "shoe-7": [2, 3], "hp-1": [5, 5, 5, 4], "hp-2": [4, 5, 4], "hp-3": [4, 4], "hp-4": [2, 1, 3],
    "hp-5": [4, 3], "sp-1": [5, 4, 5], "sp-2": [4, 4], "cf-1": [5, 4, 4], "cf-2": [3, 2], "cf-3": [4], "cf-4": [4, 5],
    "bp-1": [5, 5], "bp-2": [4], "bp-3": [4],
}


def shop_products() -> list[Product]:
    return [
        Product(id=i, title=t, brand=b, categories=c, price=p, description=d, attributes={"colour": col},
                features=[d], image_urls=[f"https://img.example/{i}.jpg"])
        for i, t, b, c, p, col, d in SHOP
    ]


def shop_reviews() -> list[Review]:
    out = []
    for pid, ratings in RATINGS.items():
        for n, r in enumerate(ratings):
            out.append(Review(id=f"{pid}-r{n}", product_id=pid, user_id=f"user{n % 3}", rating=float(r),
                              title="ok", text=f"Review {n} of {pid}", timestamp=1_700_000_000 + n * 86400))
    return out


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def shop_dir(tmp_path) -> Path:
    """The shop as a native folder: products.jsonl + reviews.jsonl."""
    d = tmp_path / "shop"
    write_jsonl(d / "products.jsonl", [p.to_dict() for p in shop_products()])
    write_jsonl(d / "reviews.jsonl", [r.to_dict() for r in shop_reviews()])
    return d


def _open_shop(settings, folder: Path, embedder):
    from retrieval.ingest import ingest
    from retrieval.search import open_catalog

    report = ingest(settings, folder, progress=False, embedder=embedder)
    assert report.quarantined == 0
    return open_catalog(settings, embedder=embedder)


@pytest.fixture(scope="module")
def shop(tmp_path_factory, embedder):
    """The shop ingested once per module (real MiniLM, real embedded Chroma); read-only tests."""
    from shopassist.settings import Settings

    base = tmp_path_factory.mktemp("shop")
    folder = base / "src"
    write_jsonl(folder / "products.jsonl", [p.to_dict() for p in shop_products()])
    write_jsonl(folder / "reviews.jsonl", [r.to_dict() for r in shop_reviews()])
    return _open_shop(Settings(data_dir=base / "data"), folder, embedder)


@pytest.fixture
def fresh_shop(settings, shop_dir, embedder):
    """The shop ingested into this test's tmp_path: for tests that change the catalog."""
    return _open_shop(settings, shop_dir, embedder)
