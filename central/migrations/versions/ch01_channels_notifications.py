"""chat channels and notifications: registrations (dk/huy), inbound messages seen,
subscriptions, the notification outbox

Revision ID: ch01
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "ch01"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "chat_bindings",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("chat_user", sa.String(64), nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_chat_bindings_customer_id_customers",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_chat_bindings"),
        sa.UniqueConstraint(
            "platform",
            "chat_user",
            "customer_id",
            name="uq_chat_bindings_platform_chat_user_customer_id",
        ),
    )
    op.create_index("ix_chat_bindings_customer", "chat_bindings", ["customer_id"])
    op.create_table(
        "chat_inbound",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("msg_id", sa.String(64), nullable=False),
        sa.Column("chat_user", sa.String(64), nullable=False),
        sa.Column("text", sa.String(2000), nullable=False),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chat_inbound"),
        sa.UniqueConstraint("platform", "msg_id", name="uq_chat_inbound_platform_msg_id"),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(254), nullable=False),
        sa.Column("topics", sa.String(64), nullable=False),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_subscriptions_customer_id_customers",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_subscriptions"),
        sa.UniqueConstraint(
            "customer_id", "channel", "address", name="uq_subscriptions_customer_id_channel_address"
        ),
    )
    op.create_index("ix_subscriptions_customer", "subscriptions", ["customer_id"])
    op.create_table(
        "notification_outbox",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(254), nullable=False),
        sa.Column("dedupe_key", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(300), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notification_outbox"),
        sa.UniqueConstraint(
            "channel", "address", "dedupe_key", name="uq_notification_outbox_channel_address_dedupe_key"
        ),
    )
    op.create_index(
        "ix_notification_outbox_due", "notification_outbox", ["state", "next_attempt_at"]
    )
    op.create_index(
        "ix_notification_outbox_pending", "notification_outbox", ["state", "channel", "id"]
    )
    op.create_index("ix_bills_issued_at", "bills", ["issued_at"])


def downgrade() -> None:
    op.drop_index("ix_bills_issued_at", table_name="bills")
    op.drop_index("ix_notification_outbox_pending", table_name="notification_outbox")
    op.drop_index("ix_notification_outbox_due", table_name="notification_outbox")
    op.drop_table("notification_outbox")
    op.drop_index("ix_subscriptions_customer", table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_table("chat_inbound")
    op.drop_index("ix_chat_bindings_customer", table_name="chat_bindings")
    op.drop_table("chat_bindings")
