"""search_outbox: lead and project documents the search index has yet to take

Written in the transaction that changes a lead, contact, tag, interaction, project, industry or county, and
deleted once the index holds the new document, so a rolled-back change never reaches the index and a crash
between the commit and the index write loses nothing.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

import crm.models.base

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'search_outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('doc_type', sa.String(length=10), nullable=False),
        sa.Column('doc_id', sa.Integer(), nullable=False),
        sa.Column('created_at', crm.models.base.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_search_outbox')),
    )
    op.create_index('ix_search_outbox_doc', 'search_outbox', ['doc_type', 'doc_id'], unique=False)


def downgrade():
    op.drop_index('ix_search_outbox_doc', table_name='search_outbox')
    op.drop_table('search_outbox')
