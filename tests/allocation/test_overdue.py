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
