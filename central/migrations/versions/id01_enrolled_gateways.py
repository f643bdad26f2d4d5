"""identity: enrolled gateways (receipt keys); one field payment per gateway receipt

Revision ID: id01
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "id01"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "enrolled_gateways",
        sa.Column("gateway_id", sa.String(64), nullable=False),
        sa.Column("receipt_key", sa.String(64), nullable=False),
        sa.Column("enrolled_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("gateway_id", name="pk_enrolled_gateways"),
    )
    op.create_index(
        "ux_field_payments_receipt", "field_payments", ["gateway_id", "receipt_no"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ux_field_payments_receipt", table_name="field_payments")
    op.drop_table("enrolled_gateways")
