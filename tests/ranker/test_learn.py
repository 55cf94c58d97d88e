"""The learning job on a tiny real model (real MiniLM, 20 real MI users, one epoch): the decision
follows the measured numbers, a rejected candidate stays saved but unserved, and the file lock
refuses a second training from another process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ranker import versions
from ranker.learn import TrainingBusy, learn
from ranker.train import TrainConfig, train
from shopassist.cli import main
from shopassist.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, mi_small):
    s = Settings(data_dir=tmp_path_factory.mktemp("learn") / "data")
    data = mi_small.subset_users(20)
    train(data, s, TrainConfig(epochs=1, text_only_examples=0, sentiment_examples=0, max_examples=150), source="tiny")
    return s, data


def _events(path: Path, data, n: int = 10) -> Path:
    users, items = data.users(), data.item_ids()
    rows = [{"user_id": users[i % len(users)], "product_id": items[-1 - i], "rating": 5.0 if i % 2 else 2.0,
             "timestamp": 2_000_000_000 + i} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.slow
def test_decision_follows_the_numbers(tiny, tmp_path):
    s, data = tiny
    parent = versions.current_name(s)
    # a tolerance no candidate can meet (it must gain 10 stars of RMSE): measured, saved, not served
    out = learn(s, _events(tmp_path / "a.jsonl", data), epochs=1, tolerance=-10.0, old_data=data)
    c, d = out["continual"], out["decision"]
    assert (out["promoted"], out["serving"], out["parent"]) == (False, parent, parent)
    assert d["heldout_test_rmse"] == {"current": round(c["old_test_rmse_before"], 4), "candidate": round(c["old_test_rmse_after"], 4)}
    assert d["recent_feedback_rmse"] == {"current": round(c["new_rmse_before"], 4), "candidate": round(c["new_rmse_after"], 4)}
    assert set(d["worse_on"]) == {"heldout_test", "recent_feedback"}
    assert versions.read_metadata(versions.root(s) / out["candidate"])["learn_decision"] == d  # kept, with why
    # the default "not worse": the decision is whatever the numbers say
    out = learn(s, _events(tmp_path / "b.jsonl", data), epochs=1, old_data=data)
    c = out["continual"]
    not_worse = c["old_test_rmse_after"] <= c["old_test_rmse_before"] and c["new_rmse_after"] <= c["new_rmse_before"]
    assert out["promoted"] == not_worse
    assert out["serving"] == (out["candidate"] if not_worse else parent)
    versions.use_version(s, parent)
    # a tolerance every candidate meets: promoted, the parent kept for rollback
    out = learn(s, _events(tmp_path / "c.jsonl", data), epochs=1, tolerance=10.0, old_data=data)
    assert out["promoted"] and versions.current_name(s) == out["candidate"]
    assert versions.rollback(s)["version"] == parent


def test_a_second_training_is_refused_across_processes(tiny, tmp_path, capsys):
    s, data = tiny
    code = ("import sys, time; from shopassist.settings import Settings; from ranker.learn import training_lock\n"
            f"with training_lock(Settings(data_dir={str(s.data_dir)!r})):\n"
            "    print('held', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)},
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        before = [m["version"] for m in versions.list_versions(s)]
        with pytest.raises(TrainingBusy, match=f"pid {holder.pid}"):
            learn(s, _events(tmp_path / "e.jsonl", data), epochs=1, old_data=data)
        # the CLI job: feedback in the store, the lock held elsewhere -> one line, exit code 3
        from assistant.store import ConversationStore

        time.sleep(0.01)  # feedback strictly after the current version was made
        store = ConversationStore(s.events_db_url)
        cid = store.start_conversation(data.users()[0])
        store.log_event("thumb_up", cid, data.users()[0], data.item_ids()[0])
        assert main(["--data-dir", str(s.data_dir), "learn"]) == 3
        assert "already running" in capsys.readouterr().err
        assert [m["version"] for m in versions.list_versions(s)] == before  # nothing trained
    finally:
        holder.kill()
        holder.wait()
    with pytest.raises(ValueError):  # lock free again: the run gets past the lock (and fails on the empty file)
        empty = tmp_path / "empty.jsonl"
        empty.write_text("")
        learn(s, empty, epochs=1, old_data=data)
