"""access epoch: also changed by a change to what is read of a person from their user row

Issue #13. A live socket's events reuse the holder's user and organisation rows as last
read while the access epoch's token is unchanged (workspace/services/accounts.py
`KnownPerson`) instead of reading them on every event. So a change to any user column
that the policy or a socket event takes from that row (organisation, team, role,
disabled, name, email, public key) changes the token too, whoever makes it. Columns that
change on their own (failed sign-ins, the second factor's last step, a password) do not:
they would make every process read everyone again at each sign-in.

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

COLUMNS = ("organisation_id", "team_id", "org_role", "disabled", "name", "email", "public_key")


def upgrade() -> None:
    columns = ", ".join(COLUMNS)
    if op.get_bind().dialect.name == "postgresql":
        # caseroom_access_changed() is migration 0018's.
        op.execute(
            f'CREATE TRIGGER user_access_changed AFTER UPDATE OF {columns} ON "user" '
            "FOR EACH STATEMENT EXECUTE FUNCTION caseroom_access_changed()"
        )
        op.execute(
            'CREATE TRIGGER user_access_changed_delete AFTER DELETE ON "user" '
            "FOR EACH STATEMENT EXECUTE FUNCTION caseroom_access_changed()"
        )
    else:
        op.execute(
            f'CREATE TRIGGER user_access_changed_update AFTER UPDATE OF {columns} ON "user" '
            "BEGIN UPDATE access_epoch SET token = lower(hex(randomblob(16))) WHERE id = 1; END"
        )
        op.execute(
            'CREATE TRIGGER user_access_changed_delete AFTER DELETE ON "user" '
            "BEGIN UPDATE access_epoch SET token = lower(hex(randomblob(16))) WHERE id = 1; END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute('DROP TRIGGER IF EXISTS user_access_changed ON "user"')
        op.execute('DROP TRIGGER IF EXISTS user_access_changed_delete ON "user"')
    else:
        op.execute("DROP TRIGGER IF EXISTS user_access_changed_update")
        op.execute("DROP TRIGGER IF EXISTS user_access_changed_delete")
