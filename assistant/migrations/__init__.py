"""Alembic's scripts for the conversation store's schema (``assistant.schema`` runs them)."""
