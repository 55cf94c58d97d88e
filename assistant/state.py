"""The conversation's state after each message, and what one message did to it.

``State`` is what the conversation has established (the search with its filters, attribute
constraints and orders, excluded categories, what is on screen and in focus); ``Understood``
is one message's reading (intent, references, changes in words, notes to say first). Both are
plain data: the state is stored as a dict in the assistant message's ``meta`` so any process
can pick the conversation up.
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass, field

from retrieval.query import StructuredQuery

_QUERY_FIELDS = tuple(StructuredQuery.__dataclass_fields__)


def _query_from(d: dict) -> StructuredQuery:
    """A StructuredQuery from a stored dict (unknown keys ignored, lists copied)."""
    return StructuredQuery(**{k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
                              for k, v in d.items() if k in _QUERY_FIELDS})  # fmt: skip


@dataclass(slots=True)
class State:
    """What the conversation has established: the search with its filters, and what only the
    conversation knows (colours asked for, what was shown, what "it" is, session likes).

    ``query`` is retrieval's ``StructuredQuery``: its ``text`` is the topic ("quiet blender")
    and its filters (price range, brands, excluded brands, categories, minimum rating, sort,
    excluded ids) carry over from turn to turn. Its ``attributes`` stay empty: the colours
    live in ``colours`` because every one of them is enforced on the product's text, not
    only the first (``Assistant.search_query`` hands the first to retrieval's filter).

    Stored as a dict in the message meta; ``from_dict`` also reads the flat layout that
    states were stored in before (the query's fields at the top level):

    >>> State.from_dict({"text": "kettle", "price_max": 30.0, "shown": ["k1"]}).query.price_max
    30.0
    >>> State.from_dict(State(StructuredQuery(text="kettle"), colours=["red"]).to_dict()).colours
    ['red']
    """

    query: StructuredQuery = field(default_factory=StructuredQuery)
    colours: list[str] = field(default_factory=list)  # post-filter: must appear in the product's text
    shown: list[str] = field(default_factory=list)  # ids of the cards shown last, in order
    focus: str | None = None  # the product last talked about ("it")
    liked: list[str] = field(default_factory=list)  # product ids liked in this session
    disliked: list[str] = field(default_factory=list)
    # numeric attribute bounds: {"key", "op" ("<=", ">=", "~", "="), "value" (base unit), "text"}
    constraints: list[dict] = field(default_factory=list)
    order: dict | None = None  # {"key", "direction" ("asc"|"desc"), "text"}: "the quietest"
    exclude_categories: list[str] = field(default_factory=list)  # "not a kettle"
    exclude_words: list[str] = field(default_factory=list)  # "not an orthopedic one": never in the title
    strict: bool = False  # this turn repeated the topic's words: candidates must mention them all
    need: str | None = None  # "camping in the rain": query.categories are the ones serving it (a bundle)
    kind: str | None = None  # "dog food": the kind of product every card's title names (carryover.keep_kind)
    asked: str | None = None  # the last question about a product ("how loud is it?"), for "and the second?"

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__slots__ if k != "query"}
        return {"query": {k: getattr(self.query, k) for k in _QUERY_FIELDS}, **d}

    @classmethod
    def from_dict(cls, d: dict | None) -> "State":
        d = d or {}
        query = _query_from(d["query"] if isinstance(d.get("query"), dict) else d)  # else: the flat layout
        return cls(query=query, **{k: d[k] for k in cls.__slots__ if k in d and k != "query"})

    def copy(self) -> "State":
        """A copy whose query and lists can be changed without touching this one."""
        return deepcopy(self)

    @property
    def active(self) -> bool:
        q = self.query
        return bool(q.text or q.categories or q.brands or self.shown)


@dataclass(slots=True)
class Understood:
    intent: str  # find | refine | compare | ask | reviews | handoff | chitchat | out_of_scope
    state: State  # the state after this message
    refs: list[str] = field(default_factory=list)  # product ids the message refers to
    changes: list[str] = field(default_factory=list)  # human-readable filter changes
    cheaper_than: float | None = None  # "cheaper" moved the cap below this shown price
    notes: list[str] = field(default_factory=list)  # said before the answer ("We don't carry Zorblax.")
    lacking: list[str] = field(default_factory=list)  # brands asked for that the shop does not carry
    variant: list[str] = field(default_factory=list)  # "does it come in black?": these cards, no search
    sibling: bool = False  # ``variant`` is the focus's sibling by the words asked ("the i7 one")
    ruled_out: list[str] = field(default_factory=list)  # "what else have you got apart from tea?": kinds not to name
