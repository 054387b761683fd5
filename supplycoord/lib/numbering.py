"""Document numbers by year (2020-058, 620100-2020-001, CG-2020-001, SQ-2020-001,
XQ-2020-001): one mechanism."""

from django.db import connection


def next_number(sequence_model, **key) -> int:
    """The next number of the series `key` (column → value, e.g. year=2020, or prefecture_id
    and year): one upsert bumps and locks the series' row of `sequence_model` (the key's
    columns unique together, plus `last_number`) until commit, so a rolled-back record gives
    its number back (no gaps)."""
    table = connection.ops.quote_name(sequence_model._meta.db_table)
    columns = sorted(key)
    names = ", ".join(
        connection.ops.quote_name(sequence_model._meta.get_field(c).column) for c in columns
    )
    placeholders = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({names}, last_number) VALUES ({placeholders}, 1) "
            f"ON CONFLICT ({names}) DO UPDATE SET last_number = {table}.last_number + 1 "
            "RETURNING last_number",
            [key[c] for c in columns],
        )
        (number,) = cursor.fetchone()
    return number


def next_year_number(sequence_model, prefix: str, year: int) -> str:
    """`prefix`-`year`-NNN, the next of the year's series in `sequence_model`."""
    return f"{prefix}-{year}-{next_number(sequence_model, year=year):03d}"
