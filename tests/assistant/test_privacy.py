"""Personal data through the real assistant and a real store (a SQLite file and a PostgreSQL
database): redacted on the way in, exported and erased on request (``shopassist privacy
export|delete``), and gone from the next training file of ``ranker update --from-store``.

Every check of "nothing left" reads the database itself, every table and every cell, so a
table added later is checked too.
"""

from __future__ import annotations

import datetime
import json

import pytest
import sqlalchemy as sa

from assistant.chat import Turn
from assistant.events import Answer, Cards
from assistant.privacy import UnknownShopper, delete_shopper, export_shopper
from ranker import versions
from tests.cli.test_errors import one_line_error
from tests.cli.test_errors import shopassist as cli

ANA = "ana-7781"
ANA_SAYS = [
    ("my name is Ana Lopez, I'd like a quiet blender, mail me at ana.lopez@example.com", ["Ana Lopez", "ana.lopez@example.com"]),
    ("the first one please, ship to 221B Baker Street, card 4111 1111 1111 1111", ["221B Baker Street", "4111 1111 1111 1111"]),
    ("I want to talk to a human, call me on +44 20 7946 0958", ["+44 20 7946 0958", "7946"]),
]
SECRETS = [s for _, found in ANA_SAYS for s in found]


def cells(url: str) -> list[str]:
    """Every cell of every table of a database, as text (its own engine: the store's is not asked)."""
    engine = sa.create_engine(url)
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        assert meta.tables, url
        with engine.connect() as conn:
            # timestamps are the store's own, never a shopper's words ("...18:30:09.877946" holds "7946")
            return [str(v) for t in meta.sorted_tables for row in conn.execute(sa.select(t)) for v in row
                    if v is not None and not isinstance(v, (datetime.datetime, datetime.date))]
    finally:
        engine.dispose()


def containing(url: str, needles: list[str]) -> list[str]:
    return [c for c in cells(url) for n in needles if n.lower() in c.lower()]


def talk(a, cid, user, message):
    return list(a.respond(Turn(cid, user, message)))


def test_the_shopper_is_answered_but_the_store_keeps_no_personal_data(make_assistant, events_url):
    assistant = make_assistant(events_url=events_url)
    cid = assistant.start(ANA)
    first = talk(assistant, cid, ANA, ANA_SAYS[0][0])
    cards = next(e.cards for e in first if isinstance(e, Cards))
    assert cards and all("blender" in c.title.lower() for c in cards)  # answered as if no address were in it
    assert any(isinstance(e, Answer) for e in first)
    for message, _ in ANA_SAYS[1:]:
        talk(assistant, cid, ANA, message)
    assistant.desk.agent_reply(cid, "zoe", "Hi Ana, I'll call you on +44 20 7946 0958 in five minutes")
    assert containing(events_url, SECRETS) == []
    stored = [m.text for m in assistant.store.messages(cid)]
    assert "my name is [name], I'd like a quiet blender, mail me at [email]" in stored
    assert any("[address]" in t and "[card]" in t for t in stored)
    assert assistant.store.handoff_requested(cid) and "[phone]" in assistant.store.queue()[0].extra["handoff_reason"]


def _version_record(s):
    """A ranker version's record (metadata, CURRENT) as `ranker train` leaves it: what
    `ranker update --from-store` reads to choose the feedback since then."""
    d = versions.new_version_dir(s)
    versions.write_metadata(d, data={"source": "catalog"})
    versions.use_version(s, d.name)


