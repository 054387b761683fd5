"""The daily report (CSV and xlsx) and the spot-check notice list write people's text as
text, never as a formula."""

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from django.urls import reverse

from reports.models import SpotCheckFlag, SpotCheckFollowUp
from reports.services import snapshot_build_for_date
from reports.spotchecks import spot_check_follow_up_record
from supplycoord.exports import TITLE_ROWS
from supplycoord.models import Item, Prefecture
from tests.factories import DailyFigureFactory
from tests.reports.test_decision_pages import D, seed

TZ = ZoneInfo("Asia/Shanghai")
LINK, PLUS, MINUS, AT, TAB = '=HYPERLINK("http://x")', "+1", "-1+2", "@SUM(A1)", "\tx"


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2020, 2, 20, 18, 0, tzinfo=TZ), tick=False):
        yield


def test_the_daily_report_writes_peoples_text_as_text(client, leader, lanzhou, tianshui, n95):
    for prefecture in (lanzhou, tianshui):
        DailyFigureFactory(prefecture=prefecture, item=n95, date=D, stock=100, consumption=10)
    snapshot_build_for_date(date=D)
    # Names written past the doors on purpose: the export must not trust what is stored.
    Prefecture.objects.filter(pk=lanzhou.pk).update(name_zh=LINK)
    Prefecture.objects.filter(pk=tianshui.pk).update(name_zh=TAB)
    Item.objects.filter(pk=n95.pk).update(name_zh=AT)
    client.force_login(leader)
    prefecture, item, stock = 2, 4, 6

    response = client.get(reverse("reports:export", args=["csv"]), {"date": D.isoformat()})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    _header, *lines, _totals, _province_n95 = list(csv.reader(io.StringIO(text)))
    assert sorted(line[prefecture] for line in lines) == sorted(["'" + LINK, "'" + TAB])
    assert {line[item] for line in lines} == {"'" + AT}
    assert {line[stock] for line in lines} == {"100"}

    response = client.get(reverse("reports:export", args=["xlsx"]), {"date": D.isoformat()})
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(min_row=TITLE_ROWS + 2, max_row=TITLE_ROWS + 3))
    assert sorted(row[prefecture].value for row in rows) == sorted(["'" + LINK, "'" + TAB])
    assert {(row[item].value, row[item].data_type) for row in rows} == {("'" + AT, "s")}
    assert {row[prefecture].data_type for row in rows} == {"s"}
    assert {(row[stock].value, row[stock].data_type) for row in rows} == {(100, "n")}


def test_the_spot_check_notice_list_writes_peoples_text_as_text(
    client, office, lanzhou, tianshui, n95
):
    seed(n95, 7, first=[lanzhou, tianshui])
    flag = SpotCheckFlag.objects.get()
    spot_check_follow_up_record(user=office, flag=flag, action="explained", note="x")
    SpotCheckFollowUp.objects.update(note=PLUS)
    Prefecture.objects.filter(pk=lanzhou.pk).update(name_zh=MINUS)
    Item.objects.filter(pk=n95.pk).update(name_zh=LINK)
    client.force_login(office)

    response = client.get(reverse("reports:spot_check_notice"), {"date": D.isoformat()})

    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    prefecture, item, figure, *_rest, note = next(sheet.iter_rows(min_row=TITLE_ROWS + 2))
    for cell, attack in ((prefecture, MINUS), (item, LINK), (note, PLUS)):
        assert (cell.value, cell.data_type) == ("'" + attack, "s")
    assert (figure.value, figure.data_type) == (5.0, "n")
