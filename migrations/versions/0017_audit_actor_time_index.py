"""audit actor/time index: the access log filtered to one person over a date range

The manager's commonest question ("what did this practitioner open in June?") was answered
by walking a month of everyone's events on `ix_audit_event_at` and keeping the person's
(170 ms at a million events on SQLite); with (actor_id, at) it seeks that person's month.
Created in place (not through a batch copy), so the append-only triggers stay.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_event_actor_at", "audit_event", ["actor_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_event_actor_at", table_name="audit_event")
