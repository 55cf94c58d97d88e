"""The card-personalisation measurement (``shopassist eval personalisation``)."""

from __future__ import annotations

from assistant.personalisation_eval import card_orders, visibility


def test_the_same_shopper_twice_never_counts_as_a_difference(assistant):
    # two fresh conversations of one shopper must get the same cards: the measurement's zero
    report = visibility(assistant, ["u-same", "u-same"], ["a kettle", "blenders"])
    assert report["queries"] == 2 and report["share_pairs_differ"] == 0.0
    assert report["queries_where_users_differ"] == 0


def test_card_orders_are_the_cards_shown(assistant):
    orders = card_orders(assistant, ["u-1", "u-2"], "a kettle")
    kettles = {p.id for p in assistant.catalog.store.iter_products() if "Kettles" in p.categories}
    assert set(orders) == {"u-1", "u-2"}
    assert orders["u-1"] and set(orders["u-1"]) <= kettles
