"""events.user_id indexed: a signed-in shopper's feedback is read across sessions (commit 63b6ed3).

Stores made by ``create_all`` after that commit already have the index; it is created only
where missing.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEX = "ix_events_user_id"


def upgrade() -> None:
    if INDEX not in {i["name"] for i in sa.inspect(op.get_bind()).get_indexes("events")}:
        op.create_index(INDEX, "events", ["user_id"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="events")
