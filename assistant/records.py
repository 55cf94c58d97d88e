"""The conversation store's tables and the rows it returns (``assistant.store`` owns the queries).

SQLAlchemy Core tables; the same schema on SQLite and Postgres. The database gets them from
the migrations (``assistant/migrations``, run by ``assistant.schema``): a change here needs a new
revision there (``tests/assistant/test_schema.py`` compares the two on both engines).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

ROLES = ("user", "assistant", "agent", "system")
EVENT_KINDS = (
    "impression",
    "click",
    "thumb_up",
    "thumb_down",
    "add_to_cart",
    "buy",
    "more_like_this",
    "compare",
    "handoff",
    "takeover",
    "handback",
    "pin",
    "privacy_delete",  # a shopper's data erased: counts only, no user id (assistant.store.delete_user)
)

_meta = sa.MetaData()

conversations = sa.Table(
    "conversations",
    _meta,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("user_id", sa.String(200), nullable=True),
    sa.Column("surface", sa.String(40), nullable=False, default="chat"),
    sa.Column("handoff", sa.Boolean, nullable=False, default=False),
    sa.Column("handoff_reason", sa.Text, nullable=False, default=""),
    sa.Column("taken_over_by", sa.String(200), nullable=True),
    sa.Column("pinned", sa.JSON, nullable=False, default=list),
    sa.Column("candidates", sa.JSON, nullable=False, default=list),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

messages_t = sa.Table(
    "messages",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.String(32), sa.ForeignKey("conversations.id"), nullable=False, index=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("cards", sa.JSON, nullable=True),
    sa.Column("meta", sa.JSON, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

events_t = sa.Table(
    "events",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(32), nullable=False, index=True),
    sa.Column("conversation_id", sa.String(32), nullable=True, index=True),
    sa.Column("user_id", sa.String(200), nullable=True, index=True),  # a shopper's feedback across sessions
    sa.Column("product_id", sa.String(200), nullable=True),
    sa.Column("payload", sa.JSON, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


@dataclass(slots=True)
class Message:
    id: int
    conversation_id: str
    role: str
    text: str
    cards: list[dict] | None
    meta: dict | None
    created_at: datetime


@dataclass(slots=True)
class EventRow:
    id: int
    kind: str
    conversation_id: str | None
    user_id: str | None
    product_id: str | None
    payload: dict | None
    created_at: datetime


@dataclass(slots=True)
class ConversationSummary:
    id: str
    user_id: str | None
    surface: str
    handoff: bool
    taken_over_by: str | None
    last_message: str
    updated_at: datetime
    n_messages: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


# -- what the replicas of one shop must agree on (revision 0003; ``assistant.throttles``) -------------
# Times are epoch seconds (``time.time()``): the replicas' clocks, kept in step by NTP; a window of
# a minute or an hour does not notice the milliseconds they differ by.
rate_hits = sa.Table(
    "rate_hits",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(32), nullable=False),  # "turn", "conversation", "handoff"
    sa.Column("client", sa.String(200), nullable=False),  # the caller's address
    sa.Column("at", sa.Float, nullable=False),
    sa.Index("ix_rate_hits_kind_client_at", "kind", "client", "at"),
)

login_failures = sa.Table(
    "login_failures",
    _meta,
    sa.Column("client", sa.String(200), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),  # wrong passwords since the last good one
    sa.Column("last", sa.Float, nullable=False),  # time of the last wrong one
)

agent_sessions = sa.Table(
    "agent_sessions",
    _meta,
    sa.Column("token_sha256", sa.String(64), primary_key=True),  # the cookie's token is never stored
    sa.Column("agent", sa.String(200), nullable=False),
    sa.Column("created", sa.Float, nullable=False, index=True),
)
