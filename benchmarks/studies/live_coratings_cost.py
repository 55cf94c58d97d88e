"""What the live co-ratings cost a serving process (issue 16): ``ranker.blend.CoRatingSource``
reads the store's co-rating events once in full (the first scoring call), then on each refresh
only those above its cursor (``ConversationStore.co_rating_events``, a primary-key range read)
and adds or removes the pairs they change; a ``privacy delete`` re-reads everything and rebuilds.

A real SQLite store in a temp dir gets --events events (clicks 60 %, thumbs up 15 %, add to cart
10 %, thumbs down 10 %, buys 5 %; --shoppers signed-in shoppers and as many guest conversations,
products from the first --products demo-catalog-like ids, seed 0). Measured, --repeats times each:
the full store read, a refresh with nothing new, a refresh after 10 new clicks (the incremental
path), and a refresh after ``privacy delete`` of one shopper (the rebuild path). Prints one JSON
object with medians and min-max in milliseconds. Writing the events one by one through the store
is the slow part (one transaction each); ``--store FILE`` keeps them for the next run.

    PYTHONPATH=. .venv/bin/python benchmarks/studies/live_coratings_cost.py --events 20000 --store /tmp/co-events.sqlite
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

import numpy as np
from _common import repo_on_path

repo_on_path()


def timed(fn, repeats: int) -> dict:
    ms = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1000)
    return {"median_ms": round(statistics.median(ms), 2), "min_max_ms": [round(min(ms), 2), round(max(ms), 2)]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--shoppers", type=int, default=500)
    ap.add_argument("--products", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--store", default=None, help="SQLite file of the events; reused (nothing written) when it exists")
    args = ap.parse_args()
    from assistant.store import ConversationStore
    from ranker.blend import CoRatingSource

    rng = np.random.default_rng(0)
    path = args.store or f"{tempfile.mkdtemp()}/events.sqlite"
    reuse = os.path.exists(path)
    store = ConversationStore(f"sqlite:///{path}")
    if reuse:
        convs = [(store.user_conversations(f"s{i}") or [None])[0] for i in range(args.shoppers)]
        convs = [(c, f"s{i}") for i, c in enumerate(convs)]
        write_s = None
    else:
        convs = [(store.start_conversation(f"s{i}"), f"s{i}") for i in range(args.shoppers)]
        convs += [(store.start_conversation(None), None) for _ in range(args.shoppers)]
        kinds = rng.choice(["click", "thumb_up", "add_to_cart", "thumb_down", "buy"], args.events, p=[0.6, 0.15, 0.1, 0.1, 0.05])
        t0 = time.perf_counter()
        for kind, c, p in zip(kinds, rng.integers(0, len(convs), args.events), rng.integers(0, args.products, args.events)):
            cid, user = convs[c]
            store.log_event(str(kind), cid, user, f"p{p}")
        write_s = time.perf_counter() - t0
    src = CoRatingSource(live_fn=store.co_rating_events, ttl_s=0)
    t0 = time.perf_counter()
    co = src.get()
    first_ms = (time.perf_counter() - t0) * 1000
    report = {"co_rating_events": len(store.co_rating_events()), "pairs": len(store.co_rating_pairs()),
              "shoppers_with_pairs": len(co.rated), "loadavg_1m": round(os.getloadavg()[0], 2),
              "log_event_ms_each": round(write_s / args.events * 1000, 2) if write_s else None,
              "first_build_ms": round(first_ms, 1), "full_store_read": timed(store.co_rating_events, args.repeats),
              "refresh_nothing_new": timed(src.get, args.repeats)}
    k = iter(range(10**6))
    after_clicks, after_delete = [], []
    for _ in range(args.repeats):
        for _ in range(10):
            store.log_event("click", convs[0][0], convs[0][1], f"new{next(k)}")
        t0 = time.perf_counter()
        src.get()
        after_clicks.append((time.perf_counter() - t0) * 1000)
    victims = iter([u for u in (f"s{i}" for i in range(1, args.shoppers)) if store.user_conversations(u)])  # not erased yet
    for _ in range(args.repeats):
        assert store.delete_user(next(victims))["events"]
        t0 = time.perf_counter()
        src.get()
        after_delete.append((time.perf_counter() - t0) * 1000)
    for name, ms in [("refresh_after_10_new_clicks", after_clicks), ("refresh_after_a_privacy_delete", after_delete)]:
        report[name] = {"median_ms": round(statistics.median(ms), 2), "min_max_ms": [round(min(ms), 2), round(max(ms), 2)]}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
