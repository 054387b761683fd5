"""The demo's inbound pipeline (issue 14, section 6): its purchases come from purchase orders of
invented suppliers and reserve-task units, a request for national allocation with its
announcements, three distribution enterprises with 30 days of reports; every dispatched
purchased item leads back to its order. Counts are worked out from the data files
(supplycoord/data/demo/gansu/: ledger.yaml, allocation.yaml, procurement.yaml and the CSVs).

The historical demo is loaded once for the module (days as the files write them: day 0 =
2020-01-25, the last day 59 = 2020-03-24, "today" of the story = day 60).
"""

import datetime as dt
import io
import math
from collections import defaultdict

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from allocation.models import BatchStatus, Channel, DispatchBatchLine
from inventory.models import DailyFigure, ReceiptSource, StockEvent, StockEventKind
from procurement.distribution_selectors import distribution_completeness
from procurement.inbound import inbound_by_item
from procurement.models import (
    DistributionEnterprise,
    DistributionReport,
    NationalAllocation,
    NationalAllocationArrival,
    NationalRequest,
    NationalRequestStatus,
    OrderArrival,
    OrderArrivalLine,
    OrderPayment,
    OrderStatus,
    OrderTransition,
    OrderYearSequence,
    PurchaseOrder,
    PurchaseOrderLine,
    ReserveUnit,
    Supplier,
    SupplierCapability,
    SupplierOrigin,
)
from procurement.selectors import capital_lines, overdue_lines_q
from reports.province import GANSU, province_read
from reports.province.generate import batch_plan
from supplycoord.lib.credit_code import is_valid_credit_code
from supplycoord.lib.dates import cutoff_for, local_date
from supplycoord.models import Item, Role, User

DEMO = province_read(GANSU)
START, LAST_DAY = DEMO.start, DEMO.last_day
TODAY = LAST_DAY + dt.timedelta(days=1)  # the story's "today": day 60
SPEC = DEMO.procurement


def day(t: int) -> dt.date:
    return START + dt.timedelta(days=t)


@pytest.fixture
def demo(demo_loaded, db):
    """The historical demo, loaded once per module; each test rolls back its own changes."""


def purchase_groups() -> set:
    """(warehouse, ISO week) of the batches' purchase lines: allocation.yaml's purchase
    receipts, one per group (generate.batch_reserve_receipts)."""
    return {
        (b.warehouse, b.day.isocalendar()[1])
        for b in batch_plan(DEMO)
        for _item, channel, _q, _d in b.lines
        if channel == Channel.PURCHASE
    }


def test_every_purchase_receipt_is_the_arrival_of_one_order(demo):
    """ledger.yaml buys every 3 days: days 2, 5, …, 59 = 20 receipts; its mistaken purchase is
    booked into SZ02, reversed and booked again into SZ01: 1 more order (the reversed receipt
    is not an arrival); allocation.yaml's batches draw on 12 purchase receipts (one per
    warehouse and ISO week with purchase lines). procurement.yaml adds 3 placed orders and 1
    cancelled draft: 20 + 1 + 12 + 3 + 1 = 37 orders."""
    assert len(purchase_groups()) == 12
    assert PurchaseOrder.objects.count() == 20 + 1 + 12 + 3 + 1 == 37
    receipts = StockEvent.objects.filter(
        kind=StockEventKind.RECEIPT, receipt_source=ReceiptSource.PURCHASE
    )
    reversed_ = receipts.filter(reversed_by__isnull=False)
    assert reversed_.count() == 1
    linked = receipts.filter(order_arrival__isnull=False)
    assert linked.count() == receipts.count() - 1 == 33
    # Each names its order (a receipt's document is the order's number) and its supplier.
    for event in linked.select_related("order_arrival__order__supplier"):
        order = event.order_arrival.order
        assert event.source_document == order.number
        assert event.counterparty == order.supplier.name
        assert event.order_arrival.arrived_at == event.occurred_at
    # The receipt booked into the wrong warehouse cites the order it was booked again for.
    wrong = reversed_.get()
    assert PurchaseOrder.objects.filter(number=wrong.source_document).exists()


