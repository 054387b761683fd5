"""The allocation ledger (调拨台账) at either level (issue 15 §3): each line says who issued its
batch; `level` draws the ledger and its summary (汇总) at the province's level or one
prefecture's; a prefecture's officer and lead get only the batches `scope_batches` gives
them; Tianshui's officer and a county officer get none of Lanzhou's; the issuer's name is
written as text, never as a formula."""

import csv
import io

import pytest
from django.conf import settings
from openpyxl import load_workbook

from allocation.services import batch_approve, batch_create, batch_dispatch
from supplycoord.exports import TITLE_ROWS
from supplycoord.models import Prefecture
from tests.allocation.three_level import *  # noqa: F403
from tests.allocation.three_level import lanzhou_dispatched

pytestmark = pytest.mark.usefixtures("clock_2026")

CSV_URL = "/allocation/export/ledger.csv"
XLSX_URL = "/allocation/export/ledger.xlsx"


@pytest.fixture
def two_levels(office, leader, officer, lead, sz01_2026, lz01, to_yuzhong, lanzhou_itself, n95):
    """Dispatched: the province's 2026-001 (500 N95 to 兰州市), Lanzhou's 620100-2026-001
    (300 N95 to 榆中县) and 620100-2026-002 (40 N95 to 榆中县)."""
    province = batch_create(
        user=office,
        source_warehouse=sz01_2026,
        destination=lanzhou_itself,
        lines=[{"item": n95, "quantity": 500, "channel": "reserve"}],
    )
    province = batch_approve(user=leader, batch=province, expected_version=province.version)
    batch_dispatch(user=office, batch=province, expected_version=province.version)
    lanzhou_dispatched(officer, lead, lz01, to_yuzhong, 300, n95)
    lanzhou_dispatched(officer, lead, lz01, to_yuzhong, 40, n95)


def csv_rows(response):
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    header, *lines, totals = list(csv.reader(io.StringIO(text)))
    return header, lines, totals


def by_number(header, lines, column):
    index = header.index(column)
    return {line[0]: line[index] for line in lines}


def test_each_ledger_line_says_who_issued_its_batch(client, office, two_levels):
    client.force_login(office)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    header, lines, totals = csv_rows(client.get(CSV_URL))

    assert by_number(header, lines, "Issued by") == {
        "2026-001": "Province",
        "620100-2026-001": "Lanzhou",
        "620100-2026-002": "Lanzhou",
    }
    assert int(totals[header.index("Quantity")]) == 500 + 300 + 40


def test_the_ledger_in_chinese_names_lanzhou_by_its_chinese_name(client, office, two_levels):
    client.force_login(office)

    header, lines, _totals = csv_rows(client.get(CSV_URL))

    assert header[0] == "批次编号"
    issued = by_number(header, lines, header[5])
    assert issued["620100-2026-001"] == issued["620100-2026-002"] == "兰州市"


def test_the_level_draws_the_ledger_at_either_level(client, office, two_levels):
    client.force_login(office)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    header, province, province_totals = csv_rows(client.get(CSV_URL, {"level": "province"}))
    _header, lanzhou, lanzhou_totals = csv_rows(client.get(CSV_URL, {"level": "620100"}))

    quantity = header.index("Quantity")
    assert [line[0] for line in province] == ["2026-001"]
    assert int(province_totals[quantity]) == 500
    assert [line[0] for line in lanzhou] == ["620100-2026-001", "620100-2026-002"]
    assert int(lanzhou_totals[quantity]) == 300 + 40
    assert client.get(CSV_URL, {"level": "nowhere"}).status_code == 400


def test_the_summary_sheet_of_lanzhous_level_sums_its_own_batches(client, office, two_levels):
    client.force_login(office)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get(XLSX_URL, {"level": "620100"})
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)

    rows = [
        (*row, None, None)[:3]
        for row in book["Summary"].iter_rows(values_only=True)
        if any(row) and row[0] != "Grouping"
    ]
    body = rows[rows.index(("Number of batches", None, 2)) :]
    # 2 batches, 300 + 40 = 340 N95, all to 榆中县; nothing of the province's 500 to 兰州市.
    assert body == [
        ("Number of batches", None, 2),
        ("Total", None, 340),
        ("By destination kind", "County", 340),
        ("By destination", "Yuzhong", 340),
        ("By item", "FH001", 340),
        ("By channel", "Reserve", 340),
    ]
    # The title block says the ledger was drawn at Lanzhou's level.
    assert any("Issued by: Lanzhou" in str(row[0]) for row in rows[: rows.index(body[0])])


@pytest.mark.parametrize("who", ["officer", "lead"])
def test_lanzhous_officer_and_lead_export_lanzhous_batches_at_both_levels(
    client, request, who, two_levels
):
    client.force_login(request.getfixturevalue(who))

    _header, lines, _totals = csv_rows(client.get(CSV_URL))

    # The province's batch to 兰州市 and Lanzhou's own two: what scope_batches gives them.
    assert [line[0] for line in lines] == ["2026-001", "620100-2026-001", "620100-2026-002"]


def test_tianshuis_officer_exports_nothing_of_lanzhous(client, outsider, two_levels):
    client.force_login(outsider)

    _header, lines, totals = csv_rows(client.get(CSV_URL, {"level": "620100"}))

    assert lines == []
    assert totals[0] == "合计"


def test_a_county_officer_has_no_ledger(client, county_officer, two_levels):
    client.force_login(county_officer)

    assert client.get(CSV_URL).status_code == 403
    assert client.get(XLSX_URL).status_code == 403


def test_the_issuers_name_is_written_as_text_not_as_a_formula(client, office, two_levels, lanzhou):
    link = '=HYPERLINK("http://x")'
    Prefecture.objects.filter(pk=lanzhou.pk).update(name_zh=link)
    client.force_login(office)

    header, lines, _totals = csv_rows(client.get(CSV_URL, {"level": "620100"}))
    assert {line[5] for line in lines} == {"'" + link}

    response = client.get(XLSX_URL, {"level": "620100"})
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    cells = [
        cell
        for row in book.worksheets[0].iter_rows(min_row=TITLE_ROWS + 2)
        for cell in row
        if cell.value
    ]
    assert "'" + link in {cell.value for cell in cells if cell.data_type == "s"}
    assert not [cell for cell in cells if cell.data_type == "f"]
