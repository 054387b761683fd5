"""One clock: a batch is late by the office's calendar (Asia/Shanghai), not the server's.

The clock is frozen at 2020-02-19 23:30 UTC, which is already 2020-02-20 07:30 in Shanghai:
the local date (20 February) differs from the UTC date (19 February), the classic bug. The
batch pages have no date of their own, so lateness is counted as of local_today():
- expected 02-17, on the road: 02-20 − 02-17 = 3 days overdue (the UTC date would say 2);
- expected 02-19, on the road: 1 day overdue (the UTC date would say not yet late);
- expected 02-20, on the road: due today, not overdue;
- expected 02-17 but received in full, or a draft expected 02-10: never marked.
"""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from allocation.selectors import days_overdue, overdue_batches
from allocation.services import batch_receive
from supplycoord.lib.dates import local_today
from tests.allocation.conftest import dispatched_batch, make_batch

UTC_EVENING = dt.datetime(2020, 2, 19, 23, 30, tzinfo=dt.UTC)
TODAY = dt.date(2020, 2, 20)  # in Shanghai


@pytest.fixture
def evening():
    with time_machine.travel(UTC_EVENING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def batches(evening, office, leader, officer, stocked, to_lanzhou, n95):
    def ship(expected):
        return dispatched_batch(
            office, leader, stocked, to_lanzhou, [(n95, 100)], expected_arrival=expected
        )

    late, yesterday, due_today = (ship(dt.date(2020, 2, d)) for d in (17, 19, 20))
    received = ship(dt.date(2020, 2, 17))
    received = batch_receive(
        user=officer,
        batch=received,
        expected_version=received.version,
        received={received.lines.get().pk: 100},
    )
    draft = make_batch(
        office, stocked, to_lanzhou, [(n95, 10)], expected_arrival=dt.date(2020, 2, 10)
    )
    return {
        "late": late,
        "yesterday": yesterday,
        "due_today": due_today,
        "received": received,
        "draft": draft,
    }


def test_today_is_the_office_date_not_the_utc_date(evening):
    assert local_today() == TODAY


def test_it_counts_days_overdue_by_the_office_date(batches):
    marks = {name: days_overdue(batch, date=local_today()) for name, batch in batches.items()}
    assert marks == {"late": 3, "yesterday": 1, "due_today": None, "received": None, "draft": None}


def test_the_batch_list_marks_late_batches_as_of_today_in_the_office(client, office, batches):
    client.force_login(office)
    client.cookies["django_language"] = "en"
    response = client.get(reverse("allocation:batch_list"))

    assert response.status_code == 200
    marked = {b.number: b.days_overdue for b in response.context["batches"]}
    assert marked[batches["late"].number] == 3
    assert marked[batches["yesterday"].number] == 1
    assert marked[batches["due_today"].number] is None
    assert marked[batches["received"].number] is None
    assert marked[batches["draft"].number] is None
    html = response.content.decode()
    assert html.count('data-days-overdue="') == 2
    assert "3 days overdue" in html
    assert "1 day overdue" in html


def test_the_batch_page_says_how_late_it_is(client, office, batches):
    client.force_login(office)
    client.cookies["django_language"] = "en"

    late = client.get(reverse("allocation:batch_detail", args=[batches["late"].number]))
    assert late.context["days_overdue"] == 3
    assert 'id="days-overdue" data-days-overdue="3"' in late.content.decode()

    due = client.get(reverse("allocation:batch_detail", args=[batches["due_today"].number]))
    assert due.context["days_overdue"] is None
    assert 'id="days-overdue"' not in due.content.decode()


def test_the_batch_pages_and_the_overview_of_today_agree(client, leader, batches):
    """No snapshot is built: the overview counts as of today, as the batch list does."""
    client.force_login(leader)
    overview = client.get(reverse("reports:overview"))
    assert {b.number: b.days_overdue for b in overview.context["overdue"]} == {
        batches["late"].number: 3,
        batches["yesterday"].number: 1,
    }
    assert [b.days_overdue for b in overdue_batches(leader, date=local_today())] == [3, 1]


def test_a_batch_made_on_new_years_eve_in_utc_is_numbered_in_the_new_year(
    office, sz01, to_lanzhou, n95
):
    """2020-12-31 23:30 UTC is 2021-01-01 07:30 in Shanghai: the batch is 2021's first
    (a draft asking more than its warehouse holds is flagged, not refused)."""
    with time_machine.travel(dt.datetime(2020, 12, 31, 23, 30, tzinfo=dt.UTC), tick=False):
        batch = make_batch(office, sz01, to_lanzhou, [(n95, 10)])
    assert (batch.year, batch.number) == (2021, "2021-001")
