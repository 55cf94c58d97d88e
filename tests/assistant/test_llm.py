"""The LLM backends, each for real: scripted, the embedded GGUF, and an OpenAI-compatible
server (llama.cpp's, serving the same GGUF on loopback)."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request

import pytest

from assistant.llm import BACKENDS, LLMUnavailable, OpenAICompatibleLLM, ScriptedLLM, load_llm, smollm2_gguf
from shopassist.settings import Settings
from tests.conftest import free_port

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


@pytest.mark.slow
def test_local_gguf_generates(settings):
    llm = load_llm(settings.model_copy(update={"llm_backend": "local", "llm_threads": 2}))
    chunks = list(llm.stream(MESSAGES, max_tokens=24))
    assert len(chunks) > 1 and "".join(chunks).strip()


@pytest.fixture(scope="module")
def llama_server():
    """``python -m llama_cpp.server`` serving the SmolLM2 GGUF on a free loopback port."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", smollm2_gguf(), "--host", "127.0.0.1",
         "--port", str(port), "--n_threads", "2", "--n_ctx", "2048", "--model_alias", "smollm2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(url + "/models", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("llama_cpp.server exited at start-up")
                time.sleep(0.5)
        else:
            pytest.fail("llama_cpp.server did not start within 90 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.mark.slow
def test_openai_backend_against_llama_cpp_server(llama_server, settings):
    s = settings.model_copy(update={"llm_backend": "openai", "llm_base_url": llama_server, "llm_model": "smollm2"})
    llm = load_llm(s)
    chunks = list(llm.stream(MESSAGES, max_tokens=24))
    assert len(chunks) > 1 and "".join(chunks).strip()
