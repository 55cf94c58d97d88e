"""How long a shopper waits when a backend is gone: whole turns with the default settings
(turn_budget_s 2.7, llm_timeout_s 30, llm_retries 2, llm_backoff_s 0.2) against

- ``llm_refused``: an OpenAI-compatible URL whose server drops every connection (retried with back-off);
- ``llm_stalled``: one that accepts connections and never answers (bounded by the turn's deadline);
- ``chroma_killed``: a real ``chroma run`` killed (searches fall back to BM25), next to it alive.

Over the assistant tests' small shop (tests/assistant/data, 23 products), the scripted LLM for the
Chroma runs. Prints one JSON object: per case the turns' p50 / p95 / max seconds, and whether
every turn had cards and an answer.

    PYTHONPATH=. .venv/bin/python benchmarks/studies/fault_turns.py --turns 10
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from _common import repo_on_path

repo_on_path()

MESSAGES = ["a quiet blender", "a kettle", "headphones for the gym", "a coffee maker", "a lamp"]


class Listener:
    """A loopback TCP server that either closes every connection at once or holds it unanswered."""

    def __init__(self, hold: bool):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.hold, self.held = hold, []
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"

    def _serve(self) -> None:
        while True:
            conn, _ = self.sock.accept()
            if self.hold:
                self.held.append(conn)  # never read, never answered
            else:
                conn.close()


def timed_turns(a, n: int) -> dict:
    from assistant.chat import Turn
    from assistant.events import Answer, Cards

    took, complete = [], 0
    for i in range(n):
        cid = a.start(None)
        t = time.perf_counter()
        events = list(a.respond(Turn(cid, None, MESSAGES[i % len(MESSAGES)])))
        took.append(time.perf_counter() - t)
        complete += any(isinstance(e, Cards) and e.cards for e in events) and any(isinstance(e, Answer) for e in events)
    q = np.percentile(took, [50, 95])
    return {"turns": n, "p50_s": round(float(q[0]), 3), "p95_s": round(float(q[1]), 3),
            "max_s": round(max(took), 3), "cards_and_answer": complete}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=10)
    args = ap.parse_args()

    from assistant.chat import Assistant
    from assistant.llm import OpenAICompatibleLLM, ScriptedLLM
    from assistant.store import ConversationStore
    from ranker.serve import load_ranker
    from shopassist.settings import Settings
    from tests.assistant.conftest import open_test_catalog
    from tests.chroma import ChromaServer

    tmp = Path(tempfile.mkdtemp())
    out: dict = {"load_avg_before": [round(x, 2) for x in os.getloadavg()]}

    s = Settings(data_dir=tmp / "embedded")
    catalog = open_test_catalog(s)
    for case, hold in (("llm_refused", False), ("llm_stalled", True)):
        srv = Listener(hold)
        llm = OpenAICompatibleLLM(srv.url, "x", timeout_s=s.llm_timeout_s, retries=s.llm_retries, backoff_s=s.llm_backoff_s)
        a = Assistant(s, catalog, load_ranker(s), llm, ConversationStore(f"sqlite:///{tmp / (case + '.sqlite')}"))
        out[case] = timed_turns(a, args.turns)

    server = ChromaServer(tmp / "chroma").start()
    try:
        s = Settings(data_dir=tmp / "server", chroma=server.address, chroma_retry_s=0, exact_search_max=0)
        catalog = open_test_catalog(s)
        a = Assistant(s, catalog, load_ranker(s), ScriptedLLM(), ConversationStore(f"sqlite:///{tmp / 'c.sqlite'}"))
        out["chroma_alive"] = timed_turns(a, args.turns)
        server.stop()
        out["chroma_killed"] = timed_turns(a, args.turns) | {"search": catalog.health()["search"]}
    finally:
        server.stop()
    out["turn_budget_s"] = s.turn_budget_s
    out["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
