"""plans: a room's CRDT document (updates, snapshots) and its published versions

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString
_WHEN = sqlmodel.sql.sqltypes.UTCDateTime

_PG_FUNCTION = """
CREATE FUNCTION caseroom_plan_version_immutable() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'a published plan version cannot change (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""


def upgrade() -> None:
    op.create_table(
        "plan",
        sa.Column("room_id", _STR(length=36), sa.ForeignKey("room.id"), primary_key=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("snapshot_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", _WHEN(), nullable=False),
        sa.Column("updated_at", _WHEN(), nullable=False),
    )
    op.create_table(
        "plan_update",
        sa.Column("room_id", _STR(length=36), sa.ForeignKey("room.id"), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("user_id", _STR(length=36), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("created_at", _WHEN(), nullable=False),
    )
    op.create_table(
        "plan_snapshot",
        sa.Column("room_id", _STR(length=36), sa.ForeignKey("room.id"), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _WHEN(), nullable=False),
    )
    op.create_table(
        "plan_version",
        sa.Column("id", _STR(length=36), primary_key=True),
        sa.Column("room_id", _STR(length=36), sa.ForeignKey("room.id"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("plan_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("state_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("signed_by_id", _STR(length=36), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("signed_at", _WHEN(), nullable=False),
        sa.UniqueConstraint("room_id", "version"),
    )
    op.create_index("ix_plan_version_room_id", "plan_version", ["room_id"])
    # What was signed off stays as it was signed: the database refuses to change or remove
    # a published version, whatever the application does.
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER plan_version_immutable BEFORE UPDATE OR DELETE ON plan_version "
            "FOR EACH ROW EXECUTE FUNCTION caseroom_plan_version_immutable()"
        )
        op.execute(
            "CREATE TRIGGER plan_version_no_truncate BEFORE TRUNCATE ON plan_version "
            "FOR EACH STATEMENT EXECUTE FUNCTION caseroom_plan_version_immutable()"
        )
    elif dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER plan_version_no_{verb.lower()} BEFORE {verb} ON plan_version "
                "BEGIN SELECT RAISE(ABORT, 'a published plan version cannot change'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS plan_version_immutable ON plan_version")
        op.execute("DROP TRIGGER IF EXISTS plan_version_no_truncate ON plan_version")
        op.execute("DROP FUNCTION IF EXISTS caseroom_plan_version_immutable()")
    op.drop_index("ix_plan_version_room_id", table_name="plan_version")
    op.drop_table("plan_version")
    op.drop_table("plan_snapshot")
    op.drop_table("plan_update")
    op.drop_table("plan")
