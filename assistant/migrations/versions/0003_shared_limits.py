"""Rate-limit windows, agent login failures and agent console sessions in the store, so every
replica of a shop enforces one limit and honours one login (they were per process before).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_hits",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("client", sa.String(200), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_index("ix_rate_hits_kind_client_at", "rate_hits", ["kind", "client", "at"])
    op.create_table(
        "login_failures",
        sa.Column("client", sa.String(200), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("last", sa.Float, nullable=False),
    )
    op.create_table(
        "agent_sessions",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("created", sa.Float, nullable=False),
    )
    op.create_index("ix_agent_sessions_created", "agent_sessions", ["created"])


def downgrade() -> None:
    op.drop_table("agent_sessions")
    op.drop_table("login_failures")
    op.drop_table("rate_hits")
