"""The fill-rate page (issue 15): per claimant and item over a period (default the last 30
days up to today), scoped to the reader, in a constant number of queries.

The world: 甘肃省人民医院 asks 2,000 N95 on 2020-02-20 10:00; 1,200 accepted; a batch of 1,200
dispatched 30 hours later (2020-02-21 16:00): fill rate 1,200 ÷ 1,200 = 100.0 %, time to fill
30.0 h. 榆中县 (Lanzhou) asks 500 masks at 10:00 on 2020-02-20: accepted, nothing dispatched:
0.0 %, no time to fill. A request of 2020-01-10 is before the default period (2020-01-23 –
2020-02-21 as of 2020-02-21).
"""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from allocation.models import Destination, DestinationKind
from allocation.request_report_views import hours_text
from allocation.requests import request_submit, request_triage, requests_into_batches
from allocation.services import batch_approve, batch_dispatch
from tests.allocation.conftest import NOW

pytestmark = pytest.mark.usefixtures("frozen_time")
URL = "/allocation/requests/fill-rates/"


def submit(user, claimant, item, quantity, accept=None):
    request, _created = request_submit(
        user=user,
        claimant=claimant,
        urgency="urgent",
        needed_by=dt.date(2020, 2, 28),
        justification="j",
        lines=[{"item": item, "quantity": quantity}],
    )
    if accept is not None:
        entry = {"line": request.lines.get().pk, "decision": "accepted"}
        if accept < quantity:
            entry.update(decision="accepted_part", accepted_quantity=accept, reason="short")
        request = request_triage(
            user=user, request=request, expected_version=request.version, decisions=[entry]
        )
    return request


@pytest.fixture
def county(lanzhou):
    return Destination.objects.create(
        kind=DestinationKind.COUNTY, name_zh="榆中县", prefecture=lanzhou, code="620123"
    )


@pytest.fixture
def world(office, leader, stocked, to_hospital, county, n95, masks, frozen_time):
    frozen_time.move_to(NOW - dt.timedelta(days=41))  # 2020-01-10 10:00
    submit(office, to_hospital, n95, 7, accept=7)
    frozen_time.move_to(NOW)
    first = submit(office, to_hospital, n95, 2000, accept=1200)
    submit(office, county, masks, 500, accept=500)
    (draft,) = requests_into_batches(
        user=office, line_ids=[first.lines.get().pk], source_warehouse=stocked
    )
    frozen_time.move_to(NOW + dt.timedelta(hours=30))  # 2020-02-21 16:00
    draft = batch_approve(user=leader, batch=draft, expected_version=draft.version)
    batch_dispatch(user=office, batch=draft, expected_version=draft.version)


def shown(response):
    return [
        (
            row.claimant.name_zh,
            row.item.code,
            row.lines,
            row.asked,
            row.accepted,
            row.dispatched,
            None if row.fill_percent is None else f"{row.fill_percent:.1f}",
            row.time_to_fill,
        )
        for row in response.context["rows"]
    ]


def test_the_default_period_is_the_last_30_days(world, client, office):
    client.force_login(office)
    response = client.get(URL)
    assert response.status_code == 200
    assert response.context["period"] == (dt.date(2020, 1, 23), dt.date(2020, 2, 21))
    assert shown(response) == [
        ("榆中县", "FH002", 1, 500, 500, 0, "0.0", "—"),
        ("甘肃省人民医院", "FH001", 1, 2000, 1200, 1200, "100.0", "30.0小时"),
    ]  # by the claimant's kind (county before provincial_institution), then name
    content = response.content.decode()
    assert "100.0%" in content and "30.0小时" in content


def test_a_longer_period_includes_the_january_request(world, client, office):
    """January: 7 accepted, none dispatched; with February's 1,200 of 1,200 the N95 row is
    1,200 ÷ 1,207 = 99.4 %."""
    client.force_login(office)
    response = client.get(URL, {"start": "2020-01-01", "end": "2020-02-21", "item": "FH001"})
    assert shown(response) == [("甘肃省人民医院", "FH001", 2, 2007, 1207, 1200, "99.4", "30.0小时")]


def test_scoped_to_the_reader(world, client, officer, outsider, reporter):
    client.force_login(officer)
    assert [r[0] for r in shown(client.get(URL))] == ["榆中县"]
    client.force_login(outsider)
    assert shown(client.get(URL)) == []
    client.force_login(reporter)
    assert client.get(URL).status_code == 403


def test_bad_filters_are_a_400_not_a_crash(world, client, office):
    client.force_login(office)
    assert client.get(URL, {"start": "2020-02-30"}).status_code == 400
    assert client.get(URL, {"start": "1999-01-01"}).status_code == 400
    assert client.get(URL, {"start": "2020-02-21", "end": "2020-02-01"}).status_code == 400
    assert client.get(URL, {"item": "NOPE\x00"}).status_code == 400
    assert client.get(URL, {"claimant": str(2**70)}).status_code == 400


def test_the_query_count_does_not_grow_with_the_rows(world, client, office, n95, masks):
    client.force_login(office)
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    for number in range(6):
        claimant = Destination.objects.create(
            kind=DestinationKind.AID_TEAM, name_zh=f"医疗队{number}", code=f"YLD{number}"
        )
        submit(office, claimant, n95, 10, accept=5)
        submit(office, claimant, masks, 10)
    with CaptureQueriesContext(connection) as many:
        response = client.get(URL)
    assert len(response.context["rows"]) == 14
    assert len(many) == len(few)


def test_hours_become_days_from_two_days_on():
    from decimal import Decimal

    assert hours_text(Decimal("47.9")) == "47.9小时"
    assert hours_text(Decimal("60.0")) == "2.5天"
    assert hours_text(None) == "—"
