"""Alembic's environment: run on the connection ``assistant.schema`` hands over, inside its
transaction (so the caller's lock, and on SQLite ``BEGIN IMMEDIATE``, covers the whole upgrade)."""

from alembic import context

from assistant.records import _meta

context.configure(connection=context.config.attributes["connection"], target_metadata=_meta, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
