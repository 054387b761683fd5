"""The demo province: `load_demo` gives a believable, deterministic, idempotent Gansu.

Loading 23,000 daily figures takes a few seconds, so the module loads the demo once, inside
a transaction rolled back when the module ends; each test still runs in its own savepoint
(the `db` fixture), so what one test changes is gone before the next.
"""

import datetime as dt
import hashlib
import io
from collections import defaultdict

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum

from allocation.models import BatchReceipt, Destination, DispatchBatch, DispatchBatchLine, Donation
from inventory.management.commands.ledger_verify import ledger_drift
from inventory.models import (
    FIGURE_FIELDS,
    RESERVE_KINDS,
    AdjustmentReason,
    CountyDailyFigure,
    DailyFigure,
    StockBalance,
    StockEvent,
    StockEventKind,
    StockEventLine,
    Warehouse,
    WarehouseKind,
)
from inventory.selectors import reserve_stock_at
from production.models import (
    Licence,
    Problem,
    Producer,
    ProductionLine,
    ProductionReport,
    RawMaterial,
)
from reports.models import (
    ProvinceRollup,
    ReportingState,
    ReportingStatus,
    SnapshotBuild,
    SnapshotRow,
)
from reports.province import GANSU, province_read
from reports.province.generate import ledger_events
from supplycoord.lib.dates import cutoff_for
from supplycoord.models import (
    County,
    Item,
    ItemCategory,
    Norm,
    Prefecture,
    ProtectedStaff,
    Role,
    StaffCategory,
    User,
)
from supplycoord.selectors import key_items

DEMO = province_read(GANSU)
DEMO_START, DEMO_DAYS, DEMO_USERS = DEMO.start, DEMO.days, DEMO.users
LAST_DAY = DEMO_START + dt.timedelta(days=DEMO_DAYS - 1)


# What the demo writes, model by model (pinned below against the Python modules it replaced).
PINNED_MODELS = (
    Prefecture,
    County,
    Item,
    User,
    ProtectedStaff,
    Norm,
    DailyFigure,
    Warehouse,
    StockEvent,
    StockEventLine,
    StockBalance,
    Destination,
    Donation,
    DispatchBatch,
    DispatchBatchLine,
    BatchReceipt,
    Producer,
    ProductionLine,
    Licence,
    RawMaterial,
    ProductionReport,
    Problem,
)


def demo_ledger_events(**arguments):
    return ledger_events(DEMO, **arguments)


def daily_figures_checksum(*, start: dt.date = DEMO_START, days: int = DEMO_DAYS) -> str:
    """A SHA-256 over every figure of the date range, by codes: equal data, equal checksum."""
    digest = hashlib.sha256()
    end = start + dt.timedelta(days=days - 1)
    rows = (
        DailyFigure.objects.filter(date__range=(start, end))
        .order_by("date", "prefecture__code", "item__code")
        .values_list(
            "date",
            "prefecture__code",
            "item__code",
            *FIGURE_FIELDS,
            "first_submitted_at",
            "on_time",
        )
    )
    for date, prefecture, item, *values, submitted_at, on_time in rows.iterator(chunk_size=5000):
        line = f"{date}|{prefecture}|{item}|{values}|{submitted_at.timestamp()}|{on_time}\n"
        digest.update(line.encode())
    return digest.hexdigest()


def load_demo() -> str:
    out = io.StringIO()
    call_command("load_demo", "--historical", stdout=out)
    return out.getvalue()


def counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (
            Prefecture,
            Item,
            StaffCategory,
            ProtectedStaff,
            User,
            DailyFigure,
            Warehouse,
            StockEvent,
            StockEventLine,
            StockBalance,
        )
    } | {"figure history": DailyFigure.history.count()}


def wipe_daily_figures():
    """Empty the figure tables as a fresh database would have them (no per-row signals): the
    prefectures' and the counties' (金昌市's rows are derived from its counties')."""
    with connection.cursor() as cursor:
        for model in (
            DailyFigure.history.model,
            DailyFigure,
            CountyDailyFigure.history.model,
            CountyDailyFigure,
        ):
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")


@pytest.fixture
def demo(demo_loaded, db):
    """The demo province, loaded once per module; changes made by a test are rolled back."""


