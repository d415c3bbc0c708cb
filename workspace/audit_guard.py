"""The triggers that make the audit tables append-only (DESIGN.md §4), as migration 0001
created them: `caseroom audit verify` reports one that is missing or disabled, and
`caseroom init` puts it back."""

from __future__ import annotations

from sqlalchemy import Connection, text

APPEND_ONLY = ("audit_event", "audit_checkpoint")

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION caseroom_audit_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP;
END;
$$ LANGUAGE plpgsql;
"""


def _expected(dialect: str) -> dict[str, tuple[str, str]]:
    """Trigger name -> (table, DDL that creates it)."""
    triggers: dict[str, tuple[str, str]] = {}
    for table in APPEND_ONLY:
        if dialect == "postgresql":
            triggers[f"{table}_append_only"] = (
                table,
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION caseroom_audit_append_only()",
            )
            triggers[f"{table}_no_truncate"] = (
                table,
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION caseroom_audit_append_only()",
            )
        else:
            for verb in ("UPDATE", "DELETE"):
                triggers[f"{table}_no_{verb.lower()}"] = (
                    table,
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
                )
    return triggers


def _present(conn: Connection) -> dict[str, bool]:
    """Trigger name -> enabled, for the triggers on the audit tables."""
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            text(
                "SELECT t.tgname, t.tgenabled IN ('O', 'A') FROM pg_trigger t "
                "WHERE NOT t.tgisinternal AND t.tgrelid IN "
                "(to_regclass('audit_event'), to_regclass('audit_checkpoint'))"
            )
        ).all()
    else:
        rows = conn.execute(
            text(
                "SELECT name, 1 FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name IN ('audit_event', 'audit_checkpoint')"
            )
        ).all()
    return {str(name): bool(enabled) for name, enabled in rows}


def missing_triggers(conn: Connection) -> list[str]:
    """The append-only triggers that are absent or disabled, by name."""
    present = _present(conn)
    return [name for name in _expected(conn.dialect.name) if not present.get(name)]


def restore_triggers(conn: Connection) -> list[str]:
    """Create (or re-enable) every append-only trigger that is missing; returns their
    names. The caller commits."""
    present = _present(conn)
    restored = []
    if conn.dialect.name == "postgresql" and len(present) < len(_expected("postgresql")):
        conn.execute(text(_PG_FUNCTION))
    for name, (table, ddl) in _expected(conn.dialect.name).items():
        if name not in present:
            conn.exec_driver_sql(ddl)
        elif not present[name]:
            conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER {name}")
        else:
            continue
        restored.append(name)
    return restored
