"""One shopper turn as the pipeline and the replies see it: ``Turn`` (what came in),
``TurnContext`` (what travels with it through the stages) and ``Services`` (the few
things a reply may ask of the pipeline).

``replies`` depends on this module only, never on ``chat``: the ``Assistant`` in
``chat`` satisfies ``Services`` structurally, so the two modules do not import each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from assistant.events import Answer, Card
from assistant.understand import State, Understood

# the stages every turn's timings report (0 when a stage did not run)
STAGES = ("parse", "retrieve", "rank", "generate", "validate")


@dataclass(slots=True)
class Turn:
    """A shopper's message in a conversation (``user_id`` None: a guest)."""

    conversation_id: str
    user_id: str | None
    message: str


@dataclass(slots=True)
class TurnContext:
    """Everything a turn carries from its first stage to its stored answer.

    ``message`` is the cleaned text (``turn.message`` is the raw one), ``understood`` the
    intent and the state after the message, ``timings`` the seconds per stage so far and
    ``t0`` the ``time.perf_counter()`` when the message arrived (the turn's budget counts
    from it)."""

    turn: Turn
    message: str
    understood: Understood
    t0: float
    timings: dict[str, float] = field(default_factory=lambda: {s: 0.0 for s in STAGES})

    @property
    def cid(self) -> str:
        return self.turn.conversation_id

    @property
    def state(self) -> State:
        """The conversation state after this message (the one stored with the answer)."""
        return self.understood.state


class Services(Protocol):
    """What a reply that needs no search (``replies``) may use: the stored conversation,
    catalog products and cards, review text and embeddings, and ``finish`` to store its
    answer. ``chat.Assistant`` implements it."""

    def finish(self, ctx: TurnContext, text: str, cards: list[Card] | None = None,
               source: str = "template", **kw) -> Answer: ...  # fmt: skip

    def products(self, ids: list[str]) -> list: ...

    def shown(self, state: State) -> list: ...

    def simple_card(self, p, why: list[str] | None = None) -> Card: ...

    def reviews(self, product_id: str, limit: int) -> list: ...

    def kinds_sold(self, n: int = 2) -> list[str]: ...

    candidates: object  # ``assistant.candidates.Candidates``: ``retrieve(state)`` finds hits under every filter
    catalog: object  # the catalog (``vocabulary_of(catalog)``)

    def embed(self, texts: list[str]): ...

    def request_handoff(self, conversation_id: str, reason: str) -> None: ...

    def log_event(self, kind: str, conversation_id: str, user_id: str | None, product_id: str | None = None,
                  payload: dict | None = None) -> int: ...  # fmt: skip
