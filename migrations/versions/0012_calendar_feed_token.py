"""calendar feed: a personal token for each user's iCal feed of their follow-ups

users.calendar_token is the secret part of /followups/calendar/<token>.ics (none until the user opens the
calendar page; regenerating it replaces it, so an old link stops working).

Revision ID: 0012
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN and a unique index, on every database: a batch copy of `users` would drop the table every
    # other table refers to, which SQLite refuses while foreign keys are enforced (and ADD COLUMN cannot carry UNIQUE).
    op.add_column('users', sa.Column('calendar_token', sa.String(length=64), nullable=True))
    op.create_index('uq_users_calendar_token', 'users', ['calendar_token'], unique=True)


def downgrade():
    op.drop_index('uq_users_calendar_token', table_name='users')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('calendar_token')
