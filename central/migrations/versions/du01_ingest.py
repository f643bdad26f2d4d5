"""ingest: gateways, sequence gaps, conflicts, quarantine, events, field payments, replies

Revision ID: du01
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "du01"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "gateways",
        sa.Column("gateway_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("status_ts", TS, nullable=True),
        sa.Column("software", sa.String(64), nullable=False),
        sa.Column("last_seen", TS, nullable=False),
        sa.Column("readings_seq", sa.BigInteger(), nullable=True),
        sa.Column("payments_seq", sa.BigInteger(), nullable=True),
        sa.Column("messages", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("gateway_id", name="pk_gateways"),
    )
    op.create_table(
        "seq_gaps",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("gateway_id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("detected_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_seq_gaps"),
    )
    op.create_index("ix_seq_gaps_gateway", "seq_gaps", ["gateway_id", "channel", "first_seq"])
    op.create_table(
        "reading_conflicts",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("meter_id", sa.String(64), nullable=False),
        sa.Column("quantity", sa.String(64), nullable=False),
        sa.Column("ts", TS, nullable=False),
        sa.Column("stored_value", sa.Float(), nullable=False),
        sa.Column("received_value", sa.Float(), nullable=False),
        sa.Column("gateway_id", sa.String(64), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("received_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reading_conflicts"),
        sa.UniqueConstraint(
            "meter_id", "quantity", "ts", "received_value",
            name="uq_reading_conflicts_meter_id_quantity_ts_received_value",
        ),
    )
    op.create_table(
        "ingest_quarantine",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("topic", sa.String(256), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ingest_quarantine"),
    )
    op.create_table(
        "gateway_events",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("gateway_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("ts", TS, nullable=False),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_gateway_events"),
        sa.UniqueConstraint(
            "gateway_id", "kind", "ts", "subject",
            name="uq_gateway_events_gateway_id_kind_ts_subject",
        ),
    )
    op.create_index("ix_gateway_events_gateway_ts", "gateway_events", ["gateway_id", "ts"])
    op.create_table(
        "field_payments",
        sa.Column("payment_id", sa.String(64), nullable=False),
        sa.Column("gateway_id", sa.String(64), nullable=False),
        sa.Column("account", sa.String(32), nullable=False),
        sa.Column("bill_id", sa.String(64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("receipt_no", sa.String(64), nullable=False),
        sa.Column("cashier", sa.String(64), nullable=False),
        sa.Column("ts", TS, nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("payment_id", name="pk_field_payments"),
    )
    op.create_table(
        "command_replies",
        sa.Column("gateway_id", sa.String(64), nullable=False),
        sa.Column("command_id", sa.String(64), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("ts", TS, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("gateway_id", "command_id", name="pk_command_replies"),
    )


def downgrade() -> None:
    for table in (
        "command_replies", "field_payments", "gateway_events", "ingest_quarantine",
        "reading_conflicts", "seq_gaps", "gateways",
    ):
        op.drop_table(table)
