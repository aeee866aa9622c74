"""funds corrections: withdrawn funds arrivals (撤回) and continuing projects (续建)

A funds row entered wrong can be withdrawn with a reason: it is kept (withdrawn_at, withdrawn_by_id,
withdrawn_reason) and no figure counts it. projects.is_continuing marks a 续建 project, which may receive funds
whatever stage it shows (others only from 签约 on).

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

import crm.models.base

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_continuing', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('funds_arrivals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withdrawn_at', crm.models.base.UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_reason', sa.String(length=300), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_funds_arrivals_withdrawn_by_id_users'), 'users',
                                    ['withdrawn_by_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_funds_arrivals_withdrawn_at'), ['withdrawn_at'], unique=False)


def downgrade():
    with op.batch_alter_table('funds_arrivals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_funds_arrivals_withdrawn_at'))
        batch_op.drop_constraint(batch_op.f('fk_funds_arrivals_withdrawn_by_id_users'), type_='foreignkey')
        batch_op.drop_column('withdrawn_reason')
        batch_op.drop_column('withdrawn_by_id')
        batch_op.drop_column('withdrawn_at')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('is_continuing')
