"""payments: remittances

Revision ID: pa03
Revises: pa02
"""

from alembic import op
import sqlalchemy as sa


revision = 'pa03'
down_revision = 'pa02'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('remittances',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('cashier', sa.String(length=100), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('receipts', sa.Integer(), nullable=False),
    sa.Column('expected', sa.BigInteger(), nullable=False),
    sa.Column('deposited', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('recorded_by', sa.String(length=100), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remittances')),
    sa.UniqueConstraint('cashier', 'day', name=op.f('uq_remittances_cashier_day'))
    )


def downgrade() -> None:
    op.drop_table('remittances')
