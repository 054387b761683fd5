"""PostgreSQL helpers shared by the set-based services (the snapshot build, spot checks, alerts)
and the hot statements prepared once per connection (ledger posting, the rebuilds' outbox)."""

import functools
import re
import secrets


def array_literal(values) -> str:
    """A PostgreSQL array literal ('{1,2,NULL}') of ints, bools, Decimals, dates, None and
    strings (quoted and escaped), passed as ONE parameter and cast in the SQL (%s::bigint[]):
    PostgreSQL plans one constant instead of one per value."""
    out = []
    for value in values:
        if value is None:
            out.append("NULL")
        elif value is True or value is False:
            out.append("t" if value else "f")
        elif isinstance(value, str):
            out.append('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"')
        else:
            out.append(str(value))
    return "{" + ",".join(out) + "}"


def execute_prepared(cursor, sql: str, params: dict, *, prefix: str) -> None:
    """Run `sql` (%(name)s parameters) as a prepared statement of this connection.

    PostgreSQL then parses, analyses and plans a hot statement (the ledger's posting, the
    reports' outbox upsert that every posting runs) once per connection, not on every call:
    that was half of the database's CPU time per ledger event (bench/ledger.py).
    The first use on a connection prepares and executes in one round trip. Each connection
    gets its own name (`prefix`, then random), so a statement left in a pooled server session
    cannot collide; a statement is named after the app that owns it.

    A transaction-pooling PgBouncer gives each transaction whichever server session is free,
    where the statement does not exist. Django's DISABLE_SERVER_SIDE_CURSORS, which such a
    deployment sets for the same reason, turns prepared statements off: plain execution.
    """
    wrapper = cursor.db
    if wrapper.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
        cursor.execute(sql, params)
        return
    body, arguments = _numbered_parameters(sql)
    prepared = getattr(wrapper, "_supplycoord_prepared", None)
    if prepared is None or prepared[0] is not wrapper.connection:
        prepared = (wrapper.connection, {})
        wrapper._supplycoord_prepared = prepared
    name = prepared[1].get(sql)
    if name is None:
        name = f"{prefix}_{secrets.token_hex(6)}"
        # Noted before it runs: PREPARE outlives a rollback of the transaction around it. But a
        # PREPARE that fails (cancelled, a lock or statement timeout) leaves no statement: then
        # forget the name, so the next call prepares afresh under a new one. (Had the EXECUTE
        # half failed, the prepared statement is orphaned under its random name: harmless.)
        prepared[1][sql] = name
        try:
            cursor.execute(f"PREPARE {name} AS {body}; EXECUTE {name}({arguments})", params)
        except Exception:
            prepared[1].pop(sql, None)
            raise
    else:
        cursor.execute(f"EXECUTE {name}({arguments})", params)


@functools.cache
def _numbered_parameters(sql: str) -> tuple[str, str]:
    """`sql` with $1, $2, … for its %(name)s parameters, and the EXECUTE arguments that
    pass them in that order."""
    names: list[str] = []

    def number(match) -> str:
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}"

    body = re.sub(r"%\((\w+)\)s", number, sql)
    return body, ", ".join(f"%({name})s" for name in names)
