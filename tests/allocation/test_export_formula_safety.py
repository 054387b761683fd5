"""The allocation ledger (CSV through COPY, xlsx and its 汇总 sheet) and the donation ledger
write people's text as text, never as a formula."""

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from allocation.models import Destination, DispatchBatch, Donation
from allocation.services import donation_receive
from supplycoord.exports import TITLE_ROWS
from supplycoord.models import Item
from tests.allocation.conftest import dispatched_batch

pytestmark = pytest.mark.usefixtures("frozen_time")

LINK, PLUS, MINUS, AT, TAB = '=HYPERLINK("http://x")', "+1", "-1+2", "@SUM(A1)", "\tx"


@pytest.fixture
def poisoned_ledger(office, leader, stocked, to_lanzhou, n95, masks):
    """One dispatched batch of N95 and masks whose names, destination, dispatcher and number
    are attacks (written past the doors: the export must not trust what is stored)."""
    batch = dispatched_batch(office, leader, stocked, to_lanzhou, [(n95, 100), (masks, 50)])
    Destination.objects.filter(pk=to_lanzhou.pk).update(name_zh=LINK)
    Item.objects.filter(pk=n95.pk).update(specification=PLUS)
    Item.objects.filter(pk=masks.pk).update(name_zh=MINUS)
    type(office).objects.filter(pk=office.pk).update(first_name=AT, last_name="")
    DispatchBatch.objects.filter(pk=batch.pk).update(number=TAB)
    return batch


def test_the_allocation_ledger_writes_peoples_text_as_text(client, office, poisoned_ledger):
    client.force_login(office)

    response = client.get(reverse("allocation:ledger_csv"))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    _header, *lines, _totals = list(csv.reader(io.StringIO(text)))
    number, destination, item, specification, discrepancy, handled_by = 0, 7, 9, 10, 17, 18
    for line in lines:
        assert line[number] == "'" + TAB
        assert line[destination] == "'" + LINK
        assert line[handled_by] == "'" + AT
    assert sorted(line[specification] for line in lines) == ["", "'" + PLUS]
    assert "'" + MINUS in {line[item] for line in lines}
    assert sorted(line[discrepancy] for line in lines) == ["-100", "-50"]  # numbers, bare

    response = client.get(reverse("allocation:ledger_xlsx"))
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    ledger, summary = book.worksheets
    cells = [cell for row in ledger.iter_rows(min_row=TITLE_ROWS + 2) for cell in row if cell.value]
    texts = {cell.value for cell in cells if cell.data_type == "s"}
    assert {"'" + v for v in (TAB, LINK, AT, PLUS, MINUS)} <= texts
    assert not [cell for cell in cells if cell.data_type == "f"]
    discrepancies = [
        row[discrepancy] for row in ledger.iter_rows(min_row=TITLE_ROWS + 2, max_row=TITLE_ROWS + 3)
    ]
    assert sorted(cell.value for cell in discrepancies) == [-100, -50]
    summary_cells = [cell for row in summary.iter_rows() for cell in row if cell.value]
    assert "'" + LINK in {cell.value for cell in summary_cells if cell.data_type == "s"}
    assert not [cell for cell in summary_cells if cell.data_type == "f"]


def test_the_donation_ledger_writes_peoples_text_as_text(client, office, sz01, n95):
    for donor in (LINK, PLUS, MINUS, AT, TAB):
        donation_receive(
            user=office, warehouse=sz01, donor_name="x", donor_kind="organisation", lines=[(n95, 1)]
        )
        Donation.objects.filter(pk=Donation.objects.latest("pk").pk).update(donor_name=donor)
    client.force_login(office)

    response = client.get(reverse("allocation:donation_xlsx"))

    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    donors = [row[1] for row in sheet.iter_rows(min_row=TITLE_ROWS + 2)]
    assert sorted(cell.value for cell in donors) == sorted(
        "'" + v for v in (LINK, PLUS, MINUS, AT, TAB)
    )
    assert {cell.data_type for cell in donors} == {"s"}
