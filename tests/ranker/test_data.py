"""Readers, the per-user time split, and the leakage guard."""

import pytest

from ranker.data import (
    Example,
    LeakageError,
    Rating,
    RatingData,
    check_no_leak,
    make_example,
    make_examples,
    read_amazon2023,
    read_catalog,
)
from tests.conftest import dataset


def test_mi_reader_and_split(mi_data):
    assert len(mi_data.ratings) == 10261 and len(mi_data.users()) == 1429
    assert len(mi_data.test) == len(mi_data.val) == 1429  # 5-core: every user has a test and a val rating
    for u in mi_data.users()[:50]:
        seq = mi_data.user_sequence(u)
        assert mi_data.ratings[seq[-1]].ts >= mi_data.ratings[seq[-2]].ts
        assert seq[-1] in set(mi_data.test) and seq[-2] in set(mi_data.val)


def test_split_ties_keep_file_order():
    rs = [Rating("u", "a", 5, 100, 0), Rating("u", "b", 4, 100, 1), Rating("u", "c", 3, 100, 2), Rating("v", "a", 2, 50, 3)]
    d = RatingData("toy", rs)
    assert d.test == [2] and d.val == [1] and d.train == [0, 3]  # v has 1 rating: train only


def test_amazon2023_reader():
    d = read_amazon2023(dataset("amazon_reviews_2023_user_history_sample"))
    assert len(d.ratings) == 3455 and d.items
    ex = make_example(d, d.test[0])
    assert ex.item_units and d.items[ex.item].title in ex.item_units[0]


def test_catalog_reader(catalog):
    d = read_catalog(catalog)
    assert len(d.ratings) == catalog.review_count() and len(d.test) > 0
    ex = make_example(d, d.test[0])
    assert ex.history and ex.item_units


def test_inputs_use_only_the_past(mi_data):
    k = mi_data.test[0]
    target = mi_data.ratings[k]
    ex = make_example(mi_data, k)
    seq = mi_data.user_sequence(target.user)
    assert ex.sources == [h for h in seq[: seq.index(k)]][-8:]
    for k2 in mi_data.item_sequence(target.item):
        r = mi_data.ratings[k2]
        if r.ts >= target.ts and r.user != target.user:  # later reviews of the item never appear
            assert r.text[:60] not in ex.item_text


def test_leakage_guard_planted_target_text_is_absent():
    """Plant the target review's text in another user's EARLIER review of the same item and
    in the same user's earlier review: the copies are dropped, the input is clean."""
    secret = "This planted review text must never reach the model input for its own rating."
    rs = [
        Rating("other", "a", 1, 10, 0, "copy", secret),  # another account posted the same text earlier
        Rating("other", "b", 4, 11, 1, "fine", "A normal review of item b that says the strap is fine."),
        Rating("u", "c", 5, 12, 2, "Own earlier", "I wrote: " + secret),  # the user re-posted it earlier
        Rating("u", "b", 4, 13, 3, "ok", "Item b works for me, good strap and sound."),
        Rating("u", "a", 2, 20, 4, "Target", secret),  # the target
    ]
    d = RatingData("planted", rs)
    assert 4 in d.test
    ex = make_example(d, 4)
    assert secret[:40] not in ex.item_text and secret[:40] not in ex.user_text
    assert 4 not in ex.sources and ex.user_units  # the clean history remains


def test_leakage_guard_raises_when_input_contains_target():
    target = Rating("u", "a", 5, 10, 0, "Great", "A long enough review text that identifies the target review exactly.")
    leaky = Example(0, "u", "a", 5.0, [], ["Great: A long enough review text that identifies the target review exactly."], [])
    with pytest.raises(LeakageError):
        check_no_leak(leaky, target)
    with pytest.raises(LeakageError):
        check_no_leak(Example(0, "u", "a", 5.0, [], [], [], sources=[0]), target)


def test_every_mi_input_passes_the_guard(mi_small):
    assert len(make_examples(mi_small, mi_small.train + mi_small.val + mi_small.test)) == len(mi_small.ratings)
