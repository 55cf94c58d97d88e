"""The events one assistant turn yields, in order: the UI only consumes this stream.

A normal turn yields ``Cards`` first (as soon as ranking is done), then zero or more
``TextDelta`` chunks of the streamed answer, then one ``Answer`` with the final,
validated text. A refused or paused turn yields a ``Notice``; a request for a person
yields ``Handoff`` (and a ``Notice`` saying so).

Example::

    >>> Card(product_id="p1", title="Quiet blender", price=49.0).to_dict()["price"]
    49.0
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(slots=True)
class Card:
    """A product card built only from catalog data (never from LLM text)."""

    product_id: str
    title: str
    price: float | None = None
    currency: str = "USD"
    stars_predicted: float | None = None
    average_rating: float | None = None
    rating_count: int = 0
    image_url: str | None = None
    why: list[str] = field(default_factory=list)
    brand: str | None = None
    url: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(slots=True)
class Cards:
    cards: list[Card]


@dataclass(slots=True)
class TextDelta:
    text: str


@dataclass(slots=True)
class Answer:
    """The final answer text. ``grounded`` is False only for a template fallback that
    could not be checked (never for text that failed the validator: that is replaced)."""

    text: str
    grounded: bool = True
    citations: list[str] = field(default_factory=list)  # product ids, [1] = citations[0]
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    intent: str = ""
    table: list[list[str]] | None = None  # comparison table rows (header first)


@dataclass(slots=True)
class Handoff:
    conversation_id: str


@dataclass(slots=True)
class Notice:
    """A polite refusal, redirect, retry or 'a person is replying' message."""

    text: str
    kind: str = "info"  # info | refused | retry | degraded | handoff | paused


Event = Cards | TextDelta | Answer | Handoff | Notice
