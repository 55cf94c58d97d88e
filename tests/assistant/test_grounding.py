"""The grounding validator binds facts to the product named in the same sentence."""

from __future__ import annotations

from assistant.grounding import bound_problems, check, named_products
from retrieval.catalog import Product

BAND = Product(id="b", title="Pulsewave Band 5 Fitness Tracker, Black", price=49.0, average_rating=4.2,
               rating_count=12, attributes={"battery_life": "14 days", "weight": "24 g"})  # fmt: skip
WATCH = Product(id="w", title="Pulsewave Trail GPS Watch", price=299.0, average_rating=4.7, rating_count=30,
                attributes={"battery_life": "21 days (40 h GPS)", "weight": "52 g"})  # fmt: skip
CHAIR = Product(id="c", title="Ergolux Mesh Task Chair", price=249.0, average_rating=4.6, rating_count=41)
STOOL = Product(id="s", title="Sitwell Active Stool", price=129.0, average_rating=3.9, rating_count=8)


def test_another_shown_products_battery_life_is_not_this_ones():
    """The local LLM said the band lasts 21 days; 21 was the watch's, also on screen."""
    got = check("The Pulsewave Band 5 is light and its battery lasts 21 days.", [BAND, WATCH])
    assert not got.ok and got.problems == ["21 days is not in the data of Pulsewave Band 5 Fitness Tracker"]
    assert check("The Pulsewave Band 5 lasts 14 days and weighs 24 g.", [BAND, WATCH]).ok
    assert check("The Pulsewave Trail GPS Watch lasts 21 days.", [BAND, WATCH]).ok


def test_one_product_never_gets_two_ratings():
    text = "The Ergolux Mesh Task Chair [1] is rated 4.6/5 by 41 reviewers. It has a 3.9 star rating for comfort."
    got = check(text, [CHAIR, STOOL])
    assert not got.ok and any("3.9" in p and "Ergolux" in p for p in got.problems)
    assert check("The Ergolux Mesh Task Chair [1] is rated 4.6/5 by 41 reviewers.", [CHAIR, STOOL]).ok
    assert not check("The Sitwell Active Stool has 41 reviews.", [CHAIR, STOOL]).ok


def test_prices_bind_to_the_named_product_and_unnamed_sentences_to_all_shown():
    assert not check("The Sitwell Active Stool costs $249.00.", [CHAIR, STOOL]).ok
    assert check("Prices run from $129.00 to $249.00 [2].", [CHAIR, STOOL]).problems == [
        "price $249.00 is not the price of Sitwell Active Stool"]
    assert check("Both are well rated: 4.6 and 3.9 out of 5.", [CHAIR, STOOL]).ok
    assert check("The chair [1] is $249.00 and the stool [2] is $129.00.", [CHAIR, STOOL]).ok


def test_names_and_continuations():
    assert named_products("the Pulsewave Band 5 is great", [BAND, WATCH]) == [0]
    assert named_products("Pulsewave makes both", [BAND, WATCH]) == []
    assert named_products("see [2]", [BAND, WATCH]) == [1]
    assert bound_problems("The Pulsewave Trail GPS Watch is tough. It lasts 14 days.", [BAND, WATCH]) == [
        "14 days is not in the data of Pulsewave Trail GPS Watch"]
    assert bound_problems("The Pulsewave Band 5 lasts 14 days. Then 21 days for GPS watches.", [BAND, WATCH]) == []


def test_a_share_of_reviewers_needs_the_whole_in_the_data():
    assert check("3 of 12 reviewers mention the strap.", [BAND, WATCH]).ok
    assert not check("13 of 12 reviewers mention the strap.", [BAND, WATCH]).ok
    assert not check("3 of 9 reviewers mention the strap.", [BAND, WATCH]).ok


def test_a_number_written_as_the_title_writes_it_is_the_products():
    blender = Product(id="x", title="Acme Quiet Blender 600W", price=49.0)
    assert check("The Acme Quiet Blender 600W costs $49.00 [1].", [blender, CHAIR]).ok
    assert not check("The Acme Quiet Blender 600W has 900W [1].", [blender, CHAIR]).ok


def test_a_number_in_a_spec_name_said_in_words_is_catalog_data():
    """Icecat's 'basic_switching_rj_45_ethernet_ports_quantity' is said 'rj 45 ethernet ports'."""
    p = Product(id="s", title="TP-Link switch", attributes={"basic_switching_rj_45_ethernet_ports_quantity": "24"})
    assert check("Its basic switching rj 45 ethernet ports quantity is 24 (the listing's spec sheet).", [p]).ok
    assert not check("It has 46 ports.", [p]).ok
