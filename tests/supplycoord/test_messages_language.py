"""Messages are worded in the reader's language, with names (not codes) and grouped numbers:
a flash message after a save is worded at once for the person who saved, in their language;
a text another reader sees later is kept as fields (or nothing) and worded when shown.

Frozen on 2020-02-10 10:00 in Shanghai.
"""

import datetime as dt
import re
import types
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import translation

from allocation import services as allocation_services
from allocation.models import BatchStatus, BatchTransition, Destination, DestinationKind
from inventory.imports import DAILY_IMPORT
from inventory.models import ReceiptSource, WarehouseKind
from inventory.services import InsufficientStock, Shortfall, stock_receive
from production.imports import REPORT_IMPORT
from production.models import LineStatus, Producer, ProductionLine, ProductionReport
from production.services import production_reports_submit
from supplycoord import bulk
from supplycoord.bulk import SubmitResult, import_counts
from tests.allocation.conftest import make_batch
from tests.factories import ItemFactory, ProvinceFactory, WarehouseFactory

TZ = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2020, 2, 10)
CJK = re.compile(r"[\u4e00-\u9fff]")
ENTRY_URL = reverse("inventory:daily_entry")


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2020, 2, 10, 10, 0, tzinfo=TZ), tick=False):
        yield


def english(client, user):
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def flashed(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def items(n95):
    return [n95, ItemFactory(code="XD001", name_zh="84消毒液", name_en="84 disinfectant")]


def entry(items):
    data = {"date": TODAY.isoformat()}
    for item in items:
        for field in ("stock", "received", "consumption", "demand", "expected_arrivals_3d"):
            data[f"{item.code}-{field}"] = 10
    return data


def test_the_message_after_a_daily_save_names_the_prefecture_in_english(client, officer, items):
    response = english(client, officer).post(ENTRY_URL, entry(items))
    assert response.status_code == 302
    [message] = flashed(response)
    assert (
        message == "Saved the figures of Lanzhou for 2020-02-10: 2 new, 0 corrected, 0 unchanged."
    )
    assert not CJK.search(message)


@pytest.fixture
def a_large_save(monkeypatch):
    """A grid whose save created 1,234 rows, corrected 56 and left 7,890 alone (a grid of one
    prefecture has one row per key item; the counts are the pipeline's, so its result is
    stood in for here)."""

    def submitted(kind, request, **kwargs):
        return SubmitResult(created=1234, updated=56, unchanged=7890), []

    monkeypatch.setattr(bulk, "entry_grid_submit", submitted)


def test_the_counts_of_a_bulk_save_are_grouped_in_english(client, officer, items, a_large_save):
    [message] = flashed(english(client, officer).post(ENTRY_URL, entry(items)))
    assert message == (
        "Saved the figures of Lanzhou for 2020-02-10: 1,234 new, 56 corrected, 7,890 unchanged."
    )
    assert not CJK.search(message)


def test_the_counts_of_a_bulk_save_are_grouped_in_chinese(client, officer, items, a_large_save):
    client.force_login(officer)
    [message] = flashed(client.post(ENTRY_URL, entry(items)))
    assert message == "已保存兰州市 2020-02-10的数据：新增1,234条，更正56条，未变动7,890条。"


def test_the_counts_of_an_import_are_grouped():
    """12,345 rows read: 12,000 new, 338 corrected, 0 unchanged, 7 without figures."""
    result = types.SimpleNamespace(
        rows=12_345, skipped=7, submitted=SubmitResult(created=12_000, updated=338)
    )
    with translation.override("en"):
        assert DAILY_IMPORT.messages()["imported"] % import_counts(result) == (
            "Imported 12,345 rows: 12,000 new, 338 corrected, 0 unchanged; "
            "7 rows without figures skipped."
        )
        assert REPORT_IMPORT.messages()["imported"] % import_counts(result) == (
            "Imported 12,345 production reports: 12,000 new, 338 corrected, 0 unchanged; "
            "7 rows without figures skipped."
        )
    assert DAILY_IMPORT.messages()["imported"] % import_counts(result) == (
        "已导入12,345行：新增12,000条，更正338条，未变0条；跳过无数据的行7行。"
    )


def test_a_stock_shortfall_names_the_item_and_groups_its_figures(n95):
    """12,345 asked of a warehouse holding 1,000: the item by its name in the reader's
    language, never its code, and both figures grouped, in the ledger's refusal and the
    batch's alike."""
    shortfall = Shortfall(item=n95, requested=12_345, available=1_000)
    with translation.override("en"):
        assert InsufficientStock([shortfall]).message == (
            "Not enough stock. N95 respirator: 12,345 requested, 1,000 available."
        )
        assert allocation_services.BatchStockShort([shortfall]).message == (
            "The batch cannot be dispatched: not enough stock. "
            "N95 respirator: 12,345 requested, 1,000 available."
        )
    assert InsufficientStock([shortfall]).message == (
        "库存不足：N95口罩：申请数量12,345，可用数量1,000。"
    )


# --- Texts kept for later readers ------------------------------------------------------------


@pytest.fixture
def draft(office, n95, lanzhou):
    ProvinceFactory()
    warehouse = WarehouseFactory(code="SZ01")
    stock_receive(
        user=office, warehouse=warehouse, lines=[(n95, 1000)], source=ReceiptSource.PURCHASE
    )
    destination = Destination.objects.create(
        kind=DestinationKind.PREFECTURE, name_zh="兰州市", name_en="Lanzhou", prefecture=lanzhou
    )
    return make_batch(office, warehouse, destination, [(n95, 100)])


def timeline(client, batch) -> str:
    page = client.get(reverse("allocation:batch_detail", args=[batch.number]))
    assert page.status_code == 200
    html = page.content.decode()
    return html[html.index('id="batch-timeline"') :]


def test_a_draft_edited_in_chinese_reads_in_english_in_its_timeline(client, office, draft):
    """The edit stores no text: the timeline words a draft → draft step when shown."""
    allocation_services.batch_update_draft(
        user=office, batch=draft, expected_version=draft.version, note="加急"
    )
    edit = BatchTransition.objects.get(from_status=BatchStatus.DRAFT, to_status=BatchStatus.DRAFT)
    assert edit.note == ""

    shown = timeline(english(client, office), draft)
    assert "Draft edited." in shown and "草稿已修改" not in shown

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert "草稿已修改。" in timeline(client, draft)


def test_a_draft_edit_stored_with_words_before_reads_in_the_readers_language(client, office, draft):
    """Steps written before this change hold "草稿已修改。" (their editor's language)."""
    allocation_services.batch_update_draft(
        user=office, batch=draft, expected_version=draft.version, note="加急"
    )
    BatchTransition.objects.filter(from_status=BatchStatus.DRAFT).update(note="草稿已修改。")
    shown = timeline(english(client, office), draft)
    assert "Draft edited." in shown and "草稿已修改" not in shown


def test_the_paper_ledger_marker_reads_in_the_readers_language(client, office, draft):
    BatchTransition.objects.filter(batch=draft).update(note=allocation_services.HISTORY_NOTE)
    shown = timeline(english(client, office), draft)
    assert "Migrated from the paper ledger" in shown
    assert allocation_services.HISTORY_NOTE not in shown


def test_a_delivery_into_the_held_reserve_keeps_no_words_of_its_reporters_language(
    lanzhou, n95, reporter
):
    """The receipt says what it is by its fields (own production, PR <credit code> <date>,
    the producer), never by a note in the language of whoever reported."""
    ProvinceFactory()
    held = WarehouseFactory(code="DC09", kind=WarehouseKind.PRODUCER_HELD, prefecture=lanzhou)
    producer = Producer.objects.create(
        name="兰州防护用品厂",
        credit_code="91350100M000100Y43",
        prefecture=lanzhou,
        held_reserve_warehouse=held,
    )
    producer.reporters.add(reporter)
    ProductionLine.objects.create(
        producer=producer, item=n95, daily_capacity=100_000, status=LineStatus.COMMISSIONED
    )
    row = {
        "producer": producer.credit_code,
        "item": n95.code,
        "date": TODAY.isoformat(),
        "output": 80_000,
        "to_reserve": 20_000,
        "factory_stock": 30_000,
    }
    with translation.override("en"):
        production_reports_submit(user=reporter, rows=[row])
    receipt = ProductionReport.objects.get().reserve_receipt
    assert receipt.note == ""
    assert (receipt.receipt_source, receipt.source_document) == (
        ReceiptSource.OWN_PRODUCTION,
        f"PR {producer.credit_code} 2020-02-10",
    )


def test_a_refused_weight_names_the_prefecture_not_its_code(office, lanzhou, tianshui):
    """Weights come keyed by prefecture code (the form's weight-620100); the refusal says
    "Lanzhou", as the page names it, never "620100"."""
    from decimal import Decimal

    from allocation.proposals import ProposalInvalid, proposal_create

    weights = {"620100": (Decimal("0.5"), ""), "620500": (Decimal("2"), "")}
    with translation.override("en"), pytest.raises(ProposalInvalid) as refused:
        proposal_create(
            user=office, name="N95", date=TODAY, warehouses=[], inputs={}, weights=weights
        )
    messages = [message for _row, message in refused.value.errors]
    assert "The weight of Lanzhou must be between 1 and 10." in messages
    assert "Say why Tianshui is weighted." in messages
    assert not any("620100" in m or "620500" in m or CJK.search(m) for m in messages)
