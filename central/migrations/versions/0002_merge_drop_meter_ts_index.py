"""merge the ingest and billing branches; drop readings' (meter_id, ts) index

The unique index on (meter_id, quantity, ts) already serves look-ups by meter; the second index
repeated its leading column and cost about 15 % of ingest speed.

Revision ID: 0002
Revises: du01, bl01
"""

from alembic import op

revision = "0002"
down_revision = ("du01", "bl01")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_readings_meter_ts", table_name="readings")


def downgrade() -> None:
    op.create_index("ix_readings_meter_ts", "readings", ["meter_id", "ts"])
