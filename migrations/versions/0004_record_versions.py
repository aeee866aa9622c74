"""record versions: an edit counter on leads, projects, follow-ups, events, users and counties

Every edit bumps `version` with a conditional UPDATE (crm.services.versions); an edit made from a form or an
API read older than the last change is refused (409 / 412) instead of silently overwriting it. Existing rows
start at 1.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

TABLES = ('leads', 'projects', 'followups', 'events', 'users', 'counties')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))


def downgrade():
    for table in reversed(TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_column('version')
