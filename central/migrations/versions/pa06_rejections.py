"""payments: rejected provider callbacks

Revision ID: pa06
Revises: pa05
"""

from alembic import op
import sqlalchemy as sa


revision = 'pa06'
down_revision = 'pa05'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('payment_rejections',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_rejections'))
    )
    with op.batch_alter_table('payment_rejections', schema=None) as batch_op:
        batch_op.create_index('ix_payment_rejections_channel', ['channel', 'received_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('payment_rejections', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_rejections_channel')

    op.drop_table('payment_rejections')
