"""What the replicas of one shop must agree on, kept in the conversation store: rate-limit
windows, failed agent logins, and agent console sessions.

With the counters in each process, N replicas behind a load balancer let a client through N
times the limit, and an agent signed in on one replica was a stranger to the others. Here every
count is a row in the store's database (SQLite or Postgres, revision 0003), so one limit holds
for all of them:

- ``SharedRates.allow(client, kind, limit, window_s)``: a sliding window per (kind, client);
  one row per counted event, the window's old rows deleted as it slides;
- ``SharedLogins``: wrong passwords per client address and the lock-out that follows
  (``ui.guard.LoginThrottle``'s rule, counted here);
- ``AgentSessions``: the console's login tokens (Gradio's ``app.tokens``), stored as SHA-256
  hashes, valid for ``SESSION_TTL_S``.

A count is read and written in one write transaction holding a lock on its key: on Postgres a
transaction-scoped advisory lock (two replicas counting the same client wait for each other, two
clients do not), on SQLite the file's write lock (``BEGIN IMMEDIATE``). Times are epoch seconds
(``time.time()``): replicas' clocks agree to NTP's milliseconds, far below a minute's window.

Example::

    >>> from assistant.store import ConversationStore
    >>> r = SharedRates(ConversationStore("sqlite://"))
    >>> [r.allow("1.2.3.4", "turn", limit=2, window_s=60, now=t) for t in (0, 1, 2, 61)]
    [True, True, False, True]
    >>> g = SharedLogins(r.store, max_failures=2, backoff_s=10)
    >>> [g.failure("a", now=t) for t in (0, 1, 2)], g.wait("a", now=12), g.wait("a", now=22)
    ([0.0, 10.0, 20.0], 10.0, 0.0)
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, MutableMapping

import sqlalchemy as sa

from assistant.records import agent_sessions, login_failures, rate_hits

MAX_LOCK_S = 900.0  # the longest login lock-out (15 minutes), as ui.guard had it
FORGET_FAILURES_S = 86_400.0  # failed logins older than a day are forgotten (the table stays small)
SESSION_TTL_S = 12 * 3600.0  # an agent signs in again after a 12-hour shift (Gradio's tokens never expired)
PRUNE_EVERY = 500  # calls between sweeps of rows of clients never seen again
_LOCK_SPACE = 0x5A0C_1111  # first key of pg_advisory_xact_lock(int, int); the second is hashtext(key)


def _lock(conn: sa.Connection, key: str) -> None:
    """Hold ``key`` until the transaction ends (Postgres); SQLite's write transaction holds the file."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))"), {"space": _LOCK_SPACE, "key": key})


class SharedRates:
    """Sliding-window counters per (client, kind) in the store: one limit for every replica."""

    def __init__(self, store):
        self.store = store
        self._calls = 0

    def allow(self, client: str, kind: str, limit: int, window_s: float, now: float | None = None) -> bool:
        """Count one ``kind`` event for ``client`` if fewer than ``limit`` happened in the last
        ``window_s`` seconds (on any replica); ``limit`` 0 means no limit."""
        if limit <= 0:
            return True
        now = time.time() if now is None else now
        t = rate_hits.c
        self._calls += 1
        with self.store._write() as conn:
            _lock(conn, f"rate:{kind}:{client}")
            conn.execute(rate_hits.delete().where(t.kind == kind, t.client == client, t.at <= now - window_s))
            n = conn.execute(sa.select(sa.func.count()).where(t.kind == kind, t.client == client)).scalar_one()
            ok = n < limit
            if ok:
                conn.execute(rate_hits.insert().values(kind=kind, client=client, at=now))
            if self._calls % PRUNE_EVERY == 0:  # the rows of clients who did not come back
                conn.execute(rate_hits.delete().where(t.kind == kind, t.at <= now - window_s))
        return ok


