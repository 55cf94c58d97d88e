"""The query parser: prices, ratings, sorts, negations; values only from the real vocabulary."""

from __future__ import annotations

import pytest

from retrieval.query import Vocabulary, parse_query

VOCAB = Vocabulary(
    brands=["Nike", "Adidas", "Sony", "Bose", "Audio-Technica", "JBL", "New Balance"],
    categories=["Shoes", "Running Shoes", "Headphones", "Speakers", "Coffee Makers"],
    colours=["black", "white", "blue"],
    price_min=9.99,
    price_max=699.95,
)


@pytest.mark.parametrize(
    "text, price_min, price_max",
    [
        ("running shoes under $80", None, 80.0),
        ("headphones below 100", None, 100.0),
        ("less than 50 dollars", None, 50.0),
        ("between 20 and 50 dollars", 20.0, 50.0),
        ("from $30 to $60", 30.0, 60.0),
        ("$25-$40 speaker", 25.0, 40.0),
        ("over $200", 200.0, None),
        ("at least 300 dollars", 300.0, None),
        ("around $100", 80.0, 120.0),
        ("50 dollars or less", None, 50.0),
        ("no more than 1.5k", None, 1500.0),
        ("2 in 1 laptop", None, None),  # a bare number is not a price
        ("4 stars and up", None, None),  # a rating is not a price
    ],
)
def test_prices(text, price_min, price_max):
    q = parse_query(text, VOCAB)
    assert (q.price_min, q.price_max) == (price_min, price_max)


@pytest.mark.parametrize(
    "text, rating",
    [("4 stars and up", 4.0), ("4+ stars", 4.0), ("at least 4.5 stars", 4.5), ("rated 4 or higher", 4.0),
     ("3 star or better headphones", 3.0), ("headphones", None), ("over 4 stars", 4.0)],
)
def test_min_rating(text, rating):
    assert parse_query(text, VOCAB).min_rating == rating


@pytest.mark.parametrize(
    "text, sort",
    [("cheapest headphones", "price_asc"), ("least expensive speaker", "price_asc"),
     ("most expensive shoes", "price_desc"), ("best rated coffee maker", "rating_desc"),
     ("top-rated speakers", "rating_desc"), ("best headphones", "relevance")],
)
def test_sorts(text, sort):
    assert parse_query(text, VOCAB).sort == sort


def test_full_example_keeps_unknown_words_in_text():
    q = parse_query("Black running shoes for trail under $80 not Nike, 4 stars and up", VOCAB)
    assert q.price_max == 80.0
    assert q.exclude_brands == ["Nike"] and q.brands == []
    assert q.min_rating == 4.0
    assert q.categories == ["Running Shoes"]
    assert q.attributes == {"colour": "black"}
    assert q.text == "Black running shoes for trail"  # filter phrases out, the shopper's words kept


def test_never_invents_vocabulary():
    q = parse_query("puma sneakers in magenta by reebok", VOCAB)
    assert q.brands == [] and q.exclude_brands == [] and q.categories == [] and q.attributes == {}
    assert q.text == "puma sneakers in magenta by reebok"


def test_brands_match_whole_words_case_insensitive():
    assert parse_query("SONY headphones", VOCAB).brands == ["Sony"]
    assert parse_query("sonyx headphones", VOCAB).brands == []
    assert parse_query("new balance shoes", VOCAB).brands == ["New Balance"]  # multi-word, longest first
    assert parse_query("audio-technica headphones", VOCAB).brands == ["Audio-Technica"]


@pytest.mark.parametrize("text", ["headphones not Sony", "headphones except sony", "headphones, no Sony",
                                  "headphones without Sony please", "anything but sony headphones"])
def test_negated_brand(text):
    q = parse_query(text, VOCAB)
    assert q.exclude_brands == ["Sony"] and q.brands == []
    assert "sony" not in q.text.lower()


def test_negation_of_two_brands_and_a_positive_one():
    q = parse_query("Bose or JBL speakers not Sony", VOCAB)
    assert sorted(q.brands) == ["Bose", "JBL"]
    assert q.exclude_brands == ["Sony"]


def test_plural_category_and_only_filters():
    q = parse_query("cheapest speakers under 200", VOCAB)
    assert q.categories == ["Speakers"] and q.sort == "price_asc" and q.price_max == 200.0
    q = parse_query("best rated under $50", VOCAB)
    assert q.text == "" and q.sort == "rating_desc" and q.price_max == 50.0


def test_empty_vocabulary_still_parses_prices():
    q = parse_query("tv under 300", None)
    assert q.price_max == 300.0 and q.text == "tv"


@pytest.mark.parametrize(
    "text, price_min, price_max",
    [
        # ShoppingBench-style: any currency word or symbol, before or after the amount
        ("wireless mouse priced above 375 pesos", 375.0, None),
        ("a desk lamp between 39 and 152 PHP", 39.0, 152.0),
        ("PHP 500 or less", None, 500.0),
        ("kettle under 30 euros", None, 30.0),
        ("€30-€60 kettle", 30.0, 60.0),
        ("headphones below £80", None, 80.0),
        ("a phone case for less than 200 rupees", None, 200.0),
        # a number with a unit of measure is never a price
        ("a trolley that supports up to 10 kg", None, None),
        ("a desk fan around 23 watts", None, None),
        ("under 2 kg and below $50", None, 50.0),
        ("a 15.6 inch laptop under 900", None, 900.0),
        ("at least 1.5 l", None, None),
        ("more than 20 h of battery", None, None),
        ("over 5000 mAh power bank", None, None),
        ("a router faster than 300 Mbps under 60 dollars", None, 60.0),
        ("monitor above 144 Hz below $300", None, 300.0),
        ("between 2 and 5 l", None, None),
        ("max 35 dB", None, None),
        ("up to 128 GB under 300 euros", None, 300.0),
        ("a 2 person tent for no more than 150", None, 150.0),
        ("under 50 in black", None, 50.0),  # "in" is a word here, not inches
    ],
)
def test_prices_in_any_currency_never_from_measurements(text, price_min, price_max):
    q = parse_query(text, VOCAB)
    assert (q.price_min, q.price_max) == (price_min, price_max)


def test_measurement_phrases_stay_in_text_for_the_assistant():
    # the assistant reads "under 2 kg" against the catalog's weights; the parser must not eat it
    q = parse_query("backpack under 2 kg and below $50", VOCAB)
    assert q.price_max == 50.0 and "2 kg" in q.text


@pytest.mark.parametrize("text", ["nothing from nike", "not from nike", "running shoes not by nike"])
def test_negated_maker(text):
    q = parse_query(text, VOCAB)
    assert q.exclude_brands == ["Nike"] and q.brands == []


def test_brand_is_never_singularised():
    v = Vocabulary(brands=["ARES", "Nike"])
    assert parse_query("my fingers are too big", v).brands == []
    assert parse_query("ares tweezers", v).brands == ["ARES"]


def test_brand_alias_names_its_brand():
    v = Vocabulary(brands=["SharkNinja", "Eureka"], brand_aliases={"shark": "SharkNinja"})
    assert parse_query("what about shark", v).brands == ["SharkNinja"]
    assert parse_query("vacuums, not shark", v).exclude_brands == ["SharkNinja"]
