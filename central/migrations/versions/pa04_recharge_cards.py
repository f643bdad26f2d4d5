"""payments: prepaid recharge cards

Revision ID: pa04
Revises: pa03
"""

from alembic import op
import sqlalchemy as sa


revision = 'pa04'
down_revision = 'pa03'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('recharge_batches',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('face_value', sa.BigInteger(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recharge_batches'))
    )
    op.create_table('recharge_cards',
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('face_value', sa.BigInteger(), nullable=False),
    sa.Column('pin_salt', sa.String(length=32), nullable=False),
    sa.Column('pin_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('retry_after', sa.DateTime(timezone=True), nullable=True),
    sa.Column('payment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('redeemed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['recharge_batches.id'], name=op.f('fk_recharge_cards_batch_id_recharge_batches')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_recharge_cards_payment_id_payments')),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_recharge_cards'))
    )


def downgrade() -> None:
    op.drop_table('recharge_cards')
    op.drop_table('recharge_batches')