def test_the_orders_arrived_exactly_what_the_receipts_hold(demo):
    """An arrival's lines are its receipt's lines, item by item, and the order lines' arrived
    quantities are the sums of their arrival lines: the ledger is what it was."""
    for arrival in OrderArrival.objects.prefetch_related(
        "lines__order_line", "receipt_event__lines"
    ):
        booked = {line.item_id: line.quantity for line in arrival.receipt_event.lines.all()}
        arrived = {line.order_line.item_id: line.quantity for line in arrival.lines.all()}
        assert arrived == booked
    for line in PurchaseOrderLine.objects.all():
        total = line.arrival_lines.aggregate(s=Sum("quantity"))["s"] or 0
        assert line.arrived_quantity == total <= line.quantity


def test_the_orders_numbers_run_without_gaps_in_the_order_they_were_placed(demo):
    """CG-2020-001 … CG-2020-037, by the moment each was created; the office's next order
    of 2020 follows them."""
    orders = list(PurchaseOrder.objects.order_by("created_at", "pk"))
    assert [o.number for o in orders] == [f"CG-2020-{n:03d}" for n in range(1, 38)]
    assert OrderYearSequence.objects.get(year=2020).last_number == 37


def test_some_orders_are_still_open_and_one_is_overdue(demo):
    """procurement.yaml: the orders of the receipts of days 56 and 59 are partly arrived (day
    59's waits for 20,000 N95 on day 62; day 56's for 2,000 goggles on day 58: overdue), three
    orders are placed with nothing arrived (expected days 61–72), one draft was cancelled; the
    other 31 orders arrived, were paid and closed (paid 2–6 days after, all by day 59)."""
    statuses = defaultdict(int)
    for status in PurchaseOrder.objects.values_list("status", flat=True):
        statuses[status] += 1
    assert dict(statuses) == {
        OrderStatus.CLOSED: 31,
        OrderStatus.PARTLY_ARRIVED: 2,
        OrderStatus.PLACED: 3,
        OrderStatus.CANCELLED: 1,
    }
    # Overdue "today" (day 60) and on the last day alike: only the goggles of day 56's order.
    for on in (TODAY, LAST_DAY):
        overdue = PurchaseOrderLine.objects.filter(overdue_lines_q(on))
        assert [(line.item.code, line.outstanding, line.expected_arrival) for line in overdue] == [
            ("FH006", 2000, day(58))
        ]
    # Still to come in the next 14 days from today: 20,000 N95 (day 62), and the placed
    # orders' 60,000 N95 (61), 200,000 surgical masks (64), 8,000 suits and 12,000 gowns (66),
    # 100,000 N95 (70), 5,000 suits (72).
    coming = defaultdict(int)
    for line in PurchaseOrderLine.objects.filter(
        order__status__in=(OrderStatus.PLACED, OrderStatus.PARTLY_ARRIVED),
        expected_arrival__gte=TODAY,
        expected_arrival__lte=TODAY + dt.timedelta(days=14),
    ):
        coming[line.item.code] += line.outstanding
    assert dict(coming) == {
        "FH001": 20000 + 60000 + 100000,
        "FH002": 200000,
        "FH004": 8000 + 5000,
        "FH005": 12000,
    }


def test_the_inbound_figures_of_the_last_day(demo):
    """reports.md "Inbound" as of day 59, windows [59, 62] and [59, 73]. N95: the partly
    arrived order's 20,000 (day 62) and the placed order's 60,000 (day 61) in 3 days, the
    overseas order's 100,000 (day 70) in 14 only; the announced 20,000 (day 62); plus the
    distribution enterprises' N95 in transit reported for day 59 (金城 only: 河西 is missing
    that day, 陇东南 does not report N95). Suits: 8,000 (day 66) + 5,000 (day 72) in 14 days,
    plus 金城's suits in transit.
    Goggles: 2,000 overdue (day 58), in neither window."""
    items = {code: Item.objects.get(code=code) for code in ("FH001", "FH004", "FH006")}
    figures = inbound_by_item(LAST_DAY, items=list(items.values()))
    in_transit = DistributionReport.objects.get(
        item=items["FH001"], date=LAST_DAY
    ).purchase_in_transit
    n95 = figures[items["FH001"].pk]
    assert (n95.orders_3d, n95.orders_14d) == (20_000 + 60_000, 20_000 + 60_000 + 100_000)
    assert (n95.national_3d, n95.national_14d) == (20_000, 20_000)
    assert n95.distribution_in_transit == in_transit
    assert n95.inbound_3d == 100_000 + in_transit
    assert n95.inbound_14d == 200_000 + in_transit
    suits = figures[items["FH004"].pk]
    suits_in_transit = DistributionReport.objects.get(  # 金城 reports suits too
        item=items["FH004"], date=LAST_DAY
    ).purchase_in_transit
    assert (suits.orders_3d, suits.orders_14d, suits.overdue) == (0, 8_000 + 5_000, 0)
    assert suits.inbound_14d == 13_000 + suits_in_transit
    goggles = figures[items["FH006"].pk]
    assert (goggles.inbound_3d, goggles.inbound_14d, goggles.overdue) == (0, 0, 2_000)


