"""The store's schema migrations on a real SQLite file and a real PostgreSQL database: the
revisions build exactly the tables of assistant/records.py, a store made by create_all before
migrations existed is upgraded with every row kept, and an outdated Postgres store is refused
until `shopassist db upgrade` (through the real CLI)."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from assistant import records, schema
from assistant.store import ConversationStore
from tests.cli.test_errors import one_line_error, shopassist

USER_INDEX = "ix_events_user_id"  # what revision 0002 adds


def legacy_store(url: str) -> dict[str, int]:
    """A store as create_all made it before events.user_id was indexed and before migrations
    (no alembic_version), with rows in every table; returns the rows per table."""
    legacy = sa.MetaData()
    for t in records._meta.sorted_tables:
        if t.name in ("conversations", "messages", "events"):  # the tables of then (0003 added more)
            t.to_metadata(legacy)
    events = legacy.tables["events"]
    events.indexes = {i for i in events.indexes if i.name != USER_INDEX}
    engine = sa.create_engine(url)
    legacy.create_all(engine)
    now = datetime.now(timezone.utc)
    cids = [f"{i:032x}" for i in range(3)]
    with engine.begin() as conn:
        conn.execute(legacy.tables["conversations"].insert(), [
            {"id": c, "user_id": f"u{i}", "surface": "chat", "handoff": i == 1, "handoff_reason": "", "taken_over_by": None,
             "pinned": [], "candidates": [], "created_at": now, "updated_at": now} for i, c in enumerate(cids)])
        conn.execute(legacy.tables["messages"].insert(), [
            {"conversation_id": c, "role": "user", "text": f"message {j}", "cards": None, "meta": {"j": j}, "created_at": now}
            for c in cids for j in range(2)])
        conn.execute(events.insert(), [
            {"kind": "thumb_up", "conversation_id": c, "user_id": f"u{i}", "product_id": f"p{i}", "payload": None, "created_at": now}
            for i, c in enumerate(cids)])  # fmt: skip
    engine.dispose()
    return {"conversations": len(cids), "messages": 2 * len(cids), "events": len(cids)}


def counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        n = {t: conn.execute(sa.select(sa.func.count()).select_from(sa.table(t))).scalar_one() for t in ("conversations", "messages", "events")}
    engine.dispose()
    return n


def test_the_revisions_build_exactly_the_tables_of_records(events_url):
    store = ConversationStore(events_url)
    assert store.revision() is None
    assert store.upgrade() == (None, schema.head())
    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), records._meta)
    assert diffs == []


def test_a_store_from_before_migrations_is_upgraded_with_every_row_kept(events_url):
    before = legacy_store(events_url)
    store = ConversationStore(events_url)
    assert store.revision() == schema.FIRST
    assert store.upgrade() == (schema.FIRST, schema.head())
    assert counts(events_url) == before
    assert USER_INDEX in {i["name"] for i in sa.inspect(store.engine).get_indexes("events")}
    cid = store.queue()[0].id  # the one with a hand-off request
    assert store.handoff_requested(cid) and [m.text for m in store.messages(cid)] == ["message 0", "message 1"]
    store.add_message(cid, "agent", "still here")
    assert [r["product_id"] for r in store.feedback_rows(["thumb_up"], user_id="u1")] == ["p1"]
    assert store.upgrade() == (schema.head(), schema.head())  # a second run changes nothing
    assert counts(events_url) == {**before, "messages": before["messages"] + 1}


def test_sqlite_upgrades_itself_on_start(tmp_path):
    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    before = legacy_store(url)
    store = ConversationStore(url)
    assert len(store.queue()) == before["conversations"]  # the first query upgraded it
    assert store.revision() == schema.head() and counts(url) == before


def test_postgres_at_an_older_revision_is_refused_until_db_upgrade(postgres, tmp_path):
    url = postgres.create_database()
    before = legacy_store(url)
    store = ConversationStore(url)
    with pytest.raises(schema.SchemaOutdated, match="shopassist db upgrade"):
        store.queue()
    status = shopassist(tmp_path, "db", "status", env={"SHOPASSIST_EVENTS_URL": url})
    assert json.loads(status.stdout.splitlines()[-1]) == {"store": url, "revision": schema.FIRST, "head": schema.head(), "current": False}
    privacy = shopassist(tmp_path, "privacy", "export", "--user", "u1", env={"SHOPASSIST_EVENTS_URL": url})
    one_line_error(privacy, 3, "shopassist db upgrade", f"revision {schema.FIRST}")
    run = shopassist(tmp_path, "db", "upgrade", env={"SHOPASSIST_EVENTS_URL": url})
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.splitlines()[-1]) == {"store": url, "before": schema.FIRST, "after": schema.head()}
    assert counts(url) == before
    assert len(ConversationStore(url).queue()) == before["conversations"]


def test_postgres_from_a_newer_version_is_refused(postgres):
    url = postgres.create_database()
    ConversationStore(url).upgrade()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(schema.SchemaOutdated, match="does not know"):
        ConversationStore(url).queue()


def test_replicas_starting_together_on_an_empty_postgres_create_it_once(postgres):
    url = postgres.create_database()
    stores = [ConversationStore(url) for _ in range(4)]
    errors, cids = [], []

    def start(store):
        try:
            cids.append(store.start_conversation("u"))
        except Exception as e:  # collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=start, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(cids)) == len(stores)
    assert stores[0].revision() == schema.head() and counts(url)["conversations"] == len(stores)
