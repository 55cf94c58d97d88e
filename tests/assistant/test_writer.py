"""The answer writer's time rules: the turn's deadline cuts generation, and a regeneration is
tried only when there is time for it. A slow scripted model stands in for a slow CPU."""

from __future__ import annotations

import time

from assistant.events import Notice, TextDelta
from assistant.llm import ScriptedLLM
from assistant.writer import write

MESSAGES = [{"role": "user", "content": "a kettle"}]
INVENTED = "price $3.00"


class SlowLLM(ScriptedLLM):
    """The scripted model, ``delay_s`` per word (like tokens arriving from a busy CPU)."""

    def __init__(self, replies: list[str], delay_s: float):
        super().__init__(replies=replies)
        self.delay_s = delay_s

    def _stream(self, messages):
        for word in super()._stream(messages):
            time.sleep(self.delay_s)
            yield word


def check(text: str) -> list[str]:
    return [INVENTED] if "$3.00" in text else []


def run(llm, seconds_left: float):
    def answer():
        written = yield from write(llm, MESSAGES, check, time.monotonic() + seconds_left, max_tokens=160)
        yield written

    t = time.monotonic()
    *events, written = answer()
    return events, written, time.monotonic() - t


def test_the_deadline_keeps_the_checked_sentences_and_drops_the_rest():
    llm = SlowLLM(["The first one [1] is a solid choice. " + "It also has many more words " * 20 + "."], 0.02)
    events, written, took = run(llm, 0.4)
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["The first one [1] is a solid choice. "]
    assert (written.text, written.source, written.timed_out) == ("The first one [1] is a solid choice.", "llm", True)
    assert took < 0.4 + 0.2  # stopped at the deadline, not at the end of the 120 words


def test_nothing_checked_by_the_deadline_means_the_template():
    events, written, _ = run(SlowLLM(["A very long first sentence " * 20 + "."], 0.02), 0.2)
    assert not events and written.text is None and written.source == "template" and written.timed_out


def test_a_regeneration_needs_as_much_time_as_the_first_attempt_took():
    bad, good = "It costs $3.00 today.", "The first one [1] is a solid choice."
    llm = SlowLLM([bad, good], 0.1)  # the first attempt takes ~0.4 s
    _, written, _ = run(llm, 0.6)  # ~0.2 s left: a regeneration would be cut, so none is tried
    assert written.text is None and written.problems == [INVENTED] and len(llm.calls) == 1
    llm = SlowLLM([bad, good], 0.1)
    _, written, _ = run(llm, 5.0)
    assert (written.text, written.source) == (good, "llm_retry") and len(llm.calls) == 2


def test_a_backend_that_is_down_leaves_the_text_to_the_template():
    events, written, _ = run(ScriptedLLM(fail=True), 5.0)
    assert [e.kind for e in events if isinstance(e, Notice)] == ["retry"] and written.text is None
