"""Rate limits, the agent login throttle and console sessions shared through the store: two
stores on one database (what two replicas hold) enforce one limit, on a real SQLite file and a
real PostgreSQL (``events_url``); and two processes counting at once on one database let exactly
``limit`` events through."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from assistant.store import ConversationStore
from assistant.throttles import AgentSessions, SharedLogins, SharedRates

ROOT = __file__.rsplit("/tests/", 1)[0]


def two_replicas(url: str) -> tuple[ConversationStore, ConversationStore]:
    a = ConversationStore(url)
    a.upgrade()
    return a, ConversationStore(url)


def test_two_stores_on_one_database_enforce_one_rate_limit(events_url):
    a, b = two_replicas(events_url)
    ra, rb = SharedRates(a), SharedRates(b)
    limit, window = 5, 60.0
    # a client whose requests alternate between the replicas, one a second
    got = [(ra if i % 2 == 0 else rb).allow("10.0.0.1", "turn", limit, window, now=1000.0 + i) for i in range(12)]
    assert got == [True] * limit + [False] * (12 - limit)  # not 2 * limit, as with per-process counters
    # other clients and other kinds have their own windows
    assert rb.allow("10.0.0.2", "turn", limit, window, now=1011.0) and ra.allow("10.0.0.1", "handoff", limit, window, now=1011.0)
    # the window slides: the first hit (t=1000) leaves it at t=1060, on either replica
    assert not rb.allow("10.0.0.1", "turn", limit, window, now=1059.9)
    assert rb.allow("10.0.0.1", "turn", limit, window, now=1060.0)
    assert not ra.allow("10.0.0.1", "turn", limit, window, now=1060.5)


def test_a_login_throttle_counted_on_one_replica_locks_the_other(events_url):
    a, b = two_replicas(events_url)
    ga, gb = SharedLogins(a, max_failures=3, backoff_s=10), SharedLogins(b, max_failures=3, backoff_s=10)
    locks = [(ga if i % 2 == 0 else gb).failure("10.0.0.9", now=100.0 + i) for i in range(4)]
    assert locks == [0.0, 0.0, 10.0, 20.0]  # the third and fourth failures count all four, wherever made
    assert ga.wait("10.0.0.9", now=105.0) == gb.wait("10.0.0.9", now=105.0) == 18.0
    assert gb.wait("10.0.0.8", now=105.0) == 0.0
    gb.success("10.0.0.9")
    assert ga.wait("10.0.0.9", now=105.0) == 0.0


def test_an_agent_session_made_on_one_replica_is_valid_on_the_other_until_logout(events_url):
    a, b = two_replicas(events_url)
    sa_, sb = AgentSessions(a), AgentSessions(b)
    sa_["token-of-sam"] = "sam"
    sa_["token-of-kim"] = "kim"
    assert sb.get("token-of-sam") == "sam" and "token-of-kim" in sb and sb.get("forged") is None
    # what the database holds is no token: neither its hash nor the handle signs anyone in
    handles = list(sb)
    assert len(handles) == 2 and all(sb.get(h) is None and sb.get(h.split(":", 1)[1]) is None for h in handles)
    # Gradio's logout: every session of the agent, walked on the other replica
    for h in list(sb):
        if sb[h] == "sam":
            del sb[h]
    assert sa_.get("token-of-sam") is None and sa_.get("token-of-kim") == "kim"
    expired = AgentSessions(a, ttl_s=0.0)
    assert expired.get("token-of-kim") is None and len(expired) == 0


COUNTER = textwrap.dedent("""
    import json, sys
    from assistant.store import ConversationStore
    from assistant.throttles import SharedRates
    rates = SharedRates(ConversationStore(sys.argv[1]))
    print(json.dumps([rates.allow("10.0.0.7", "turn", int(sys.argv[2]), 3600.0) for _ in range(int(sys.argv[3]))]))
""")


def test_two_processes_counting_at_once_let_exactly_the_limit_through(events_url):
    two_replicas(events_url)  # the schema, made once
    limit, each = 15, 20
    procs = [subprocess.Popen([sys.executable, "-c", COUNTER, events_url, str(limit), str(each)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]  # fmt: skip
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err[-2000:]
        results.append(json.loads(out))
    allowed = [sum(r) for r in results]
    assert sum(allowed) == limit, allowed  # one window for both: not 2 * limit, not fewer
    assert all(len(r) == each for r in results)


@pytest.mark.parametrize("limit", [0, -1])
def test_no_limit_counts_nothing(limit):
    store = ConversationStore("sqlite://")
    assert all(SharedRates(store).allow("c", "turn", limit, 60.0) for _ in range(50))
