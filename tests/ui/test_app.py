"""The app over HTTP on loopback: the named chat API, session isolation, the agent login,
production and share start-up errors, and a small load check."""

from __future__ import annotations

import httpx
import pytest

from shopassist.settings import ConfigError
from tests.conftest import free_port
from tests.ui.conftest import AGENT


def test_chat_api_streams_cards_and_keeps_sessions_apart(live_app):
    from gradio_client import Client

    a = Client(live_app.url + "/", verbose=False)
    b = Client(live_app.url + "/", verbose=False)
    first = a.predict("a quiet blender under $80", "guest", "", api_name="/chat")
    assert first["cards"], "a product question returns cards"
    assert all(c["price"] is None or c["price"] <= 80 for c in first["cards"])
    assert first["text"]
    cid = first["conversation_id"]
    other = b.predict("show me a kettle", "guest", "", api_name="/chat")
    assert other["conversation_id"] != cid
    again = a.predict("something cheaper", "guest", cid, first["conversation_token"], api_name="/chat")
    assert again["conversation_id"] == cid
    store = live_app.assistant.store
    assert [m.text for m in store.messages(cid) if m.role == "user"] == ["a quiet blender under $80", "something cheaper"]
    assert [m.text for m in store.messages(other["conversation_id"]) if m.role == "user"] == ["show me a kettle"]
    # impressions were logged with conversation, product and time
    shown = store.events("impression", conversation_id=cid)
    assert {e.product_id for e in shown} >= {c["product_id"] for c in first["cards"]}
    assert all(e.created_at is not None for e in shown)


def test_chat_api_rejects_unknown_conversation(live_app):
    from gradio_client import Client

    with pytest.raises(Exception, match="unknown conversation_id"):
        Client(live_app.url + "/", verbose=False).predict("hi", "guest", "nope", api_name="/chat")


def test_agent_console_needs_login_and_customer_pages_do_not_leak_it(live_app):
    with httpx.Client(base_url=live_app.url, timeout=30) as http:
        assert http.get("/agent/config").status_code == 401
        assert http.get("/agent/gradio_api/info").status_code == 401
        bad = http.post("/agent/login", data={"username": AGENT[0], "password": "wrong"})
        assert bad.status_code in (400, 401)
        assert http.get("/agent/config").status_code == 401
        for path in ("/config", "/widget/config", "/", "/widget/"):
            r = http.get(path)
            assert r.status_code == 200 and AGENT[1] not in r.text
        ok = http.post("/agent/login", data={"username": AGENT[0], "password": AGENT[1]})
        assert ok.status_code == 200
        assert http.get("/agent/config").status_code == 200


def test_production_mode_refuses_to_start_without_an_agent_password(ui_settings, ui_assistant):
    from ui.app import build_app

    prod = ui_settings.model_copy(update={"production": True, "agent_password": type(ui_settings.agent_password)("")})
    with pytest.raises(ConfigError, match="AGENT_PASSWORD"):
        build_app(prod, ui_assistant)


def test_share_without_a_reachable_share_server_fails_fast_with_a_message(monkeypatch, capsys, tmp_path):
    import ui.app
    from shopassist.cli import main

    # a closed loopback port stands in for "offline": refused at once, nothing leaves the machine
    monkeypatch.setattr(ui.app, "SHARE_HOST", ("127.0.0.1", free_port()))
    rc = main(["--data-dir", str(tmp_path), "serve", "--share", "--llm-backend", "scripted"])
    assert rc == 3  # the network's to fix, not the user's: ShareUnavailable is an OperatorError
    err = capsys.readouterr().err
    assert "--share needs internet access" in err and "Traceback" not in err


def test_load_check_small(live_app):
    from ui.bench import run_load

    report = run_load(live_app.url + "/", sessions=4, turns=2, store=live_app.assistant.store)
    assert report["errors"] == 0, report["error_samples"]
    assert report["leaks"] == 0, report["leak_samples"]
    assert report["turns"] == 8 and report["latency_s"]["p95"] >= report["latency_s"]["p50"] > 0


def test_the_starters_name_this_shops_own_kinds_of_product(ui_assistant):
    """Starter buttons and the welcome example come from the catalog being served (its biggest
    noun categories), never from the demo catalog's words; two more work on any catalog."""
    import collections
    import json

    from retrieval.demo import DEMO_DIR
    from tests.ui.conftest import DATA
    from ui.chat import GENERIC_STARTERS, ChatSurface, starters

    rows = [json.loads(line) for f in (DEMO_DIR / "products.jsonl", DATA / "products.jsonl") for line in f.open()]
    sizes = collections.Counter(r["categories"][-1] for r in rows if r.get("categories"))
    nouns = {c: n for c, n in sizes.items() if len(c) >= 4 and not c.endswith("'s")}
    top = max(nouns.values())
    got = starters(ui_assistant)
    assert got[-2:] == list(GENERIC_STARTERS)
    assert got[0] in {f"Show me {c.lower()}" for c, n in nouns.items() if n == top}
    assert not any("quiet blender under $80" in s for s in got)
    assert got[0] in ChatSurface(ui_assistant).welcome()


def test_backends_health_says_states_and_nothing_else(live_app):
    """/healthz/backends: the search mode and the LLM state, without addresses or errors (the console has those)."""
    r = httpx.get(live_app.url + "/healthz/backends", timeout=10)
    ranker = live_app.assistant.ranker.version or "prior"
    assert r.status_code == 200 and r.json() == {"search": "hybrid", "llm": "ok", "ranker": ranker, "learn": "off"}
    assert httpx.get(live_app.url + "/healthz", timeout=10).text == "ok"
