"""The emergency demand list (紧急物品需求清单, issue 15): the open lines of emergency requests
(urgent ones added with ?urgency=urgent), one row per line, scoped to the reader,
formula-safe, print-ready xlsx, streamed CSV carrying the same rows.

The world (2020-02-20 10:00, Shanghai):
- XQ-2020-001, 甘肃省人民医院, emergency, needed 2020-02-22: 2,000 N95 accepted in part
  (1,200, "reserve is short"), 1,000 of them in a batch dispatched; 500 masks awaiting triage.
  Open: N95 1,200 − 1,000 = 200; masks 500 (all asked, nothing decided).
- XQ-2020-002, 榆中县 (Lanzhou), emergency, needed 2020-02-21: 100 N95 refused → closed, no row.
- XQ-2020-003, 榆中县, urgent, needed 2020-02-23: 50 masks awaiting triage → only with urgent.
- XQ-2020-004, 榆中县, routine: never listed.
"""

import datetime as dt

import pytest
from django.urls import reverse

from allocation.models import Destination, DestinationKind, DispatchBatch
from allocation.request_exports import EmergencyDemandListExport
from allocation.requests import request_submit, request_triage, requests_into_batches
from allocation.services import batch_approve, batch_dispatch, batch_update_draft
from supplycoord.exports import HEADER_ROW
from supplycoord.models import Role
from tests.allocation.conftest import NOW
from tests.export_checks import (
    assert_number_and_date_cells,
    assert_print_ready,
    assert_same_table,
    csv_rows,
    csv_text,
    xlsx_of,
)
from tests.factories import ProvinceFactory, UserFactory

pytestmark = pytest.mark.usefixtures("frozen_time")
TODAY = NOW.date()


@pytest.fixture
def county(lanzhou):
    return Destination.objects.create(
        kind=DestinationKind.COUNTY, name_zh="榆中县", prefecture=lanzhou, code="620123"
    )


def submit(user, claimant, lines, urgency="emergency", days=2, justification="ICU"):
    request, _created = request_submit(
        user=user,
        claimant=claimant,
        urgency=urgency,
        needed_by=TODAY + dt.timedelta(days=days),
        justification=justification,
        lines=[{"item": item, "quantity": q} for item, q in lines],
    )
    return request


def decide(office, request, *entries):
    lines = {line.item.code: line for line in request.lines.all()}
    return request_triage(
        user=office,
        request=request,
        expected_version=request.version,
        decisions=[{"line": lines[code].pk, "decision": d, **extra} for code, d, extra in entries],
    )


@pytest.fixture
def world(office, leader, stocked, to_hospital, county, n95, masks):
    ProvinceFactory()
    first = submit(office, to_hospital, [(n95, 2000), (masks, 500)], justification="=HYPERLINK(1)")
    first = decide(
        office,
        first,
        ("FH001", "accepted_part", {"accepted_quantity": 1200, "reason": "reserve is short"}),
    )
    (draft,) = requests_into_batches(
        user=office, line_ids=[first.lines.get(item=n95).pk], source_warehouse=stocked
    )
    # The office edits the draft down to 1,000 (the truck's load).
    draft = batch_update_draft(
        user=office,
        batch=draft,
        expected_version=draft.version,
        lines=[{"item": n95, "quantity": 1000, "channel": "reserve"}],
    )
    draft = batch_approve(user=leader, batch=draft, expected_version=draft.version)
    batch_dispatch(user=office, batch=draft, expected_version=draft.version)
    second = submit(office, county, [(n95, 100)], days=1)
    decide(office, second, ("FH001", "refused", {"reason": "county holds 20 days"}))
    submit(office, county, [(masks, 50)], urgency="urgent", days=3)
    submit(office, county, [(masks, 5)], urgency="routine", days=3)
    return first


def table(exporter):
    rows = csv_rows(csv_text(exporter))
    header, body = rows[0], rows[1:]
    return [dict(zip(header, row, strict=True)) for row in body]


