"""The engagement loop while serving (issue 16), with real parts: a tiny real rating model (MiniLM,
20 real MI 2014 users, one epoch), the demo catalog through the real ingest, a real SQLite
conversation store, the real app on a loopback port and a real `shopassist learn` child process.

- the schedule inside the app trains on the store's feedback in the background, promotes, and the
  running app serves the new version without a restart (the chat turn's impressions say so);
- two assistants on one models dir both follow a rollback and a re-promotion; the A/B arm does not;
- a busy training lock is skipped, a failing run is recorded and the schedule keeps going;
- the shoppers' live clicks change the co-ratings the served blend uses, and `privacy delete`
  takes a shopper's contribution out again.
"""

from __future__ import annotations

import gzip
import json
import math
import time

import httpx
import pytest

from ranker import versions
from ranker.learn import training_lock
from ranker.train import TrainConfig, train
from shopassist.learning import LearnSchedule
from shopassist.settings import Settings
from tests.conftest import dataset
from tests.ui.conftest import AGENT, Server, open_catalog_for

MI = "amazon_reviews_2014_musical_instruments_5core"


def wait_until(check, timeout_s: float, what: str, every_s: float = 0.2):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(every_s)
    raise AssertionError(f"{what}: not within {timeout_s} s")


@pytest.fixture(scope="module")
def shop_and_data(tmp_path_factory):
    """A data dir with the demo catalog and a tiny trained version whose training data the learning
    job can re-read (a 20-user MI subset written as an MI reviews file), and that MI data."""
    from ranker.data import read_dataset, read_mi2014

    root = tmp_path_factory.mktemp("learning")
    data = read_mi2014(dataset(MI)).subset_users(20)
    source = root / "mi20.jsonl.gz"
    with gzip.open(source, "wt", encoding="utf-8") as f:
        for r in data.ratings:
            f.write(json.dumps({"reviewerID": r.user, "asin": r.item, "overall": r.stars, "unixReviewTime": r.ts,
                                "summary": r.title, "reviewText": r.text}) + "\n")
    s = Settings(data_dir=root / "data", llm_backend="scripted", agent_user=AGENT[0], agent_password=AGENT[1],
                 learn_min_feedback=2, learn_tolerance=10.0,  # a tolerance every candidate meets: it is promoted
                 ranker_reload_s=0.2, coratings_ttl_s=0.0)
    open_catalog_for(s)
    train(read_dataset(source), s, TrainConfig(epochs=1, text_only_examples=0, sentiment_examples=0, max_examples=150),
          source=str(source))
    return s, data


def log_feedback(settings: Settings, data, n: int = 6) -> None:
    """``n`` thumbs from real MI users on real MI items, strictly after the current version was made."""
    from assistant.store import ConversationStore

    time.sleep(0.01)
    store = ConversationStore(settings.events_db_url)
    users, items = data.users(), data.item_ids()
    for i in range(n):
        cid = store.start_conversation(users[i % len(users)])
        store.log_event("thumb_up" if i % 2 else "thumb_down", cid, users[i % len(users)], items[-1 - i])


def test_the_schedule_learns_in_the_background_and_the_running_app_serves_the_promotion(shop_and_data):
    shop, mi = shop_and_data
    from gradio_client import Client

    from assistant.chat import Assistant
    from ui.app import build_app

    s = shop.model_copy(update={"learn_interval_s": 1.0})
    parent = versions.current_name(s)
    log_feedback(s, mi)
    assistant = Assistant.from_settings(s)
    app = build_app(s, assistant)
    with Server(app) as srv:
        health = httpx.get(srv.url + "/healthz/backends", timeout=10).json()
        assert health["ranker"] == parent and health["learn"] in ("not run yet", "busy", "promoted")
        done = wait_until(lambda: app.state.learning.last["outcome"] not in ("not run yet", "busy")
                          and app.state.learning.last, 150, "a scheduled learn", every_s=0.5)
        assert done["outcome"] == "promoted", done
        new = done["candidate"]
        assert new != parent and done["parent"] == parent and versions.current_name(s) == new
        assert set(done["decision"]) >= {"heldout_test_rmse", "recent_feedback_rmse"}  # the job's numbers, kept
        health = httpx.get(srv.url + "/healthz/backends", timeout=10).json()
        assert health == {"search": "hybrid", "llm": "ok", "ranker": new, "learn": "promoted"}
        # a shopper's turn on the running app is ranked by the promoted version
        reply = Client(srv.url + "/", verbose=False).predict("a quiet blender", "guest", "", api_name="/chat")
        shown = assistant.store.events("impression", conversation_id=reply["conversation_id"])
        assert shown and {e.payload["ranker"] for e in shown} == {new}
        # nothing new since the promotion: the next runs skip
        wait_until(lambda: app.state.learning.last["outcome"] == "skipped", 30, "a skipped run")
        assert versions.current_name(s) == new
    wait_until(lambda: not app.state.learning._thread.is_alive(), 30, "the schedule stopped with the server")


