"""payments: statement lines and the exceptions queue

Revision ID: pa02
Revises: pa01
"""

from alembic import op
import sqlalchemy as sa


revision = 'pa02'
down_revision = 'pa01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('statement_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('ref', sa.String(length=100), nullable=False),
    sa.Column('value_date', sa.Date(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('import_id', sa.String(length=64), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statement_lines')),
    sa.UniqueConstraint('source', 'ref', name=op.f('uq_statement_lines_source_ref'))
    )
    with op.batch_alter_table('statement_lines', schema=None) as batch_op:
        batch_op.create_index('ix_statement_lines_day', ['source', 'value_date'], unique=False)

    op.create_table('payment_exceptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('subject', sa.String(length=120), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('payment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('suggested_customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=24), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('resolved_by', sa.String(length=100), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['line_id'], ['statement_lines.id'], name=op.f('fk_payment_exceptions_line_id_statement_lines')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_payment_exceptions_payment_id_payments')),
    sa.ForeignKeyConstraint(['suggested_customer_id'], ['customers.id'], name=op.f('fk_payment_exceptions_suggested_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_exceptions')),
    sa.UniqueConstraint('kind', 'subject', name=op.f('uq_payment_exceptions_kind_subject'))
    )
    with op.batch_alter_table('payment_exceptions', schema=None) as batch_op:
        batch_op.create_index('ix_payment_exceptions_status', ['status', 'created_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('payment_exceptions', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_exceptions_status')

    op.drop_table('payment_exceptions')
    with op.batch_alter_table('statement_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_statement_lines_day')

    op.drop_table('statement_lines')
