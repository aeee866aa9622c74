"""commitments (履约): both sides' commitments on a signed project and their actuals; projects.producing_on

producing_on (投产) is filled from each operating project's stage history (its latest move to operating).

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'commitments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('side', sa.String(length=20), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=True),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('target_quantity', sa.Numeric(precision=16, scale=2), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('status_reason', sa.String(length=300), nullable=True),
        sa.Column('status_at', sa.DateTime(), nullable=True),
        sa.Column('status_by_id', sa.Integer(), nullable=True),
        sa.Column('notes', sa.Text(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_commitments_created_by_id_users')),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_commitments_project_id_projects'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['status_by_id'], ['users.id'], name=op.f('fk_commitments_status_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_commitments')),
    )
    with op.batch_alter_table('commitments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commitments_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_commitments_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_commitments_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_commitments_status'), ['status'], unique=False)
    op.create_table(
        'commitment_actuals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('commitment_id', sa.Integer(), nullable=False),
        sa.Column('recorded_on', sa.Date(), nullable=False),
        sa.Column('quantity', sa.Numeric(precision=16, scale=2), nullable=True),
        sa.Column('note', sa.String(length=300), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['commitment_id'], ['commitments.id'],
                                name=op.f('fk_commitment_actuals_commitment_id_commitments'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_commitment_actuals_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_commitment_actuals')),
    )
    with op.batch_alter_table('commitment_actuals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commitment_actuals_commitment_id'), ['commitment_id'], unique=False)
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('producing_on', sa.Date(), nullable=True))
    projects = sa.table('projects', sa.column('id'), sa.column('stage'), sa.column('producing_on'))
    changes = sa.table('project_stage_changes', sa.column('project_id'), sa.column('to_stage'),
                       sa.column('changed_on'))
    latest = (sa.select(sa.func.max(changes.c.changed_on))
              .where(changes.c.project_id == projects.c.id, changes.c.to_stage == 'operating').scalar_subquery())
    op.execute(projects.update().where(projects.c.stage == 'operating').values(producing_on=latest))


def downgrade():
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('producing_on')
    with op.batch_alter_table('commitment_actuals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commitment_actuals_commitment_id'))
    op.drop_table('commitment_actuals')
    with op.batch_alter_table('commitments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commitments_status'))
        batch_op.drop_index(batch_op.f('ix_commitments_project_id'))
        batch_op.drop_index(batch_op.f('ix_commitments_kind'))
        batch_op.drop_index(batch_op.f('ix_commitments_due_on'))
    op.drop_table('commitments')