def test_two_assistants_on_one_models_dir_both_switch_and_the_ab_arm_stays(shop_and_data):
    shop, mi = shop_and_data
    from assistant.chat import Assistant
    from ranker.learn import learn

    if len(versions.list_versions(shop)) < 2:  # this test alone: make a child version to switch between
        log_feedback(shop, mi)
        from shopassist.commands.ranker import feedback_events

        learn(shop, feedback_events(shop), epochs=1, tolerance=10.0, old_data=mi)
    newest = versions.current_name(shop)
    parent = versions.read_metadata(versions.root(shop) / newest)["parent"]
    first = versions.list_versions(shop)[0]["version"]
    a = Assistant.from_settings(shop.model_copy(update={"ab_candidate": first, "ab_split": 0.5}))
    b = Assistant.from_settings(shop)
    assert a.ranker.version == b.ranker.version == newest
    versions.rollback(shop)  # what `shopassist ranker rollback` does, from any process
    for one in (a, b):
        wait_until(lambda one=one: one.ranker.version == parent, 60, "the rollback served")
    versions.use_version(shop, newest)
    for one in (a, b):
        wait_until(lambda one=one: one.ranker.version == newest, 60, "the re-promotion served")
    assert a.rankers["B"].version == first  # the candidate arm is fixed by ab_candidate, not by CURRENT
    shoppers = [f"shopper-{i}" for i in range(40)]
    assert {u: a.ranker_for(u, None).version for u in shoppers} == {u: first if a.arm(u, None) == "B" else newest for u in shoppers}
    assert {a.arm(u, None) for u in shoppers} == {"A", "B"} and {b.ranker_for(u, None).version for u in shoppers} == {newest}


def test_a_busy_lock_is_skipped_and_a_failing_run_does_not_end_the_schedule(shop_and_data, tmp_path):
    shop, mi = shop_and_data
    with training_lock(shop):
        assert LearnSchedule(shop).run_once()["outcome"] == "busy"
    # a version whose training data is gone: the learn child fails (exit code 2), the schedule goes on
    s = Settings(data_dir=tmp_path / "data", learn_interval_s=0.2, learn_min_feedback=1)
    d = versions.new_version_dir(s)
    versions.write_metadata(d, parent=None, data={"source": str(tmp_path / "gone.jsonl.gz")})
    versions.use_version(s, d.name)
    log_feedback(s, mi, n=2)
    sched = LearnSchedule(s).start()
    try:
        wait_until(lambda: sched.runs >= 2, 90, "two scheduled runs")
    finally:
        sched.stop()
    assert sched.last["outcome"] == "failed" and "exit code 2" in sched.last["error"], sched.last
    assert "gone.jsonl.gz" in sched.last["error"]  # the job's own one-line reason
    assert versions.current_name(s) == d.name


def _knn(raters: dict[str, set], history: str, item: str, exclude: str | None = None) -> float:
    """The blend's knn of ``item`` from a one-item history, by hand: |R_h & R_j - {me}| / sqrt(|R_h| |R_j|)."""
    common = (raters.get(history, set()) & raters.get(item, set())) - {exclude}
    n = len(raters.get(history, ())) * len(raters.get(item, ()))
    return len(common) / math.sqrt(n) if common else 0.0


def test_live_clicks_change_the_served_co_ratings_and_privacy_delete_takes_them_out(shop_and_data):
    shop, mi = shop_and_data
    from assistant.chat import Assistant
    from assistant.privacy import delete_shopper

    a = Assistant.from_settings(shop)
    store, catalog = a.store, a.catalog.store
    rated = [p for p in catalog.iter_products() if p.rating_count]
    x, y, z = rated[0].id, rated[1].id, rated[2].id
    raters = {p.id: {r.user_id for r in catalog.reviews_for(p.id) if r.user_id} for p in rated}  # the catalog's own
    co = a.ranker_for(None, None).co_ratings()
    assert all(co.raters.get(i, set()) >= raters[i] for i in (x, y, z))

    shopper = store.start_conversation("shopper-7")
    guest = store.start_conversation(None)
    taken_back = store.start_conversation("shopper-8")
    store.log_event("click", shopper, "shopper-7", x)
    store.log_event("add_to_cart", shopper, "shopper-7", y)
    store.log_event("click", guest, None, x)
    store.log_event("thumb_up", guest, None, z)
    store.log_event("click", taken_back, "shopper-8", y)
    store.log_event("thumb_down", taken_back, "shopper-8", y)  # the latest opinion: not a co-rating
    store.log_event("impression", taken_back, "shopper-8", x)  # shown is not chosen
    live = {("shopper-7", x), ("shopper-7", y), (f"conversation:{guest}", x), (f"conversation:{guest}", z)}
    expected = {i: set(rs) for i, rs in raters.items()}
    for user, item in live:
        expected.setdefault(item, set()).add(user)

    co = a.ranker_for(None, None).co_ratings()  # coratings_ttl_s=0: read on this call
    for i in (x, y, z):
        assert co.raters[i] == expected[i]
    got = co.scores([x], [y, z])[0].tolist()
    assert got == pytest.approx([_knn(expected, x, y), _knn(expected, x, z)])
    assert got[0] > _knn(raters, x, y)  # shopper-7's click and cart linked x and y
    own = co.scores([x], [z], exclude_user=f"conversation:{guest}")[0].tolist()  # a guest's own session is not evidence for them
    assert own == pytest.approx([_knn(expected, x, z, exclude=f"conversation:{guest}")])

    delete_shopper(shop, "shopper-7")
    for user, item in [("shopper-7", x), ("shopper-7", y)]:
        expected[item].discard(user)
    co = a.ranker_for(None, None).co_ratings()
    assert "shopper-7" not in co.rated and all(co.raters[i] == expected[i] for i in (x, y, z))
    assert co.scores([x], [y, z])[0].tolist() == pytest.approx([_knn(expected, x, y), _knn(expected, x, z)])
