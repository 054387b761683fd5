"""PostgreSQL helpers shared by the set-based services (the snapshot build, spot checks, alerts)."""


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
