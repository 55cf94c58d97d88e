"""Writing the answer text with the LLM: stream, validate sentence by sentence, regenerate once.

The LLM only phrases; every sentence it writes is checked by the grounding validator
(``check`` below is ``grounding.check`` bound to the shown products) before the shopper
sees it. ``write`` yields ``TextDelta`` events for the checked sentences as they arrive and
returns (as a generator's return value: ``written = yield from write(...)``) a ``Written``:
the text to keep, or ``None`` when the caller's template must be used instead. The rules:

- stop after ``MAX_SENTENCES`` checked sentences (the answer sits beside the cards);
- a sentence that fails the check ends the stream; checked sentences already shown are
  kept when they say enough (``llm_truncated``), else the model gets one regeneration with
  the problems named (``llm_retry``) if the time left before ``deadline`` is at least what
  the first attempt took (a regeneration cut by the deadline is wasted work), else the
  template;
- a fragment cut by the token cap is dropped, never shown;
- past ``deadline`` (``time.monotonic()``, the turn's budget) generation stops: the checked
  sentences so far are the answer, or the template if there are none;
- a backend that is down yields a retry ``Notice`` and leaves the text to the template.

Example (a scripted model whose second sentence invents a price)::

    >>> from assistant.llm import ScriptedLLM
    >>> llm = ScriptedLLM(replies=["The first one [1] is quiet. It costs $3.00."])
    >>> check = lambda s: ["price $3.00"] if "$3.00" in s else []
    >>> def answer():
    ...     written = yield from write(llm, [{"role": "user", "content": "q"}], check, time.monotonic() + 5, 64)
    ...     yield written
    >>> *shown, written = answer()
    >>> [e.text for e in shown], written.text, written.source
    (['The first one [1] is quiet. '], None, 'template')
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

from assistant.answers import prompt
from assistant.events import Event, Notice, TextDelta
from assistant.grounding import split_sentences
from assistant.llm import ChatModel, LLMUnavailable

log = logging.getLogger("assistant")

# the answer is one or two sentences beside the cards; stopping early keeps turns fast
MAX_SENTENCES = 2
# checked sentences already shown are kept on their own when they are at least this long
KEEP_SHOWN_CHARS = 40
RETRY_TEXT = "Our answer writer is slow to respond right now, so here are the products on their own. Please try again in a moment."
_ENDS = ".!?)\"”"


@dataclass(slots=True)
class Written:
    text: str | None = None  # None: use the template
    source: str = "template"  # llm | llm_truncated | llm_retry | template
    problems: list[str] = field(default_factory=list)  # the validator's, for the log
    validate_s: float = 0.0  # time spent in the validator (not generation)
    timed_out: bool = False


def write(
    llm: ChatModel, messages: list[dict], check: Callable[[str], list[str]], deadline: float, max_tokens: int
) -> Generator[Event, None, Written]:
    """Stream validated sentences of the LLM's answer to ``messages``; see the module docstring."""
    w = Written()

    def ok(text: str) -> list[str]:
        t = time.perf_counter()
        problems = check(text)
        w.validate_s += time.perf_counter() - t
        return problems

    start = time.monotonic()
    try:
        emitted, buf, bad = [], "", False
        stream = llm.stream(messages, max_tokens=max_tokens, deadline=deadline)
        try:
            for chunk in stream:
                buf += chunk
                done, buf = split_sentences(buf)
                for s in done:
                    w.problems = ok(s)
                    if w.problems:
                        bad = True
                        break
                    emitted.append(s)
                    yield TextDelta(s)
                w.timed_out = time.monotonic() > deadline
                if bad or len(emitted) >= MAX_SENTENCES or w.timed_out:
                    break
            else:
                # the model stopped by itself: a tail ending like a sentence is a sentence;
                # a fragment cut by the token cap is dropped
                tail = buf.strip()
                if tail and tail[-1] in _ENDS and len(emitted) < MAX_SENTENCES:
                    w.problems = ok(tail)
                    if w.problems:
                        bad = True
                    else:
                        emitted.append(buf)
                        yield TextDelta(buf)
        finally:
            # stop generating now (and release the backend) rather than at garbage collection
            stream.close()
        first = "".join(emitted).strip()
        if not bad and len(first) >= 10:
            w.text, w.source = first, "llm"
        elif bad and len(first) >= KEEP_SHOWN_CHARS:
            # the shopper already saw these checked sentences: keep them, drop the rest
            w.text, w.source = first, "llm_truncated"
        elif bad and deadline - time.monotonic() >= time.monotonic() - start:
            retry = messages + [
                {"role": "assistant", "content": ("".join(emitted) + buf)[:600] or "(no answer)"},
                {"role": "user", "content": prompt("regenerate").format(problems="; ".join(w.problems[:4]))},
            ]
            second = collect(llm, retry, deadline, max_tokens).strip()
            if len(second) >= 10 and second[-1] in _ENDS and not ok(second):
                w.text, w.source = second, "llm_retry"
    except LLMUnavailable as e:
        log.warning("LLM unavailable, template answer: %s", e)
        yield Notice(RETRY_TEXT, kind="retry")
    return w


def collect(llm: ChatModel, messages: list[dict], deadline: float, max_tokens: int) -> str:
    """A whole (unstreamed) generation; "" if it runs past the deadline."""
    out = ""
    stream = llm.stream(messages, max_tokens=max_tokens, deadline=deadline)
    try:
        for chunk in stream:
            out += chunk
            if time.monotonic() > deadline:
                return ""
    finally:
        stream.close()
    return out

