"""access epoch: a token that changes with every change to what the policy knows of people

Building a person's principal took five queries on every request and socket event (a third
of a chat post's time). A process now keeps what it read of each person and reads one row
to know whether it is still good: triggers change that row's token in the same transaction
as any insert, update or delete of the tables the principal is built from, whoever writes
them (the application, a migration, an administrator with psql).

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# What workspace/facts.py `PrincipalRows` reads. (User rows are read fresh on every request.)
WATCHED = ("organisation", "membership", "teammanager", "breakglass", "sharingdecision")
VERBS = ("INSERT", "UPDATE", "DELETE")


def upgrade() -> None:
    op.create_table(
        "access_epoch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("INSERT INTO access_epoch (id, token) VALUES (1, md5(random()::text))")
        op.execute(
            """
            CREATE FUNCTION caseroom_access_changed() RETURNS trigger AS $$
            BEGIN
              UPDATE access_epoch SET token = md5(random()::text || clock_timestamp()::text)
              WHERE id = 1;
              RETURN NULL;
            END;
            $$ LANGUAGE plpgsql;
            """
        )
        for table in WATCHED:
            op.execute(
                f"CREATE TRIGGER {table}_access_changed AFTER INSERT OR UPDATE OR DELETE "
                f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
                "EXECUTE FUNCTION caseroom_access_changed()"
            )
    else:
        op.execute("INSERT INTO access_epoch (id, token) VALUES (1, lower(hex(randomblob(16))))")
        for table in WATCHED:
            for verb in VERBS:
                # Table names and verbs are the constants above.
                op.execute(
                    f"CREATE TRIGGER {table}_access_changed_{verb.lower()} AFTER {verb} "  # noqa: S608
                    f"ON {table} BEGIN UPDATE access_epoch "
                    "SET token = lower(hex(randomblob(16))) WHERE id = 1; END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_access_changed ON {table}")
        op.execute("DROP FUNCTION IF EXISTS caseroom_access_changed()")
    else:
        for table in WATCHED:
            for verb in VERBS:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_access_changed_{verb.lower()}")
    op.drop_table("access_epoch")
