"""A current demo: `load_demo` lays Gansu's story so that its last day is yesterday.

The clock is frozen at 2025-07-15 10:00 in Shanghai, so "yesterday" is 2025-07-14. The
recorded story runs 2020-01-25 – 2020-03-24 (60 days); moved to end on 2025-07-14 it moves by
1,938 days (2020-03-24 → 2025-03-24 is 1,826 days, five years with one leap day, 2024-02-29;
then 7 + 30 + 31 + 30 + 14 = 112 days to 14 July) and starts on 2025-05-16 (59 days before).
The allocation period, 2020-01-27 – 2020-03-10, becomes 2025-05-18 – 2025-06-30.

The shifted demo is loaded once for the module inside a transaction rolled back at its end.
"""

import datetime as dt
import io
import shutil
import zoneinfo

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, F, Max, Min
from django.urls import reverse
from django.utils import timezone

from allocation.models import BatchReceipt, BatchStatus, DestinationKind, DispatchBatch
from allocation.selectors import allocation_totals
from inventory.management.commands.ledger_verify import ledger_drift
from inventory.models import DailyFigure, StockEvent
from procurement.distribution_selectors import distribution_completeness
from procurement.models import DistributionReport, NationalAllocation, PurchaseOrder
from procurement.models import PurchaseOrderLine as Line
from procurement.selectors import overdue_lines_q
from production.models import Licence, Problem, ProductionReport
from reports.province import GANSU, generate, province_read, province_shift
from supplycoord.models import Item, Prefecture
from tests.conftest import commands_run_for_module

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2025, 7, 15, 10, 0, tzinfo=SHANGHAI)
SHIFT = 1938
FIRST_DAY, LAST_DAY = dt.date(2025, 5, 16), dt.date(2025, 7, 14)


@pytest.fixture(scope="module")
def shifted_demo(django_db_setup, django_db_blocker):
    with (
        time_machine.travel(NOW, tick=False),
        commands_run_for_module(django_db_blocker, ["load_demo"]) as out,
    ):
        yield out


@pytest.fixture
def demo(shifted_demo, db):
    with time_machine.travel(NOW, tick=False):
        yield shifted_demo


def test_the_hand_worked_shift():
    assert (dt.date(2025, 7, 14) - dt.date(2020, 3, 24)).days == SHIFT
    province = province_shift(province_read(GANSU), SHIFT)
    assert (province.start, province.last_day) == (FIRST_DAY, LAST_DAY)


def test_the_last_day_is_yesterday(demo):
    span = DailyFigure.objects.aggregate(first=Min("date"), last=Max("date"))
    assert span == {"first": FIRST_DAY, "last": LAST_DAY}
    assert DailyFigure.objects.values("date").distinct().count() == 60
    assert "2025-05-16 – 2025-07-14 (moved +1938 days)" in demo
    # Each step says when it starts (`make run` prints them as the demo loads).
    assert "  daily figures, 60 days …" in demo
    assert demo.index("  reserve ledger …") < demo.index("  producers and production reports …")


def test_the_figures_are_the_recorded_ones_moved(demo):
    """Every figure is the one the recorded story draws for its day, 1,938 days earlier."""
    historical = province_read(GANSU)
    codes = list(
        Prefecture.objects.filter(daily_figures__isnull=False)
        .distinct()
        .order_by("code")
        .values_list("code", flat=True)
    )
    items = [
        generate.FigureItem(i.code, i.category)
        for i in Item.objects.filter(daily_figures__isnull=False).distinct()
    ]
    recorded = {
        (code, item, date + dt.timedelta(days=SHIFT)): (figures["stock"], on_time)
        for code, item, date, figures, _moment, on_time in generate.daily_figures(
            historical, prefecture_codes=codes, items=items
        )
    }
    loaded = {
        (code, item, date): (stock, on_time)
        for code, item, date, stock, on_time in DailyFigure.objects.values_list(
            "prefecture__code", "item__code", "date", "stock", "on_time"
        )
    }
    assert loaded == recorded


