"""The conversation and event store: conversations, messages, feedback events.

SQLAlchemy Core over SQLite by default (``settings.events_db_url``); a Postgres URL
(``postgresql+psycopg://...``) works the same. The schema is versioned (``assistant.schema``,
Alembic): before its first query the store creates it in an empty database, upgrades a SQLite
file, and refuses a Postgres database at an older revision until ``shopassist db upgrade``.
One engine per store; every public method opens its own short transaction, so a
store may be shared by the chat threads of a web server, and several server processes may
share one Postgres database (nothing is kept between calls but the engine).

Personal data never reaches a table: message texts, message meta, event payloads and hand-off
reasons pass ``assistant.redaction`` on the way in (the running turn keeps the shopper's own
words in memory). ``export_user`` and ``delete_user`` answer a shopper's access and erasure
requests (``shopassist privacy export|delete``).

Example::

    >>> s = ConversationStore("sqlite://")
    >>> cid = s.start_conversation("u1")
    >>> s.add_message(cid, "user", "a quiet blender")
    1
    >>> [m.text for m in s.messages(cid)]
    ['a quiet blender']
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from assistant import schema
from assistant.records import (  # noqa: F401  (the rows are part of the store's interface)
    EVENT_KINDS,
    ROLES,
    ConversationSummary,
    EventRow,
    Message,
    conversations,
    events_t,
    messages_t,
)
from assistant.redaction import redact, redact_tree
from ranker.blend import latest_positive
from shopassist.errors import OperatorError, UserError


class UnknownConversation(UserError, KeyError):
    """A conversation id that the store has never seen: the caller's mistake."""


class StoreUnavailable(OperatorError, RuntimeError):
    """The database cannot be reached (down, restarting, refusing connections): whoever runs the
    shop must bring it back. Nothing of the failed call was written; the next call reconnects."""


# a shopper's reactions that say "I'd buy this": the served co-ratings count them (``co_rating_pairs``);
# an impression is not a reaction, a thumb down is the opposite, a comparison is undecided
POSITIVE_KINDS = ("click", "thumb_up", "add_to_cart", "buy", "more_like_this")


# what a database that is down or restarting raises through SQLAlchemy (psycopg and sqlite3 alike)
_CONNECTION_ERRORS = (sa.exc.OperationalError, sa.exc.InterfaceError)


