"""The request as the office sends it: a print-ready xlsx from the one exporter base, with
the title block, the table of the item, the justification (formula-safe) and the signature
lines."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from procurement.services import national_request_create


@pytest.fixture
def request_up(frozen_time, office, n95):
    # The justification starts with "=": a spreadsheet must show it as text, never run it.
    return national_request_create(
        user=office,
        item=n95,
        quantity=120_000,
        net_requirement=95_000,
        justification='=HYPERLINK("http://evil.example","缺口")',
    )


def _sheet(response):
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = workbook.worksheets[0]
    return sheet, [[cell.value for cell in row] for row in sheet.iter_rows()]


def test_the_export_holds_the_request_as_sent(client, office, request_up, settings):
    settings.LANGUAGE_CODE = "en"
    client.force_login(office)
    response = client.get(
        reverse("procurement:national_request_export", args=[request_up.number]),
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 200
    assert "SQ-2020-001" in response["Content-Disposition"]
    sheet, rows = _sheet(response)
    # The title block (4 rows), then the header on row 5.
    assert rows[0][0] == "Request for national allocation"
    assert "Request SQ-2020-001" in rows[1][0]
    assert rows[4] == [
        "No.",
        "Item code",
        "Item",
        "Specification",
        "Unit",
        "Net requirement",
        "Quantity requested",
        "Sent on",
    ]
    # The table of items: one row, the item with its quantities.
    assert rows[5][:3] == [1, "FH001", "N95 respirator"]
    assert rows[5][5:7] == [95_000, 120_000]
    assert rows[5][7].date().isoformat() == "2020-02-20"
    texts = [row[1] for row in rows[6:] if row[1]]
    # The justification is text with a leading apostrophe: never a formula.
    assert texts[0] == "Justification"
    assert texts[1] == '\'=HYPERLINK("http://evil.example","缺口")'
    assert sheet.cell(row=9, column=2).data_type == "s"
    # The signature lines.
    assert texts[2:] == [
        "Prepared by (signature):",
        "Checked by (signature):",
        "Head of the office (signature and seal):",
        "Date:",
    ]
    # Print-ready: landscape A4, the header repeated on each page.
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.print_title_rows in ("5:5", "$5:$5")


def test_leadership_may_read_it_officers_may_not(client, leader, outsider, request_up):
    url = reverse("procurement:national_request_export", args=[request_up.number])
    client.force_login(leader)
    assert client.get(url).status_code == 200
    client.force_login(outsider)
    assert client.get(url).status_code == 403


def test_an_unknown_request_is_a_404(client, office, db):
    client.force_login(office)
    url = reverse("procurement:national_request_export", args=["SQ-2020-999"])
    assert client.get(url).status_code == 404
