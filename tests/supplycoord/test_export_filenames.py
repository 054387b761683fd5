"""Every download is named in the UI language of the request that asks for it: the export's
title as a file name, then its dates and codes (调拨台账-2020-02-01-2020-02-10.xlsx,
allocation-ledger-2020-02-01-2020-02-10.xlsx); the Excel import templates too. The
Content-Disposition gives the name as RFC 5987 `filename*` (UTF-8, percent-encoded) after
an ASCII `filename` (the English name) for clients that cannot read it. A background job's
file keeps the name (and the language) of the request that made it, as its headers do; the
list of exports shows what each job exported in the reader's language."""

import datetime as dt
import importlib
import re
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from allocation.exports import AllocationLedgerExport, AllocationSummaryExport, DonationLedgerExport
from allocation.request_exports import EmergencyDemandListExport
from inventory.exports import StockCardExport
from procurement.exports import NationalRequestExport, PurchaseOrderLinesExport
from procurement.services import national_request_create
from production.exports import ProducerRegister, ProductionLedger
from reports.exports import DailyReportExport, SpotCheckNoticeExport
from reports.services import snapshot_build_for_date
from supplycoord.exports import Exporter, export_job_ascii_filename
from supplycoord.lib.exports import MAX_STEM_LENGTH, ascii_name, attachment_header, download_name
from supplycoord.models import ExportJob
from tests.factories import DailyFigureFactory, ProvinceFactory, WarehouseFactory

TZ = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2020, 2, 10)
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2020, 2, 10, 18, 0, tzinfo=TZ), tick=False):
        yield


@pytest.fixture
def world(lanzhou, n95, office):
    ProvinceFactory()
    WarehouseFactory(code="SZ01")
    national_request_create(user=office, item=n95, quantity=100, justification="疫情防控急需")


# exporter, its filters, its name in Chinese, in English. Dates and codes follow the title as
# each exporter declares them (filename_parts): the period asked for, else today (2020-02-10).
EXPORTS = [
    (
        AllocationLedgerExport,
        {"from": "2020-02-01", "to": "2020-02-10"},
        "调拨台账-2020-02-01-2020-02-10",
        "allocation-ledger-2020-02-01-2020-02-10",
    ),
    (DonationLedgerExport, {}, "捐赠物资台账-2020-02-10", "donation-ledger-2020-02-10"),
    (
        StockCardExport,
        {"warehouse_code": "SZ01", "item_code": "FH001", "from": "2020-02-01"},
        "库存卡片-SZ01-FH001-2020-02-01",
        "stock-card-SZ01-FH001-2020-02-01",
    ),
    (ProducerRegister, {}, "生产企业名录-2020-02-10", "producer-register-2020-02-10"),
    (
        ProductionLedger,
        {"date_from": "2020-02-03", "date_to": "2020-02-09", "item": "FH001"},
        "生产台账-2020-02-03-2020-02-09-FH001",
        "production-ledger-2020-02-03-2020-02-09-FH001",
    ),
    (
        DailyReportExport,
        {"date": "2020-02-09", "prefecture": "620100"},
        "日报汇总-兰州市-2020-02-09",
        "daily-report-Lanzhou-2020-02-09",
    ),
    (
        SpotCheckNoticeExport,
        {"date": "2020-02-09"},
        "比对抽查通报名单-2020-02-09",
        "spot-check-notice-list-2020-02-09",
    ),
    (
        NationalRequestExport,
        {"number": "SQ-2020-001"},
        "申请国家调拨-SQ-2020-001",
        "request-for-national-allocation-SQ-2020-001",
    ),
    (PurchaseOrderLinesExport, {}, "采购订单-2020-02-10", "purchase-orders-2020-02-10"),
    (
        EmergencyDemandListExport,
        {"urgency": "urgent"},
        "紧急物品需求清单-2020-02-10",
        "emergency-demand-list-2020-02-10",
    ),
]


def _all_exporters():
    found, todo = set(), [Exporter]
    for module in ("allocation", "inventory", "procurement", "production", "reports"):
        importlib.import_module(f"{module}.exports")
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if not sub.__module__.startswith("tests"):
                found.add(sub)
    return found


def test_every_exporter_of_the_product_is_named_here():
    """A new exporter joins EXPORTS, so its names are checked in both languages. The ledger's
    summary is a second sheet of the ledger's workbook, never a file of its own."""
    assert _all_exporters() == {e[0] for e in EXPORTS} | {AllocationSummaryExport}


