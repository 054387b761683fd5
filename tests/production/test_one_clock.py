"""One clock: the production dashboard counts problems' ages and licences' expiry as of its
date, not as of the day it is read.

The clock is frozen at 2020-03-20 10:00 in Shanghai. Worked by hand (LICENCE_WARNING_DAYS 14):

Problems (whole local days since reported; open at the end of the page's date):
- A, raw materials, reported 03-01, open:        as of 03-20: 19 days; as of 03-10: 9 days.
- B, logistics, reported 03-08, resolved 03-15:  as of 03-20: not open (7 days to resolution);
                                                 as of 03-10: open, 2 days.
- C, raw materials, reported 03-12, open:        as of 03-20: 8 days; as of 03-10: not yet.
Buckets (0–2, 3–6, 7+): 03-20 raw materials [0, 0, 2], logistics [0, 0, 0];
                        03-10 raw materials [0, 0, 1], logistics [1, 0, 0].

Licences (flagged when expiring by date + 14 days: 04-03 for 03-20, 03-24 for 03-10):
- L-0310 expires 03-10: 03-20 expired 10 days;  03-10 its last valid day (0 days left).
- L-0312 expires 03-12: 03-20 expired 8 days;   03-10 2 days left.
- L-0322 expires 03-22: 03-20 2 days left;      03-10 12 days left.
- L-0402 expires 04-02: 03-20 13 days left;     03-10 not flagged (after 03-24).
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from production.models import (
    Licence,
    LicenceKind,
    Problem,
    ProblemCategory,
    ProblemStatus,
    ProductionReport,
)

TZ = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2020, 3, 20)
PAST = dt.date(2020, 3, 10)
URL = reverse("reports:production_dashboard")


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2020, 3, 20, 10, 0, tzinfo=TZ), tick=False):
        yield


def at(day: dt.date, hour=10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=TZ)


@pytest.fixture
def problems(producer, reporter, office):
    def problem(reported, category, **extra):
        return Problem.objects.create(
            producer=producer,
            category=category,
            description=f"{category} since {reported:%m-%d}",
            reported_by=reporter,
            reported_at=at(reported),
            **extra,
        )

    return {
        "A": problem(dt.date(2020, 3, 1), ProblemCategory.RAW_MATERIALS),
        "B": problem(
            dt.date(2020, 3, 8),
            ProblemCategory.LOGISTICS,
            status=ProblemStatus.RESOLVED,
            resolution="trucks found",
            resolved_by=office,
            resolved_at=at(dt.date(2020, 3, 15)),
        ),
        "C": problem(dt.date(2020, 3, 12), ProblemCategory.RAW_MATERIALS),
    }


@pytest.fixture
def licences(producer, settings):
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "LICENCE_WARNING_DAYS": 14}
    return {
        number: Licence.objects.create(
            producer=producer,
            kind=LicenceKind.PRODUCTION_LICENCE,
            number=number,
            issued=dt.date(2019, 1, 1),
            expires=expires,
        )
        for number, expires in [
            ("L-0310", dt.date(2020, 3, 10)),
            ("L-0312", dt.date(2020, 3, 12)),
            ("L-0322", dt.date(2020, 3, 22)),
            ("L-0402", dt.date(2020, 4, 2)),
        ]
    }


def dashboard(client, user, **params):
    client.force_login(user)
    client.cookies["django_language"] = "en"  # the language switch
    response = client.get(URL, params)
    assert response.status_code == 200
    return response


def test_it_counts_problem_ages_as_of_today(client, office, problems):
    grid = dashboard(client, office, date=TODAY.isoformat()).context["data"].problems

    rows = {row.category: row.buckets for row in grid.rows}
    assert rows["raw_materials"] == [0, 0, 2]
    assert rows["logistics"] == [0, 0, 0]
    assert [(p.pk, p.age) for p in grid.oldest] == [(problems["A"].pk, 19), (problems["C"].pk, 8)]


def test_it_counts_problem_ages_as_of_a_past_date(client, office, problems):
    response = dashboard(client, office, date=PAST.isoformat())
    grid = response.context["data"].problems

    rows = {row.category: row.buckets for row in grid.rows}
    assert rows["raw_materials"] == [0, 0, 1]
    assert rows["logistics"] == [1, 0, 0]  # B was still open on 03-10, 2 days old
    assert [(p.pk, p.age) for p in grid.oldest] == [(problems["A"].pk, 9), (problems["B"].pk, 2)]
    html = response.content.decode()
    assert "· 9 days" in html and "19 days" not in html


def test_a_problem_resolved_after_a_date_was_open_on_it(problems):
    resolved_later = problems["B"]
    assert resolved_later.age_days(PAST) == 2  # open on 03-10: 03-10 − 03-08
    assert resolved_later.age_days(TODAY) == 7  # to its resolution: 03-15 − 03-08
    assert problems["A"].age_days(TODAY) == 19


def test_it_counts_licence_expiry_as_of_today(client, office, licences):
    response = dashboard(client, office)  # the default: today, nobody reported production
    assert response.context["date"] == TODAY
    flags = response.context["data"].licences

    assert [(lic.number, lic.days_expired) for lic in flags.expired] == [
        ("L-0310", 10),
        ("L-0312", 8),
    ]
    assert [(lic.number, lic.days_left) for lic in flags.expiring] == [
        ("L-0322", 2),
        ("L-0402", 13),
    ]
    html = response.content.decode()
    assert 'data-days-expired="10"' in html
    assert "(expired for 10 days)" in html
    assert "(13 days left)" in html


def test_it_counts_licence_expiry_as_of_a_past_date(client, office, licences):
    response = dashboard(client, office, date=PAST.isoformat())
    flags = response.context["data"].licences

    assert flags.expired == []
    assert [(lic.number, lic.days_left) for lic in flags.expiring] == [
        ("L-0310", 0),
        ("L-0312", 2),
        ("L-0322", 12),
    ]
    html = response.content.decode()
    assert "(its last valid day)" in html
    assert "(12 days left)" in html
    assert "L-0402" not in html
    assert "expired for" not in html


def test_the_producer_page_shows_the_last_14_days_of_the_office(
    client, office, reporting_producer, n95, reporter
):
    """2020-03-19 23:30 UTC is 03-20 07:30 in Shanghai: the page (no date of its own) lists
    the reports of 03-07 … 03-20, today's included; the UTC date would give 03-06 … 03-19."""
    for day in (dt.date(2020, 3, 6), dt.date(2020, 3, 7), TODAY):
        ProductionReport.objects.create(
            producer=reporting_producer,
            item=n95,
            date=day,
            output=50_000,
            factory_stock=0,
            submitted_by=reporter,
            first_submitted_at=at(day, 15),
            submitted_at=at(day, 15),
        )
    with time_machine.travel(dt.datetime(2020, 3, 19, 23, 30, tzinfo=dt.UTC), tick=False):
        client.force_login(office)
        response = client.get(reverse("production:producer_detail", args=[reporting_producer.pk]))

    page = response.context["page"]
    assert page.today == TODAY
    assert [row.report.date for row in page.reports] == [TODAY, dt.date(2020, 3, 7)]
