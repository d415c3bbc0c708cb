"""Issue #10, item 2: the tables of end-to-end encrypted files. The migration creates
what the models declare, and nothing there could hold a file key, a plaintext name or a
private key in the clear (DESIGN.md §5)."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from workspace.models import EncryptedFile, SealedKey, UserKeys
from workspace.state import Caseroom


@pytest.mark.parametrize("model", [UserKeys, EncryptedFile, SealedKey])
def test_the_migration_creates_the_columns_the_model_declares(
    app: Caseroom, model: type
) -> None:
    table = model.__table__  # type: ignore[attr-defined]
    migrated = {c["name"] for c in inspect(app.db.engine).get_columns(table.name)}
    assert migrated == {c.name for c in table.columns}


def test_no_column_is_meant_for_a_key_or_a_name_in_the_clear() -> None:
    columns = {
        f"{m.__tablename__}.{c.name}"  # type: ignore[attr-defined]
        for m in (UserKeys, EncryptedFile, SealedKey)
        for c in m.__table__.columns  # type: ignore[attr-defined]
    }
    private = {c for c in columns if "private" in c or "secret" in c}
    assert private == {"user_keys.sealed_private"}
    assert not {c for c in columns if c.endswith((".name", ".file_key", ".key", ".filename"))}
