"""index leads.merged_into_id

Deleting a lead makes the database check every foreign key that points at leads; without this index each
check of leads.merged_into_id scans the whole table, so reverting a 100,000-row import was quadratic.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_leads_merged_into_id'), ['merged_into_id'], unique=False)


def downgrade():
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_leads_merged_into_id'))