class SharedLogins:
    """Failed agent logins per client address in the store, and how long each must wait: after
    ``max_failures`` wrong passwords, ``backoff_s`` doubling with every further one (at most
    ``MAX_LOCK_S``); a good password clears the count."""

    def __init__(self, store, max_failures: int, backoff_s: float):
        self.store = store
        self.max_failures, self.backoff_s = max_failures, backoff_s

    def _lock_s(self, count: int) -> float:
        if count < self.max_failures:
            return 0.0
        return float(min(MAX_LOCK_S, self.backoff_s * 2 ** (count - self.max_failures)))

    def wait(self, client: str, now: float | None = None) -> float:
        """Seconds until ``client`` may try again (0: now)."""
        now = time.time() if now is None else now
        with self.store._read() as conn:
            row = conn.execute(sa.select(login_failures).where(login_failures.c.client == client)).first()
        if row is None:
            return 0.0
        return float(max(0.0, row.last + self._lock_s(row.count) - now))

    def failure(self, client: str, now: float | None = None) -> float:
        """Count a wrong password (on any replica); returns the lock-out that follows it."""
        now = time.time() if now is None else now
        c = login_failures.c
        with self.store._write() as conn:
            _lock(conn, f"login:{client}")
            conn.execute(login_failures.delete().where(c.last < now - FORGET_FAILURES_S))
            count = (conn.execute(sa.select(c.count).where(c.client == client)).scalar() or 0) + 1
            if count == 1:
                conn.execute(login_failures.insert().values(client=client, count=count, last=now))
            else:
                conn.execute(login_failures.update().where(c.client == client).values(count=count, last=now))
        return self._lock_s(count)

    def success(self, client: str) -> None:
        with self.store._write() as conn:
            conn.execute(login_failures.delete().where(login_failures.c.client == client))


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AgentSessions(MutableMapping):
    """Gradio's login tokens (token -> agent name) in the store, so a console login made on one
    replica is honoured by all, and a logout on one ends it on all.

    Only the token's SHA-256 is stored: whoever reads the database cannot sign in with it.
    ``get(token)`` (Gradio's check on every request) takes the cookie's token only. Iterating
    yields handles (``"sha256:<hash>"``) that ``[]`` and ``del`` accept, because Gradio's logout
    walks the tokens to end every session of the agent; a handle never passes ``get``.

    >>> from assistant.store import ConversationStore
    >>> s = AgentSessions(ConversationStore("sqlite://"))
    >>> s["tok1"] = "sam"
    >>> s.get("tok1"), s.get("tok2"), [s[h] for h in s]
    ('sam', None, ['sam'])
    >>> s.get(next(iter(s))) is None  # a handle is not a token
    True
    >>> for h in list(s): del s[h]
    >>> s.get("tok1"), len(s)
    (None, 0)
    """

    HANDLE = "sha256:"

    def __init__(self, store, ttl_s: float = SESSION_TTL_S):
        self.store = store
        self.ttl_s = ttl_s

    def _key(self, token: str) -> str:
        if token.startswith(self.HANDLE):
            return token[len(self.HANDLE):]
        return _sha(token)

    def _agent(self, digest: str) -> str | None:
        t = agent_sessions.c
        with self.store._read() as conn:
            return conn.execute(sa.select(t.agent).where(t.token_sha256 == digest, t.created > time.time() - self.ttl_s)).scalar()

    def get(self, token, default=None):
        """The agent a cookie's token signs in (``default``: none, expired, or not a token)."""
        if not isinstance(token, str) or not token or token.startswith(self.HANDLE):
            return default
        agent = self._agent(_sha(token))
        return default if agent is None else agent

    def __contains__(self, token) -> bool:
        return self.get(token) is not None

    def __getitem__(self, token: str) -> str:
        agent = self._agent(self._key(token)) if isinstance(token, str) else None
        if agent is None:
            raise KeyError(token)
        return agent

    def __setitem__(self, token: str, agent: str) -> None:
        now = time.time()
        with self.store._write() as conn:
            conn.execute(agent_sessions.delete().where(agent_sessions.c.created <= now - self.ttl_s))
            conn.execute(agent_sessions.insert().values(token_sha256=_sha(token), agent=agent, created=now))

    def __delitem__(self, token: str) -> None:
        with self.store._write() as conn:
            conn.execute(agent_sessions.delete().where(agent_sessions.c.token_sha256 == self._key(token)))

    def __iter__(self) -> Iterator[str]:
        t = agent_sessions.c
        with self.store._read() as conn:
            rows = conn.execute(sa.select(t.token_sha256).where(t.created > time.time() - self.ttl_s)).scalars().all()
        return iter([self.HANDLE + d for d in rows])

    def __len__(self) -> int:
        return sum(1 for _ in self)
