"""The replay's store reviews (``--learn-from cards+reviews``), the popularity_live peer and the
time-ordered dealing (``--deal time``), on real MI users: every expectation recounted from the
dataset's own ratings."""

from __future__ import annotations

from collections import Counter

import pytest

from ranker.blend import CoRatings
from ranker.replay import SimConfig, build_replay, learn_from_reviews, own_later_known, store_reviews


def _later_by_shopper(data, cutoff: int) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for r in data.ratings:
        if r.ts >= cutoff:
            out.setdefault(r.user, {})[r.item] = r.stars
    return out


def test_a_shoppers_own_later_ratings_are_never_known_before_their_session(mi_data):
    """Learning the store's reviews round by round (as ``simulate`` does after each round): when a
    round starts, the shop knows every later rating of the earlier rounds' shoppers and none of this
    round's shoppers' own; and the check would see it if it did (learning a round before its sessions)."""
    rep = build_replay(mi_data, SimConfig(users=300, rounds=4, negatives=12, seed=3))
    later = _later_by_shopper(mi_data, rep.cutoff)
    hist_pairs = {(r.user, r.item) for r in rep.history.ratings}
    co = CoRatings.from_pairs((r.user, r.item) for r in rep.history.ratings)
    counts = Counter(r.item for r in rep.history.ratings)
    reviewed, explored, seen_shoppers = set(), set(), []
    for batch in rep.batches:
        shoppers = [s.shopper for s in batch]
        assert not set(shoppers) & set(seen_shoppers)  # one session each: never learned from before it
        assert own_later_known(batch, hist_pairs, reviewed, co, []) == 0
        expected = {(u, i) for u in seen_shoppers for i in later[u]}  # the earlier rounds' real later ratings, recounted
        assert reviewed == expected
        # the control: had this round's reviews been learned before its sessions, the check counts them
        peek_co = CoRatings.from_pairs((r.user, r.item) for r in rep.history.ratings)
        peek = store_reviews(batch)
        learn_from_reviews(peek, peek_co, Counter(), set())
        own = sum((u, i) not in hist_pairs for u in shoppers for i in later[u])
        assert own > 0 and own_later_known(batch, hist_pairs, {(u, i) for u, i, _ in peek}, peek_co, []) == own
        reviews = store_reviews(batch)
        assert sorted((u, i, st) for u, i, st in reviews) == sorted((u, i, st) for u in shoppers for i, st in later[u].items())
        learn_from_reviews(reviews, co, counts, explored)
        reviewed.update((u, i) for u, i, _ in reviews)
        seen_shoppers += shoppers
    # popularity after every round = the history's counts + one per later rating of the replayed shoppers
    hist_counts = Counter(r.item for r in rep.history.ratings)
    recount = hist_counts + Counter(i for u in seen_shoppers for i in later[u])
    assert counts == recount
    assert explored == {i for u in seen_shoppers for i in later[u]}


def test_a_review_already_learned_as_a_click_counts_once(mi_data):
    rep = build_replay(mi_data, SimConfig(users=120, rounds=2, negatives=12, seed=1))
    batch = rep.batches[0]
    reviews = store_reviews(batch)
    clicked = {(u, i) for u, i, _ in reviews[::3]}  # as if every third had been clicked on a card
    counts = Counter()
    learned = learn_from_reviews(reviews, CoRatings(), counts, set(), skip=clicked)
    assert sum(counts.values()) == sum(learned.values()) == len(reviews) - len(clicked)


def test_time_dealing_puts_earlier_shoppers_in_earlier_rounds(mi_data):
    """--deal time: the rounds are time slices of the shoppers' first later ratings, recounted from
    the raw ratings; the same shoppers and sessions as the random dealing, in another order."""
    cfg = SimConfig(users=400, rounds=5, negatives=12, seed=2, deal="time")
    rep = build_replay(mi_data, cfg)
    first = {}
    for r in mi_data.ratings:
        if r.ts >= rep.cutoff:
            first[r.user] = min(first.get(r.user, r.ts), r.ts)
    bounds = [(min(first[s.shopper] for s in b), max(first[s.shopper] for s in b)) for b in rep.batches]
    assert all(hi <= lo_next for (_, hi), (lo_next, _) in zip(bounds, bounds[1:]))
    assert bounds[0][0] < bounds[-1][1]
    rand = build_replay(mi_data, SimConfig(users=400, rounds=5, negatives=12, seed=2))
    key = {s.shopper: (s.candidates, s.later) for b in rand.batches for s in b}
    assert {s.shopper: (s.candidates, s.later) for b in rep.batches for s in b} == key


def test_an_unknown_learning_source_or_dealing_is_refused(mi_data):
    with pytest.raises(ValueError, match="learn_from"):
        build_replay(mi_data, SimConfig(users=50, rounds=2, learn_from="clicks"))
    with pytest.raises(ValueError, match="deal"):
        build_replay(mi_data, SimConfig(users=50, rounds=2, deal="weekly"))
