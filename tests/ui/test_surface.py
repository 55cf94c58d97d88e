"""The chat handlers without a browser: errors the shopper sees, polling for a person's
reply, the API's input checks, and (slow) one turn through the app with the real local LLM."""

from __future__ import annotations

import gradio as gr
import pytest

from assistant.chat import Assistant
from assistant.llm import ScriptedLLM
from assistant.store import ConversationStore
from ui.chat import ERROR_TEXT, ChatSurface, new_state


@pytest.fixture
def surface_with(ui_settings, ui_assistant, tmp_path):
    """A ChatSurface over the session's catalog and ranker with a given LLM and a fresh store."""

    def make(llm, settings=None):
        a = Assistant(
            settings or ui_settings,
            ui_assistant.catalog,
            ui_assistant.ranker,
            llm,
            ConversationStore(f"sqlite:///{tmp_path / 'events.sqlite'}"),
        )
        return ChatSurface(a)

    return make


def run(surface: ChatSurface, message: str, state: dict) -> str:
    html = ""
    for out in surface.send(message, state):
        if isinstance(out[0], str):
            html = out[0]
    return html


def test_llm_down_shows_cards_and_a_short_retry_message(surface_with):
    surface = surface_with(ScriptedLLM(fail=True))
    state = new_state()
    html = run(surface, "a quiet blender under $80", state)
    assert 'data-testid="card"' in html
    assert "sa-retry" in html and "try again" in html.lower()
    assert "Traceback" not in html and "LLMUnavailable" not in html


class _BrokenRanker:
    """A ranker whose scoring crashes: a program error inside the turn."""

    def score(self, user, products):
        raise ZeroDivisionError("boom")

    def user_context(self, store, user_id):
        return None


def test_a_crashing_turn_shows_a_plain_apology_not_a_traceback(ui_settings, ui_assistant, tmp_path):
    a = Assistant(
        ui_settings,
        ui_assistant.catalog,
        _BrokenRanker(),
        ScriptedLLM(),
        ConversationStore(f"sqlite:///{tmp_path / 'e.sqlite'}"),
    )
    surface = ChatSurface(a)
    html = run(surface, "a quiet blender", new_state())
    assert ERROR_TEXT.split(",")[0] in html
    assert "boom" not in html and "ZeroDivisionError" not in html
    assert "a quiet blender" in html  # the shopper's own message stays visible


def test_poll_shows_a_persons_reply_once(surface_with):
    surface = surface_with(ScriptedLLM())
    state = new_state()
    run(surface, "a kettle", state)
    html = surface.poll(state)
    assert html is not None and not isinstance(html, str)  # nothing new: gr.skip()
    surface.assistant.desk.take_over(state["cid"], "sam")
    surface.assistant.desk.agent_reply(state["cid"], "sam", "Hi, Sam here <b>from the team</b>.")
    html = surface.poll(state)
    assert 'data-testid="agent-msg"' in html and "sam · a person from our team" in html
    assert "<b>" not in html  # cleaned by the assistant, escaped by the page
    again = surface.poll(state)
    assert not isinstance(again, str)


def test_empty_message_is_ignored_and_api_checks_its_input(surface_with):
    surface = surface_with(ScriptedLLM())
    state = new_state()
    outs = list(surface.send("   ", state))
    assert len(outs) == 1 and state["cid"] is None
    with pytest.raises(gr.Error):
        surface.api_chat("", "guest", "")
    out = surface.api_chat("a kettle", "alice", "")
    assert surface.assistant.store.conversation_user(out["conversation_id"]) == "alice"


@pytest.mark.slow
def test_one_turn_with_the_real_local_llm(ui_settings, ui_assistant, tmp_path):
    """SmolLM2 (GGUF, llama-cpp) behind the whole app: cards and a validated answer come back."""
    from gradio_client import Client

    from assistant.llm import load_llm
    from tests.ui.conftest import Server
    from ui.app import build_app

    s = ui_settings.model_copy(update={"llm_backend": "local", "llm_max_tokens": 48, "data_dir": tmp_path,
                                       "llm_phrasing": "always"})
    a = Assistant(s, ui_assistant.catalog, ui_assistant.ranker, load_llm(s), ConversationStore(s.events_db_url))
    with Server(build_app(s, a)) as srv:
        out = Client(srv.url + "/", verbose=False).predict("a quiet blender under $80", "guest", "", api_name="/chat")
    assert out["cards"] and all(c["price"] <= 80 for c in out["cards"] if c["price"] is not None)
    assert len(out["text"]) > 10
    assert out["timings"]["generate"] > 0
