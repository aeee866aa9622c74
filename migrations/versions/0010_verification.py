"""verification (认定) of signings and funds arrivals, their evidence attachments, monthly report snapshots

users.can_verify marks the city users an administrator trusts to check evidence. result_verifications holds
one row per signing or funds arrival a verifier (or the data's editor) has touched; a record without one is
待认定. evidence_attachments describes the files kept by SHA-256 under instance/attachments. report_snapshots
are the frozen 月报 figures (JSON, never changed).

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN (with its default): a batch copy of `users` would drop the table every other table refers
    # to, which SQLite refuses while foreign keys are enforced (tests/test_upgrade.py upgrades a database with rows).
    op.add_column('users', sa.Column('can_verify', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        'result_verifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('subject_key', sa.String(length=40), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('funds_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('submitted_by_id', sa.Integer(), nullable=True),
        sa.Column('submitted_at', sa.DateTime(), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('reason', sa.String(length=300), nullable=True),
        sa.Column('duplicate_of_id', sa.Integer(), nullable=True),
        sa.Column('cleared_duplicate_ids', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_result_verifications_decided_by_id_users')),
        sa.ForeignKeyConstraint(['duplicate_of_id'], ['projects.id'], name=op.f('fk_result_verifications_duplicate_of_id_projects'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['funds_id'], ['funds_arrivals.id'], name=op.f('fk_result_verifications_funds_id_funds_arrivals'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_result_verifications_project_id_projects'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_result_verifications_submitted_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_result_verifications')),
        sa.UniqueConstraint('subject_key', name=op.f('uq_result_verifications_subject_key')),
    )
    with op.batch_alter_table('result_verifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_result_verifications_funds_id'), ['funds_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_result_verifications_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_result_verifications_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_result_verifications_status'), ['status'], unique=False)
    op.create_table(
        'evidence_attachments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('funds_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('content_type', sa.String(length=40), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
        sa.Column('uploaded_at', sa.DateTime(), nullable=False),
        sa.Column('deleted_at', sa.DateTime(), nullable=True),
        sa.Column('deleted_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['deleted_by_id'], ['users.id'], name=op.f('fk_evidence_attachments_deleted_by_id_users')),
        sa.ForeignKeyConstraint(['funds_id'], ['funds_arrivals.id'], name=op.f('fk_evidence_attachments_funds_id_funds_arrivals'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_evidence_attachments_project_id_projects'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_evidence_attachments_uploaded_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_attachments')),
    )
    with op.batch_alter_table('evidence_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_attachments_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_attachments_funds_id'), ['funds_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_attachments_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_attachments_sha256'), ['sha256'], unique=False)
    op.create_table(
        'report_snapshots',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('month', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('scheduled_key', sa.String(length=7), nullable=True),
        sa.Column('figures', sa.JSON(), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=True),
        sa.Column('frozen_by_id', sa.Integer(), nullable=True),
        sa.Column('frozen_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['frozen_by_id'], ['users.id'], name=op.f('fk_report_snapshots_frozen_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_snapshots')),
        sa.UniqueConstraint('scheduled_key', name=op.f('uq_report_snapshots_scheduled_key')),
    )
    with op.batch_alter_table('report_snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_snapshots_frozen_at'), ['frozen_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_snapshots_year'), ['year'], unique=False)


def downgrade():
    op.drop_table('report_snapshots')
    op.drop_table('evidence_attachments')
    op.drop_table('result_verifications')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('can_verify')