@contextmanager
def _reachable(where: str):
    """Turn the driver's connection errors into ``StoreUnavailable`` naming the database."""
    try:
        yield
    except _CONNECTION_ERRORS as e:
        reason = (str(e.orig or e).strip().splitlines() or [e.__class__.__name__])[0]
        raise StoreUnavailable(f"the conversation store at {where} is unreachable ({reason}); nothing of this call "
                               "was saved: bring the database back, the app reconnects on its own") from e


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(t: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything we write is UTC.
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _iso(t: datetime) -> str:
    return _aware(t).isoformat()


class ConversationStore:
    """Conversations, messages and events behind one SQLAlchemy engine."""

    def __init__(self, url: str):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        # pre-ping: a pooled connection is tested (SELECT 1) before use, so after a database
        # restart the first call reconnects instead of failing on a dead socket
        kwargs: dict[str, Any] = {"future": True, "pool_pre_ping": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            if url in ("sqlite://", "sqlite:///:memory:"):
                # one shared in-memory database for every thread
                kwargs["poolclass"] = StaticPool
            else:
                from pathlib import Path

                path = url.split("///", 1)[-1]
                if path:
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(url, **kwargs)
        if url.startswith("sqlite") and "poolclass" not in kwargs:
            _immediate_writes(self.engine)
        # SQLite allows one writer; serialising writes in-process avoids "database is locked".
        self._write_lock = threading.RLock()
        self._ready = False
        # (user_id, conversation_id) -> the shopper's A/B arm or None; set by the assistant while an
        # experiment runs (assistant.experiment), and written into every event's payload as "arm"
        self.arm_of: Callable[[str | None, str | None], str | None] | None = None

    # -- plumbing ------------------------------------------------------------------
    def _ensure(self) -> None:
        if not self._ready:
            with self._write_lock:
                if not self._ready:
                    self._prepare()
                    self._ready = True

    def _prepare(self) -> None:
        """The schema at this code's revision, or ``SchemaOutdated`` (see ``assistant.schema``)."""
        with _Tx(self) as conn:
            if self.is_sqlite or schema.revision(conn) is None:
                self._upgrade(conn)
            else:
                schema.check(conn, self.where)

    def _upgrade(self, conn) -> tuple[str | None, str]:
        if not self.is_sqlite:  # replicas starting together: one upgrades, the others then find it done
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": schema.UPGRADE_LOCK})
        return schema.upgrade(conn)

    def upgrade(self) -> tuple[str | None, str]:
        """Bring the database to this code's schema revision (``shopassist db upgrade``);
        returns (revision before, after). Rows are kept; running it twice changes nothing."""
        with _reachable(self.where), _Tx(self) as conn:
            done = self._upgrade(conn)
        self._ready = True
        return done

    def revision(self) -> str | None:
        """The database's schema revision (None: empty)."""
        with _reachable(self.where), self.engine.connect() as conn:
            return schema.revision(conn)

    @property
    def where(self) -> str:
        """The URL without its password, for messages."""
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def _write(self):
        with _reachable(self.where):
            self._ensure()
            with _Tx(self) as conn:
                yield conn

    @contextmanager
    def _read(self):
        with _reachable(self.where):
            self._ensure()
            with self.engine.connect() as conn:
                yield conn

    def _touch(self, conn, conversation_id: str, **values) -> None:
        res = conn.execute(
            conversations.update().where(conversations.c.id == conversation_id).values(updated_at=_now(), **values)
        )
        if res.rowcount == 0:
            raise UnknownConversation(conversation_id)

    def _locked(self, conn, conversation_id: str):
        """The conversation's row inside a write transaction, held until it ends (``FOR UPDATE`` on
        Postgres; a SQLite write transaction already holds the whole file)."""
        row = conn.execute(sa.select(conversations).where(conversations.c.id == conversation_id).with_for_update()).first()
        if row is None:
            raise UnknownConversation(conversation_id)
        return row

    def _get(self, conversation_id: str):
        with self._read() as conn:
            row = conn.execute(sa.select(conversations).where(conversations.c.id == conversation_id)).first()
        if row is None:
            raise UnknownConversation(conversation_id)
        return row

    def has_conversation(self, conversation_id: str) -> bool:
        try:
            self._get(conversation_id)
            return True
        except UnknownConversation:
            return False

    # -- conversations and messages ------------------------------------------------------
    def start_conversation(self, user_id: str | None, surface: str = "chat") -> str:
        """Open a conversation and return its id (uuid4 hex)."""
        cid = uuid.uuid4().hex
        now = _now()
        with self._write() as conn:
            conn.execute(
                conversations.insert().values(
                    id=cid,
                    user_id=user_id,
                    surface=surface,
                    handoff=False,
                    handoff_reason="",
                    taken_over_by=None,
                    pinned=[],
                    candidates=[],
                    created_at=now,
                    updated_at=now,
                )
            )
        return cid

    def add_message(
        self,
        conversation_id: str,
        role: str,
        text: str,
        cards: list[dict] | None = None,
        meta: dict | None = None,
    ) -> int:
        """Append a message; returns its id (increasing across the store)."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, not {role!r}")
        with self._write() as conn:
            self._touch(conn, conversation_id)
            res = conn.execute(
                messages_t.insert().values(
                    conversation_id=conversation_id, role=role, text=redact(text), cards=cards, meta=redact_tree(meta),
                    created_at=_now(),
                )
            )
            return int(res.inserted_primary_key[0])

    def messages(self, conversation_id: str, since_id: int = 0) -> list[Message]:
        """Messages of a conversation with id > since_id, oldest first."""
        q = (
            sa.select(messages_t)
            .where(messages_t.c.conversation_id == conversation_id, messages_t.c.id > since_id)
            .order_by(messages_t.c.id)
        )
        with self._read() as conn:
            rows = conn.execute(q).all()
        return [
            Message(r.id, r.conversation_id, r.role, r.text, r.cards, r.meta, _aware(r.created_at)) for r in rows
        ]

    def conversation_user(self, conversation_id: str) -> str | None:
        return self._get(conversation_id).user_id

    # -- events -----------------------------------------------------------------------
    def log_event(
        self,
        kind: str,
        conversation_id: str | None,
        user_id: str | None,
        product_id: str | None = None,
        payload: dict | None = None,
    ) -> int:
        """Record a feedback/console event; returns its id. While an A/B test runs (``arm_of`` is
        set) the payload carries the shopper's arm."""
        if kind not in EVENT_KINDS:
            raise ValueError(f"event kind must be one of {EVENT_KINDS}, not {kind!r}")
        arm = self.arm_of(user_id, conversation_id) if self.arm_of and (user_id or conversation_id) else None
        if arm:
            payload = {**(payload or {}), "arm": arm}
        with self._write() as conn:
            res = conn.execute(
                events_t.insert().values(
                    kind=kind,
                    conversation_id=conversation_id,
                    user_id=user_id,
                    product_id=product_id,
                    payload=redact_tree(payload),
                    created_at=_now(),
                )
            )
            if conversation_id is not None:
                conn.execute(
                    conversations.update().where(conversations.c.id == conversation_id).values(updated_at=_now())
                )
            return int(res.inserted_primary_key[0])

    def _event_rows(self, kinds=None, conversation_id: str | None = None, user_id: str | None = None,
                    since: datetime | None = None, with_product: bool = False) -> list:
        """Raw event rows, oldest first, under the given filters (None = any)."""
        q = sa.select(events_t).order_by(events_t.c.id)
        if kinds is not None:
            q = q.where(events_t.c.kind.in_(list(kinds)))
        if conversation_id is not None:
            q = q.where(events_t.c.conversation_id == conversation_id)
        if user_id is not None:
            q = q.where(events_t.c.user_id == user_id)
        if since is not None:  # everything is written in UTC; SQLite compares the wall-clock text
            q = q.where(events_t.c.created_at > _aware(since).astimezone(timezone.utc))
        if with_product:
            q = q.where(events_t.c.product_id.is_not(None))
        with self._read() as conn:
            return conn.execute(q).all()

    def events(self, kind: str | None = None, conversation_id: str | None = None) -> list[EventRow]:
        rows = self._event_rows(None if kind is None else [kind], conversation_id)
        return [
            EventRow(r.id, r.kind, r.conversation_id, r.user_id, r.product_id, r.payload, _aware(r.created_at))
            for r in rows
        ]

    def feedback_rows(self, kinds: tuple[str, ...] | list[str], since: datetime | None = None, user_id: str | None = None,
                      conversation_id: str | None = None) -> list[dict]:
        """Shoppers' product feedback as rating-event rows (what ``shopassist ranker update`` and
        the assistant's user context read): ``{"user_id", "product_id", "kind", "timestamp"}``
        (unix seconds), events of ``kinds`` strictly after ``since``, of one shopper or one
        conversation if given. One row per (shopper, product): the latest opinion wins (a thumb
        up taken back by a thumb down is a thumb down). Anonymous shoppers are keyed by their
        conversation (``conversation:<id>``), so their feedback still informs the product.
        """
        rows = self._event_rows(kinds, conversation_id, user_id, since, with_product=True)
        latest: dict[tuple[str, str], dict] = {}
        for r in rows:
            user = r.user_id or f"conversation:{r.conversation_id}"
            latest.pop((user, r.product_id), None)  # re-insert: rows stay in the order of each pair's latest event
            latest[(user, r.product_id)] = {"user_id": user, "product_id": r.product_id, "kind": r.kind,
                                            "timestamp": int(_aware(r.created_at).timestamp())}
        return list(latest.values())

    def co_rating_events(self, after_id: int = 0) -> list[tuple[int, str | None, str | None, str]]:
        """What the served co-ratings follow (``ranker.blend.CoRatingSource``), events with an id
        above ``after_id``, oldest first, as ``(id, shopper key, product id, verdict)``: verdict
        "+" for a positive reaction (``POSITIVE_KINDS``), "-" for a thumb down (it takes an earlier
        one back), "erase" for a ``privacy_delete`` (someone's events are gone; key and product
        None). Guests are keyed by their conversation (``conversation:<id>``, as ``feedback_rows``),
        so one guest's session links its items. A range read on the primary key: a refresh with
        nothing new costs one indexed query."""
        kinds = (*POSITIVE_KINDS, "thumb_down", "privacy_delete")
        q = (sa.select(events_t.c.id, events_t.c.kind, events_t.c.user_id, events_t.c.conversation_id, events_t.c.product_id)
             .where(events_t.c.id > after_id, events_t.c.kind.in_(kinds)).order_by(events_t.c.id))
        with self._read() as conn:
            rows = conn.execute(q).all()
        out = []
        for r in rows:
            if r.kind == "privacy_delete":
                out.append((r.id, None, None, "erase"))
            elif r.product_id is not None:
                out.append((r.id, r.user_id or f"conversation:{r.conversation_id}", r.product_id,
                            "-" if r.kind == "thumb_down" else "+"))
        return out

    def co_rating_pairs(self) -> list[tuple[str, str]]:
        """(shopper key, product) of every product whose latest reaction from a shopper was positive
        (``co_rating_events`` folded: a later thumb down takes a click back).

        >>> st = ConversationStore("sqlite://")
        >>> c = st.start_conversation("ann")
        >>> for kind, pid in [("click", "a"), ("add_to_cart", "b"), ("thumb_down", "a"), ("impression", "c")]:
        ...     _ = st.log_event(kind, c, "ann", pid)
        >>> st.co_rating_pairs()
        [('ann', 'b')]
        """
        return sorted(latest_positive(self.co_rating_events()))

    # -- a shopper's own data: access and erasure ----------------------------------------------
    def user_conversations(self, user_id: str) -> list[str]:
        """Ids of the shopper's conversations, oldest first."""
        q = sa.select(conversations.c.id).where(conversations.c.user_id == user_id).order_by(conversations.c.created_at)
        with self._read() as conn:
            return [r[0] for r in conn.execute(q)]

    def _user_events(self, user_id: str, cids: list[str]):
        return sa.or_(events_t.c.user_id == user_id, events_t.c.conversation_id.in_(cids))

    def export_user(self, user_id: str) -> dict:
        """Everything this store holds about a shopper, as JSON-ready data: their conversations
        (with messages, pins, last candidates) and every event they or their conversations logged."""
        cids = self.user_conversations(user_id)
        with self._read() as conn:
            convs = conn.execute(sa.select(conversations).where(conversations.c.id.in_(cids))
                                 .order_by(conversations.c.created_at)).all()
            msgs = conn.execute(sa.select(messages_t).where(messages_t.c.conversation_id.in_(cids))
                                .order_by(messages_t.c.id)).all()
            evs = conn.execute(sa.select(events_t).where(self._user_events(user_id, cids)).order_by(events_t.c.id)).all()
        by_conv: dict[str, list[dict]] = {c: [] for c in cids}
        for m in msgs:
            by_conv[m.conversation_id].append({"id": m.id, "role": m.role, "text": m.text, "cards": m.cards,
                                               "meta": m.meta, "created_at": _iso(m.created_at)})
        return {
            "user_id": user_id,
            "conversations": [
                {"id": c.id, "surface": c.surface, "created_at": _iso(c.created_at), "updated_at": _iso(c.updated_at),
                 "handoff": bool(c.handoff), "handoff_reason": c.handoff_reason, "taken_over_by": c.taken_over_by,
                 "pinned": c.pinned, "candidates": c.candidates, "messages": by_conv[c.id]}
                for c in convs
            ],
            "events": [{"id": e.id, "kind": e.kind, "conversation_id": e.conversation_id, "product_id": e.product_id,
                        "payload": e.payload, "created_at": _iso(e.created_at)} for e in evs],
        }  # fmt: skip

    def delete_user(self, user_id: str) -> dict[str, int]:
        """Erase a shopper: their conversations, those conversations' messages, and every event
        they or their conversations logged, in one transaction. The erasure is logged as a
        ``privacy_delete`` event holding only the counts (no user id). Returns the counts."""
        cids = self.user_conversations(user_id)
        with self._write() as conn:
            n_events = conn.execute(events_t.delete().where(self._user_events(user_id, cids))).rowcount
            n_messages = conn.execute(messages_t.delete().where(messages_t.c.conversation_id.in_(cids))).rowcount
            n_convs = conn.execute(conversations.delete().where(conversations.c.id.in_(cids))).rowcount
        counts = {"conversations": n_convs, "messages": n_messages, "events": n_events}
        if any(counts.values()):
            self.log_event("privacy_delete", None, None, payload=counts)
        return counts

    # -- handoff and takeover ----------------------------------------------------------
    def request_handoff(self, conversation_id: str, reason: str = "") -> None:
        """Flag the conversation for a person (the agent console's queue shows it first)."""
        user = self.conversation_user(conversation_id)
        reason = redact(reason)
        with self._write() as conn:
            self._touch(conn, conversation_id, handoff=True, handoff_reason=reason)
        self.log_event("handoff", conversation_id, user, payload={"reason": reason})

    def withdraw_handoff(self, conversation_id: str) -> None:
        """Take a hand-off request off the queue without an agent (over the caller's quota)."""
        with self._write() as conn:
            self._touch(conn, conversation_id, handoff=False, handoff_reason="")

    def handoff_requested(self, conversation_id: str) -> bool:
        return bool(self._get(conversation_id).handoff)

    def take_over(self, conversation_id: str, agent: str) -> None:
        """A person answers from now on; the bot stays quiet until hand_back."""
        user = self.conversation_user(conversation_id)
        with self._write() as conn:
            self._touch(conn, conversation_id, taken_over_by=agent)
        self.log_event("takeover", conversation_id, user, payload={"agent": agent})

    def hand_back(self, conversation_id: str) -> None:
        """Return the conversation to the bot and clear the handoff flag."""
        row = self._get(conversation_id)
        with self._write() as conn:
            self._touch(conn, conversation_id, taken_over_by=None, handoff=False, handoff_reason="")
        self.log_event("handback", conversation_id, row.user_id, payload={"agent": row.taken_over_by})

    def taken_over_by(self, conversation_id: str) -> str | None:
        return self._get(conversation_id).taken_over_by

    # -- pins and candidates -----------------------------------------------------------
    def pin_product(self, conversation_id: str, product_id: str) -> None:
        """An agent pins a product: it is shown first in the next answers. The pins are read and
        written in one transaction holding the row, so agents pinning at once on two server
        processes keep both pins."""
        with self._write() as conn:
            row = self._locked(conn, conversation_id)
            pins = [p for p in (row.pinned or []) if p != product_id] + [product_id]
            self._touch(conn, conversation_id, pinned=pins)
        self.log_event("pin", conversation_id, row.user_id, product_id=product_id)

    def pinned(self, conversation_id: str) -> list[str]:
        return list(self._get(conversation_id).pinned or [])

    def save_candidates(self, conversation_id: str, rows: list[dict]) -> None:
        """Keep the last turn's candidates (product_id, title, score, stars, explanation)."""
        with self._write() as conn:
            self._touch(conn, conversation_id, candidates=list(rows))

    def candidates(self, conversation_id: str) -> list[dict]:
        return list(self._get(conversation_id).candidates or [])

    def shown_products(self, conversation_id: str) -> set[str]:
        """Products shown (an impression logged) in a conversation: the only ones its card
        actions may name."""
        q = sa.select(events_t.c.product_id).distinct().where(
            events_t.c.conversation_id == conversation_id, events_t.c.kind == "impression",
            events_t.c.product_id.is_not(None),
        )
        with self._read() as conn:
            return {r[0] for r in conn.execute(q)}

    # -- console views -------------------------------------------------------------------
    def queue(self, limit: int | None = None) -> list[ConversationSummary]:
        """Conversations, handoff requests first, then most recent activity (the first ``limit``)."""
        n = (
            sa.select(messages_t.c.conversation_id, sa.func.count().label("n"), sa.func.max(messages_t.c.id).label("last"))
            .group_by(messages_t.c.conversation_id)
            .subquery()
        )
        q = (
            sa.select(conversations, n.c.n, messages_t.c.text.label("last_text"))
            .select_from(
                conversations.outerjoin(n, n.c.conversation_id == conversations.c.id).outerjoin(
                    messages_t, messages_t.c.id == n.c.last
                )
            )
            .order_by(conversations.c.handoff.desc(), conversations.c.updated_at.desc())
            .limit(limit)
        )
        with self._read() as conn:
            rows = conn.execute(q).all()
        return [
            ConversationSummary(
                id=r.id,
                user_id=r.user_id,
                surface=r.surface,
                handoff=bool(r.handoff),
                taken_over_by=r.taken_over_by,
                last_message=r.last_text or "",
                updated_at=_aware(r.updated_at),
                n_messages=int(r.n or 0),
                extra={"handoff_reason": r.handoff_reason},
            )
            for r in rows
        ]

    def engagement(self, now: datetime | None = None) -> dict:
        """Dashboard numbers over the last 24 hours of conversations and all events.

        - conversations_per_hour: [(hour ISO, conversations started that hour)] for 24 hours
        - thumbs_up_rate = thumb_up / (thumb_up + thumb_down)
        - card_ctr = click / impression
        - handoff_rate = conversations with a handoff event / conversations
        - add_to_cart_per_conversation = add_to_cart events / conversations
        """
        now = now or _now()
        now = _aware(now)
        start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=23)
        with self._read() as conn:
            created = [_aware(t) for (t,) in conn.execute(sa.select(conversations.c.created_at))]
            counts = dict(conn.execute(sa.select(events_t.c.kind, sa.func.count()).group_by(events_t.c.kind)).all())
            handoff_convs = conn.execute(
                sa.select(sa.func.count(sa.distinct(events_t.c.conversation_id))).where(events_t.c.kind == "handoff")
            ).scalar_one()
        hours = [start + timedelta(hours=i) for i in range(24)]
        per_hour = {h: 0 for h in hours}
        for t in created:
            h = t.replace(minute=0, second=0, microsecond=0)
            if h in per_hour:
                per_hour[h] += 1
        n_conv = len(created)

        def rate(a: float, b: float) -> float:
            return round(a / b, 4) if b else 0.0

        up, down = counts.get("thumb_up", 0), counts.get("thumb_down", 0)
        return {
            "conversations_per_hour": [(h.isoformat(), per_hour[h]) for h in hours],
            "thumbs_up_rate": rate(up, up + down),
            "card_ctr": rate(counts.get("click", 0), counts.get("impression", 0)),
            "handoff_rate": rate(handoff_convs, n_conv),
            "add_to_cart_per_conversation": rate(counts.get("add_to_cart", 0), n_conv),
        }


def _immediate_writes(engine: sa.Engine) -> None:
    """SQLite file: the store's write transactions start with ``BEGIN IMMEDIATE``.

    pysqlite begins a transaction only at its first write, so a read-then-write (the pins) in
    two processes could both read, then one write would be lost or fail as a deadlock. Here
    SQLAlchemy emits BEGIN itself (SQLAlchemy's documented pysqlite recipe), IMMEDIATE for
    writes: the file's write lock is taken before the read, and a second writer waits
    (``timeout``) instead. The in-memory database keeps pysqlite's way (one process, one
    connection shared by threads under the store's lock).
    """

    @sa.event.listens_for(engine, "connect")
    def _no_driver_begin(dbapi_conn, _record):
        dbapi_conn.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("store_write") else "BEGIN")


class _Tx:
    """A write transaction under the store's in-process write lock."""

    def __init__(self, store: ConversationStore):
        self.store = store

    def __enter__(self):
        self.store._write_lock.acquire()
        try:
            self._conn = self.store.engine.connect().execution_options(store_write=True)
            self._tx = self._conn.begin()
        except BaseException:
            self.store._write_lock.release()
            raise
        return self._conn

    def __exit__(self, exc_type, *_):
        try:
            if exc_type is None:
                self._tx.commit()
            else:
                self._tx.rollback()
        finally:
            self._conn.close()
            self.store._write_lock.release()
