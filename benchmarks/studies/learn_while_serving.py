"""What a scheduled learn costs the shoppers (issue 16): chat-turn latency on a served app while
the learning job runs in its background child (``shopassist.learning``), against no learn running.

Setup (kept in --workdir, reused): the demo catalog through the real ingest; a tiny rating model
(real MiniLM, the first --users MI 2014 users, one epoch) trained on an MI reviews file the job can
re-read; the scripted LLM. The app is served on loopback (``ui.bench.serve_in_thread``: the same
``build_app`` as ``serve``) and --sessions shoppers send turns back to back (``ui.bench.QUESTIONS``).

Phases, in this order: ``idle`` (--turns turns per shopper, no learn), ``learn_nice10`` (the
schedule's run as served: child at niceness +10; turns until the child exits), ``learn_nice0``
(the same child without the niceness, to see what the nice buys), ``idle_after`` (again --turns).
Before each learn, --feedback thumbs are logged so the job has something new; its tolerance is 10
stars so it always promotes, and the app then loads the new version in the background
(``ranker.live``): that reload is part of the measured cost.

Prints one JSON object: per phase the turns' p50 / p95 / mean seconds with a bootstrap 95 %
interval of the median (2000 resamples, seed 0), the load average before and after, and for the
learn phases the child's wall and CPU seconds and its outcome; then the median ratio of each learn
phase to ``idle`` with its bootstrap interval.

    PYTHONPATH=. .venv/bin/python benchmarks/studies/learn_while_serving.py --sessions 2 --turns 12
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import threading
import time
from pathlib import Path

import numpy as np
from _common import dataset, repo_on_path

repo_on_path()


def prepare(workdir: Path, users: int):
    from ranker import versions
    from ranker.data import read_dataset, read_mi2014
    from ranker.train import TrainConfig, train
    from retrieval.demo import DEMO_DIR
    from retrieval.ingest import ingest
    from shopassist.settings import Settings

    s = Settings(data_dir=workdir / "data", llm_backend="scripted", learn_min_feedback=2, learn_tolerance=10.0,
                 turns_per_minute=0, conversations_per_hour=0, handoffs_per_hour=0)
    data = read_mi2014(dataset("amazon_reviews_2014_musical_instruments_5core")).subset_users(users)
    if not s.catalog_db.exists():
        ingest(s, DEMO_DIR)
    if versions.current_name(s) is None:
        source = workdir / f"mi{users}.jsonl.gz"
        with gzip.open(source, "wt", encoding="utf-8") as f:
            for r in data.ratings:
                f.write(json.dumps({"reviewerID": r.user, "asin": r.item, "overall": r.stars, "unixReviewTime": r.ts,
                                    "summary": r.title, "reviewText": r.text}) + "\n")
        train(read_dataset(source), s, TrainConfig(epochs=1, text_only_examples=0, sentiment_examples=0, max_examples=150),
              source=str(source))
    return s, data


def shoppers(url: str, sessions: int, keep_going, offset: int) -> list[float]:
    """Turn latencies of ``sessions`` shoppers sending turns back to back while ``keep_going(turn)``."""
    from gradio_client import Client

    from ui.bench import QUESTIONS

    out, lock = [], threading.Lock()

    def one(i: int) -> None:
        client, cid, token, t = Client(url, verbose=False), "", "", 0
        while keep_going(t):
            q = QUESTIONS[(i + t) % len(QUESTIONS)]
            t0 = time.perf_counter()
            r = client.predict(q, f"bench-{offset}-{i}", cid, token, api_name="/chat")
            with lock:
                out.append(time.perf_counter() - t0)
            cid, token, t = r["conversation_id"], r["conversation_token"], t + 1

    threads = [threading.Thread(target=one, args=(i,)) for i in range(sessions)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return out


def boot_median(x, rng, n=2000) -> list[float]:
    x = np.asarray(x)
    meds = np.median(rng.choice(x, (n, len(x))), axis=1)
    return [round(float(v), 3) for v in np.percentile(meds, [2.5, 97.5])]


def summary(lat: list[float], rng) -> dict:
    a = np.asarray(lat)
    return {"turns": len(a), "p50": round(float(np.median(a)), 3), "p95": round(float(np.percentile(a, 95)), 3),
            "mean": round(float(a.mean()), 3), "p50_ci95": boot_median(a, rng)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/shopassist-learn-bench"))
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--sessions", type=int, default=2)
    ap.add_argument("--turns", type=int, default=12, help="turns per shopper in the idle phases")
    ap.add_argument("--feedback", type=int, default=6)
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    s, data = prepare(args.workdir, args.users)

    from assistant.store import ConversationStore
    from shopassist.learning import LearnSchedule
    from ui.bench import serve_in_thread

    rng = np.random.default_rng(0)
    app, url, stop = serve_in_thread(s)
    shoppers(url, 1, lambda t: t < 2, 99)  # warm-up: first turns load the embedder and the vocabulary
    phases, lat = {}, {}
    try:
        for k, phase in enumerate(["idle", "learn_nice10", "learn_nice0", "idle_after"]):
            load0 = os.getloadavg()
            row = {}
            if phase.startswith("idle"):
                lat[phase] = shoppers(url, args.sessions, lambda t: t < args.turns, k)
            else:
                time.sleep(0.01)
                store, users, items = ConversationStore(s.events_db_url), data.users(), data.item_ids()
                for i in range(args.feedback):
                    cid = store.start_conversation(users[(k + i) % len(users)])
                    store.log_event("thumb_up" if i % 2 else "thumb_down", cid, users[(k + i) % len(users)], items[-1 - i - k])
                sched = LearnSchedule(s)
                sched.nice = int(phase.removeprefix("learn_nice"))
                cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                job = threading.Thread(target=sched.run_once)
                t0 = time.perf_counter()
                job.start()
                lat[phase] = shoppers(url, args.sessions, lambda t, job=job: job.is_alive(), k)
                job.join()
                cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                row = {"learn_wall_s": round(time.perf_counter() - t0, 1),
                       "learn_cpu_s": round(cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime, 1),
                       "learn_outcome": sched.last["outcome"], "served_after": app.state.assistant.ranker.version}
            phases[phase] = {**summary(lat[phase], rng), **row, "loadavg_1m_before_after": [round(load0[0], 2), round(os.getloadavg()[0], 2)]}
    finally:
        stop()
    base = np.asarray(lat["idle"])
    ratios = {}
    for phase in ("learn_nice10", "learn_nice0", "idle_after"):
        x = np.asarray(lat[phase])
        boots = [np.median(rng.choice(x, len(x))) / np.median(rng.choice(base, len(base))) for _ in range(2000)]
        ratios[f"{phase}/idle"] = {"p50_ratio": round(float(np.median(x) / np.median(base)), 3),
                                   "ci95": [round(float(v), 3) for v in np.percentile(boots, [2.5, 97.5])]}
    print(json.dumps({"sessions": args.sessions, "cpus": os.cpu_count(), "phases": phases, "ratios": ratios}))


if __name__ == "__main__":
    main()