def test_the_summary_is_the_same_58_batches_and_4637000_items(demo):
    totals = allocation_totals(dt.date(2025, 5, 18), dt.date(2025, 6, 30))
    by_kind = {row["destination_kind"]: row["quantity"] for row in totals["by_destination_kind"]}
    assert totals["total"] == 4_637_000
    assert totals["batches"] == 58
    assert by_kind == {
        DestinationKind.PROVINCIAL_INSTITUTION: 115_700,
        DestinationKind.AID_TEAM: 117_800,
        DestinationKind.PREFECTURE: 2_350_800,
        DestinationKind.OTHER_PROVINCE: 2_052_700,
    }
    # Numbered in the year they now leave, in the same order.
    numbers = set(
        DispatchBatch.objects.filter(issuing_prefecture=None).values_list("number", flat=True)
    )
    assert numbers == {f"2025-{n:03d}" for n in range(1, 59)}
    # The prefectures' onward batches (onward.yaml) too, in their own series; they left
    # 2020-03-11 – 03-23, now 2025-07-01 – 07-13, after the summary's period. Dingxi's draft,
    # created as the demo is loaded (2025-07-15), follows its three batches of the year.
    prefectures = set(
        DispatchBatch.objects.exclude(issuing_prefecture=None).values_list("number", flat=True)
    )
    assert prefectures == {
        *(f"620100-2025-{n:03d}" for n in (1, 2, 3)),
        *(f"621100-2025-{n:03d}" for n in (1, 2, 3, 4)),
    }
    assert DispatchBatch.objects.get(number="621100-2025-004").status == BatchStatus.DRAFT
    last = DispatchBatch.objects.get(number="2025-058")
    assert last.status == BatchStatus.PARTLY_RECEIVED
    assert BatchReceipt.objects.filter(batch=last, note="分批到货, 余量在途").exists()


def test_the_ledger_is_whole_and_nothing_lies_after_yesterday(demo):
    assert ledger_drift() == []
    last_event = StockEvent.objects.aggregate(last=Max("occurred_at"))["last"]
    assert timezone.localdate(last_event) <= LAST_DAY
    receipts = BatchReceipt.objects.aggregate(last=Max("received_at"))["last"]
    assert timezone.localdate(receipts) <= LAST_DAY


def test_production_problems_and_licences_move_too(demo):
    reports = ProductionReport.objects.aggregate(
        last=Max("date"), days=Count("date", distinct=True)
    )
    assert reports["last"] == LAST_DAY
    # problems.csv: gangu's licence problem was reported 2020-03-14 16:00 → 2025-07-04 16:00.
    problem = Problem.objects.get(description__startswith="一次性医用口罩应急审批")
    assert timezone.localtime(problem.reported_at) == dt.datetime(
        2025, 7, 4, 16, 0, tzinfo=SHANGHAI
    )
    # licences.csv: gangu's emergency approval expired 2020-03-20, 4 days before the last day.
    licence = Licence.objects.get(number="甘药监械应急〔2020〕14号")
    assert licence.expires == dt.date(2025, 7, 10)
    assert (LAST_DAY - licence.expires).days == 4


def test_loading_again_keeps_the_story_where_it_lies(demo):
    """A day later `load_demo` (as `make run` runs it) finds the story and adds nothing."""
    out = io.StringIO()
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        call_command("load_demo", stdout=out)
    assert "2025-05-16 – 2025-07-14" in out.getvalue()
    assert DailyFigure.objects.aggregate(last=Max("date"))["last"] == LAST_DAY
    # The province's 58, the prefectures' 6 onward batches and Dingxi's draft (not again).
    assert DispatchBatch.objects.count() == 58 + 6 + 1


@pytest.mark.parametrize(
    "args",
    [
        ("--as-of", "2025-07-01"),  # already laid on another day
        ("--historical",),
        ("--as-of", "2025-07-15"),  # today
        ("--as-of", "2025-07-16"),  # the future
        ("--as-of", "2025-13-01"),  # not a date
    ],
)
def test_refused_as_of(demo, args):
    with pytest.raises(CommandError):
        call_command("load_demo", *args, stdout=io.StringIO(), stderr=io.StringIO())
    assert DailyFigure.objects.aggregate(last=Max("date"))["last"] == LAST_DAY


def test_build_snapshots_all_builds_the_shifted_days(demo):
    out = io.StringIO()
    call_command("build_snapshots", "--all", stdout=out)
    # `make run` shows where a long build is: a line every 10 dates (the 10th: 05-16 + 9 days).
    assert "  10/60 dates built (up to 2025-05-25)" in out.getvalue()
    assert "  60/60 dates built (up to 2025-07-14)" in out.getvalue()
    assert "Built 60 date(s) (2025-05-16 – 2025-07-14)" in out.getvalue()


