"""display-safe names: names and titles stored before they were checked lose invisible and
direction-changing characters, and show control characters as U+FFFD (issue #9)

Revision ID: 0010
Revises: 0007
"""

from __future__ import annotations

import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0007"
branch_labels = None
depends_on = None

# A frozen copy of workspace.schemas.neutralise (a migration must not change with the app).
_INVISIBLE = re.compile(
    "[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
# (table, column, unique within): every name or title a person can see, and the notices
# that quote them. Unique names stay unique: "" is the whole table, else a column.
_COLUMNS: tuple[tuple[str, str, str | None], ...] = (
    ("user", "name", None),
    ("organisation", "name", ""),
    ("team", "name", "organisation_id"),
    ("child", "name", None),
    ("room", "title", None),
    ("apitoken", "name", None),
    ("notice", "text", None),
)


def _neutralise(text: str) -> str:
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    text = "".join("\ufffd" if unicodedata.category(c) == "Cc" else c for c in text)
    return " ".join(text.split())


def upgrade() -> None:
    bind = op.get_bind()
    for table, column, unique in _COLUMNS:
        scope = sa.column(unique) if unique else sa.literal("")
        t = sa.table(table, sa.column("id"), sa.column(column))
        rows = bind.execute(sa.select(t.c.id, t.c[column], scope)).all()
        taken = {(group, value) for _, value, group in rows}
        for row_id, value, group in rows:
            if value is None:
                continue
            safe = _neutralise(value) or "?"
            if safe == value:
                continue
            if unique is not None:  # two names that differed only by invisible characters
                base, n = safe, 2
                while (group, safe) in taken:
                    safe, n = f"{base} ({n})", n + 1
                taken.add((group, safe))
            bind.execute(sa.update(t).where(t.c.id == row_id).values({column: safe}))


def downgrade() -> None:
    pass  # what was removed was never meant to be there