@pytest.mark.parametrize(("exporter", "params", "chinese", "english"), EXPORTS)
@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_each_export_is_named_in_the_ui_language(
    world, office, exporter, params, chinese, english, fmt
):
    assert exporter(office, params).filename(fmt) == f"{chinese}.{fmt}"
    with translation.override("en"):
        assert exporter(office, params).filename(fmt) == f"{english}.{fmt}"
    # The ASCII fallback is the English name, whatever the UI language.
    assert exporter(office, params).ascii_filename(fmt) == f"{english}.{fmt}"


def test_the_disposition_gives_the_utf8_name_and_an_ascii_fallback():
    header = attachment_header(
        "调拨台账-2020-02-10.xlsx", fallback="allocation-ledger-2020-02-10.xlsx"
    )
    assert header == (
        'attachment; filename="allocation-ledger-2020-02-10.xlsx"; '
        "filename*=utf-8''%E8%B0%83%E6%8B%A8%E5%8F%B0%E8%B4%A6-2020-02-10.xlsx"
    )
    # Without a fallback the name itself, kept to printable ASCII.
    assert attachment_header("库存卡片-SZ01.csv") == (
        f"attachment; filename=\"SZ01.csv\"; filename*=utf-8''{quote('库存卡片-SZ01.csv')}"
    )


@pytest.mark.parametrize(
    ("title", "parts", "expected"),
    [
        ("Allocation ledger", ["2020-02-10"], "allocation-ledger-2020-02-10.csv"),
        (
            "日报汇总",
            ["Linxia Hui Autonomous Prefecture", ""],
            "日报汇总-Linxia-Hui-Autonomous-Prefecture.csv",
        ),
        # A code as typed, with what a file system refuses: no "/", no "..", no quote.
        ("库存卡片", ["SZ/01", "../../FH001", "..", 'a"b'], "库存卡片-SZ-01-FH001-a-b.csv"),
        ("", [], "export.csv"),
    ],
)
def test_a_download_name_holds_nothing_a_file_system_refuses(title, parts, expected):
    assert download_name(title, parts, "csv") == expected


def test_a_download_name_drops_bidirectional_controls():
    """A right-to-left override, an isolate or a mark typed into a code or a name would change
    the order a file manager shows the name in; none is kept, in the name or the header."""
    assert (
        download_name("库存卡片", ["SZ\u202e01", "\u2066FH001\u2069", "\u200f"], "csv")
        == "库存卡片-SZ01-FH001.csv"
    )
    header = attachment_header("库存卡片-\u202axlsx.exe.csv")
    assert "\u202a" not in header and "%E2%80%AA" not in header
    assert header.endswith(f"filename*=utf-8''{quote('库存卡片-xlsx.exe.csv')}")


def test_a_download_name_is_cut_to_a_length_every_file_system_keeps():
    # 日报汇总 (4) + "-" + 7 × 30 = 215 characters before the extension: cut to 150.
    name = download_name("日报汇总", ["临夏回族自治州" * 30, "2020-02-10"], "xlsx")
    assert MAX_STEM_LENGTH == 150
    assert name == f"日报汇总-{('临夏回族自治州' * 30)[:145]}.xlsx"
    # A cut that ends on a hyphen drops it: 149 letters, "-", "b" → the 149 letters.
    assert download_name("a" * 149, ["b"], "csv") == f"{'a' * 149}.csv"


def test_an_ascii_name_drops_what_is_not_printable_ascii():
    assert ascii_name("日报汇总-兰州市-2020-02-09.xlsx") == "2020-02-09.xlsx"
    assert ascii_name("日报汇总.xlsx") == "export.xlsx"
    assert ascii_name('a"b\\c.csv') == "abc.csv"


# --- Through the pages ------------------------------------------------------------------------


@pytest.fixture
def built(world, lanzhou, n95):
    DailyFigureFactory(prefecture=lanzhou, item=n95, date=TODAY, stock=500)
    snapshot_build_for_date(date=TODAY)