def test_an_officer_meets_todays_form_with_yesterdays_stock(demo, client):
    """Lanzhou's officer opens the daily form: today, 2025-07-15, with each key item's stock
    prefilled from Lanzhou's last report (yesterday's, where Lanzhou reported yesterday)."""
    client.login(username="lanzhou_officer", password="Demo-2020-lanzhou")
    response = client.get(reverse("inventory:daily_entry"))
    assert response.status_code == 200
    assert response.context["date"] == dt.date(2025, 7, 15)
    last = {
        item: (stock, date)
        for item, date, stock in DailyFigure.objects.filter(prefecture__code="620100")
        .order_by("item_id", "date")
        .values_list("item_id", "date", "stock")
    }
    rows = response.context["rows"]
    assert rows and all(row.existing is None for row in rows)
    for row in rows:
        assert (row.last_stock, row.last_stock_date) == last[row.item.pk]
        assert row.values["stock"] == last[row.item.pk][0]
    assert max(row.last_stock_date for row in rows) >= LAST_DAY - dt.timedelta(days=1)


def test_the_overview_opens_on_the_last_day_once_built(demo, client):
    call_command("build_snapshots", "--all", stdout=io.StringIO())
    client.login(username="office", password="Demo-2020-office")
    response = client.get(reverse("reports:overview"))
    assert response.status_code == 200
    assert response.context["date"] == LAST_DAY


def test_an_offices_own_folder_keeps_its_dates(demo, tmp_path):
    """`--data DIR` is not moved unless --as-of says so: the same story in another folder asks
    for its recorded dates, which the story laid here (moved 1,938 days) refuses."""
    folder = tmp_path / "own"
    shutil.copytree(GANSU, folder)
    with pytest.raises(CommandError, match="2025-07-14"):
        call_command("load_demo", "--data", str(folder), stdout=io.StringIO())
    # Asked for where it lies, it finds everything in place.
    out = io.StringIO()
    call_command("load_demo", "--data", str(folder), "--as-of", "2025-07-14", stdout=out)
    assert "0 created" in out.getvalue()
    assert DispatchBatch.objects.count() == 58 + 6 + 1


def test_what_is_coming_lies_in_the_days_after_yesterday(demo):
    """The inbound pipeline moves with the story (procurement.yaml, days from the start; day
    59 = yesterday 2025-07-14, day 60 = today): the N95 still due on the partly arrived order
    of yesterday's receipt comes on day 62 = 2025-07-17, the goggles due on day 58 =
    2025-07-13 are overdue today, the placed orders are due 2025-07-16 – 2025-07-27, the
    second national allocation on 2025-07-17; orders are numbered in 2025 (CG-2025-001 …);
    the enterprises' 30 days of reports end yesterday with one on time, one late, one
    missing."""
    today = LAST_DAY + dt.timedelta(days=1)
    open_lines = Line.objects.filter(
        order__status__in=("placed", "partly_arrived"), arrived_quantity__lt=F("quantity")
    )
    due = sorted({line.expected_arrival for line in open_lines if line.expected_arrival >= today})
    assert due[0] == dt.date(2025, 7, 16) and due[-1] == dt.date(2025, 7, 27)
    overdue = Line.objects.filter(overdue_lines_q(today))
    assert [(line.item.code, line.expected_arrival) for line in overdue] == [
        ("FH006", dt.date(2025, 7, 13))
    ]
    assert open_lines.filter(item__code="FH001", expected_arrival=dt.date(2025, 7, 17)).exists()
    assert NationalAllocation.objects.filter(
        arrived_quantity=0, expected_arrival=dt.date(2025, 7, 17)
    ).exists()
    assert all(
        n.startswith("CG-2025-") for n in PurchaseOrder.objects.values_list("number", flat=True)
    )
    span = DistributionReport.objects.aggregate(first=Min("date"), last=Max("date"))
    assert span == {"first": LAST_DAY - dt.timedelta(days=29), "last": LAST_DAY}
    states = sorted(row.state for row in distribution_completeness(LAST_DAY).rows)
    assert states == ["late", "missing", "on_time"]
