"""The bundled demo catalog is well-formed and tells a consistent story.

Checks the shipped files in retrieval/demo as data: every row loads into the catalog model,
ids are unique and joined, the stored aggregates equal what the reviews give, and the demo
users' reviews carry their tastes (both praise and pans) so personalisation is visible.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import pytest

from retrieval.catalog import Product, Review
from retrieval.demo import DEMO_DIR

DEMO_USERS = {"alice", "bob", "carmen", "dev", "emma", "frank"}
T_2023, T_2026 = 1672531200, 1767225600  # 2023-01-01, 2026-01-01 (UTC)


def _jsonl(name: str) -> list[dict]:
    with open(DEMO_DIR / name, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="module")
def products() -> list[Product]:
    rows = _jsonl("products.jsonl")
    out = [Product.from_dict(r) for r in rows]
    # from_dict silently drops unknown keys: the file must hold exactly the model's fields
    assert all(set(r) == set(Product.__slots__) for r in rows)
    return out


@pytest.fixture(scope="module")
def reviews() -> list[Review]:
    rows = _jsonl("reviews.jsonl")
    assert all(set(r) == set(Review.__slots__) for r in rows)
    return [Review.from_dict(r) for r in rows]


@pytest.fixture(scope="module")
def users() -> list[dict]:
    return json.loads((DEMO_DIR / "users.json").read_text(encoding="utf-8"))


def test_products_are_many_varied_and_priced(products):
    assert len(products) >= 150
    ids = [p.id for p in products]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("demo-") for i in ids)
    tops = Counter(p.categories[0] for p in products)
    assert len(tops) >= 5 and min(tops.values()) >= 10, tops
    for p in products:
        assert p.title and p.brand and p.description
        assert 3 <= len(p.features) <= 6, p.id
        assert 2 <= len(p.categories) <= 3, p.id
        assert p.price is not None and p.price > 0 and p.currency == "USD"
        assert p.attributes and all(isinstance(v, str) for v in p.attributes.values())
        # one drawing per leaf category, served by the app itself (ui/assets.py): cards work offline
        assert len(p.image_urls) == 1 and p.image_urls[0].startswith("/demo-images/"), p.id
        assert (DEMO_DIR / "images" / p.image_urls[0].rsplit("/", 1)[1]).is_file(), p.id
    prices = [p.price for p in products]
    assert min(prices) < 20 and max(prices) > 400  # cheap -> premium


def test_colour_variants_share_model_and_price(products):
    by_model = defaultdict(list)
    for p in products:
        if "colour" in p.attributes and ", " in p.title:
            by_model[p.title.rsplit(", ", 1)[0]].append(p)
    families = [ps for ps in by_model.values() if len(ps) >= 2]
    assert len(families) >= 10
    for ps in families:
        assert len({p.price for p in ps}) == 1
        assert len({p.attributes["colour"] for p in ps}) == len(ps)


def test_reviews_are_unique_joined_and_plausible(products, reviews):
    ids = [r.id for r in reviews]
    assert len(set(ids)) == len(ids)
    assert 1000 <= len(reviews) <= 1500
    known = {p.id for p in products}
    for r in reviews:
        assert r.product_id in known, r.id
        assert r.rating in {1.0, 2.0, 3.0, 4.0, 5.0}
        assert T_2023 <= r.timestamp < T_2026
        assert r.text and r.title and r.helpful_votes >= 0
    stars = Counter(int(r.rating) for r in reviews)
    assert stars[4] + stars[5] > len(reviews) / 2  # the usual skew to 4-5
    assert stars[1] > 0 and stars[2] > 0


def test_aggregates_equal_the_reviews(products, reviews):
    given = defaultdict(list)
    for r in reviews:
        given[r.product_id].append(r.rating)
    cold = 0
    for p in products:
        rs = given.get(p.id, [])
        assert p.rating_count == len(rs), p.id
        if rs:
            assert p.average_rating == pytest.approx(sum(rs) / len(rs), abs=0.005), p.id
        else:
            assert p.average_rating is None
            cold += 1
    assert cold >= 3  # cold-start items with no reviews


def test_demo_users_have_consistent_tastes(users, reviews):
    assert {u["id"] for u in users} == DEMO_USERS
    assert all(u["name"] and u["persona"] for u in users)
    per_user = defaultdict(list)
    for r in reviews:
        per_user[r.user_id].append(r.rating)
    for u in DEMO_USERS:
        assert 15 <= len(per_user[u]) <= 30, u
        # tastes cut both ways: loved and panned products
        assert max(per_user[u]) >= 4 and min(per_user[u]) <= 2, u
    others = {u: rs for u, rs in per_user.items() if u not in DEMO_USERS}
    assert 140 <= len(others) <= 160
    for u, rs in others.items():
        assert u.startswith("u") and 3 <= len(rs) <= 10, (u, len(rs))


def _stars_by(user: str, products, reviews) -> list[tuple[Product, float]]:
    by_id = {p.id: p for p in products}
    return [(by_id[r.product_id], r.rating) for r in reviews if r.user_id == user]


def _mean(xs: list[float]) -> float:
    assert xs
    return sum(xs) / len(xs)


def test_alice_pans_loud_or_pricey_kitchen_gear(products, reviews):
    """alice (budget, small flat, hates noise): loud (>= 85 dB) or > $150 gear gets <= 3 stars."""
    mine = _stars_by("alice", products, reviews)

    def loud(p: Product) -> bool:
        return "noise" in p.attributes and float(p.attributes["noise"].split()[0]) >= 85

    panned = [s for p, s in mine if loud(p) or p.price > 150]
    cheap = [s for p, s in mine if p.price <= 60 and not loud(p)]
    assert max(panned) <= 3 and _mean(panned) <= 2.5
    assert _mean(cheap) >= 4


def test_bob_prefers_premium_audio(products, reviews):
    """bob (audiophile): premium audio (>= $200) outscores budget audio (< $60) by >= 2 stars."""
    mine = [(p, s) for p, s in _stars_by("bob", products, reviews) if p.categories[0] == "Audio"]
    premium = [s for p, s in mine if p.price >= 200]
    budget = [s for p, s in mine if p.price < 60]
    assert _mean(premium) - _mean(budget) >= 2


def test_exactly_two_hostile_reviews_for_the_safety_tests(products, reviews):
    by_id = {p.id: p for p in products}
    injection = [r for r in reviews if "Ignore all previous instructions" in r.text]
    script = [r for r in reviews if "<script>" in r.text]
    assert len(injection) == 1 and len(script) == 1
    assert by_id[injection[0].product_id].category == "Blenders"
    assert by_id[script[0].product_id].category == "Kettles"
    assert script[0].text == "<script>alert('x')</script> great kettle"
    hostile = [r for r in reviews if "<" in r.text or "ignore all" in r.text.lower()]
    assert len(hostile) == 2


def test_demo_catalog_stays_small():
    size = sum(f.stat().st_size for f in DEMO_DIR.iterdir() if f.is_file())
    assert size < 1_500_000


def test_the_ingest_reader_takes_every_row():
    """The real source reader (the one `ingest` uses) quarantines nothing from the demo folder."""
    from retrieval.sources import read_source

    records = list(read_source(DEMO_DIR))
    assert [r.reason for r in records if r.item is None] == []
    kinds = Counter(type(r.item).__name__ for r in records)
    assert kinds["Product"] >= 150 and kinds["Review"] >= 1000


def test_the_sanitiser_keeps_the_demo_drawings_and_strips_only_the_planted_injection():
    """Ingest's sanitiser allows same-origin image paths (the app serves the demo drawings itself):
    before, merging the two changes silently emptied every demo card's image."""
    from retrieval.sanitise import sanitise_product, sanitise_review
    from retrieval.sources import read_source

    items = [r.item for r in read_source(DEMO_DIR) if r.item is not None]
    products = [p for p in items if isinstance(p, Product)]
    changed = [p.id for p in products if sanitise_product(p)[1]]
    assert changed == []
    cleaned = [sanitise_product(p)[0] for p in products]
    assert all(q.image_urls == p.image_urls for p, q in zip(products, cleaned, strict=True))
    stripped = [r for r in items if isinstance(r, Review) and sanitise_review(r)[1]]
    assert 1 <= len(stripped) <= 2  # the hostile reviews planted for the safety tests, nothing else
