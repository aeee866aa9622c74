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
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calendar_token', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_users_calendar_token'), ['calendar_token'])


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_calendar_token'), type_='unique')
        batch_op.drop_column('calendar_token')
