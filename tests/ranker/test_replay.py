"""The offline replay of the engagement loop (``ranker.replay``, ``shopassist simulate``) on real MI
users: the time split, the sessions, and metrics recounted from the dataset's own ratings."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ranker.replay import SimConfig, build_replay, outcome
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


def test_a_shopper_shown_all_their_later_items_clicks_every_one():
    o = outcome(["x", "a", "b"], {"a": 5.0, "b": 3.0})
    assert o == {"click": 1, "thumbs_up": 1, "clicks": 2}
    assert outcome(["b"], {"a": 5.0, "b": 3.0})["thumbs_up"] == 0  # 3 stars: a click, not a thumbs-up


@pytest.mark.slow
def test_simulate_cli_when_every_candidate_is_shown(tmp_path, capsys, mi_data):
    """k above any candidate set: every later item is shown, so every arm's CTR is 1 and its
    thumbs-up rate and clicks per session are the shares recounted from the raw ratings."""
    out = tmp_path / "curve.png"
    argv = ["--data-dir", str(tmp_path / "data"), "simulate", "--dataset", str(dataset(MI)), "--rounds", "2", "--users", "60",
            "--epochs", "1", "--k", "1000", "--negatives", "5", "--workdir", str(tmp_path / "work"), "--out", str(out), "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out.exists() and out.stat().st_size > 1000 and json.loads(out.with_suffix(".json").read_text()) == report
    rep = build_replay(mi_data, SimConfig(users=60, rounds=2, negatives=5))
    assert report["design"]["shoppers_per_round"] == [len(b) for b in rep.batches]
    for r, batch in zip(report["rounds"], rep.batches):
        liked = np.mean([any(s >= 4 for s in x.later.values()) for x in batch])
        clicks = np.mean([len(x.later) for x in batch])
        for arm in ("learning", "frozen", "popularity", "stars", "frozen_explore"):
            m = r["arms"][arm]
            assert m["ctr"]["value"] == 1.0 and m["ctr"]["n"] == len(batch)
            assert m["thumbs_up_rate"]["value"] == pytest.approx(liked, abs=1e-4)
            assert m["clicks_per_session"]["value"] == pytest.approx(clicks, abs=1e-4)
        assert r["learning_minus_frozen"]["ctr"]["value"] == 0.0
    # the learning job ran on round 1's feedback: one event per later item shown (= all of them)
    learned = report["rounds"][0]["learn"]
    assert learned["events"] == sum(len(x.later) for x in rep.batches[0])
    assert learned["rating_events"] == sum(s != 3 for x in rep.batches[0] for s in x.later.values())
    assert report["final"]["learning_beats_frozen"] == {"ctr": False, "thumbs_up_rate": False}  # equal arms never "win"
    assert set(report["cold_start"]["arms"]) == {"learning", "frozen", "popularity", "stars", "frozen_explore"}
    assert not (tmp_path / "data" / "models" / "ranker").exists()  # the data dir's own versions are untouched


def test_simulate_refuses_bad_input_with_a_clear_error(tmp_path, capsys):
    base = ["--data-dir", str(tmp_path / "data"), "simulate", "--dataset"]
    assert main(base + [str(tmp_path), "--rounds", "2"]) == 2
    assert "not a rating dataset" in capsys.readouterr().err
    assert main(base + [str(tmp_path), "--rounds", "0"]) == 2
    assert "--rounds" in capsys.readouterr().err
    assert main(base + [str(tmp_path), "--cutoff", "1.5"]) == 2
    assert "--cutoff" in capsys.readouterr().err
