"""The demo's producers reproduce Gansu's March 2020 capacity figures, deterministically.

The demo is loaded once for the module inside a transaction rolled back at the end (as in
tests/reports/test_load_demo.py); each test runs in its own savepoint.
"""

import datetime as dt
import io
from collections import defaultdict

import pytest
from django.core.management import call_command

from inventory.models import StockBalance, StockEvent, StockEventLine
from production.models import (
    Licence,
    LineStatus,
    Problem,
    ProblemStatus,
    Producer,
    ProductionLine,
    ProductionReport,
    RawMaterial,
)
from production.selectors import (
    capacity_by_item,
    commissioner_desk,
    licences_flagged,
    producers_visible_to,
    utilisation,
    utilisation_flags,
)
from reports.province import GANSU, generate, province_read
from supplycoord.lib.credit_code import is_valid_credit_code
from supplycoord.models import User

DEMO = province_read(GANSU)
MASK_ITEMS = tuple(DEMO.production["mask_items"])
REPORT_DAYS = DEMO.production["report_days"]
REPORT_FIRST_DAY, DEMO_LAST_DAY = generate.report_window(DEMO)


def demo_capacity():
    return generate.capacity(DEMO)


def demo_production_rows():
    return generate.production_rows(DEMO)


def load_demo() -> str:
    out = io.StringIO()
    call_command("load_demo", "--historical", stdout=out)
    return out.getvalue()


@pytest.fixture
def demo(demo_loaded, db):
    """The demo province, loaded once per module; changes made by a test are rolled back."""


def mask_producers():
    return Producer.objects.filter(lines__item__code__in=MASK_ITEMS).distinct()


def test_it_registers_17_mask_producers_with_44_lines(demo):
    assert mask_producers().count() == 17
    lines = ProductionLine.objects.filter(item__code__in=MASK_ITEMS).exclude(
        status=LineStatus.STOPPED
    )
    assert lines.count() == 44


def test_it_sums_mask_capacity_to_3133000_a_day_when_all_built_273000_n95(demo):
    capacity = {item.code: item for item in capacity_by_item()}

    assert sum(capacity[code].when_all_built for code in MASK_ITEMS) == 3_133_000
    assert capacity["FH001"].when_all_built == 273_000
    # Some lines are still being built on the demo's last day.
    assert sum(capacity[code].commissioned for code in MASK_ITEMS) < 3_133_000
    assert capacity["FH001"].commissioned < 273_000


def test_it_has_5_suit_producers_making_10000_a_day(demo):
    suits = capacity_by_item().get(code="FH004")
    assert suits.when_all_built == 10_000
    assert Producer.objects.filter(lines__item__code="FH004").distinct().count() == 5


def test_it_has_disinfectant_producers_and_a_stopped_line_left_out(demo):
    categories = Producer.objects.values_list("product_categories", flat=True)
    assert 2 <= sum(1 for c in categories if "disinfection" in c) <= 3
    stopped = ProductionLine.objects.get(status=LineStatus.STOPPED)
    assert not capacity_by_item().filter(code=stopped.item.code).exists()


def test_it_gives_every_producer_a_valid_credit_code(demo):
    codes = list(Producer.objects.values_list("credit_code", flat=True))
    assert len(codes) == len(set(codes)) >= 25
    assert all(is_valid_credit_code(code) for code in codes)


def test_it_commissions_lines_on_different_days_and_keeps_some_building(demo):
    commissioned = ProductionLine.objects.filter(
        status=LineStatus.COMMISSIONED, item__code__in=MASK_ITEMS
    )
    days = set(commissioned.values_list("actual_commissioning", flat=True))
    assert None not in days
    assert len(days) > 15
    assert min(days) == dt.date(2020, 2, 4)  # 广河新善友's, the province's first mask line
    assert max(days) <= DEMO_LAST_DAY
    assert ProductionLine.objects.filter(
        status__in=[LineStatus.BUILDING, LineStatus.PLANNED], actual_commissioning=None
    ).exists()


def test_it_reports_the_last_30_days_of_the_demo(demo):
    dates = set(ProductionReport.objects.values_list("date", flat=True))
    assert (min(dates), max(dates), len(dates)) == (REPORT_FIRST_DAY, DEMO_LAST_DAY, REPORT_DAYS)
    # A producer-item running before the window has a report on each of its days.
    per_key = defaultdict(int)
    for producer_id, item_id in ProductionReport.objects.values_list("producer_id", "item_id"):
        per_key[(producer_id, item_id)] += 1
    early = ProductionLine.objects.filter(
        status=LineStatus.COMMISSIONED, actual_commissioning__lte=REPORT_FIRST_DAY
    ).values_list("producer_id", "item_id")
    assert all(per_key[key] == REPORT_DAYS for key in early)


def test_it_keeps_the_factory_stock_identity_and_the_held_share_within_it(demo):
    """stock_d = stock_{d-1} + output_d − shipped_d, and held for the province ≤ stock."""
    previous = {}
    for report in ProductionReport.objects.order_by("producer_id", "item_id", "date"):
        key = (report.producer_id, report.item_id)
        before = previous.get((key, report.date - dt.timedelta(days=1)))
        if before is not None:
            assert report.factory_stock == before + report.output - report.shipped
        assert report.held_for_province <= report.factory_stock
        previous[(key, report.date)] = report.factory_stock