def test_it_loads_gansu_the_catalogue_and_one_user_per_role(demo):
    """15 prefectures (14 GB + Lanzhou New Area), ≥30 items in 4 categories, every role."""
    assert Prefecture.objects.filter(is_gb_code=True).count() == 14
    assert Prefecture.objects.get(is_gb_code=False).code == "LZXQ"
    assert Item.objects.count() >= 30
    assert set(Item.objects.values_list("category", flat=True)) == set(ItemCategory.values)
    roles = {user.effective_role for user in User.objects.all()}
    assert roles == set(Role.values)
    assert User.objects.get(username="lanzhou_officer").prefecture.code == "620100"
    assert User.objects.get(username="tianshui_officer").prefecture.code == "620500"
    assert User.objects.get(username="admin").is_superuser


def test_it_gives_the_demo_users_their_documented_passwords(demo):
    """Each demo user logs in with the password printed by `demo_users`."""
    for demo_user in DEMO_USERS:
        assert User.objects.get(username=demo_user.username).check_password(demo_user.password)
    out = io.StringIO()
    call_command("demo_users", stdout=out)
    assert "Demo-2020-office" in out.getvalue() and "lanzhou_officer" in out.getvalue()


def test_it_sizes_protected_staff_by_prefecture(demo):
    """Every prefecture has staff in every category, and Lanzhou more than Jiayuguan."""
    categories = StaffCategory.objects.count()
    assert ProtectedStaff.objects.count() == Prefecture.objects.count() * categories

    def total(code):
        return sum(
            ProtectedStaff.objects.filter(prefecture__code=code).values_list("count", flat=True)
        )

    assert total("620100") > 10 * total("620200")


def test_it_reports_60_days_for_every_prefecture_and_key_item_but_a_few(demo):
    """60 days from 2020-01-25; only the deliberately missing prefecture-days lack figures."""
    dates = set(DailyFigure.objects.values_list("date", flat=True))
    assert (min(dates), max(dates), len(dates)) == (DEMO_START, LAST_DAY, DEMO_DAYS)
    expected = Prefecture.objects.count() * key_items().count() * DEMO_DAYS
    missing_rows = expected - DailyFigure.objects.count()
    assert 0 < missing_rows <= 10 * key_items().count()
    # A prefecture skips a whole day, never just some items.
    per_day = defaultdict(int)
    for prefecture_id, date in DailyFigure.objects.values_list("prefecture_id", "date"):
        per_day[(prefecture_id, date)] += 1
    assert set(per_day.values()) == {key_items().count()}


def test_it_marks_a_few_reports_late_consistently_with_the_cutoff(demo):
    """Some prefecture-days came in after 16:00; on_time always agrees with the cut-off."""
    late_days = set(DailyFigure.objects.filter(on_time=False).values_list("prefecture_id", "date"))
    assert 3 <= len(late_days) <= 20
    for figure in DailyFigure.objects.only("date", "first_submitted_at", "submitted_at", "on_time"):
        assert figure.on_time == (figure.first_submitted_at <= cutoff_for(figure.date))
        assert figure.submitted_at == figure.first_submitted_at


def test_it_keeps_the_stock_identity_except_for_a_few_inconsistent_reports(demo):
    """stock_d = stock_{d-1} + received_d − consumption_d, but for a handful of reports."""
    previous = {}
    gaps = 0
    rows = DailyFigure.objects.order_by("prefecture_id", "item_id", "date").values_list(
        "prefecture_id", "item_id", "date", "stock", "received", "consumption", "demand"
    )
    for prefecture_id, item_id, date, stock, received, consumption, demand in rows:
        before = previous.get((prefecture_id, item_id, date - dt.timedelta(days=1)))
        if before is not None and stock != before + received - consumption:
            gaps += 1
        previous[(prefecture_id, item_id, date)] = stock
        assert demand >= consumption
    assert 1 <= gaps <= 15


def test_it_draws_stock_falling_then_recovering(demo):
    """Province N95 stock falls over the first weeks, then ends well above where it started."""
    n95 = Item.objects.get(code="FH001")

    def province_stock(day):
        date = DEMO_START + dt.timedelta(days=day)
        return sum(DailyFigure.objects.filter(item=n95, date=date).values_list("stock", flat=True))

    start, trough, end = province_stock(1), province_stock(20), province_stock(DEMO_DAYS - 2)
    assert trough < 0.9 * start
    assert end > 2 * start
    recovery = DailyFigure.objects.filter(
        item=n95, date__range=(DEMO_START + dt.timedelta(days=28), LAST_DAY)
    )
    assert recovery.filter(received__gt=0).count() > 0.9 * recovery.count()


def test_it_changes_nothing_when_run_twice(demo):
    """A second run creates no duplicates: every count, history included, stays the same."""
    before = counts()

    out = load_demo()

    assert counts() == before
    assert "0 created" in out
    assert "0 stock events posted" in out


