"""lead lifecycle: follow-ups closed with their lead, and what an import revert did

followups.is_closed_with_lead marks the open follow-ups that deleting their lead cancelled, so restoring the
lead reopens exactly those. Follow-ups still open on a lead deleted before this revision are closed the same
way here, so no overdue count keeps them. import_batches.revert_summary keeps the revert's result (what it
reverted, what it kept and why) for the batch page and the API.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_closed_with_lead', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revert_summary', sa.JSON(), nullable=True))
    followups = sa.table('followups', sa.column('id'), sa.column('lead_id'), sa.column('status'),
                         sa.column('is_closed_with_lead'), sa.column('completed_at'))
    leads = sa.table('leads', sa.column('id'), sa.column('deleted_at'), sa.column('merged_into_id'))
    deleted = sa.select(leads.c.id).where(leads.c.deleted_at.is_not(None), leads.c.merged_into_id.is_(None))
    op.execute(followups.update().where(followups.c.status == 'open', followups.c.lead_id.in_(deleted))
               .values(status='cancelled', is_closed_with_lead=True,
                       completed_at=sa.select(leads.c.deleted_at).where(leads.c.id == followups.c.lead_id)
                       .scalar_subquery()))


def downgrade():
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.drop_column('revert_summary')
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.drop_column('is_closed_with_lead')