def test_one_row_per_open_line_of_emergency_requests(world, office):
    exporter = EmergencyDemandListExport(office, {})
    rows = [list(r.values()) for r in table(exporter)]

    # number, claimant, kind, item, unit, asked, accepted, in batches, dispatched, still
    # open, needed by, submitted at, justification, decision reason (kind and unit: labels).
    assert [r[:2] + r[3:4] + r[5:12] for r in rows] == [
        [
            "XQ-2020-001",
            "甘肃省人民医院",
            "N95口罩",
            "2000",
            "1200",
            "1000",
            "1000",
            "200",
            "2020-02-22",
            "2020-02-20 10:00",
        ],
        [
            "XQ-2020-001",
            "甘肃省人民医院",
            "医用外科口罩",
            "500",
            "",
            "0",
            "0",
            "500",
            "2020-02-22",
            "2020-02-20 10:00",
        ],
    ]
    assert [(r[0], r[3], r[9]) for r in rows] == [
        ("XQ-2020-001", "N95口罩", "200"),
        ("XQ-2020-001", "医用外科口罩", "500"),
    ]
    # The justification typed as a formula stays text; the reason is on its line.
    assert rows[0][12] == "'=HYPERLINK(1)"
    assert rows[0][13] == "reserve is short"


def test_urgent_adds_the_urgent_requests_and_a_bad_filter_is_refused(world, office):
    numbers = [
        r[0]
        for r in map(
            list,
            (x.values() for x in table(EmergencyDemandListExport(office, {"urgency": "urgent"}))),
        )
    ]
    assert numbers == ["XQ-2020-001", "XQ-2020-001", "XQ-2020-003"]
    assert not EmergencyDemandListExport(office, {"urgency": "routine"}).valid


def test_scoped_to_the_reader(world, office, officer, outsider, client):
    assert [
        list(r.values())[0]
        for r in table(EmergencyDemandListExport(officer, {"urgency": "urgent"}))
    ] == ["XQ-2020-003"]
    assert table(EmergencyDemandListExport(outsider, {"urgency": "urgent"})) == []
    # A producer's reporter may not read requests at all.
    reporter = UserFactory(username="rep", role=Role.PRODUCER_REPORTER)
    client.force_login(reporter)
    url = reverse("allocation:request_emergency_list", args=["csv"])
    assert client.get(url).status_code == 403


def test_the_xlsx_is_print_ready_and_carries_the_csv_rows(world, office):
    exporter = EmergencyDemandListExport(office, {"urgency": "urgent"})
    sheet = xlsx_of(exporter).active

    assert_print_ready(sheet, exporter)
    seen = assert_number_and_date_cells(sheet, exporter)
    assert seen["number"] > 0 and seen["date"] > 0
    assert_same_table(csv_text(exporter), sheet, exporter)
    assert sheet.cell(HEADER_ROW + 1, 1).value == "XQ-2020-001"


def test_the_pages_stream_csv_and_send_xlsx(world, office, client):
    client.force_login(office)
    url = reverse("allocation:request_emergency_list", args=["csv"])
    assert url == "/allocation/requests/emergency-list.csv"
    response = client.get(url)
    assert response.status_code == 200
    assert response.streaming
    body = b"".join(response.streaming_content).decode()
    assert body.count("XQ-2020-001") == 2
    xlsx = client.get(reverse("allocation:request_emergency_list", args=["xlsx"]))
    assert xlsx.status_code == 200
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    assert client.get(url + "?urgency=bogus").status_code == 400
    assert client.get("/allocation/requests/emergency-list.pdf").status_code == 404


def test_dispatched_in_full_leaves_the_list(world, office, leader, stocked):
    """The N95 line: 1,200 accepted, 1,000 dispatched; a second batch of the 200 left, once
    dispatched, closes it (200 + 1,000 = 1,200)."""
    line = world.lines.get(item__code="FH001")
    (draft,) = requests_into_batches(user=office, line_ids=[line.pk], source_warehouse=stocked)
    assert draft.lines.get().quantity == 200
    draft = batch_approve(user=leader, batch=draft, expected_version=draft.version)
    batch_dispatch(user=office, batch=draft, expected_version=draft.version)
    rows = table(EmergencyDemandListExport(office, {}))
    assert [list(r.values())[3] for r in rows] == ["医用外科口罩"]
    assert DispatchBatch.objects.count() == 2
