"""The LLM backends, each for real: scripted, the embedded GGUF (llama.cpp and transformers),
and an OpenAI-compatible server (llama.cpp's, serving the same GGUF on loopback)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from assistant.chat import Turn
from assistant.events import Answer, Cards, TextDelta
from assistant.grounding import check
from assistant.llm import (
    BACKENDS,
    LLMUnavailable,
    OpenAICompatibleLLM,
    ScriptedLLM,
    TransformersLLM,
    load_llm,
    smollm2_gguf,
)
from shopassist.settings import Settings
from tests.conftest import free_port
from tests.llama import LlamaServer

MESSAGES = [
    {"role": "system", "content": "You are a helpful shopping assistant. Answer in one sentence."},
    {"role": "user", "content": "[1] Acme Quiet Blender costs $49.00, brand Acme.\nWhich blender is quiet?"},
]


def test_registry_has_every_backend(settings):
    assert set(BACKENDS) == {"local", "transformers", "openai", "scripted"}
    assert load_llm(settings.model_copy(update={"llm_backend": "scripted"})).name == "scripted"


def test_scripted_answers_from_candidates_and_replays():
    text = ScriptedLLM().complete(MESSAGES)
    assert text == "I'd suggest Acme Quiet Blender at $49.00 [1]."
    llm = ScriptedLLM(replies=["one", "two"])
    assert [llm.complete(MESSAGES), llm.complete(MESSAGES), llm.complete(MESSAGES)] == ["one", "two", "two"]
    with pytest.raises(LLMUnavailable):
        ScriptedLLM(fail=True).complete(MESSAGES)


def test_openai_backend_down_is_unavailable():
    llm = OpenAICompatibleLLM(f"http://127.0.0.1:{free_port()}/v1", "smol", timeout_s=2)
    with pytest.raises(LLMUnavailable):
        llm.complete(MESSAGES)


def test_the_bundled_small_model_does_not_phrase_search_answers_by_default(make_assistant, settings):
    """``llm_phrasing`` auto: the bundled SmolLM2 (its text passed the validator in 8 of 45 answers,
    for 1.9 s a turn) leaves search answers to the template; a model the shop configured phrases
    them, and "always" makes the bundled one try again."""
    bundled = load_llm(settings.model_copy(update={"llm_backend": "local"}))
    configured = load_llm(settings.model_copy(update={"llm_backend": "local", "llm_model": smollm2_gguf()}))
    assert (bundled.phrases, configured.phrases, ScriptedLLM().phrases) == (False, True, True)
    a = make_assistant(llm=bundled, llm_backend="local")
    cid = a.start(None)
    events = list(a.respond(Turn(cid, None, "a quiet blender under $100")))
    answer = next(e for e in events if isinstance(e, Answer))
    cards = next(e.cards for e in events if isinstance(e, Cards))
    assert cards and answer.timings["generate"] < 0.05  # no time spent on text that would not be used
    assert a.store.messages(cid)[-1].meta["source"] == "template"
    assert f"[1] {cards[0].title[:20]}" in answer.text  # the template lists the cards it shows
    assert not a.phrasing() and make_assistant(llm=bundled, llm_phrasing="always").phrasing()


@pytest.mark.slow
def test_local_gguf_generates(settings):
    llm = load_llm(settings.model_copy(update={"llm_backend": "local", "llm_threads": 2}))
    chunks = list(llm.stream(MESSAGES, max_tokens=24))
    assert len(chunks) > 1 and "".join(chunks).strip()


@pytest.mark.slow
def test_local_gguf_stops_reading_a_long_prompt_at_the_deadline(settings):
    """The turn's deadline stops llama.cpp in the middle of the prompt (a caller cannot: no token
    comes out before the whole prompt is read); the stream just ends, and the model answers
    the next prompt exactly as before (its cached prefix is still valid)."""
    llm = load_llm(settings.model_copy(update={"llm_backend": "local", "llm_threads": 2}))
    before = llm.complete(MESSAGES, max_tokens=16)
    long = [MESSAGES[0], {"role": "user", "content": MESSAGES[1]["content"] * 40}]  # ~1,000 tokens
    t = time.monotonic()
    chunks = list(llm.stream(long, max_tokens=16, deadline=time.monotonic() + 0.1))
    took = time.monotonic() - t
    assert chunks == [] and took < 1.0, took  # reading 1,000 tokens takes seconds on 2 cores
    assert llm.complete(MESSAGES, max_tokens=16) == before
    assert "".join(llm.stream(MESSAGES, max_tokens=16, deadline=time.monotonic() + 60)) == before


@pytest.fixture(scope="module")
def llama_server():
    """``python -m llama_cpp.server`` serving the SmolLM2 GGUF on a free loopback port (tests/llama.py)."""
    server = LlamaServer().start()
    yield server.url
    server.stop()


@pytest.mark.slow
def test_openai_backend_against_llama_cpp_server(llama_server, settings):
    s = settings.model_copy(update={"llm_backend": "openai", "llm_base_url": llama_server, "llm_model": "smollm2"})
    llm = load_llm(s)
    chunks = list(llm.stream(MESSAGES, max_tokens=24))
    assert len(chunks) > 1 and "".join(chunks).strip()


@pytest.mark.slow
def test_transformers_backend_loads_the_gguf_and_answers_a_grounded_turn(make_assistant):
    """The SmolLM2 GGUF through transformers (``gguf_file=``, dequantised by ``gguf``), then one
    whole turn on it: cards first, and whatever text reaches the shopper passes the validator."""
    llm = load_llm(Settings(llm_backend="transformers"))
    assert isinstance(llm, TransformersLLM) and llm.gguf_file == Path(smollm2_gguf()).name
    chunks = list(llm.stream(MESSAGES, max_tokens=24))
    assert len(chunks) > 1 and "".join(chunks).strip()  # it really generates, token by token
    stream = llm.stream(MESSAGES, max_tokens=400)
    next(stream)
    stream.close()  # closing the stream stops the generation thread (the writer closes early)
    assert not [t for t in threading.enumerate() if t.name == "transformers-generate"]

    a = make_assistant(llm=llm, llm_backend="transformers", llm_phrasing="always")
    cid = a.start(None)
    events = list(a.respond(Turn(cid, None, "a quiet blender under $100")))
    cards = next(e.cards for e in events if isinstance(e, Cards))
    answer = next(e for e in events if isinstance(e, Answer))
    assert cards and all(c.price <= 100 for c in cards)
    products = a.catalog.store.get_many([c.product_id for c in cards])
    assert check(answer.text, products, user_text="a quiet blender under $100", brands=a.brands()).ok
    source = a.store.messages(cid)[-1].meta["source"]
    streamed = "".join(e.text for e in events if isinstance(e, TextDelta)).strip()
    if source == "llm":  # the model's own sentences, exactly as streamed
        assert streamed == answer.text
    assert answer.timings["generate"] > 0
    assert not [t for t in threading.enumerate() if t.name == "transformers-generate"]
