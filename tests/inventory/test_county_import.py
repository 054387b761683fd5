"""The counties' Excel import (issue 15 §3): the prefectures' template and reading, for the
counties of a prefecture reporting as their sum; and Lanzhou's own rows refused in the
prefectures' import while it does. Lanzhou = 榆中县 (A) + 皋兰县 (B); Tianshui enters its own."""

import io

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from inventory.imports import XLSX_CONTENT_TYPE
from inventory.models import CountyDailyFigure, DailyFigure
from tests.inventory.county_world import *  # noqa: F403 - the fixtures
from tests.inventory.county_world import TODAY

URL = reverse("inventory:county_import")
TEMPLATE_URL = reverse("inventory:county_import_template")
DAILY_URL = reverse("inventory:daily_import")
HEADERS = [
    "County code",
    "County",
    "Item code",
    "Item",
    "Unit",
    "Last stock",
    "Stock",
    "Received",
    "Consumption",
    "Demand",
    "Expected arrivals within 3 days",
]


def _xlsx(rows, headers=HEADERS) -> bytes:
    """A workbook in the template's layout: title, a labelled date, a hint, headers, rows."""
    workbook = Workbook()
    ws = workbook.active
    ws.append(["County daily figures"])
    ws.append(["Date", TODAY])
    ws.append(["hint"])
    ws.append(headers)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _row(owner, figures=(100, 20, 10, 12, 5), item="FH001"):
    return [owner, "", item, "", "", None, *figures]


def _post(client, content, url=URL):
    upload = SimpleUploadedFile("counties.xlsx", content, content_type=XLSX_CONTENT_TYPE)
    return client.post(url, {"file": upload})


def _problems(response):
    return [(p.row, p.field, str(p.message)) for p in response.context["problems"]]


def test_a_county_officer_fills_its_template_and_the_second_county_completes_lanzhou(
    client, summed, n95, county_officer, gaolan_officer
):
    client.force_login(county_officer)
    response = client.get(TEMPLATE_URL)
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    ws = workbook.worksheets[0]
    assert ws["B2"].value.date() == TODAY
    rows = {ws.cell(row, 3).value: row for row in range(5, ws.max_row + 1)}
    assert set(rows) == {"FH001"}
    assert ws.cell(rows["FH001"], 1).value == "620123"
    for column, value in zip(range(7, 12), (100, 20, 10, 12, 5), strict=True):
        ws.cell(rows["FH001"], column).value = value
    buffer = io.BytesIO()
    workbook.save(buffer)

    assert _post(client, buffer.getvalue()).status_code == 302
    assert CountyDailyFigure.objects.get(county__code="620123").stock == 100
    assert not DailyFigure.objects.exists()

    client.force_login(gaolan_officer)
    assert _post(client, _xlsx([_row("620122", (50, 10, 5, 6, 0))])).status_code == 302
    figure = DailyFigure.objects.get(prefecture=summed, item=n95, date=TODAY)
    assert (figure.stock, figure.received, figure.consumption, figure.demand) == (150, 30, 15, 18)


def test_a_county_officers_file_may_leave_its_county_out(client, summed, n95, county_officer):
    client.force_login(county_officer)

    response = _post(client, _xlsx([_row(None)]))

    assert response.status_code == 302
    assert CountyDailyFigure.objects.get().county.code == "620123"


def test_the_offices_template_holds_every_county_reporting(client, summed, qinzhou, n95, office):
    client.force_login(office)

    response = client.get(TEMPLATE_URL)

    ws = load_workbook(io.BytesIO(response.content)).worksheets[0]
    codes = [ws.cell(row, 1).value for row in range(5, ws.max_row + 1)]
    assert codes == ["620122", "620123"]  # not Tianshui's 秦州区


def test_a_row_of_another_county_is_refused_at_its_cell(client, summed, n95, gaolan_officer):
    client.force_login(gaolan_officer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = _post(client, _xlsx([_row("620122"), _row("620123")]))

    assert response.status_code == 400
    assert _problems(response) == [
        (
            6,
            "county",
            "County 620123 is not yours: you may only import the figures of your own county.",
        )
    ]
    assert not CountyDailyFigure.objects.exists()


def test_a_county_of_tianshui_is_refused_at_its_county(
    client, summed, qinzhou, n95, qinzhou_officer
):
    client.force_login(qinzhou_officer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = _post(client, _xlsx([_row("620502")]))

    assert response.status_code == 400
    assert _problems(response) == [
        (
            5,
            "county",
            "Tianshui does not report as the sum of its counties: its officers enter its figures.",
        )
    ]
    assert not CountyDailyFigure.objects.exists()


@pytest.mark.parametrize(
    ("figures", "field"),
    [
        ((-1, 0, 0, 0, 0), "stock"),
        ((1, 10**20, 0, 0, 0), "received"),
        ((1, 0, "x", 0, 0), "consumption"),
    ],
)
def test_bad_figures_are_refused_at_their_cells(client, summed, n95, office, figures, field):
    client.force_login(office)

    response = _post(client, _xlsx([_row("620122"), _row("620123", figures)]))

    assert response.status_code == 400
    assert [(row, f) for row, f, _m in _problems(response)] == [(6, field)]
    assert not CountyDailyFigure.objects.exists()


# --- The prefectures' import while Lanzhou reports as the sum of its counties -------------------

DAILY_HEADERS = ["Prefecture code", *HEADERS[1:]]


def test_lanzhous_own_rows_are_refused_in_the_prefectures_import(client, summed, n95, office):
    client.force_login(office)

    response = _post(client, _xlsx([_row("620100")], headers=DAILY_HEADERS), url=DAILY_URL)

    assert response.status_code == 400
    [(row, field, message)] = _problems(response)
    assert (row, field) == (5, "prefecture")
    assert message.startswith("兰州市")  # in Chinese by default: 兰州市按区县合计报送…
    assert not DailyFigure.objects.exists()


def test_the_prefectures_template_of_all_leaves_lanzhou_out(client, summed, tianshui, n95, office):
    client.force_login(office)

    response = client.get(reverse("inventory:daily_import_template"))

    ws = load_workbook(io.BytesIO(response.content)).worksheets[0]
    codes = [ws.cell(row, 1).value for row in range(5, ws.max_row + 1)]
    assert codes == ["620500"]
    choices = client.get(DAILY_URL).context["prefectures"]
    assert [p.code for p in choices] == ["620500"]
