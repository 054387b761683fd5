"""Overdue batches: on the road past their expected arrival, listed on the province overview."""

import datetime as dt

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from allocation.selectors import overdue_batches
from allocation.services import batch_close, batch_receive
from tests.allocation.conftest import NOW, dispatched_batch, make_batch
from tests.conftest import PASSWORD

D = NOW.date()  # 2020-02-20

pytestmark = pytest.mark.usefixtures("frozen_time")


def ship(office, leader, warehouse, destination, lines, *, expected):
    return dispatched_batch(
        office,
        leader,
        warehouse,
        destination,
        lines,
        expected_arrival=D + dt.timedelta(days=expected),
    )


def receive(officer, batch, quantity, **kwargs):
    return batch_receive(
        user=officer,
        batch=batch,
        expected_version=batch.version,
        received={batch.lines.get().pk: quantity},
        **kwargs,
    )


@pytest.fixture
def batches(office, leader, officer, stocked, to_lanzhou, to_hospital, n95, masks):
    """Two overdue (one partly received), one due today, one received, one closed, a draft."""
    late = ship(office, leader, stocked, to_lanzhou, [(n95, 1000), (masks, 200)], expected=-3)
    partly = receive(
        officer, ship(office, leader, stocked, to_lanzhou, [(n95, 500)], expected=-1), 300
    )
    due_today = ship(office, leader, stocked, to_hospital, [(n95, 100)], expected=0)
    received = receive(
        officer,
        ship(office, leader, stocked, to_lanzhou, [(n95, 100)], expected=-2),
        100,
    )
    closed = receive(
        office, ship(office, leader, stocked, to_hospital, [(n95, 100)], expected=-4), 50
    )
    closed = batch_close(
        user=office, batch=closed, expected_version=closed.version, note="lost on the road"
    )
    draft = make_batch(
        office, stocked, to_lanzhou, [(n95, 10)], expected_arrival=D - dt.timedelta(days=5)
    )
    return {
        "late": late,
        "partly": partly,
        "due_today": due_today,
        "received": received,
        "closed": closed,
        "draft": draft,
    }


def test_it_lists_batches_past_expected_arrival_not_received(office, batches):
    rows = overdue_batches(office, date=D)
    assert [(b.number, b.days_overdue, b.in_transit) for b in rows] == [
        (batches["late"].number, 3, 1200),
        (batches["partly"].number, 1, 200),
    ]
    assert rows[0].destination.name_zh == "兰州市"


def test_it_shows_an_officer_only_their_prefectures_batches(officer, outsider, batches):
    assert len(overdue_batches(officer, date=D)) == 2
    assert overdue_batches(outsider, date=D) == []


def test_the_overview_lists_them_with_links_in_constant_queries(
    client, leader, office, stocked, to_lanzhou, n95, batches
):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert client.login(username=leader.username, password=PASSWORD)
    with CaptureQueriesContext(connection) as few:
        response = client.get(reverse("reports:overview"))
    html = response.content.decode()
    assert "Overdue batches" in html
    detail = reverse("allocation:batch_detail", args=[batches["late"].number])
    assert f'href="{detail}"' in html
    assert batches["due_today"].number not in html
    assert "1,200" in html

    for _ in range(3):
        ship(office, leader, stocked, to_lanzhou, [(n95, 10)], expected=-2)
    with CaptureQueriesContext(connection) as more:
        response = client.get(reverse("reports:overview"))
    assert response.content.decode().count('data-batch="') == 5
    assert len(more) == len(few)


def test_the_overview_lists_the_most_overdue_first_and_links_to_all(
    client, leader, office, batches, monkeypatch
):
    """With room for one row, the overview lists the batch 3 days late, says 1 of 2, and links
    to the batch list filtered to the two overdue batches, most overdue first."""
    monkeypatch.setattr("reports.views.OVERVIEW_LIST_SIZE", 1)
    assert client.login(username=leader.username, password=PASSWORD)
    response = client.get(reverse("reports:overview"))
    assert [b.number for b in response.context["overdue"]] == [batches["late"].number]
    assert response.context["overdue_total"] == 2
    html = response.content.decode()
    assert '<span id="overdue-total">2</span>' in html
    assert 'href="/allocation/batches/?overdue=1" id="overdue-all"' in html

    assert client.login(username=office.username, password=PASSWORD)
    listed = client.get(reverse("allocation:batch_list"), {"overdue": "1"})
    assert [b.number for b in listed.context["batches"]] == [
        batches["late"].number,
        batches["partly"].number,
    ]
    assert 'id="overdue-filter"' in listed.content.decode()
    # A past date counts as of that date: on D − 2 only the batch expected on D − 3 was late.
    past = client.get(reverse("allocation:batch_list"), {"overdue": str(D - dt.timedelta(days=2))})
    assert [b.number for b in past.context["batches"]] == [batches["late"].number]
    # Anything else is no filter, as the list's other filters drop what they cannot read.
    garbage = client.get(reverse("allocation:batch_list"), {"overdue": "garbage"})
    assert garbage.status_code == 200 and 'id="overdue-filter"' not in garbage.content.decode()


def test_the_lists_export_holds_what_the_overdue_filter_shows(client, office, batches):
    """The batch list's CSV link carries ?overdue=1: the allocation ledger file then holds the
    lines of the two overdue batches only, as the page lists them (review of issue 13)."""
    import csv
    import io

    assert client.login(username=office.username, password=PASSWORD)
    everything = client.get(reverse("allocation:ledger_csv"))
    overdue = client.get(reverse("allocation:ledger_csv"), {"overdue": "1"})
    assert everything.status_code == overdue.status_code == 200

    def numbers(response):
        text = b"".join(response.streaming_content if response.streaming else [response.content])
        rows = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))
        return {cell for row in rows for cell in row if cell in wanted | others}

    wanted = {batches["late"].number, batches["partly"].number}
    others = {b.number for b in batches.values()} - wanted
    assert numbers(overdue) == wanted
    assert numbers(everything) & others
