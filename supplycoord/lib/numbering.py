"""Document numbers by year (CG-2020-001, SQ-2020-001, XQ-2020-001): one mechanism."""

from django.db import connection


def next_year_number(sequence_model, prefix: str, year: int) -> str:
    """The next number of `year`: one upsert bumps and locks the year's row of
    `sequence_model` (fields `year`, `last_number`) until commit, so a rolled-back record gives
    its number back (no gaps)."""
    table = connection.ops.quote_name(sequence_model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (year, last_number) VALUES (%s, 1) "
            f"ON CONFLICT (year) DO UPDATE SET last_number = {table}.last_number + 1 "
            "RETURNING last_number",
            [year],
        )
        (number,) = cursor.fetchone()
    return f"{prefix}-{year}-{number:03d}"
