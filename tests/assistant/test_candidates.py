"""Candidate selection over a real small catalog (the test shop), with no LLM and no
conversation store: every filter holds on every hit, superlatives are the catalog's extremes."""

from __future__ import annotations

import pytest

from assistant.candidates import Candidates, Ranked, allowed, search_query
from assistant.understand import State
from retrieval.catalog import Product
from retrieval.query import StructuredQuery


@pytest.fixture(scope="module")
def pick(shop):
    _, catalog, _ = shop
    return Candidates(catalog)


def state(**query) -> State:
    colours = query.pop("colours", [])
    return State(StructuredQuery(**query), colours=colours)


def test_allowed_enforces_every_filter_on_one_product():
    p = Product("x1", "Steel Kettle", brand="Acme", categories=["Kitchen", "Kettles"], price=40.0,
                attributes={"colour": "gray"}, average_rating=4.0)  # fmt: skip
    assert allowed(p, state(text="kettle", price_min=30, price_max=40, brands=["acme"], categories=["Kettles"],
                            min_rating=4.0, colours=["grey"]))  # fmt: skip
    for broken in (
        state(price_max=39.99),
        state(price_min=40.01),
        state(brands=["Zeta"]),
        state(exclude_brands=["ACME"]),
        state(exclude_ids=["x1"]),
        state(min_rating=4.1),
        state(categories=["Blenders"]),
        state(colours=["black"]),
    ):
        assert not allowed(p, broken), broken
    assert not allowed(Product("x2", "Kettle"), state(price_max=50))  # no price: a price cap excludes it


def test_retrieve_keeps_every_filter_on_every_hit(pick):
    s = state(text="blender", price_max=70.0, exclude_brands=["Zeta"], categories=["Blenders"])
    hits = pick.retrieve(s)
    assert hits and all(allowed(h.product, s) for h in hits)
    assert all(h.product.price <= 70.0 and h.product.brand != "Zeta" and "Blenders" in h.product.categories
               for h in hits)  # fmt: skip


@pytest.mark.parametrize("sort", ["price_asc", "price_desc", "rating_desc"])
def test_a_superlative_puts_the_catalogs_extreme_of_the_category_first(pick, sort):
    s = state(text="kettle", categories=["Kettles"], sort=sort)
    kettles = [p for p in pick.catalog.store.iter_products() if "Kettles" in p.categories]
    key = {"price_asc": lambda p: p.price, "price_desc": lambda p: -p.price, "rating_desc": lambda p: -p.average_rating}
    hits = pick.retrieve(s)
    assert {h.product.id for h in hits} == {p.id for p in kettles}
    assert hits[0].product.id == min(kettles, key=key[sort]).id


def test_search_query_moves_categories_into_the_text_and_the_first_colour_into_the_filter():
    s = state(text="kettle", categories=["Kettles", "Travel"], brands=["Acme"], colours=["black", "red"])
    q = search_query(s)
    assert q.text == "kettle Travel black red" and q.categories == [] and q.attributes == {"colour": "black"}
    assert q.brands == ["Acme"] and q.brands is not s.query.brands  # a copy: retrieval may not change the state


def test_products_keep_the_order_asked_and_skip_unknown_ids(pick):
    ids = [p.id for p in pick.catalog.store.iter_products()][:3][::-1]
    assert [p.id for p in pick.products([ids[0], "no-such-id", *ids[1:]])] == ids
    assert [p.id for p in pick.shown(State(shown=ids[:2]))] == ids[:2]


def test_no_alternative_without_unmatched_words_or_for_a_superlative(pick):
    s = state(text="blender", categories=["Blenders"])
    hits = pick.retrieve(s)
    top = [Ranked(h.product, h.score, None, h.score) for h in hits[:3]]
    assert pick.alternative(s, top, []) is None
    assert pick.alternative(state(text="blender", categories=["Blenders"], sort="price_asc"), top, ["quiet"]) is None