@pytest.mark.slow  # a second full load: about 3 s
def test_it_writes_the_same_figures_from_scratch(demo):
    """Deterministic: wiping the figures and loading again gives the same checksum."""
    first = daily_figures_checksum()
    wipe_daily_figures()
    assert not DailyFigure.objects.exists()

    load_demo()

    assert DailyFigure.objects.exists()
    assert daily_figures_checksum() == first


def test_it_builds_snapshots_for_one_date(demo):
    """build_snapshots --date gives a row per prefecture and key item, and the completeness."""
    out = io.StringIO()

    call_command("build_snapshots", "--date", LAST_DAY.isoformat(), stdout=out)

    expected = Prefecture.objects.count() * key_items().count()
    assert SnapshotRow.objects.filter(date=LAST_DAY).count() == expected
    build = SnapshotBuild.objects.get(date=LAST_DAY)
    assert build.rows == expected
    # The demo's last day has one late and one missing prefecture, for the overview to show.
    states = list(ReportingStatus.objects.filter(date=LAST_DAY).values_list("state", flat=True))
    assert states.count(ReportingState.LATE) == 1
    assert states.count(ReportingState.MISSING) == 1
    assert f"{expected} rows" in out.getvalue()


def test_the_data_files_load_what_the_python_modules_wrote(demo):
    """Counts and sums taken from `load_demo` before the demo became data (the Python modules
    of commit 7de58a5), on the same database: the data files reproduce them exactly."""
    assert {model.__name__: model.objects.count() for model in PINNED_MODELS} == {
        "Prefecture": 15,
        "County": 86,
        "Item": 44,
        # 6 then; issue 14 added one reporter for each of the 3 distribution enterprises,
        # issue 15 three unit requesters, and for three-level dispatch two prefecture leads,
        # Dingxi's officer and four county officers (榆中县, 陇西县; 金川区 and 永昌县, whose
        # figures 金昌市's rows are derived from).
        "User": 12 + 7,
        "ProtectedStaff": 75,
        "Norm": 20,
        "DailyFigure": 23_244,
        # Three-level dispatch added DX01; 4 receipts into LZ01 and DX01 (3 + 2 + 3 + 3
        # lines) and the issues of the 6 onward batches (4 + 3 + 4 and 3 + 4 + 4 lines); DX01
        # holds 6 items (FH001, FH002, FH003, FH004, XD001, XD005), LZ01 held all it received.
        "Warehouse": 5 + 1,
        "StockEvent": 971 + 4 + 6,
        "StockEventLine": 4_723 + 11 + 22,
        "StockBalance": 41 + 6,
        # 29 then; issue 15 added 3 key units and 4 counties (destinations.csv).
        "Destination": 32 + 4,
        "Donation": 4,
        # + the 6 onward batches (22 lines, each received once) and Dingxi's draft (3 lines).
        "DispatchBatch": 58 + 6 + 1,
        "DispatchBatchLine": 218 + 22 + 3,
        "BatchReceipt": 218 + 22,
        "Producer": 25,
        "ProductionLine": 56,
        "Licence": 16,
        "RawMaterial": 64,
        "ProductionReport": 1_050,
        "Problem": 14,
    }
    assert DailyFigure.objects.aggregate(**{f: Sum(f) for f in FIGURE_FIELDS}) == {
        "stock": 308_865_773,
        "received": 50_826_551,
        "consumption": 45_163_711,
        "demand": 52_914_979,
        "expected_arrivals_3d": 101_156_266,
    }
    # Three-level dispatch (onward.yaml): LZ01 and DX01 received 88,000 + 50,000 from the
    # province's batches and shipped 68,000 + 38,500 onward: + 31,500 on the ledger. The onward
    # batches carry 68,000 + 38,500 and the draft 3,500 (+ 110,000); 96,500 of it arrived (all
    # but half of 620100-2020-003, 10,000, and the draft).
    assert StockEventLine.objects.aggregate(s=Sum("quantity"))["s"] == 1_124_127 + 31_500
    assert DispatchBatchLine.objects.aggregate(q=Sum("quantity"), r=Sum("received_quantity")) == {
        "q": 4_637_000 + 110_000,
        "r": 4_601_000 + 96_500,
    }
    assert ProductionReport.objects.aggregate(
        o=Sum("output"), r=Sum("to_reserve"), s=Sum("factory_stock")
    ) == {"o": 68_923_370, "r": 846_000, "s": 33_005_670}
    assert ProtectedStaff.objects.aggregate(s=Sum("count"))["s"] == 200_110
    assert str(RawMaterial.objects.aggregate(s=Sum("stock"))["s"]) == "15778.830"
    assert ProductionLine.objects.aggregate(s=Sum("daily_capacity"))["s"] == 3_408_000


