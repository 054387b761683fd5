"""The batch list's line counts and sums (issue 13): aggregated for the page's batches only,
after the page is cut, in one query; filters still choose batches, never lines."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from allocation import views
from tests.allocation.conftest import make_batch

pytestmark = pytest.mark.usefixtures("frozen_time")

URL = reverse("allocation:batch_list")


def shown(client, **params):
    response = client.get(URL, params)
    assert response.status_code == 200
    return {b.number: (b.line_count, b.total) for b in response.context["batches"]}


def test_each_batch_shows_its_own_lines_count_and_sum(
    client, office, stocked, to_lanzhou, to_hospital, n95, masks
):
    both = make_batch(office, stocked, to_lanzhou, [(n95, 1200), (masks, 300)])
    one = make_batch(office, stocked, to_hospital, [(n95, 10)])
    client.force_login(office)

    # 1,200 + 300 = 1,500 over 2 lines; 10 over 1.
    assert shown(client) == {both.number: (2, 1500), one.number: (1, 10)}
    # Filtered on masks the list keeps the batches holding masks, each with all its lines.
    assert shown(client, item=masks.code) == {both.number: (2, 1500)}


def test_the_second_page_counts_its_own_batches(
    client, office, stocked, to_lanzhou, n95, masks, monkeypatch
):
    monkeypatch.setattr(views, "BATCH_PAGE_SIZE", 2)
    oldest = make_batch(office, stocked, to_lanzhou, [(n95, 7), (masks, 8), (n95, 9)])
    middle = make_batch(office, stocked, to_lanzhou, [(masks, 5)])
    newest = make_batch(office, stocked, to_lanzhou, [(n95, 1), (masks, 2)])
    client.force_login(office)

    assert shown(client) == {newest.number: (2, 3), middle.number: (1, 5)}
    # 7 + 8 + 9 = 24 over 3 lines.
    assert shown(client, page=2) == {oldest.number: (3, 24)}


def queries(client) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(URL).status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def test_the_lines_are_read_once_for_the_page_and_the_count_never_joins_them(
    client, office, stocked, to_lanzhou, to_hospital, n95, masks
):
    client.force_login(office)
    make_batch(office, stocked, to_lanzhou, [(n95, 1)])
    one = queries(client)
    for index in range(8):
        destination = to_lanzhou if index % 2 else to_hospital
        make_batch(office, stocked, destination, [(n95, 1), (masks, 2), (n95, 3)])

    many = queries(client)

    assert len(many) == len(one)
    lines = [sql for sql in many if "allocation_dispatchbatchline" in sql]
    assert len(lines) == 1 and "IN (" in lines[0]
    counts = [sql for sql in many if sql.startswith("SELECT COUNT(*)") and "dispatchbatch" in sql]
    assert counts and all("dispatchbatchline" not in sql for sql in counts)
