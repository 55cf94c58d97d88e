"""A/B of ranker versions: stable arms, the arm on every event, and the report computed from a
real SQLite store's events (expectations recounted from the raw rows, intervals against scipy)."""

from __future__ import annotations

import json
import math
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.chat import Assistant, Turn
from assistant.events import Cards
from assistant.experiment import ARMS, Experiment, ab_report, arm_of
from assistant.llm import ScriptedLLM
from assistant.store import ConversationStore
from assistant.understand import State
from ranker.serve import PriorRanker
from shopassist.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_arm_is_the_same_in_another_process_and_splits_as_asked():
    keys = [f"u{i}" for i in range(2000)]
    here = [arm_of(k, 0.3, "v0002") for k in keys]
    code = ("import json; from assistant.experiment import arm_of; "
            "print(json.dumps([arm_of(f'u{i}', 0.3, 'v0002') for i in range(2000)]))")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "12345"}  # another str hash salt
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == here
    share, sd = here.count("B") / len(keys), math.sqrt(0.3 * 0.7 / len(keys))
    assert abs(share - 0.3) < 4 * sd  # binomial: a correct split fails this about once in 16,000 runs
    assert [arm_of(k, 0.3, "v0003") for k in keys] != here  # a new experiment draws afresh


def _simulate(store: ConversationStore, exp: Experiment, seed: int = 7, n: int = 120) -> None:
    """Shoppers (2 in 3 signed in) through the real store API; arm B clicks, likes and buys more."""
    rng = random.Random(seed)
    for i in range(n):
        user = f"u{i}" if i % 3 else None
        cid = store.start_conversation(user)
        better = exp.arm(user, cid) == "B"
        for rank in range(4):
            pid = f"p{rng.randrange(30)}"
            store.log_event("impression", cid, user, pid, {"rank": rank + 1, "ranker": "v0002" if better else "v0001"})
            if rng.random() < (0.35 if better else 0.2):
                store.log_event("click", cid, user, pid)
            if rng.random() < 0.25:
                store.log_event("thumb_up" if rng.random() < (0.8 if better else 0.6) else "thumb_down", cid, user, pid)
            if rng.random() < (0.2 if better else 0.1):
                store.log_event("add_to_cart", cid, user, pid)
        store.log_event("handoff", cid, user, payload={"reason": "x"})  # not a counted kind


def _recount(path: Path, exp: Experiment) -> dict:
    """The report's numbers recounted from the raw SQLite rows (no store code)."""
    con = sqlite3.connect(path)
    users = dict(con.execute("select id, user_id from conversations"))
    counts = {arm: {"impression": 0, "click": 0, "thumb_up": 0, "thumb_down": 0, "add_to_cart": 0} for arm in ARMS}
    convs: dict[str, dict[str, int]] = {arm: {} for arm in ARMS}
    unassigned = 0
    for kind, cid, payload in con.execute("select kind, conversation_id, payload from events order by id"):
        arm = json.loads(payload or "null") and json.loads(payload).get("arm")
        if kind not in counts["A"]:
            continue
        if arm is None:
            unassigned += 1
            continue
        assert arm == exp.arm(users[cid], cid)  # the stored arm is the shopper's
        counts[arm][kind] += 1
        convs[arm][cid] = convs[arm].get(cid, 0) + (kind == "add_to_cart")
    return {"counts": counts, "convs": convs, "unassigned": unassigned}


