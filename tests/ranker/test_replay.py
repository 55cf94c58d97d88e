"""The offline replay of the engagement loop (``ranker.replay``, ``shopassist simulate``) on real MI
users: the time split, the sessions, and metrics recounted from the dataset's own ratings."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from ranker.blend import CoRatings
from ranker.replay import ARMS, IMPRESSION_WEIGHT, SimConfig, build_replay, learn_from_cards, outcome, swaps
from shopassist.cli import main
from tests.conftest import dataset
from tests.ranker.conftest import MI


def test_the_replay_splits_each_history_by_time(mi_data):
    cfg = SimConfig(users=120, rounds=3, negatives=12, seed=1)
    rep = build_replay(mi_data, cfg)
    assert all(r.ts < rep.cutoff for r in rep.history.ratings)
    sessions = [s for b in rep.batches for s in b]
    assert len(rep.batches) == 3 and len({s.shopper for s in sessions}) == len(sessions) == rep.shoppers  # one session each
    for s in sessions:
        real = {mi_data.ratings[k].item: mi_data.ratings[k] for k in mi_data.user_sequence(s.shopper)}
        later = {i: r.stars for i, r in real.items() if r.ts >= rep.cutoff}
        assert s.later == later and later  # the reactions are the shopper's real later ratings
        assert rep.history.user_sequence(s.shopper)  # and the models know something of them
        negatives = s.candidates[len(later):]
        assert s.candidates[: len(later)] == sorted(later) and len(negatives) == 12
        assert not set(negatives) & set(real)  # sampled items the shopper never rated
    assert rep.new_items == set(rep.items) - {r.item for r in rep.history.ratings}
    # the same seed, the same replay
    again = build_replay(mi_data, cfg)
    assert [s.candidates for b in again.batches for s in b] == [s.candidates for s in sessions]


def test_a_validation_replay_never_sees_past_its_horizon(mi_data):
    """--horizon < 1: the shop as it was at the horizon (the test period after it does not exist):
    reactions, the catalog and the sampled negatives all come from ratings before it."""
    n = len(mi_data.users())  # every user: the subsample is the whole set, so the quantiles are recountable
    rep = build_replay(mi_data, SimConfig(users=n, rounds=2, negatives=12, cutoff=0.3, horizon=0.5, seed=2))
    full = build_replay(mi_data, SimConfig(users=n, rounds=2, negatives=12, cutoff=0.3, seed=2))
    times = [r.ts for r in mi_data.ratings]
    assert rep.cutoff == full.cutoff == int(np.quantile(times, 0.3))  # the same history
    assert [r.item for r in rep.history.ratings] == [r.item for r in full.history.ratings]
    end = int(np.quantile(times, 0.5))
    before = mi_data.ratings
    in_window = {(r.user, r.item): r.stars for r in before if rep.cutoff <= r.ts < end}
    sessions = [s for b in rep.batches for s in b]
    assert sessions and rep.shoppers < full.shoppers  # fewer shoppers react inside the window
    for s in sessions:
        assert s.later == {i: st for (u, i), st in in_window.items() if u == s.shopper}  # only reactions before the horizon
        rated_by_end = {r.item for r in before if r.user == s.shopper and r.ts < end}
        assert not set(s.candidates[len(s.later):]) & rated_by_end
    assert set(rep.items) == {r.item for r in before if r.ts < end}  # items first rated later do not exist yet


def test_learned_clicks_weigh_as_many_history_ratings_as_the_click_weight():
    history = Counter({"a": 10, "b": 2})
    for w in (1.0, 4.0):
        counts, shows, clicked = Counter(history), Counter(), set()
        learn_from_cards([("u", "b", True), ("v", "a", False), ("w", "a", False)], CoRatings(), counts, shows, clicked, weight=w)
        assert counts["b"] == history["b"] + w and counts["a"] == pytest.approx(history["a"] - 2 * IMPRESSION_WEIGHT * w)
        assert shows == Counter({"a": 2, "b": 1}) and clicked == {"b"}


def test_swaps_count_the_cards_only_one_arm_showed(mi_data):
    rep = build_replay(mi_data, SimConfig(users=120, rounds=2, negatives=12, seed=1))
    batch = rep.batches[0]
    first = [s.candidates[:3] for s in batch]  # one "arm" shows the later items first, the other the negatives
    last = [s.candidates[-3:] for s in batch]
    r = swaps(batch, first, last, Counter(), rep.new_items)
    only = [set(a) - set(b) for a, b in zip(first, last)]
    assert r["learning_only"]["cards"] == sum(map(len, only)) == r["frozen_only"]["cards"]  # disjoint: >= 13 candidates
    assert r["learning_only"]["clicked"] == sum(len(o & set(s.later)) for o, s in zip(only, batch))
    assert r["frozen_only"]["clicked"] == 0  # sampled negatives are never rated
    assert sum(n for n, _ in r["learning_only"]["by"].values()) == r["learning_only"]["cards"]


def test_a_shopper_shown_all_their_later_items_clicks_every_one():
    o = outcome(["x", "a", "b"], {"a": 5.0, "b": 3.0})
    assert o == {"click": 1, "thumbs_up": 1, "clicks": 2, "card_ctr": 2 / 3, "card_thumbs_up": 1 / 3}
    assert outcome(["b"], {"a": 5.0, "b": 3.0})["thumbs_up"] == 0  # 3 stars: a click, not a thumbs-up


@pytest.mark.slow
@pytest.mark.parametrize("learn_from", ["cards+reviews", "cards"])
def test_simulate_cli_when_every_candidate_is_shown(tmp_path, capsys, mi_data, learn_from):
    """k above any candidate set: every later item is shown, so every arm's CTR is 1 and its
    thumbs-up rate and clicks per session are the shares recounted from the raw ratings."""
    out = tmp_path / "curve.png"
    argv = ["--data-dir", str(tmp_path / "data"), "simulate", "--dataset", str(dataset(MI)), "--rounds", "2", "--users", "60",
            "--epochs", "1", "--k", "1000", "--negatives", "5", "--workdir", str(tmp_path / "work"), "--out", str(out), "--json", "--learn-from", learn_from]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out.exists() and out.stat().st_size > 1000 and json.loads(out.with_suffix(".json").read_text()) == report
    rep = build_replay(mi_data, SimConfig(users=60, rounds=2, negatives=5))
    assert report["design"]["shoppers_per_round"] == [len(b) for b in rep.batches]
    for r, batch in zip(report["rounds"], rep.batches):
        liked = np.mean([any(s >= 4 for s in x.later.values()) for x in batch])
        clicks = np.mean([len(x.later) for x in batch])
        for arm in ARMS:
            m = r["arms"][arm]
            assert m["ctr"]["value"] == 1.0 and m["ctr"]["n"] == len(batch)
            assert m["thumbs_up_rate"]["value"] == pytest.approx(liked, abs=1e-4)
            assert m["clicks_per_session"]["value"] == pytest.approx(clicks, abs=1e-4)
            cards = np.mean([len(x.later) / len(x.candidates) for x in batch])  # every candidate is a card
            assert m["card_ctr"]["value"] == pytest.approx(cards, abs=1e-4)
        assert r["learning_minus_frozen"]["ctr"]["value"] == 0.0
    # the learning job ran on round 1's feedback: cards+reviews, one review event with its real stars
    # per later rating of the round's shoppers; cards, one event per later item shown (= all of them),
    # a rating for the thumbs (3 stars is a click only)
    assert report["config"]["learn_from"] == learn_from and report["config"]["deal"] == "random"
    learned = report["rounds"][0]["learn"]
    assert learned["events"] == sum(len(x.later) for x in rep.batches[0])
    thumbs = sum(s != 3 for x in rep.batches[0] for s in x.later.values())
    assert learned["rating_events"] == (learned["events"] if learn_from == "cards+reviews" else thumbs)
    # what was known when each round started: every earlier round's later ratings, never the round's own
    for r, j in zip(report["rounds"], range(len(rep.batches))):
        known = r["known_at_start"]
        assert known["reviews"] == sum(len(x.later) for b in rep.batches[:j] for x in b)
        assert known["own_later_ratings_known"] == 0
    assert report["final"]["learning_beats_frozen"] == dict.fromkeys(("ctr", "thumbs_up_rate", "card_ctr", "card_thumbs_up"), False)  # equal arms never "win"
    assert set(report["cold_start"]["arms"]) == set(ARMS)
    assert not (tmp_path / "data" / "models" / "ranker").exists()  # the data dir's own versions are untouched


def test_simulate_refuses_bad_input_with_a_clear_error(tmp_path, capsys):
    base = ["--data-dir", str(tmp_path / "data"), "simulate", "--dataset"]
    assert main(base + [str(tmp_path), "--rounds", "2"]) == 2
    assert "not a rating dataset" in capsys.readouterr().err
    assert main(base + [str(tmp_path), "--rounds", "0"]) == 2
    assert "--rounds" in capsys.readouterr().err
    assert main(base + [str(tmp_path), "--cutoff", "1.5"]) == 2
    assert "--cutoff" in capsys.readouterr().err
    assert main(base + [str(tmp_path), "--cutoff", "0.5", "--horizon", "0.4"]) == 2
    assert "--horizon" in capsys.readouterr().err
    assert main(base + [str(tmp_path), "--click-weight", "0"]) == 2
    assert "--click-weight" in capsys.readouterr().err
    for flag in ("--learn-from", "--deal"):
        with pytest.raises(SystemExit) as e:
            main(base + [str(tmp_path), flag, "everything"])
        assert e.value.code == 2 and flag in capsys.readouterr().err
