"""back office: one standing bill per account and period, failed chunks with their error,
a folded search column on customers, effective dates of customer changes

Revision ID: bo01
Revises: 0002
"""

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "bo01"
down_revision = "0002"
branch_labels = None
depends_on = None

LIVE = "state <> 'cancelled'"


def _fold(text: str) -> str:
    # the same rule as central.records.folding (a migration does not import the application)
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "d"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(unicodedata.normalize("NFC", bare).casefold().split())[:700]


def upgrade() -> None:
    # cancel all but the newest standing bill of an account and period billed twice before
    # the guard existed, so the unique index can be built
    op.execute(
        "UPDATE bills SET state = 'cancelled', cancel_reason = 'billed twice for the period' "
        "WHERE state <> 'cancelled' AND id NOT IN (SELECT max(id) FROM bills "
        "WHERE state <> 'cancelled' GROUP BY customer_id, period_start, period_end)"
    )
    op.create_index(
        "uq_bills_customer_period_live",
        "bills",
        ["customer_id", "period_start", "period_end"],
        unique=True,
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )
    op.add_column("billing_chunks", sa.Column("error", sa.String(length=300), nullable=True))
    op.add_column("customer_changes", sa.Column("effective_from", sa.Date(), nullable=True))
    op.create_index(
        "ix_customer_changes_field_effective", "customer_changes", ["field", "effective_from"]
    )
    op.add_column(
        "customers",
        sa.Column("search_text", sa.String(length=700), nullable=False, server_default=""),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, name, address, account_no, phone FROM customers"))
    updates = [
        {"id": i, "s": _fold(f"{acc} {phone} {name} {addr}")}
        for i, name, addr, acc, phone in rows
    ]
    if updates:
        conn.execute(sa.text("UPDATE customers SET search_text = :s WHERE id = :i"), updates)


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("search_text")
    with op.batch_alter_table("billing_chunks") as batch:
        batch.drop_column("error")
    op.drop_index("ix_customer_changes_field_effective", table_name="customer_changes")
    with op.batch_alter_table("customer_changes") as batch:
        batch.drop_column("effective_from")
    op.drop_index("uq_bills_customer_period_live", table_name="bills")