def test_report_from_a_real_store(tmp_path):
    from scipy.stats import binomtest, norm

    path = tmp_path / "events.sqlite"
    store = ConversationStore(f"sqlite:///{path}")
    old = store.start_conversation("before")  # an event written before the experiment: no arm
    store.log_event("impression", old, "before", "p1", {"rank": 1})
    exp = Experiment("v0002", 0.5)
    store.arm_of = exp.arm
    _simulate(store, exp)

    rep = ab_report(store.events())
    want = _recount(path, exp)
    assert rep["unassigned_events"] == want["unassigned"] == 1
    for arm in ARMS:
        got, c = rep["arms"][arm], want["counts"][arm]
        assert got["impressions"] == c["impression"] > 0 and got["clicks"] == c["click"]
        assert (got["thumb_up"], got["thumb_down"], got["add_to_cart"]) == (c["thumb_up"], c["thumb_down"], c["add_to_cart"])
        assert got["conversations"] == len(want["convs"][arm])
        assert got["card_ctr"]["value"] == round(c["click"] / c["impression"], 4)
        ci = binomtest(c["click"], c["impression"]).proportion_ci(method="wilson")  # independent reference
        assert got["card_ctr"]["ci95"] == pytest.approx([ci.low, ci.high], abs=1e-4)
        per = list(want["convs"][arm].values())
        assert got["add_to_cart_per_conversation"]["value"] == pytest.approx(sum(per) / len(per), abs=1e-4)
    a, b = want["counts"]["A"], want["counts"]["B"]
    d = rep["b_minus_a"]["card_ctr"]
    p1, p2 = a["click"] / a["impression"], b["click"] / b["impression"]
    assert d["value"] == pytest.approx(p2 - p1, abs=1e-4)
    assert d["ci95"][0] < d["value"] < d["ci95"][1]

    def power(n: int) -> float:  # two-sided two-proportion z-test (Fleiss) at n per arm
        pbar = (p1 + p2) / 2
        se0, se1 = math.sqrt(2 * pbar * (1 - pbar) / n), math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / n)
        return float(norm.cdf((abs(p2 - p1) - norm.ppf(0.975) * se0) / se1))

    n = d["n_per_arm_needed"]
    assert power(n) >= 0.8 > power(n - 1)


def test_every_event_of_a_conversation_carries_its_shoppers_arm(shop, tmp_path):
    """Two real rankers: the current prior for arm A, a prior on another scale for B; every event of a
    turn (and a guest's or a signed-in shopper's thumbs) lands in the arm that ranked the cards."""
    base, catalog, ranker = shop
    s = base.model_copy(update={"llm_backend": "scripted", "ab_candidate": "prior-low", "ab_split": 0.5})
    store = ConversationStore(f"sqlite:///{tmp_path / 'events.sqlite'}")
    candidate = PriorRanker(mu=2.0)
    a = Assistant(s, catalog, ranker, ScriptedLLM(), store, candidate)
    seen, matched = {}, 0
    for user in ["ann", "bob", "cy", "dee", None, None, None, None]:
        cid = a.start(user)
        cards = next(e for e in list(a.respond(Turn(cid, user, "a quiet blender"))) if isinstance(e, Cards)).cards
        rk = a.ranker_for(user, cid)  # the cards' stars are the arm's ranker's (before any thumb moves them)
        preds = rk.score(a.user_context(user, State(), cid, rk), catalog.store.get_many([c.product_id for c in cards]))
        assert [c.stars_predicted for c in cards] == [round(p.stars, 2) for p in preds]
        matched += rk is candidate
        a.desk.feedback(cid, None, "thumb_up", cards[0].product_id)  # the UI may omit the user: the arm holds
        seen[cid] = user
    arms = {cid: a.experiment.arm(user, cid) for cid, user in seen.items()}
    assert set(arms.values()) == {"A", "B"}  # this draw has both arms (fixed ids and salt)
    assert matched == list(arms.values()).count("B")
    for e in store.events():
        if e.conversation_id in seen:
            assert e.payload["arm"] == arms[e.conversation_id], e.kind
    rep = ab_report(store.events())
    assert {e.payload["ranker"] for e in store.events("impression")} == {"prior"}
    assert sum(rep["arms"][arm]["conversations"] for arm in ARMS) == len(seen)
    assert sum(rep["arms"][arm]["thumb_up"] for arm in ARMS) == len(seen)


def test_report_ab_cli_prints_the_report(tmp_path, capsys):
    data = tmp_path / "data"
    store = ConversationStore(f"sqlite:///{data / 'events.sqlite'}")
    exp = Experiment("v0002", 0.5)
    store.arm_of = exp.arm
    _simulate(store, exp, seed=3, n=40)
    assert main(["--data-dir", str(data), "report", "ab", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == json.loads(json.dumps(ab_report(store.events())))
