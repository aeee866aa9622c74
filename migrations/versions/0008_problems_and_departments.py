"""problems (诉求/问题) and departments: the reference list of departments, problems with their timeline entries,
and users.department_id for department contacts (role department, 部门联络员)

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

import crm.models.base

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('departments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('county_id', sa.Integer(), nullable=True),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', crm.models.base.UtcDateTime(), nullable=False),
    sa.Column('updated_at', crm.models.base.UtcDateTime(), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.ForeignKeyConstraint(['county_id'], ['counties.id'], name=op.f('fk_departments_county_id_counties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_departments')),
    sa.UniqueConstraint('code', name=op.f('uq_departments_code'))
    )
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_departments_county_id'), ['county_id'], unique=False)

    op.create_table('problems',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('county_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('source_interaction_id', sa.Integer(), nullable=True),
    sa.Column('source_followup_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('severity', sa.String(length=12), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('deadline_on', sa.Date(), nullable=False),
    sa.Column('raised_by_id', sa.Integer(), nullable=True),
    sa.Column('raised_at', crm.models.base.UtcDateTime(), nullable=False),
    sa.Column('resolved_at', crm.models.base.UtcDateTime(), nullable=True),
    sa.Column('confirmed_at', crm.models.base.UtcDateTime(), nullable=True),
    sa.Column('satisfaction', sa.Integer(), nullable=True),
    sa.Column('escalation_level', sa.Integer(), nullable=False),
    sa.Column('created_at', crm.models.base.UtcDateTime(), nullable=False),
    sa.Column('updated_at', crm.models.base.UtcDateTime(), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint('lead_id IS NOT NULL OR project_id IS NOT NULL', name=op.f('ck_problems_target')),
    sa.CheckConstraint('satisfaction IS NULL OR (satisfaction BETWEEN 1 AND 5)', name=op.f('ck_problems_satisfaction')),
    sa.ForeignKeyConstraint(['county_id'], ['counties.id'], name=op.f('fk_problems_county_id_counties')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_problems_department_id_departments')),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_problems_lead_id_leads')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_problems_project_id_projects')),
    sa.ForeignKeyConstraint(['raised_by_id'], ['users.id'], name=op.f('fk_problems_raised_by_id_users')),
    sa.ForeignKeyConstraint(['source_followup_id'], ['followups.id'], name=op.f('fk_problems_source_followup_id_followups')),
    sa.ForeignKeyConstraint(['source_interaction_id'], ['interactions.id'], name=op.f('fk_problems_source_interaction_id_interactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_problems'))
    )
    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_problems_county_id'), ['county_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_problems_deadline_on'), ['deadline_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_problems_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_problems_lead_id'), ['lead_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_problems_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_problems_status'), ['status'], unique=False)

    op.create_table('problem_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('at', crm.models.base.UtcDateTime(), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('from_status', sa.String(length=12), nullable=True),
    sa.Column('to_status', sa.String(length=12), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('satisfaction', sa.Integer(), nullable=True),
    sa.Column('followup_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_problem_entries_actor_id_users')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_problem_entries_department_id_departments')),
    sa.ForeignKeyConstraint(['followup_id'], ['followups.id'], name=op.f('fk_problem_entries_followup_id_followups')),
    sa.ForeignKeyConstraint(['problem_id'], ['problems.id'], name=op.f('fk_problem_entries_problem_id_problems'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_problem_entries'))
    )
    with op.batch_alter_table('problem_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_problem_entries_problem_id'), ['problem_id'], unique=False)

    # A plain ADD COLUMN with its foreign key inline: a batch copy of `users` would have to drop the table every
    # other table refers to, which SQLite refuses while foreign keys are enforced.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE users ADD COLUMN department_id INTEGER '
                   'CONSTRAINT fk_users_department_id_departments REFERENCES departments (id)')
    else:
        op.add_column('users', sa.Column('department_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_users_department_id_departments'), 'users', 'departments',
                              ['department_id'], ['id'])
    op.create_index(op.f('ix_users_department_id'), 'users', ['department_id'], unique=False)



def downgrade():
    op.drop_index(op.f('ix_users_department_id'), table_name='users')
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint(op.f('fk_users_department_id_departments'), 'users', type_='foreignkey')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('department_id')

    with op.batch_alter_table('problem_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_problem_entries_problem_id'))

    op.drop_table('problem_entries')
    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_problems_status'))
        batch_op.drop_index(batch_op.f('ix_problems_project_id'))
        batch_op.drop_index(batch_op.f('ix_problems_lead_id'))
        batch_op.drop_index(batch_op.f('ix_problems_department_id'))
        batch_op.drop_index(batch_op.f('ix_problems_deadline_on'))
        batch_op.drop_index(batch_op.f('ix_problems_county_id'))

    op.drop_table('problems')
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_departments_county_id'))

    op.drop_table('departments')
