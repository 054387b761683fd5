"""Excel import of distribution reports through the shared engine: the template of the
caller's enterprises round-trips to saved reports; bad cells are listed at their row and
column and nothing is saved; another enterprise's rows are refused."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from procurement.distribution_imports import DISTRIBUTION_IMPORT
from procurement.models import DistributionReport
from supplycoord.lib.xlsx_import import XLSX_CONTENT_TYPE, ImportInvalid, ImportRefused
from tests.procurement.conftest import TODAY
from tests.procurement.distribution_fixtures import *  # noqa: F403 (fixtures)

pytestmark = pytest.mark.usefixtures("frozen_time")
URL = reverse("procurement:distribution_import")
TEMPLATE_URL = reverse("procurement:distribution_import_template")
# Template columns: credit code, enterprise, item code, item, unit, date, the four figures,
# reason (row 3 is the header, data from row 4).
DATE, PURCHASED, SHIPPED, IN_TRANSIT, STOCK, REASON = range(6, 12)


def _template(client):
    response = client.get(TEMPLATE_URL)
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    return load_workbook(io.BytesIO(response.content))


def _bytes(workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _upload(content):
    return SimpleUploadedFile("reports.xlsx", content, content_type=XLSX_CONTENT_TYPE)


def _fill(ws, row, values):
    for column, value in zip((PURCHASED, SHIPPED, IN_TRANSIT, STOCK), values, strict=True):
        ws.cell(row, column).value = value


def test_the_template_round_trips_to_saved_reports(client, dist_a, enterprise_a, enterprise_b):
    client.force_login(dist_a)
    ws = _template(client).active
    # Only A's rows (N95 and masks: every key item), B's not.
    assert [ws.cell(r, 3).value for r in (4, 5)] == ["FH001", "FH002"]
    assert ws.cell(6, 3).value is None
    assert str(ws.cell(4, DATE).value)[:10] == TODAY.isoformat()
    _fill(ws, 4, (1000, 400, 2000, 600))
    _fill(ws, 5, (50, 20, 10, 30))
    response = client.post(URL, {"file": _upload(_bytes(ws.parent))})
    assert response.status_code == 302
    assert DistributionReport.objects.get(item__code="FH001").purchase_in_transit == 2000
    assert DistributionReport.objects.get(item__code="FH002").stock == 30


def test_bad_cells_are_listed_at_their_row_and_column_and_nothing_saved(
    client, dist_a, enterprise_a
):
    client.force_login(dist_a)
    ws = _template(client).active
    _fill(ws, 4, (1000, -1, 2000, 600))
    _fill(ws, 5, (50, 20, "1e3", 30))
    with translation.override("en"), pytest.raises(ImportInvalid) as caught:
        DISTRIBUTION_IMPORT.submit(_upload(_bytes(ws.parent)), user=dist_a)
    cells = {(p.row, p.column) for p in caught.value.problems}
    # Shipped is column H (8), in transit column I (9).
    assert cells == {(4, "H"), (5, "I")}
    response = client.post(URL, {"file": _upload(_bytes(ws.parent))})
    assert response.status_code == 400
    assert not DistributionReport.objects.exists()


def test_a_correction_in_the_file_needs_a_reason(client, dist_a, enterprise_a):
    client.force_login(dist_a)
    ws = _template(client).active
    _fill(ws, 4, (1, 1, 1, 1))
    _fill(ws, 5, (1, 1, 1, 1))
    DISTRIBUTION_IMPORT.submit(_upload(_bytes(ws.parent)), user=dist_a)
    ws.cell(4, STOCK).value = 2
    with pytest.raises(ImportInvalid) as caught:
        DISTRIBUTION_IMPORT.submit(_upload(_bytes(ws.parent)), user=dist_a)
    # The reason is column K (11).
    assert {(p.row, p.column) for p in caught.value.problems} == {(4, "K")}
    ws.cell(4, REASON).value = "盘点更正"
    result = DISTRIBUTION_IMPORT.submit(_upload(_bytes(ws.parent)), user=dist_a)
    assert (result.submitted.updated, result.submitted.unchanged) == (1, 1)


def test_another_enterprises_rows_are_refused(client, office, dist_b, enterprise_a, enterprise_b):
    # The office's template holds both enterprises; the outsider reporter uploads it.
    client.force_login(office)
    ws = _template(client).active
    for row in range(4, 7):
        _fill(ws, row, (1, 1, 1, 1))
    with pytest.raises((ImportRefused, ImportInvalid)):
        DISTRIBUTION_IMPORT.submit(_upload(_bytes(ws.parent)), user=dist_b)
    assert not DistributionReport.objects.exists()


def test_officers_and_leadership_cannot_import(client, officer, leader):
    for user in (officer, leader):
        client.force_login(user)
        assert client.get(URL).status_code == 403
        assert client.get(TEMPLATE_URL).status_code == 403


def test_the_template_is_named_by_its_title_and_date(client, dist_a, enterprise_a, settings):
    client.force_login(dist_a)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    disposition = client.get(TEMPLATE_URL)["Content-Disposition"]
    # The ASCII fallback is the English title and the day of the download (2020-02-20).
    assert 'filename="distribution-enterprise-reports-2020-02-20.xlsx"' in disposition
