"""CLI commands of the conversation store's schema: ``shopassist db upgrade|status``.

A SQLite store upgrades itself on start; a Postgres one shared by several servers is upgraded
here, once, by whoever runs the shop (``assistant.schema`` says why).
"""

from __future__ import annotations

import json


def register(sub, groups) -> None:
    """Add ``db upgrade`` and ``db status`` to the parser."""
    from shopassist.cli import group

    db = group(sub, groups, "db", "The conversation store's schema: upgrade it, or show its revision.")
    p = db.add_parser("upgrade", help="Bring the conversation store (SHOPASSIST_EVENTS_URL) to this version's schema.",
                      description="Runs the store's migrations (Alembic) up to this version's revision, keeping every "
                      "row; creates the schema in an empty database; a second run changes nothing.")
    p.set_defaults(func=cmd_upgrade)
    p = db.add_parser("status", help="Print the store's schema revision and the one this version needs.")
    p.set_defaults(func=cmd_status)


def cmd_upgrade(args, settings) -> int:
    from assistant.store import ConversationStore

    store = ConversationStore(settings.events_db_url)
    before, after = store.upgrade()
    print(json.dumps({"store": store.where, "before": before, "after": after}))
    return 0


def cmd_status(args, settings) -> int:
    from assistant import schema
    from assistant.store import ConversationStore

    store = ConversationStore(settings.events_db_url)
    rev = store.revision()
    print(json.dumps({"store": store.where, "revision": rev, "head": schema.head(), "current": rev == schema.head()}))
    return 0