def test_every_order_has_its_audit_trail_at_the_moments_it_happened(demo):
    """Created → placed → arrived (or partly) → closed, one transition each, by the office
    user, in time order, before the last day ends; the version counts the transitions; the
    cancelled draft was never placed."""
    office = User.objects.get(username="office")
    end = timezone.make_aware(dt.datetime.combine(TODAY, dt.time()))
    for order in PurchaseOrder.objects.prefetch_related("transitions"):
        steps = list(order.transitions.all())
        assert [t.at for t in steps] == sorted(t.at for t in steps)
        assert all(t.by == office and t.at < end for t in steps)
        assert order.version == len(steps)
        assert steps[-1].to_status == order.status
        if order.status == OrderStatus.CANCELLED:
            assert [t.to_status for t in steps] == [OrderStatus.DRAFT, OrderStatus.CANCELLED]
            assert order.placed_at is None
        else:
            assert steps[1].to_status == OrderStatus.PLACED and steps[1].at == order.placed_at
    assert OrderTransition.objects.count() == 31 * 4 + 2 * 3 + 3 * 2 + 1 * 2


def test_payments_stay_within_the_orders_and_the_capital_lines(demo):
    """Closed orders are paid in full; the placed N95 order was paid 30 % in advance; no
    reserve-task unit's commitments and payments exceed its 2,000万元 line."""
    for order in PurchaseOrder.objects.filter(status=OrderStatus.CLOSED):
        amount = sum(line.amount for line in order.lines.all())
        assert order.payments.aggregate(s=Sum("amount"))["s"] == amount
    advance = PurchaseOrder.objects.get(note__startswith="按省指挥部要求")
    # 60,000 × 6.50 + 200,000 × 1.10 = 610,000.00 yuan; 30 % = 183,000.00.
    assert advance.payments.get().amount == 183000
    assert OrderPayment.objects.count() == 31 + 1
    lines = capital_lines()
    assert [line.granted for line in lines] == [20_000_000, 20_000_000]
    assert not any(line.over for line in lines)


def test_every_dispatched_purchased_item_leads_back_to_its_order(demo):
    """The chain: a batch line of channel purchase leaves from its batch's source warehouse;
    the batches of one warehouse and ISO week draw on one purchase receipt posted at 08:00 of
    their first dispatch day, holding exactly what they dispatch of each item; that receipt
    is an order's arrival and names the order. So for every (warehouse, week, item) the
    dispatched quantity equals the arrival line of an order holding a line of that item, and
    the 1,351,500 purchased items dispatched (issue 14) all lead to orders."""
    dispatched = defaultdict(int)
    lines = DispatchBatchLine.objects.filter(
        channel=Channel.PURCHASE,
        batch__status__in=(
            BatchStatus.DISPATCHED,
            BatchStatus.PARTLY_RECEIVED,
            BatchStatus.RECEIVED,
        ),
    ).select_related("batch__source_warehouse", "item")
    for line in lines:
        when = local_date(line.batch.dispatched_at)
        key = (line.batch.source_warehouse_id, when.isocalendar()[1], line.item_id)
        dispatched[key] += line.quantity
    assert sum(dispatched.values()) == 1_351_500

    arrived = {}
    for arrival_line in OrderArrivalLine.objects.select_related(
        "arrival__receipt_event", "order_line__order"
    ):
        event = arrival_line.arrival.receipt_event
        if event.note != "调拨批次备货入库":  # allocation.yaml's receipts.note
            continue
        week = local_date(event.occurred_at).isocalendar()[1]
        key = (event.warehouse_id, week, arrival_line.order_line.item_id)
        assert event.source_document == arrival_line.order_line.order.number
        arrived[key] = arrival_line.quantity
    assert dispatched == arrived


