"""The Excel import of requests (issue 15): consecutive rows with the same claimant, urgency,
needed-by and justification make one request; only claimants in the importer's scope; every
problem named by row and column with nothing saved; the engine's limits (a zip bomb)."""

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from allocation.models import Destination, DestinationKind, SupplyRequest
from allocation.request_imports import COLUMNS
from supplycoord.models import Role
from tests.allocation.conftest import NOW
from tests.factories import UserFactory
from tests.supplycoord.test_xlsx_limits import _bomb

pytestmark = pytest.mark.usefixtures("frozen_time")
URL = "/allocation/requests/import/"
NEEDED = (NOW.date() + dt.timedelta(days=2)).isoformat()


def _upload(rows, headers=None, content=None):
    if content is None:
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(headers or [str(h) for _f, h, _w in COLUMNS])
        for row in rows:
            sheet.append(row)
        buffer = io.BytesIO()
        workbook.save(buffer)
        content = buffer.getvalue()
    return SimpleUploadedFile(
        "requests.xlsx",
        content,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@pytest.fixture
def hospital_user(db):
    return UserFactory(username="hospital", role=Role.UNIT_REQUESTER)


@pytest.fixture
def hospital(to_hospital, hospital_user):
    to_hospital.code = "SRMYY"
    to_hospital.save()
    to_hospital.requesters.add(hospital_user)
    return to_hospital


@pytest.fixture
def county(lanzhou):
    return Destination.objects.create(
        kind=DestinationKind.COUNTY, name_zh="榆中县", prefecture=lanzhou, code="620123"
    )


def test_the_template_has_the_headers_the_import_reads(client, hospital_user):
    client.force_login(hospital_user)
    response = client.get(reverse("allocation:request_import_template"))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [c.value for c in next(sheet.iter_rows(max_row=1))] == [str(h) for _f, h, _w in COLUMNS]


def test_consecutive_rows_of_one_request_make_one_request(
    client, office, hospital, county, n95, masks
):
    client.force_login(office)
    rows = [
        # claimant, urgency, needed by, item, quantity, justification
        ["SRMYY", "紧急", NEEDED, "FH001", 2000, "ICU"],
        ["SRMYY", "emergency", NEEDED, "FH002", 500.0, "ICU"],
        [620123, "routine", NEEDED, "FH001", 100, "Fever clinic"],
        # Same fields as the first request, but not consecutive: a request of its own.
        ["SRMYY", "emergency", NEEDED, "FH001", 10, "ICU"],
    ]

    response = client.post(URL, {"file": _upload(rows)})

    assert response.status_code == 302, response.content.decode()[-2000:]
    requests = list(SupplyRequest.objects.order_by("number"))
    assert [r.number for r in requests] == ["XQ-2020-001", "XQ-2020-002", "XQ-2020-003"]
    assert [
        (r.claimant.code, r.urgency, [(x.item.code, x.quantity) for x in r.lines.order_by("pk")])
        for r in requests
    ] == [
        ("SRMYY", "emergency", [("FH001", 2000), ("FH002", 500)]),
        ("620123", "routine", [("FH001", 100)]),
        ("SRMYY", "emergency", [("FH001", 10)]),
    ]


def test_every_problem_is_named_by_row_and_column_and_nothing_is_saved(
    client, hospital_user, hospital, county, n95
):
    client.force_login(hospital_user)
    rows = [
        ["SRMYY", "emergency", NEEDED, "FH001", 0, "ICU"],  # row 2: quantity 0
        ["SRMYY", "emergency", NEEDED, "NOPE", 5, "ICU"],  # row 3: unknown item
        ["620123", "urgent", NEEDED, "FH001", 5, "x"],  # row 4: a county is not theirs
        ["SRMYY", "soon", "2020-02-30", "FH001", 5, "y"],  # row 5: urgency and date
        ["NOBODY", "routine", NEEDED, "FH001", 5, "z"],  # row 6: no such claimant
    ]

    response = client.post(URL, {"file": _upload(rows)})

    assert response.status_code == 400
    found = {(p.row, p.column) for p in response.context["problems"]}
    assert found == {(2, "E"), (3, "D"), (4, "A"), (5, "B"), (5, "C"), (6, "A")}
    assert SupplyRequest.objects.count() == 0


def test_an_outsider_may_not_import_for_lanzhou(client, outsider, county, n95):
    client.force_login(outsider)
    response = client.post(
        URL, {"file": _upload([["620123", "emergency", NEEDED, "FH001", 5, "ICU"]])}
    )
    assert response.status_code == 400
    assert [(p.row, p.column) for p in response.context["problems"]] == [(2, "A")]
    assert SupplyRequest.objects.count() == 0


def test_leadership_and_producers_may_not_import(client, leader, reporter):
    for user in (leader, reporter):
        client.force_login(user)
        assert client.get(URL).status_code == 403


def test_a_zip_bomb_is_refused_by_the_engine(client, office):
    """A file of ~0.3 MB that unpacks to 200 MB: refused before openpyxl reads it."""
    client.force_login(office)
    client.cookies["django_language"] = "en"
    response = client.post(URL, {"file": _upload(None, content=_bomb(200 * 1024 * 1024))})
    assert response.status_code == 400
    assert "unpacks to more than" in response.context["refusal"]
    assert SupplyRequest.objects.count() == 0


def test_nasty_cells_are_refused_not_a_crash(client, office, hospital, n95):
    """A formula, 2^70 and a control character in a text cell, on PostgreSQL."""
    client.force_login(office)
    rows = [
        ["SRMYY", "emergency", NEEDED, "FH001", "=1+1", "ICU"],
        ["SRMYY", "emergency", NEEDED, "FH001", 2**70, "ICU"],
        ["SRMYY", "emergency", NEEDED, "FH001", 5, "bad\x85text"],
    ]
    response = client.post(URL, {"file": _upload(rows)})
    assert response.status_code == 400
    assert {p.row for p in response.context["problems"]} == {2, 3, 4}
    assert SupplyRequest.objects.count() == 0