def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_the_daily_report_download_is_named_in_the_pages_language(client, leader, built):
    client.force_login(leader)
    url = reverse("reports:export", args=["csv"])
    query = {"date": "2020-02-10", "prefecture": "620100"}

    chinese = client.get(url, query)["Content-Disposition"]
    assert chinese == (
        'attachment; filename="daily-report-Lanzhou-2020-02-10.csv"; '
        f"filename*=utf-8''{quote('日报汇总-兰州市-2020-02-10.csv')}"
    )
    assert english(client).get(url, query)["Content-Disposition"] == (
        'attachment; filename="daily-report-Lanzhou-2020-02-10.csv"; '
        "filename*=utf-8''daily-report-Lanzhou-2020-02-10.csv"
    )


@pytest.mark.parametrize(
    ("language", "name"),
    [("zh-hans", "日报汇总-2020-02-10.xlsx"), ("en", "daily-report-2020-02-10.xlsx")],
)
def test_a_background_export_keeps_the_name_of_the_request_that_made_it(
    client, leader, built, settings, django_capture_on_commit_callbacks, language, name
):
    """Asked in `language`, the file is written in it (headers, title block) and named in it;
    read later in the other language, the download keeps that name, and the list says what it
    is in the reader's language."""
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "DAILY_REPORT_EXPORT_ASYNC_ROWS": 0}
    client.force_login(leader)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    with django_capture_on_commit_callbacks(execute=True):
        client.get(reverse("reports:export", args=["xlsx"]), {"date": "2020-02-10"})
    job = ExportJob.objects.get()
    assert (job.filename, job.language) == (name, language)

    english(client)
    download = client.get(reverse("exports:download", args=[job.pk]))
    # The ASCII fallback is the English name, as for a download made at once.
    assert download["Content-Disposition"] == (
        'attachment; filename="daily-report-2020-02-10.xlsx"; '
        f"filename*=utf-8''{quote(name, safe='')}"
    )
    listed = client.get(reverse("exports:list")).content.decode()
    assert "<td>Daily report</td>" in listed and "<td>日报汇总</td>" not in listed
    page = client.get(reverse("exports:job", args=[job.pk])).content.decode()
    assert "<h1>Daily report</h1>" in page

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert "<td>日报汇总</td>" in client.get(reverse("exports:list")).content.decode()


def test_an_import_template_is_named_in_the_pages_language(client, officer, world):
    client.force_login(officer)
    url = reverse("inventory:daily_import_template")

    chinese = client.get(url)["Content-Disposition"]
    assert chinese == (
        'attachment; filename="daily-figures-Lanzhou-2020-02-10.xlsx"; '
        f"filename*=utf-8''{quote('日报填报-兰州市-2020-02-10.xlsx')}"
    )
    in_english = english(client).get(url)["Content-Disposition"]
    assert "filename*=utf-8''daily-figures-Lanzhou-2020-02-10.xlsx" in in_english
    assert not CJK.search(in_english)


@pytest.mark.parametrize(
    ("exporter", "language", "filename", "fallback"),
    [
        (
            "reports.exports.DailyReportExport",
            "zh-hans",
            "日报汇总-2020-02-09.xlsx",
            "daily-report-2020-02-09.xlsx",
        ),
        # A prefecture's Chinese name after the title has no ASCII to keep: left out.
        (
            "reports.exports.DailyReportExport",
            "zh-hans",
            "日报汇总-兰州市-2020-02-09.xlsx",
            "daily-report-2020-02-09.xlsx",
        ),
        (
            "inventory.exports.StockCardExport",
            "zh-hans",
            "库存卡片-SZ01-FH001-2020-02-01.csv",
            "stock-card-SZ01-FH001-2020-02-01.csv",
        ),
        (
            "allocation.exports.AllocationLedgerExport",
            "en",
            "allocation-ledger-2020-02-01-2020-02-10.xlsx",
            "allocation-ledger-2020-02-01-2020-02-10.xlsx",
        ),
        # An exporter that is gone: the stored name, made ASCII.
        ("gone.exports.OldExport", "zh-hans", "旧台账-2020-02-09.xlsx", "2020-02-09.xlsx"),
    ],
)
def test_a_jobs_ascii_fallback_is_its_english_title_and_the_dates_it_was_named_with(
    exporter, language, filename, fallback
):
    """The dates and codes are those of the job's name (its "today" was the day it was asked
    for), the title the exporter's English one, whatever the reader's language."""
    fmt = filename.rpartition(".")[2]
    job = ExportJob(exporter=exporter, language=language, file_format=fmt, filename=filename)
    assert export_job_ascii_filename(job) == fallback