def test_it_runs_most_producers_at_70_to_95_percent(demo):
    rows = utilisation(
        producers=Producer.objects.all(), date_from=REPORT_FIRST_DAY, date_to=DEMO_LAST_DAY
    )
    ratios = [row.ratio for row in rows if row.ratio is not None]
    assert len(ratios) == len(rows)
    assert sum(1 for r in ratios if 0.6 <= r <= 1.0) > 0.9 * len(ratios)


def test_it_flags_low_utilisation_on_the_last_day(demo):
    flags = utilisation_flags(producers=Producer.objects.all(), today=DEMO_LAST_DAY)

    assert [(f.producer.name, f.item.code) for f in flags] == [
        ("靖远县黄河医用材料有限公司", "FH003")
    ]


def test_it_links_the_held_reserve_deliveries_to_their_ledger_receipts(demo):
    """广河新善友's deliveries into DC01 are the ledger's own-production receipts, not copies."""
    delivered = ProductionReport.objects.filter(to_reserve__gt=0).select_related(
        "producer__held_reserve_warehouse", "reserve_receipt__warehouse"
    )
    assert delivered.count() >= 30
    for report in delivered:
        assert report.producer.held_reserve_warehouse.code == "DC01"
        receipt = report.reserve_receipt
        assert receipt.warehouse.code == "DC01"
        assert list(receipt.lines.values_list("item_id", "quantity")) == [
            (report.item_id, report.to_reserve)
        ]
    assert not ProductionReport.objects.filter(to_reserve=0, reserve_receipt__isnull=False)


def test_the_commissioner_sees_only_their_three_lanzhou_producers(demo):
    reporter = User.objects.get(username="producer_reporter")

    visible = producers_visible_to(reporter)

    assert visible.count() == 3
    assert set(visible.values_list("prefecture__code", flat=True)) == {"620100"}
    desk = commissioner_desk(reporter, today=DEMO_LAST_DAY)
    assert {p.pk for p in desk.producers} == set(visible.values_list("pk", flat=True))
    assert desk.missing_count == 0
    assert desk.open_problems
    # Their producers' reports were entered by them, the others' by the office.
    submitters = set(
        ProductionReport.objects.filter(producer__in=visible).values_list(
            "submitted_by__username", flat=True
        )
    )
    assert submitters == {"producer_reporter"}
    assert not User.objects.get(username="office").producers.exists()


def test_it_flags_an_expired_licence_and_two_expiring_on_the_last_day(demo):
    flagged = list(licences_flagged(today=DEMO_LAST_DAY))

    assert len(flagged) == 3
    assert sum(1 for licence in flagged if licence.expires < DEMO_LAST_DAY) == 1
    assert Licence.objects.count() > len(flagged)


def test_it_records_raw_materials_with_a_shortage(demo):
    days = [m.days_left for m in RawMaterial.objects.all()]
    assert all(d is not None for d in days)
    assert min(days) == 1
    assert sum(1 for d in days if d >= 4) > 0.8 * len(days)


def test_it_has_problems_open_in_progress_and_resolved(demo):
    problems = Problem.objects.all()
    assert problems.count() >= 12
    statuses = defaultdict(int)
    for problem in problems:
        statuses[problem.status] += 1
        assert problem.reported_at.date() <= DEMO_LAST_DAY
        if problem.status == ProblemStatus.RESOLVED:
            assert problem.resolution and problem.resolved_at > problem.reported_at
    assert min(statuses[s] for s in ProblemStatus.values) >= 2
    assert len(set(problems.values_list("category", flat=True))) >= 6


def test_it_changes_nothing_when_run_twice(demo):
    models = (
        Producer,
        ProductionLine,
        Licence,
        RawMaterial,
        ProductionReport,
        Problem,
        StockEvent,
        StockEventLine,
    )

    def counts():
        return {m.__name__: m.objects.count() for m in models} | {
            f"{m.__name__} history": m.history.count() for m in models if hasattr(m, "history")
        }

    before = counts()
    balances = list(StockBalance.objects.order_by("pk").values_list("pk", "quantity"))

    out = load_demo()

    assert counts() == before
    assert list(StockBalance.objects.order_by("pk").values_list("pk", "quantity")) == balances
    assert "0 producers created" in out and "0 production reports" in out


def test_it_generates_the_same_reports_every_time():
    """Deterministic: the same seed gives the same rows; the capacities are the article's."""
    assert demo_production_rows() == demo_production_rows()
    capacity = demo_capacity()
    assert sum(capacity[c]["when_all_built"] for c in MASK_ITEMS) == 3_133_000
    assert sum(capacity[c]["lines"] for c in MASK_ITEMS) == 44
    assert capacity["FH001"]["when_all_built"] == 273_000
    assert capacity["FH004"]["when_all_built"] == 10_000