def test_export_then_delete_through_the_cli_leaves_nothing_of_the_shopper(make_assistant, tmp_path, events_url):
    from shopassist.commands.ranker import feedback_events

    a = make_assistant(data_dir=tmp_path, events_url=events_url)
    s = a.settings
    assert s.events_db_url == events_url
    env = {"SHOPASSIST_EVENTS_URL": events_url}

    def shopassist(*args):
        return cli(tmp_path, *args, env=env)

    _version_record(s)

    ana_conversations, ana_thumbs = [], set()
    for _ in range(2):
        cid = a.start(ANA)
        ana_conversations.append(cid)
        events = [e for message, _ in ANA_SAYS for e in talk(a, cid, ANA, message)]
        card = next(e.cards[0] for e in events if isinstance(e, Cards))
        a.desk.feedback(cid, ANA, "thumb_up", card.product_id)
        ana_thumbs.add(card.product_id)
    ben = a.start("ben-4410")
    ben_card = next(e.cards[0] for e in talk(a, ben, "ben-4410", "a kettle") if isinstance(e, Cards))
    a.desk.feedback(ben, "ben-4410", "add_to_cart", ben_card.product_id)
    anonymous = a.start(None)
    anon_card = next(e.cards[0] for e in talk(a, anonymous, None, "a blender") if isinstance(e, Cards))
    a.desk.feedback(anonymous, None, "thumb_down", anon_card.product_id)

    earlier = feedback_events(s)  # an update already trained on Ana's thumbs
    assert ANA in earlier.read_text()

    exported = shopassist("privacy", "export", "--user", ANA)
    assert exported.returncode == 0, exported.stderr
    held = json.loads(exported.stdout.splitlines()[-1])
    assert [c["id"] for c in held["conversations"]] == ana_conversations
    assert sum(len(c["messages"]) for c in held["conversations"]) == len(a.store.messages(ana_conversations[0])) * 2
    assert {e["kind"] for e in held["events"]} >= {"impression", "thumb_up", "handoff"}
    assert [r["user_id"] for r in held["training_feedback"][earlier.name]] == [ANA] * len(ana_thumbs)
    assert not any(s_ in exported.stdout for s_ in SECRETS)  # what is held was redacted on the way in

    dry = shopassist("privacy", "delete", "--user", ANA)
    assert dry.returncode == 0 and "add --yes" in dry.stdout
    assert len(a.store.user_conversations(ANA)) == 2  # a dry run removes nothing

    gone = shopassist("privacy", "delete", "--user", ANA, "--yes")
    assert gone.returncode == 0, gone.stderr
    report = json.loads(gone.stdout.splitlines()[-1])
    assert report["conversations"] == 2 and report["events"] == len(held["events"])
    assert report["training_feedback_rows"] == len(ana_thumbs)  # one row per product: the latest opinion
    assert ANA not in gone.stderr  # the log line of the erasure has counts, not the shopper

    needles = [ANA, *ana_conversations, "Ana Lopez", "ana.lopez"]
    assert containing(events_url, needles) == []
    (logged,) = a.store.events("privacy_delete")
    assert logged.user_id is None and logged.conversation_id is None
    assert logged.payload == {"conversations": 2, "messages": report["messages"], "events": report["events"]}
    assert ANA not in earlier.read_text() and "ben-4410" in earlier.read_text()  # the old training file, scrubbed

    nxt = feedback_events(s)  # the next `ranker update --from-store` training file
    rows = [json.loads(line) for line in nxt.read_text().splitlines()]
    assert {r["user_id"] for r in rows} == {"ben-4410", f"conversation:{anonymous}"}
    assert not any(n in nxt.read_text() for n in needles)
    assert a.store.user_conversations("ben-4410") == [ben]  # everyone else kept

    again = shopassist("privacy", "delete", "--user", ANA, "--yes")
    one_line_error(again, 2, "nothing is held", ANA)
    assert len(a.store.events("privacy_delete")) == 1  # a failed request logs nothing


def test_export_includes_the_catalog_reviews_behind_the_profile(shop, tmp_path):
    base, catalog, _ = shop
    s = base.model_copy(update={"events_url": f"sqlite:///{tmp_path / 'e.sqlite'}"})
    reviewer = catalog.store.users()[0]
    held = export_shopper(s, reviewer)
    assert len(held["catalog_reviews"]) == len(catalog.store.reviews_by_user(reviewer)) > 0
    assert {r["user_id"] for r in held["catalog_reviews"]} == {reviewer}
    report = delete_shopper(s, reviewer, dry_run=True)
    assert report["catalog_reviews_left"] == len(held["catalog_reviews"]) and report["conversations"] == 0


@pytest.mark.parametrize("user", ["", "   ", "nobody-at-all"])
def test_a_bad_user_id_is_a_clear_error_and_deletes_nothing(make_assistant, tmp_path, user):
    a = make_assistant(data_dir=tmp_path)
    cid = a.start("kept-1")
    a.store.add_message(cid, "user", "a kettle")
    with pytest.raises(UnknownShopper):
        delete_shopper(a.settings, user)
    assert [m.text for m in a.store.messages(cid)] == ["a kettle"] and a.store.events("privacy_delete") == []
