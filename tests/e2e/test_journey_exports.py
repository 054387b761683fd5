"""Background exports in a real browser: the office asks for a large 调拨台账 workbook, waits on
its progress page, downloads it, and finds it on the exports page with who asked and when;
an outsider neither sees it listed nor reaches its page."""

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from allocation.models import Destination, DestinationKind
from inventory.models import ReceiptSource
from inventory.services import stock_receive
from supplycoord.exports import HEADER_ROW
from supplycoord.models import ExportJob, ExportStatus
from tests.allocation.conftest import dispatched_batch
from tests.e2e.test_journey_daily_figures import log_in, log_out
from tests.factories import ItemFactory, WarehouseFactory

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


@pytest.fixture
def ledger(office, leader, lanzhou, n95):
    """One batch of 1,000 N95 and 200 masks dispatched to Lanzhou from stock received now
    (the browser's clock is real, so no frozen time here)."""
    masks = ItemFactory(code="FH002", name_zh="医用外科口罩")
    sz01 = WarehouseFactory(code="SZ01")
    stock_receive(
        user=office,
        warehouse=sz01,
        lines=[(n95, 5000), (masks, 2000)],
        source=ReceiptSource.PURCHASE,
    )
    to_lanzhou = Destination.objects.create(
        kind=DestinationKind.PREFECTURE, name_zh="兰州市", prefecture=lanzhou
    )
    return dispatched_batch(office, leader, sz01, to_lanzhou, [(n95, 1000), (masks, 200)])


def test_a_large_ledger_is_exported_in_the_background_and_listed(
    page, settings, office, outsider, ledger
):
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "LEDGER_EXPORT_ASYNC_ROWS": 1}
    log_in(page, "office")

    page.goto("/allocation/batches/")
    with page.expect_navigation():
        page.click("#ledger-xlsx")
    expect(page.locator("#export-ready")).to_be_visible()
    job = ExportJob.objects.get()
    assert (job.status, job.row_count) == (ExportStatus.DONE, 2 + 1)
    with page.expect_download() as download:
        page.click("#export-ready a")
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert book.sheetnames == ["调拨台账", "汇总"]
    assert book.worksheets[0].max_row == HEADER_ROW + 2 + 1

    page.goto("/exports/")
    expect(page.locator(f'#exports tr[data-job="{job.pk}"]')).to_contain_text("调拨台账")
    log_out(page)

    log_in(page, "outsider")
    page.goto("/exports/")
    expect(page.locator("#exports")).to_have_count(0)
    response = page.goto(f"/allocation/export/ledger/{job.pk}/")
    assert response.status == 404