def test_the_suppliers_and_units_are_invented_and_labelled(demo):
    """suppliers.csv: 6 suppliers (2 in the province, 3 in others, 1 abroad), each named
    "（示例）", the Chinese ones with a valid GB 32100 credit code of their region;
    supplier_items.csv: 23 offers, every scarce item (procurement.yaml: FH001, FH004, FH005,
    FH006) offered by at least two; reserve_units.csv: 2 units keeping SZ01 and SZ02."""
    suppliers = list(Supplier.objects.all())
    assert len(suppliers) == 6 and all("（示例）" in s.name for s in suppliers)
    origins = defaultdict(int)
    for supplier in suppliers:
        origins[supplier.origin] += 1
        if supplier.origin == SupplierOrigin.ABROAD:
            assert supplier.credit_code is None
        else:
            assert is_valid_credit_code(supplier.credit_code)
    assert dict(origins) == {"in_province": 2, "other_province": 3, "abroad": 1}
    assert SupplierCapability.objects.count() == 23
    scarce = set(Item.objects.filter(scarce=True).values_list("code", flat=True))
    assert scarce == {"FH001", "FH004", "FH005", "FH006"}
    for code in scarce:
        assert SupplierCapability.objects.filter(item__code=code).count() >= 2
    units = {
        u.name: sorted(u.warehouses.values_list("code", flat=True))
        for u in ReserveUnit.objects.all()
    }
    assert sorted(units.values()) == [["SZ01"], ["SZ02"]]
    assert all("（示例）" in name for name in units)


def test_the_national_request_rests_on_the_computed_net_requirement(demo):
    """Request SQ-2020-001 for N95 sent on day 47 (2020-03-12): its net requirement is Σ over
    the prefectures that reported that day of max(0, 7-day average consumption × 14 − stock −
    expected arrivals 3d), recomputed here from the daily figures; the quantity asked is it
    rounded up to 10,000 (74,416 → 80,000)."""
    request = NationalRequest.objects.get()
    sent = day(47)
    assert (request.number, request.item.code, request.sent_on) == ("SQ-2020-001", "FH001", sent)
    rows = DailyFigure.objects.filter(
        item__code="FH001", date__range=(sent - dt.timedelta(days=6), sent)
    )
    used, today = defaultdict(list), {}
    for row in rows:
        used[row.prefecture_id].append(row.consumption)
        if row.date == sent:
            today[row.prefecture_id] = row
    net = sum(
        max(0, sum(used[p]) / len(used[p]) * 14 - r.stock - r.expected_arrivals_3d)
        for p, r in today.items()
    )
    assert request.net_requirement == math.ceil(net) == 74_416
    assert request.quantity == 80_000
    assert f"净需求{request.net_requirement:,}" in request.justification


def test_the_announced_allocations_arrived_and_still_expected(demo):
    """The N95 of the national consignment of day 53 (国联防物资调〔2020〕8号, 58,800) is the
    arrival of the first allocation, linked to that receipt; the second, 20,000 expected on
    day 62, has not arrived. The request is partly granted: 78,800 of 80,000."""
    request = NationalRequest.objects.get()
    first, second = NationalAllocation.objects.order_by("announced_on")
    receipt = StockEvent.objects.get(
        kind=StockEventKind.RECEIPT,
        receipt_source=ReceiptSource.NATIONAL_ALLOCATION,
        source_document="国联防物资调〔2020〕8号",
    )
    n95 = receipt.lines.get(item__code="FH001").quantity
    assert n95 == 58_800
    arrival = NationalAllocationArrival.objects.get()
    assert (arrival.allocation, arrival.receipt_event, arrival.quantity) == (first, receipt, n95)
    assert (first.quantity, first.arrived_quantity, first.request) == (n95, n95, request)
    assert (second.quantity, second.arrived_quantity, second.expected_arrival) == (
        20_000,
        0,
        day(62),
    )
    assert second.request == request
    assert request.granted_quantity == 78_800
    assert request.status == NationalRequestStatus.PARTLY_GRANTED
    # Its timeline is the story's: sent on day 47, answered on days 50 and 57.
    steps = [(t.to_status, local_date(t.at)) for t in request.transitions.order_by("at", "pk")]
    assert steps == [
        (NationalRequestStatus.SENT, day(47)),
        (NationalRequestStatus.PARTLY_GRANTED, day(50)),
        (NationalRequestStatus.PARTLY_GRANTED, day(57)),
    ]
    assert [local_date(a.created_at) for a in (first, second)] == [day(50), day(57)]


