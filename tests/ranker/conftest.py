"""Ranker fixtures: small real data (MI 2014 users, the demo catalog in a real CatalogStore)
and one real training run shared by the module that needs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import dataset

MI = "amazon_reviews_2014_musical_instruments_5core"
DEMO = Path(__file__).resolve().parents[2] / "retrieval" / "demo"


@pytest.fixture(scope="session")
def mi_data():
    from ranker.data import read_mi2014

    return read_mi2014(dataset(MI))


@pytest.fixture(scope="session")
def mi_small(mi_data):
    """60 real users with all their ratings (~400 reviews): trains in about a minute."""
    return mi_data.subset_users(60)


def demo_store(path: Path):
    """The bundled demo catalog loaded into a real CatalogStore at ``path``."""
    from retrieval.catalog import Product, Review
    from retrieval.store import CatalogStore

    store = CatalogStore(path)
    products = [Product.from_dict(json.loads(x)) for x in (DEMO / "products.jsonl").read_text().splitlines() if x.strip()]
    reviews = [Review.from_dict(json.loads(x)) for x in (DEMO / "reviews.jsonl").read_text().splitlines() if x.strip()]
    store.upsert_products((p, p.content_hash(), p.content_hash()) for p in products)
    store.upsert_reviews(reviews)
    store.refresh_ratings()
    return store


@pytest.fixture
def catalog(settings):
    return demo_store(settings.catalog_db)