# --- the reserve ledger -----------------------------------------------------------------


def test_it_sets_up_the_reserve_and_three_prefecture_warehouses(demo):
    """Two provincial reserve warehouses, a producer's held reserve, Lanzhou's, Tianshui's and
    (three-level dispatch) Dingxi's."""
    kinds = dict(Warehouse.objects.values_list("code", "kind"))
    assert kinds == {
        "SZ01": WarehouseKind.PROVINCIAL_RESERVE,
        "SZ02": WarehouseKind.PROVINCIAL_RESERVE,
        "DC01": WarehouseKind.PRODUCER_HELD,
        "LZ01": WarehouseKind.PREFECTURE,
        "TS01": WarehouseKind.PREFECTURE,
        "DX01": WarehouseKind.PREFECTURE,
    }
    sz01 = Warehouse.objects.get(code="SZ01")
    assert (sz01.name_zh, sz01.prefecture.code) == ("省级医疗物资储备一库", "620100")
    assert Warehouse.objects.get(code="TS01").prefecture.code == "620500"
    assert Warehouse.objects.get(code="DX01").prefecture.code == "621100"


def test_it_posts_sixty_days_of_every_kind_of_event(demo):
    """Receipts from all four outside sources, dispatches, one damaged-goods adjustment, one
    count with a small difference, one reversal of a receipt, all within the demo's days."""
    events = StockEvent.objects.all()
    first, last = (
        events.order_by("occurred_at").first().occurred_at,
        events.order_by("occurred_at").last().occurred_at,
    )
    assert first.date() >= DEMO_START and last.date() <= LAST_DAY
    assert set(
        events.filter(kind=StockEventKind.RECEIPT).values_list("receipt_source", flat=True)
    ) >= {"national_allocation", "purchase", "donation", "own_production", "transfer_in"}
    assert events.filter(kind=StockEventKind.ISSUE, warehouse__code="SZ01").count() > 20
    adjustment = events.get(kind=StockEventKind.ADJUSTMENT)
    assert adjustment.adjustment_reason == AdjustmentReason.DAMAGED
    count = events.get(kind=StockEventKind.COUNT)
    differences = sorted(count.lines.values_list("quantity", flat=True))
    assert differences[0] < 0 and all(abs(d) <= 50 for d in differences)
    reversal = events.get(kind=StockEventKind.REVERSAL)
    assert reversal.reverses.kind == StockEventKind.RECEIPT
    assert sorted(reversal.lines.values_list("quantity", flat=True)) == sorted(
        -q for q in reversal.reverses.lines.values_list("quantity", flat=True)
    )


def test_it_holds_a_believable_n95_reserve_equal_to_its_ledger(demo):
    """The reserve's N95 balance is Σ of its lines, in the tens of thousands or more."""
    reserve = Warehouse.objects.filter(kind__in=RESERVE_KINDS)
    balance = sum(
        StockBalance.objects.filter(warehouse__in=reserve, item__code="FH001").values_list(
            "quantity", flat=True
        )
    )
    lines = sum(
        StockEventLine.objects.filter(warehouse__in=reserve, item__code="FH001").values_list(
            "quantity", flat=True
        )
    )
    assert balance == lines
    assert 10_000 <= balance <= 1_000_000
    assert ledger_drift() == []


def test_it_builds_a_rollup_with_the_reserve_on_the_last_day(demo):
    """build_snapshots puts the ledger's reserve beside prefecture stock in the rollup."""
    call_command("build_snapshots", "--date", LAST_DAY.isoformat(), stdout=io.StringIO())

    rollup = ProvinceRollup.objects.get(date=LAST_DAY, item__code="FH001")
    assert rollup.reserve_stock > 0
    assert rollup.reserve_stock == reserve_stock_at(LAST_DAY)[rollup.item_id]


def test_it_generates_the_same_ledger_every_time():
    """Deterministic: the same seed gives the same events, client UUIDs included."""
    arguments = {
        "item_codes": {"FH001", "FH002", "XD002"},
        "pack_sizes": {"FH001": 20, "FH002": 50, "XD002": 20},
        "prefecture_names": {"620100": "兰州市", "620500": "天水市", "620400": "白银市"},
    }

    first = demo_ledger_events(**arguments)

    assert first == demo_ledger_events(**arguments)
    assert len({event["client_uuid"] for event in first}) == len(first)
