"""Two `shopassist serve` processes on different ports sharing one real PostgreSQL: what a shop
behind a load balancer runs. Each replica has its own copy of the (read-only) catalog data dir;
conversations, hand-off and take-over state live only in Postgres.

- a shopper's conversation started on replica A continues on replica B (the API, with the
  conversation token both replicas verify with the shared identity secret);
- an agent signed in on replica B's console takes over a conversation a shopper started on
  replica A, and the shopper's page on A shows the agent's reply (real Chromium).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import free_port
from tests.ui.conftest import AGENT
from tests.ui.test_browser import ask, latest_conversation, open_console, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = pytest.mark.slow


class Replica:
    """One `shopassist serve` process on a free loopback port."""

    def __init__(self, data_dir, env: dict):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(data_dir.parent / f"serve-{self.port}.log", "w")  # closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "shopassist.cli", "--data-dir", str(data_dir), "serve", "--host", "127.0.0.1",
             "--port", str(self.port)], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)  # fmt: skip

    def wait(self, timeout_s: float = 240) -> Replica:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"replica on {self.port} exited: {open(self.log.name).read()[-2000:]}")
            try:
                if httpx.get(self.url + "/", timeout=5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"replica on {self.port} did not start in {timeout_s}s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="module")
def replicas(postgres, ui_settings, ui_assistant, tmp_path_factory):
    """Replicas A and B over one Postgres database (``.store``: a store on it for the checks)."""
    from assistant.store import ConversationStore

    url = postgres.create_database()
    root = tmp_path_factory.mktemp("replicas")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPASSIST_")}
    env.update({"PYTHONPATH": ROOT, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
                "NO_PROXY": "127.0.0.1,localhost", "SHOPASSIST_EVENTS_URL": url, "SHOPASSIST_LLM_BACKEND": "scripted",
                "SHOPASSIST_AGENT_USER": AGENT[0], "SHOPASSIST_AGENT_PASSWORD": AGENT[1],
                "SHOPASSIST_IDENTITY_SECRET": "replicas-share-this-secret-" + "x" * 16})  # fmt: skip
    started = []
    try:
        for name in ("a", "b"):
            data = root / name / "data"  # the ingested catalog, copied: replicas share no files
            shutil.copytree(ui_settings.data_dir, data, ignore=shutil.ignore_patterns("events.sqlite*", "logs"))
            started.append(Replica(data, env))
        a, b = (r.wait() for r in started)
        yield a, b, ConversationStore(url)
    finally:
        for r in started:
            r.stop()


def test_a_conversation_started_on_one_replica_continues_on_the_other(replicas):
    from gradio_client import Client

    a, b, store = replicas
    first = Client(a.url + "/", verbose=False).predict("a quiet blender under $80", "guest", "", "", api_name="/chat")
    cid, token = first["conversation_id"], first["conversation_token"]
    assert first["cards"] and all("blender" in c["title"].lower() for c in first["cards"])
    cheapest = min(first["cards"], key=lambda c: c["price"])
    then = Client(b.url + "/", verbose=False).predict("the cheapest one", "guest", cid, token, api_name="/chat")
    assert then["conversation_id"] == cid
    # B read the state A stored: "the cheapest one" refers to A's cards, not to a new search
    assert then["cards"] and then["cards"][0]["product_id"] == cheapest["product_id"]
    users = [m.text for m in store.messages(cid) if m.role == "user"]
    assert users == ["a quiet blender under $80", "the cheapest one"]


@pytest.mark.browser
def test_an_agent_on_replica_b_takes_over_a_conversation_on_replica_a(browser, replicas):
    a, b, store = replicas
    shopper = browser.new_context(viewport={"width": 1000, "height": 900}).new_page()
    agent = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    shopper.goto(a.url + "/")
    shopper.wait_for_selector("#chat-input textarea")
    ask(shopper, "a quiet blender under $80")
    ask(shopper, "can I talk to a real person please")
    conv = wait_for(lambda: latest_conversation(store, handoff=True), what="A's hand-off in the shared queue")

    open_console(agent, b.url, conv.id)
    agent.wait_for_selector("#agent-transcript >> text=real person")  # B shows what the shopper said on A
    agent.locator("#take-over").click()
    agent.wait_for_selector("#conv-status >> text=Taken over by agent")
    assert store.taken_over_by(conv.id) == AGENT[0]
    reply = "Hello, I'm Sam on the other server. The first blender is our quietest."
    agent.locator("#agent-reply textarea").fill(reply)
    agent.locator("#agent-send").click()

    shopper.wait_for_selector("[data-testid=agent-msg] >> text=I'm Sam on the other server", timeout=30_000)
    ask(shopper, "thanks, is it loud?")  # A's bot stays quiet: B's take-over is in the shared store
    assert "is replying to you" in shopper.locator("[data-testid=notice]").last.inner_text()
    assert [m.role for m in store.messages(conv.id)][-2:] == ["agent", "user"]
    assert [e.kind for e in store.events(conversation_id=conv.id) if e.kind in ("handoff", "takeover")] == ["handoff", "takeover"]
