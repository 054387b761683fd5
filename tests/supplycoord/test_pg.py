"""supplycoord.lib.pg.array_literal: one array parameter for the set-based services; what
PostgreSQL reads back is what was given, quotes, backslashes and NULL included."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from supplycoord.lib.pg import array_literal


def test_it_writes_the_literal_postgresql_reads():
    assert array_literal([1, None, True, False, Decimal("2.50")]) == "{1,NULL,t,f,2.50}"
    assert array_literal(['a"b', "c\\d", "NULL"]) == '{"a\\"b","c\\\\d","NULL"}'


@pytest.mark.django_db
def test_postgresql_reads_back_what_was_given():
    texts = ['a"b', "c\\d", "NULL", "", "x,y{z}"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT %s::text[], %s::date[]",
            [array_literal(texts), array_literal([dt.date(2020, 2, 10), None])],
        )
        assert cursor.fetchone() == (texts, [dt.date(2020, 2, 10), None])
