"""`formula_safe`: what every export does to text people typed (OWASP CSV injection)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from supplycoord.lib.exports import formula_safe, formula_safe_sql

ATTACKS = ['=HYPERLINK("http://x")', "+1", "-1+2", "@SUM(A1)", "\tx", "\rx", "  =1+1", "\n@x"]
HARMLESS = ["兰州市", "FH001", "SZ01-202002-0001", "a=b", "1-2", "#12 某慈善基金会", "", " x"]


@pytest.mark.parametrize("value", ATTACKS)
def test_it_prefixes_a_value_a_spreadsheet_would_evaluate(value):
    assert formula_safe(value) == "'" + value


@pytest.mark.parametrize("value", HARMLESS)
def test_it_leaves_other_text_as_it_is(value):
    assert formula_safe(value) == value


@pytest.mark.parametrize(
    "value", [-1, -1.5, Decimal("-2"), 0, None, dt.date(2020, 2, 1), dt.datetime(2020, 2, 1)]
)
def test_it_leaves_numbers_dates_and_none_alone(value):
    assert formula_safe(value) is value


@pytest.mark.django_db
def test_its_sql_twin_gives_the_same_text(db):
    values = [*ATTACKS, *HARMLESS]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {formula_safe_sql('v')} FROM unnest(%s::text[]) WITH ORDINALITY AS t(v, n) "
            "ORDER BY n",
            [values],
        )
        assert [row[0] for row in cursor.fetchall()] == [formula_safe(v) for v in values]
        cursor.execute(f"SELECT {formula_safe_sql('NULL::text')}")
        assert cursor.fetchone() == (None,)
