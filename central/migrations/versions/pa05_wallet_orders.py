"""payments: wallet orders

Revision ID: pa05
Revises: pa04
"""

from alembic import op
import sqlalchemy as sa


revision = 'pa05'
down_revision = 'pa04'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('wallet_orders',
    sa.Column('out_trade_no', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('trade_no', sa.String(length=64), nullable=False),
    sa.Column('payment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_wallet_orders_customer_id_customers')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_wallet_orders_payment_id_payments')),
    sa.PrimaryKeyConstraint('out_trade_no', name=op.f('pk_wallet_orders'))
    )


def downgrade() -> None:
    op.drop_table('wallet_orders')