def test_three_enterprises_report_30_days_with_every_completeness_state(demo):
    """distribution_enterprises.csv: 3 enterprises of 4 items each, 30 days (days 30–59):
    3 × 4 × 30 = 360 reports, less 2 missing enterprise-days × 4 items = 352. On the last day
    金城 is on time, 陇东南 late, 河西 missing; 陇东南 missed day 52 too."""
    enterprises = DistributionEnterprise.objects.all()
    assert enterprises.count() == 3
    assert all("（示例）" in e.name and is_valid_credit_code(e.credit_code) for e in enterprises)
    assert all(e.items.count() == 4 and e.reporters.count() == 1 for e in enterprises)
    assert DistributionReport.objects.count() == 3 * 4 * 30 - 2 * 4 == 352
    assert set(DistributionReport.objects.values_list("date", flat=True)) == {
        day(t) for t in range(30, 60)
    }
    states = {row.enterprise.name: row.state for row in distribution_completeness(LAST_DAY).rows}
    assert states == {
        "兰州金城医药有限公司（示例）": "on_time",
        "天水陇东南医药有限公司（示例）": "late",
        "酒泉河西医药有限公司（示例）": "missing",
    }
    day52 = {row.enterprise.name: row.state for row in distribution_completeness(day(52)).rows}
    assert day52["天水陇东南医药有限公司（示例）"] == "missing"
    # The reports came in as their reporters, before the cut-off but for the one late day.
    for report in DistributionReport.objects.select_related("enterprise", "submitted_by"):
        assert report.submitted_by in report.enterprise.reporters.all()
        late = report.first_submitted_at > cutoff_for(report.date)
        assert late == (report.enterprise.name.startswith("天水") and report.date == LAST_DAY)


def test_the_enterprises_stock_adds_up(demo):
    """stock(d) = stock(d-1) + purchased(d) − shipped(d) on every reported day after the first."""
    previous = {}
    for report in DistributionReport.objects.order_by("date"):
        key = (report.enterprise_id, report.item_id)
        before = previous.get(key)
        if before is not None and before.date == report.date - dt.timedelta(days=1):
            assert report.stock == before.stock + report.purchased - report.shipped
        previous[key] = report


def test_each_enterprise_has_a_demo_reporter_with_a_documented_password(demo):
    """users.csv: dist_lanzhou, dist_tianshui, dist_jiuquan, role distribution_reporter, each
    the reporter of its enterprise; `demo_users` prints them with their passwords."""
    reporters = User.objects.filter(role=Role.DISTRIBUTION_REPORTER).order_by("username")
    assert [u.username for u in reporters] == ["dist_jiuquan", "dist_lanzhou", "dist_tianshui"]
    for user in reporters:
        assert user.check_password(f"Demo-2020-dist-{user.username.removeprefix('dist_')}")
        assert user.distribution_enterprises.count() == 1
    out = io.StringIO()
    call_command("demo_users", stdout=out)
    line = next(row for row in out.getvalue().splitlines() if "dist_tianshui" in row)
    assert "Demo-2020-dist-tianshui" in line and "天水陇东南医药有限公司（示例）" in line


PROCUREMENT_MODELS = (
    Supplier,
    SupplierCapability,
    ReserveUnit,
    PurchaseOrder,
    PurchaseOrderLine,
    OrderTransition,
    OrderArrival,
    OrderArrivalLine,
    OrderPayment,
    NationalRequest,
    NationalAllocation,
    NationalAllocationArrival,
    DistributionEnterprise,
    DistributionReport,
)


def test_loading_again_changes_nothing_of_the_inbound_pipeline(demo):
    """A second load finds every supplier, unit, order, request, allocation, enterprise and
    report in place: every count, and the history, stay the same."""

    def counts():
        return {m.__name__: m.objects.count() for m in PROCUREMENT_MODELS} | {
            "report history": DistributionReport.history.count(),
            "supplier history": Supplier.history.count(),
            "item history": Item.history.count(),
            "stock events": StockEvent.objects.count(),
        }

    before = counts()
    out = io.StringIO()
    call_command("load_demo", "--historical", stdout=out)

    assert counts() == before
    assert "0 purchase orders created (37 already there)" in out.getvalue()
    assert "0 daily reports (352 already there)" in out.getvalue()
