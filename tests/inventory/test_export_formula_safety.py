"""The stock card export writes people's text (counterparty, source document, recorder) as
text, never as a formula, in CSV and xlsx alike."""

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from django.urls import reverse

from inventory import services
from inventory.models import IssueKind, ReceiptSource, StockEvent
from supplycoord.exports import TITLE_ROWS
from tests.factories import WarehouseFactory

TZ = ZoneInfo("Asia/Shanghai")
ATTACKS = ['=HYPERLINK("http://x")', "+1", "-1+2", "@SUM(A1)", "\tx"]


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2020, 2, 10, 18, 0, tzinfo=TZ), tick=False):
        yield


@pytest.fixture
def poisoned_card(office, n95):
    """Five events on SZ01's N95 card, each counterparty and source document an attack, and
    a recorder whose name is one."""
    reserve = WarehouseFactory(code="SZ01")
    services.stock_receive(
        user=office, warehouse=reserve, lines=[(n95, 1000)], source=ReceiptSource.PURCHASE
    )
    for _attack in ATTACKS[1:]:
        services.stock_issue(
            user=office, warehouse=reserve, lines=[(n95, 10)], issue_kind=IssueKind.DISPATCH
        )
    for event, attack in zip(StockEvent.objects.order_by("pk"), ATTACKS, strict=True):
        # Written past the doors on purpose: the export must not trust what is stored.
        StockEvent.objects.filter(pk=event.pk).update(counterparty=attack, source_document=attack)
    type(office).objects.filter(pk=office.pk).update(first_name="=1+1", last_name="")
    return reserve


def test_the_stock_card_writes_peoples_text_as_text(client, office, poisoned_card):
    client.force_login(office)
    url = reverse("inventory:stock_card_export", args=["SZ01", "FH001", "csv"])
    text = b"".join(client.get(url).streaming_content).decode("utf-8-sig")
    header, *lines = list(csv.reader(io.StringIO(text)))
    body = lines[1:-1]  # between the opening and the closing balance
    counterparty, source = 4, 5
    assert [line[counterparty] for line in body] == ["'" + a for a in ATTACKS]
    assert [line[source] for line in body] == ["'" + a for a in ATTACKS]
    assert {line[-2] for line in body} == {"'=1+1"}
    # Numbers stay numbers: no apostrophe before a quantity or a balance.
    assert [line[-3] for line in body] == ["1000", "990", "980", "970", "960"]

    url = reverse("inventory:stock_card_export", args=["SZ01", "FH001", "xlsx"])
    content = b"".join(client.get(url).streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    rows = list(sheet.iter_rows(min_row=TITLE_ROWS + 3, max_row=TITLE_ROWS + 2 + len(ATTACKS)))
    for row, attack in zip(rows, ATTACKS, strict=True):
        for cell in (row[counterparty], row[source]):
            assert (cell.value, cell.data_type) == ("'" + attack, "s")
        assert (row[-2].value, row[-2].data_type) == ("'=1+1", "s")
        assert row[-3].data_type == "n"
