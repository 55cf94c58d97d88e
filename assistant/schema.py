"""The conversation store's schema version: Alembic revisions in ``assistant/migrations``.

The store (``assistant.store``) asks here before its first query:

- a new, empty database (SQLite or Postgres) gets the whole schema;
- a SQLite file is upgraded on start: one process serves it, nobody else runs old code on it;
- a Postgres database at an older revision is refused with the command that upgrades it,
  ``shopassist db upgrade``: replicas still running the old version share it, so the operator
  chooses the moment (upgrade, then restart the replicas);
- a database made by ``create_all`` before migrations existed (tables, no ``alembic_version``)
  is taken as revision 0001 (the schema ``create_all`` made then) and upgraded from there.

Every step runs on the caller's connection, inside its transaction; on Postgres the caller
holds ``UPGRADE_LOCK`` (an advisory lock), so replicas starting at once upgrade once.

>>> head()
'0003'
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa

# Alembic logs a dozen INFO lines (plugins on import, "Context impl") on every start of every
# command; ``upgrade`` logs the one line that matters. Set before the import that logs them.
logging.getLogger("alembic").setLevel(logging.WARNING)

from alembic import command  # noqa: E402
from alembic.config import Config  # noqa: E402
from alembic.runtime.migration import MigrationContext  # noqa: E402
from alembic.script import ScriptDirectory  # noqa: E402

from shopassist.errors import OperatorError  # noqa: E402

MIGRATIONS = Path(__file__).with_name("migrations")
FIRST = "0001"  # what create_all made before migrations existed (a store with tables and no version)
UPGRADE_LOCK = 0x5A0C_57E5  # pg_advisory_xact_lock key: one upgrade at a time per database

log = logging.getLogger(__name__)


class SchemaOutdated(OperatorError, RuntimeError):
    """The database's schema is not the one this version of shopassist reads: the operator upgrades it."""


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    return cfg


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head() -> str:
    """The revision this code reads and writes."""
    return _scripts().get_current_head()


def revisions() -> list[str]:
    """Every known revision, oldest first."""
    return [s.revision for s in reversed(list(_scripts().walk_revisions()))]


def revision(conn: sa.Connection) -> str | None:
    """The database's revision: None for an empty database, ``FIRST`` for a pre-migration store."""
    rev = MigrationContext.configure(conn).get_current_revision()
    if rev is None and sa.inspect(conn).has_table("conversations"):
        return FIRST
    return rev


def upgrade(conn: sa.Connection) -> tuple[str | None, str]:
    """Bring the database on ``conn`` to ``head()``; returns (revision before, revision after)."""
    before = revision(conn)
    if before == FIRST and MigrationContext.configure(conn).get_current_revision() is None:
        _run(conn, "stamp", FIRST)  # adopt a create_all store: its tables are revision 0001
    if before != head():
        _run(conn, "upgrade", "head")
        log.info("conversation store schema upgraded from revision %s to %s", before, head())
    return before, head()


def _run(conn: sa.Connection, what: str, target: str) -> None:
    cfg = _config()
    cfg.attributes["connection"] = conn
    getattr(command, what)(cfg, target)


def check(conn: sa.Connection, where: str) -> None:
    """Raise ``SchemaOutdated`` unless the database is at ``head()`` (``where``: the URL to name)."""
    rev = revision(conn)
    if rev == head():
        return
    if rev not in revisions():
        raise SchemaOutdated(f"the conversation store at {where} is at schema revision {rev}, which this version of "
                             f"shopassist does not know (written by a newer version?); it reads revision {head()}")
    raise SchemaOutdated(f"the conversation store at {where} is at schema revision {rev}; this version needs {head()}: "
                         "run `shopassist db upgrade` once, then start the servers of this version")
