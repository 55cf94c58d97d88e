"""Load check of the chat API: N concurrent shoppers × T turns through ``gradio_client``.

Each session is its own ``gradio_client.Client`` (its own Gradio session) calling the
named ``/chat`` endpoint and carrying its ``conversation_id``. Reported: errors, turn
latency (p50/p95/max, seconds, client side), throughput, and a cross-session leak check
(every session keeps one conversation id of its own, and when the store is reachable the
stored transcript of each conversation holds exactly that session's messages).

Example::

    report = run_bench(settings, sessions=20, turns=5)
    report["errors"], report["leaks"], report["latency_s"]["p95"]
"""

from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from shopassist.settings import Settings

QUESTIONS = (
    "a quiet blender under $80",
    "something cheaper",
    "compare the first two",
    "what do reviewers say about the first one?",
    "wireless headphones with good battery",
    "show me a kettle",
    "not that brand",
)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile.

    >>> percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95)
    10
    >>> percentile([1, 2, 3, 4], 50)
    2
    """
    if not values:
        return 0.0
    s = sorted(values)
    k = max(0, min(len(s) - 1, -(-len(s) * q // 100) - 1))
    return s[int(k)]


def _session(url: str, index: int, turns: int, results: dict, lock: threading.Lock, questions=QUESTIONS) -> None:
    from gradio_client import Client

    client = Client(url, verbose=False)
    cid, token, sent, lat, server, errors, cids = "", "", [], [], [], [], set()
    user = f"bench-user-{index}"
    for t in range(turns):
        q = questions[(index + t) % len(questions)] + f" (session {index})"
        t0 = time.perf_counter()
        try:
            out = client.predict(q, user, cid, token, api_name="/chat")
            lat.append(time.perf_counter() - t0)
            server.append(float((out.get("timings") or {}).get("total", 0.0)))
            cid, token = out["conversation_id"], out["conversation_token"]
            cids.add(cid)
            sent.append(q)
        except Exception as e:  # counted and reported: the bench's job is to show failures
            errors.append(f"{type(e).__name__}: {e}"[:200])
    with lock:
        results[index] = {"cid": cid, "cids": cids, "sent": sent, "latency": lat, "server": server, "errors": errors}


def run_load(url: str, sessions: int, turns: int, store=None, questions: tuple[str, ...] = QUESTIONS) -> dict:
    """Drive ``sessions`` concurrent shoppers against a running app at ``url`` (shopper i's turn t
    asks ``questions[i + t]``, cycling)."""
    results: dict[int, dict] = {}
    lock = threading.Lock()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=sessions) as pool:
        for f in [pool.submit(_session, url, i, turns, results, lock, questions) for i in range(sessions)]:
            f.result()
    wall = time.perf_counter() - t0
    lat = [x for r in results.values() for x in r["latency"]]
    server = [x for r in results.values() for x in r["server"]]
    errors = [e for r in results.values() for e in r["errors"]]
    leaks = []
    all_cids = [r["cid"] for r in results.values()]
    for i, r in results.items():
        if len(r["cids"]) > 1:
            leaks.append(f"session {i} saw {len(r['cids'])} conversation ids")
    if len(set(all_cids)) != len(all_cids):
        leaks.append("two sessions shared a conversation id")
    if store is not None:
        for i, r in results.items():
            if not r["cid"]:
                continue
            stored = [m.text for m in store.messages(r["cid"]) if m.role == "user"]
            if stored != r["sent"]:
                leaks.append(f"session {i}: stored user messages differ from what it sent")
    return {
        "sessions": sessions,
        "turns_per_session": turns,
        "turns": len(lat),
        "errors": len(errors),
        "error_samples": errors[:3],
        "leaks": len(leaks),
        "leak_samples": leaks[:3],
        "latency_s": {
            "p50": round(percentile(lat, 50), 3),
            "p95": round(percentile(lat, 95), 3),
            "max": round(max(lat), 3) if lat else 0.0,
            "mean": round(statistics.fmean(lat), 3) if lat else 0.0,
        },
        # the assistant's own time per turn (Answer.timings["total"]); the rest is queueing and transport
        "server_turn_s": {"p50": round(percentile(server, 50), 3), "p95": round(percentile(server, 95), 3)},
        "wall_s": round(wall, 2),
        "turns_per_s": round(len(lat) / wall, 2) if wall else 0.0,
    }


def serve_in_thread(settings: Settings):
    """The app on a free loopback port in a daemon thread: (app, url, stop). Per-address rate
    limits are off: every bench shopper comes from 127.0.0.1, and would count as one."""
    import socket

    import uvicorn

    from ui.app import build_app

    app = build_app(settings.model_copy(update={"turns_per_minute": 0, "conversations_per_hour": 0, "handoffs_per_hour": 0}))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the app did not start: see the log above")
        time.sleep(0.05)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    return app, f"http://127.0.0.1:{port}/", stop


def run_bench(settings: Settings, sessions: int = 20, turns: int = 5, url: str | None = None) -> dict:
    """Serve the app on a free loopback port (unless ``url``) and run the load check."""
    if url:
        return {"url": url, **run_load(url, sessions, turns)}
    app, url, stop = serve_in_thread(settings)
    try:
        # one turn first: loading the embedder and the LLM is start-up cost, reported apart
        from gradio_client import Client

        t0 = time.perf_counter()
        Client(url, verbose=False).predict(QUESTIONS[0], "guest", "", api_name="/chat")
        warmup = time.perf_counter() - t0
        report = run_load(url, sessions, turns, store=app.state.assistant.store)
    finally:
        stop()
    return {
        "llm_backend": settings.llm_backend,
        "concurrency": settings.concurrency,
        "warmup_turn_s": round(warmup, 2),
        **report,
    }
