"""Three-level dispatch in the demo (issue 15 §4; supplycoord/data/demo/gansu/onward.yaml,
province.yaml, users.csv, destinations.csv, warehouses.csv), on the historical demo loaded
once.

Every number is worked out by hand from onward.yaml:
- LZ01 received from 2020-047 FH001 6,000, FH002 24,000, XD001 8,000 and from 2020-049
  FH003 30,000, XD005 20,000 (88,000); it shipped 620100-2020-001 to 榆中县 (FH001 2,000,
  FH002 8,000, XD001 3,000, XD005 6,000: 19,000), -002 to 榆中县 (FH002 8,000, FH003 15,000,
  XD005 6,000: 29,000) and -003 to 皋兰县 (FH001 2,000, FH002 6,000, FH003 10,000, XD001
  2,000: 20,000, half of each line received on the last day): 68,000.
- DX01 received from 2020-038 FH002 10,000, FH003 20,000, XD005 12,000 and from 2020-055
  FH001 3,000, FH004 1,000, XD001 4,000 (50,000); it shipped 621100-2020-001 to 陇西县 (FH002
  4,000, FH003 8,000, XD005 5,000: 17,000), -002 to 临洮县 (FH001 1,000, FH002 3,000, FH003
  6,000, XD001 2,000: 12,000) and -003 to 陇西县 (FH001 1,000, FH003 4,000, FH004 500, XD005
  4,000: 9,500): 38,500. Its draft to 临洮县 carries FH001 500, FH002 2,000, XD001 1,000.
- 金昌市 reports as the sum of 金川区 and 永昌县 (province.yaml's figures.sum_of_counties):
  each of its figures split 70 % (rounded down) and the rest.
"""

import datetime as dt
import io
import shutil
from collections import defaultdict
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Sum

from allocation.models import (
    BatchReceipt,
    BatchStatus,
    Destination,
    DestinationKind,
    DispatchBatch,
    DispatchBatchLine,
    LineDecision,
    RequestAction,
    RequestEvent,
    SupplyRequest,
)
from allocation.request_selectors import fill_rates, requests_with_progress, visible_requests
from allocation.selectors import allocation_totals, in_transit_by_key
from allocation.services import batch_approve
from inventory.management.commands.ledger_verify import ledger_drift
from inventory.models import (
    FIGURE_FIELDS,
    CountyDailyFigure,
    DailyFigure,
    StockBalance,
    StockEvent,
    StockEventLine,
)
from reports.models import SnapshotBuild, SnapshotRebuild, SnapshotRow
from reports.province import GANSU, ProvinceDataInvalid, generate, province_read
from reports.province.load import _onward_receipts
from reports.services import snapshot_build_for_date
from supplycoord.lib.dates import local_date
from supplycoord.models import Item, Prefecture, Role, User
from supplycoord.permissions import can_approve_batch, can_triage_request
from supplycoord.selectors import key_items

LAST_DAY = dt.date(2020, 3, 24)

LZ01_RECEIVED = {"FH001": 6_000, "FH002": 24_000, "FH003": 30_000, "XD001": 8_000, "XD005": 20_000}
LZ01_SHIPPED = {"FH001": 4_000, "FH002": 22_000, "FH003": 25_000, "XD001": 5_000, "XD005": 12_000}
DX01_BALANCE = {
    # received − shipped onward
    "FH001": 3_000 - 2_000,
    "FH002": 10_000 - 7_000,
    "FH003": 20_000 - 18_000,
    "FH004": 1_000 - 500,
    "XD001": 4_000 - 2_000,
    "XD005": 12_000 - 9_000,
}


@pytest.fixture
def demo(demo_loaded, db):
    """The historical demo, loaded once per test process; each test's changes rolled back."""


def _user(username):
    return User.objects.get(username=username)


def _lines(batch):
    return {line.item.code: line.quantity for line in batch.lines.select_related("item")}


# --- people and places ------------------------------------------------------------------


def test_the_prefecture_leads_and_county_officers_are_loaded(demo):
    """users.csv: Lanzhou's and Dingxi's leads, Dingxi's officer, the officers of 榆中县,
    陇西县, 金川区 and 永昌县 (each with its county's prefecture)."""
    people = {
        u.username: (u.role, u.prefecture.code, u.county.code if u.county else None)
        for u in User.objects.filter(
            role__in=(Role.PREFECTURE_LEAD, Role.COUNTY_OFFICER, Role.PREFECTURE_OFFICER)
        ).select_related("prefecture", "county")
    }
    assert people == {
        "lanzhou_officer": (Role.PREFECTURE_OFFICER, "620100", None),
        "tianshui_officer": (Role.PREFECTURE_OFFICER, "620500", None),
        "dingxi_officer": (Role.PREFECTURE_OFFICER, "621100", None),
        "lanzhou_lead": (Role.PREFECTURE_LEAD, "620100", None),
        "dingxi_lead": (Role.PREFECTURE_LEAD, "621100", None),
        "yuzhong_officer": (Role.COUNTY_OFFICER, "620100", "620123"),
        "longxi_officer": (Role.COUNTY_OFFICER, "621100", "621122"),
        "jinchuan_officer": (Role.COUNTY_OFFICER, "620300", "620302"),
        "yongchang_officer": (Role.COUNTY_OFFICER, "620300", "620321"),
    }
    assert _user("yuzhong_officer").check_password("Demo-2020-yuzhong")
    assert _user("dingxi_lead").check_password("Demo-2020-dingxi-lead")


def test_four_counties_are_destinations_with_their_prefecture_and_officer(demo):
    """destinations.csv: 榆中县 and 皋兰县 (Lanzhou), 陇西县 and 临洮县 (Dingxi), by their
    county codes; the county officer confirms receipt where the county has one."""
    counties = {
        d.name_zh: (d.code, d.county.code, d.prefecture.code, d.confirming_officer_id)
        for d in Destination.objects.filter(kind=DestinationKind.COUNTY).select_related(
            "county", "prefecture"
        )
    }
    assert counties == {
        "榆中县": ("620123", "620123", "620100", _user("yuzhong_officer").pk),
        "皋兰县": ("620122", "620122", "620100", None),
        "陇西县": ("621122", "621122", "621100", _user("longxi_officer").pk),
        "临洮县": ("621124", "621124", "621100", None),
    }


def test_demo_users_prints_the_new_users_with_their_county(demo):
    out = io.StringIO()
    call_command("demo_users", stdout=out)
    lines = {line.split()[0]: line for line in out.getvalue().splitlines()[3:] if line.strip()}
    assert {"lanzhou_lead", "yuzhong_officer", "dingxi_officer", "dingxi_lead"} <= set(lines)
    assert "620100 兰州市 / 620123 榆中县" in lines["yuzhong_officer"]
    assert "Demo-2020-yuzhong" in lines["yuzhong_officer"]
    assert "621100 定西市 / 621122 陇西县" in lines["longxi_officer"]
    assert "Demo-2020-dingxi-lead" in lines["dingxi_lead"]


# --- the prefectures' batches -----------------------------------------------------------


def test_each_prefecture_numbers_its_batches_in_its_own_series(demo):
    """Three batches each from LZ01 and DX01, numbered in the order they left; Dingxi's draft,
    created as the demo was loaded, in the series of the year it was loaded."""
    issued = {
        b.number: (b.issuing_prefecture.code, b.source_warehouse.code, b.destination.name_zh)
        for b in DispatchBatch.objects.exclude(issuing_prefecture=None).select_related(
            "issuing_prefecture", "source_warehouse", "destination"
        )
    }
    draft = DispatchBatch.objects.get(issuing_prefecture__code="621100", status=BatchStatus.DRAFT)
    assert draft.number == f"621100-{local_date(draft.created_at).year}-001"
    assert issued == {
        "620100-2020-001": ("620100", "LZ01", "榆中县"),
        "620100-2020-002": ("620100", "LZ01", "榆中县"),
        "620100-2020-003": ("620100", "LZ01", "皋兰县"),
        "621100-2020-001": ("621100", "DX01", "陇西县"),
        "621100-2020-002": ("621100", "DX01", "临洮县"),
        "621100-2020-003": ("621100", "DX01", "陇西县"),
        draft.number: ("621100", "DX01", "临洮县"),
    }


def test_the_officer_drafts_and_dispatches_the_lead_approves_the_county_receives(demo):
    receivers = {
        "620100-2020-001": "yuzhong_officer",
        "620100-2020-002": "yuzhong_officer",
        "620100-2020-003": "lanzhou_officer",  # 皋兰县 has no county officer
        "621100-2020-001": "longxi_officer",
        "621100-2020-002": "dingxi_officer",  # nor has 临洮县
        "621100-2020-003": "longxi_officer",
    }
    for number, receiver in receivers.items():
        batch = DispatchBatch.objects.get(number=number)
        officer, lead = ("lanzhou", "lanzhou") if number[:6] == "620100" else ("dingxi", "dingxi")
        assert batch.created_by.username == batch.dispatched_by.username == f"{officer}_officer"
        assert batch.approved_by.username == f"{lead}_lead"
        assert batch.created_at < batch.approved_at < batch.dispatched_at
        assert {r.received_by.username for r in batch.receipts.all()} == {receiver}
        steps = list(batch.transitions.order_by("pk").values_list("to_status", "by__username"))
        assert steps[:3] == [
            (BatchStatus.DRAFT, f"{officer}_officer"),
            (BatchStatus.APPROVED, f"{lead}_lead"),
            (BatchStatus.DISPATCHED, f"{officer}_officer"),
        ]
        assert steps[3] == (
            BatchStatus.PARTLY_RECEIVED if number == "620100-2020-003" else BatchStatus.RECEIVED,
            receiver,
        )


def test_the_onward_batches_carry_what_onward_yaml_lists(demo):
    assert _lines(DispatchBatch.objects.get(number="620100-2020-003")) == {
        "FH001": 2_000,
        "FH002": 6_000,
        "FH003": 10_000,
        "XD001": 2_000,
    }
    totals = (
        DispatchBatchLine.objects.filter(batch__number__regex=r"^6[0-9]{5}-2020-")
        .values("batch__issuing_prefecture__code")
        .annotate(q=Sum("quantity"), r=Sum("received_quantity"))
        .order_by("batch__issuing_prefecture__code")
    )
    assert [(t["batch__issuing_prefecture__code"], t["q"], t["r"]) for t in totals] == [
        # 19,000 + 29,000 + 20,000 shipped; all but the 10,000 still on its way received.
        ("620100", 68_000, 58_000),
        ("621100", 17_000 + 12_000 + 9_500, 38_500),
    ]


# --- the prefecture warehouses --------------------------------------------------------


def _onward_numbers():
    return set(
        DispatchBatch.objects.exclude(issuing_prefecture=None).values_list("number", flat=True)
    )


def test_the_warehouses_receive_from_the_provinces_batches_after_they_arrived(demo):
    """Transfers in whose source document is the province batch that brought the goods, after
    it arrived (2020-047 arrived 2 March 12:00, received into LZ01 at 16:00)."""
    receipts = {
        (e.warehouse.code, e.source_document): (
            e.receipt_source,
            {line.item.code: line.quantity for line in e.lines.select_related("item")},
        )
        for e in StockEvent.objects.filter(
            warehouse__code__in=("LZ01", "DX01"), source_document__regex=r"^2020-[0-9]{3}$"
        ).select_related("warehouse")
    }
    assert receipts == {
        ("LZ01", "2020-047"): ("transfer_in", {"FH001": 6_000, "FH002": 24_000, "XD001": 8_000}),
        ("LZ01", "2020-049"): ("transfer_in", {"FH003": 30_000, "XD005": 20_000}),
        ("DX01", "2020-038"): ("transfer_in", {"FH002": 10_000, "FH003": 20_000, "XD005": 12_000}),
        ("DX01", "2020-055"): ("transfer_in", {"FH001": 3_000, "FH004": 1_000, "XD001": 4_000}),
    }
    for (_warehouse, number), _lines_of in receipts.items():
        batch = DispatchBatch.objects.get(number=number)
        event = StockEvent.objects.get(source_document=number, warehouse__code=_warehouse)
        assert batch.received_at <= event.occurred_at
        # Never more of an item than the batch delivered.
        delivered = _lines(batch)
        assert all(q <= delivered[item] for item, q in _lines_of[1].items())


def test_dx01_holds_what_it_received_less_what_it_shipped(demo):
    """DX01 has no other story: its balances are 50,000 − 38,500 = 11,500, by item."""
    balances = dict(
        StockBalance.objects.filter(warehouse__code="DX01").values_list("item__code", "quantity")
    )
    assert balances == DX01_BALANCE
    assert sum(balances.values()) == 11_500
    assert ledger_drift() == []


def test_lz01_moved_by_what_it_received_less_what_it_shipped(demo):
    """LZ01 also hands the reserve's dispatches on to hospitals (ledger.yaml); the onward
    story's events move its balances by 88,000 − 68,000 = 20,000, by item, on top of that."""
    onward = {"2020-047", "2020-049", *_onward_numbers()}
    moved = defaultdict(int)
    for item, quantity in StockEventLine.objects.filter(
        warehouse__code="LZ01", event__source_document__in=onward
    ).values_list("item__code", "quantity"):
        moved[item] += quantity
    assert dict(moved) == {item: LZ01_RECEIVED[item] - LZ01_SHIPPED[item] for item in LZ01_RECEIVED}
    assert sum(moved.values()) == 20_000
    # Each onward batch issued its lines in one dispatch event at its warehouse.
    for batch in DispatchBatch.objects.exclude(issuing_prefecture=None).exclude(
        status=BatchStatus.DRAFT
    ):
        assert batch.issue_event.source_document == batch.number
        assert batch.issue_event.warehouse_id == batch.source_warehouse_id
        assert -sum(batch.issue_event.lines.values_list("quantity", flat=True)) == sum(
            _lines(batch).values()
        )


# --- on the last day --------------------------------------------------------------------


def test_the_lanzhou_batch_on_its_way_counts_in_lanzhous_in_transit(demo):
    """620100-2020-003 to 皋兰县 left 03-23 10:00, half arrived 03-24 11:00, expected 03-25:
    the other half is in transit for Lanzhou at the end of the last day, and arriving within 3
    days. The province's batches to Lanzhou had all arrived (the last, 2020-050, on 03-05)."""
    lanzhou = Prefecture.objects.get(code="620100")
    items = {
        i.code: i.pk for i in Item.objects.filter(code__in=("FH001", "FH002", "FH003", "XD001"))
    }
    transit = in_transit_by_key(LAST_DAY)
    assert {code: transit.get((lanzhou.pk, pk)) for code, pk in items.items()} == {
        "FH001": (1_000, 1_000),
        "FH002": (3_000, 3_000),
        "FH003": (5_000, 5_000),
        "XD001": (1_000, 1_000),
    }
    # The evening before, nothing had arrived yet.
    before = in_transit_by_key(LAST_DAY - dt.timedelta(days=1))
    assert before[(lanzhou.pk, items["FH003"])] == (10_000, 10_000)
    # Dingxi's had all arrived.
    dingxi = Prefecture.objects.get(code="621100")
    assert not any(key[0] == dingxi.pk for key in transit)

    snapshot_build_for_date(date=LAST_DAY)
    row = SnapshotRow.objects.get(prefecture=lanzhou, item_id=items["FH003"], date=LAST_DAY)
    assert row.in_transit == 5_000


def test_dingxis_draft_awaits_its_lead(demo):
    draft = DispatchBatch.objects.get(issuing_prefecture__code="621100", status=BatchStatus.DRAFT)
    assert draft.created_by.username == "dingxi_officer"
    assert (draft.destination.name_zh, _lines(draft)) == (
        "临洮县",
        {"FH001": 500, "FH002": 2_000, "XD001": 1_000},
    )
    assert draft.planned_dispatch_date == LAST_DAY + dt.timedelta(days=1)
    # Only Dingxi's lead (or an admin) approves it: not Lanzhou's, not the province's leader.
    assert can_approve_batch(_user("dingxi_lead"), draft)
    assert not can_approve_batch(_user("lanzhou_lead"), draft)
    assert not can_approve_batch(_user("leader"), draft)
    approved = batch_approve(user=_user("dingxi_lead"), batch=draft, expected_version=draft.version)
    assert (approved.status, approved.approved_by.username) == (BatchStatus.APPROVED, "dingxi_lead")


# --- the counties' requests -------------------------------------------------------------


def test_yuzhongs_request_is_decided_by_lanzhou_and_filled_by_its_batch(demo):
    """XQ-2020-011 (15 March 09:00): FH002 10,000 accepted in part (8,000, with a reason),
    FH003 15,000 and XD005 6,000 accepted, by Lanzhou's officer at 15:00; 620100-2020-002
    (drafted 17:00, left 16 March 10:00) carries exactly those 29,000 and arrived."""
    request = SupplyRequest.objects.get(number="XQ-2020-011")
    assert (request.claimant.name_zh, request.submitted_by.username) == (
        "榆中县",
        "yuzhong_officer",
    )
    decided = {
        line.item.code: (line.decision, line.accepted_quantity, line.decided_by.username)
        for line in request.lines.select_related("item", "decided_by")
    }
    assert decided == {
        "FH002": (LineDecision.ACCEPTED_PART, 8_000, "lanzhou_officer"),
        "FH003": (LineDecision.ACCEPTED, 15_000, "lanzhou_officer"),
        "XD005": (LineDecision.ACCEPTED, 6_000, "lanzhou_officer"),
    }
    assert request.lines.get(item__code="FH002").decision_reason
    linked = DispatchBatchLine.objects.filter(request_line__request=request)
    assert {line.batch.number for line in linked} == {"620100-2020-002"}
    assert linked.aggregate(q=Sum("quantity"))["q"] == 29_000
    batched = RequestEvent.objects.filter(request=request, action=RequestAction.BATCHED)
    assert {event.by.username for event in batched} == {"lanzhou_officer"}
    (row,) = requests_with_progress(visible_requests(_user("yuzhong_officer")))
    assert (row.request.number, row.state) == ("XQ-2020-011", "received")
    # FH002: asked 10,000, accepted 8,000, dispatched 8,000: filled; 03-15 09:00 → 03-16
    # 10:00, 25 hours.
    (fill,) = fill_rates(
        _user("lanzhou_officer"),
        start=dt.date(2020, 3, 1),
        end=LAST_DAY,
        claimant=request.claimant,
        item=Item.objects.get(code="FH002"),
    )
    assert (fill.asked, fill.accepted, fill.dispatched, fill.fill_rate) == (10_000, 8_000, 8_000, 1)
    assert fill.median_hours_to_fill == Decimal("25")


def test_longxis_request_of_the_last_day_awaits_dingxis_triage(demo):
    request = SupplyRequest.objects.get(number="XQ-2020-015")
    assert (request.claimant.name_zh, request.submitted_by.username) == ("陇西县", "longxi_officer")
    assert local_date(request.submitted_at) == LAST_DAY
    assert set(request.lines.values_list("decision", flat=True)) == {LineDecision.PENDING}
    assert can_triage_request(_user("dingxi_officer"), request)
    assert not can_triage_request(_user("lanzhou_officer"), request)
    # Each county officer sees its own county's request only.
    assert list(visible_requests(_user("longxi_officer")).values_list("number", flat=True)) == [
        "XQ-2020-015"
    ]
    assert not visible_requests(_user("yuzhong_officer")).filter(pk=request.pk).exists()


# --- 金昌市 reports as the sum of its counties --------------------------------------------


def test_jinchang_reports_as_the_sum_of_its_two_counties(demo):
    """province.yaml: 金昌市 only; 金川区 and 永昌县 report every key item on every day of the
    demo (金昌市 missed none): 60 days × 26 key items × 2 counties = 3,120 county rows, and
    each of its 60 × 26 = 1,560 rows is their sum."""
    assert list(
        Prefecture.objects.filter(reports_as_sum_of_counties=True).values_list("code", flat=True)
    ) == ["620300"]
    assert CountyDailyFigure.objects.count() == 60 * 26 * 2
    counties = defaultdict(lambda: defaultdict(int))
    for item_id, date, *figures in CountyDailyFigure.objects.values_list(
        "item_id", "date", *FIGURE_FIELDS
    ):
        for name, value in zip(FIGURE_FIELDS, figures, strict=True):
            counties[(item_id, date)][name] += value
    derived = {
        (row.item_id, row.date): row.figures()
        for row in DailyFigure.objects.filter(prefecture__code="620300")
    }
    assert len(derived) == 60 * 26
    assert {key: dict(value) for key, value in counties.items()} == derived


def test_each_figure_is_split_seventy_thirty_and_submitted_by_the_county_officers(demo):
    """金昌市's N95 stock of 2020-01-25, as the generator draws it, is 1,898: 金川区 takes
    70 % rounded down, 1,328 (0.7 × 1,898 = 1,328.6), 永昌县 the rest, 570. Each county's
    officer submitted its rows, 金川区's 10 minutes before 永昌县's, whose submission completed
    the prefecture's row (its first submission and the prefecture's are the same moment)."""
    key = {"item__code": "FH001", "date": dt.date(2020, 1, 25)}
    jinchuan = CountyDailyFigure.objects.get(county__code="620302", **key)
    yongchang = CountyDailyFigure.objects.get(county__code="620321", **key)
    prefecture = DailyFigure.objects.get(prefecture__code="620300", **key)
    assert (prefecture.stock, jinchuan.stock, yongchang.stock) == (1_898, 1_328, 570)
    assert (jinchuan.submitted_by.username, yongchang.submitted_by.username) == (
        "jinchuan_officer",
        "yongchang_officer",
    )
    assert yongchang.first_submitted_at - jinchuan.first_submitted_at == dt.timedelta(minutes=10)
    assert prefecture.first_submitted_at == yongchang.first_submitted_at
    assert prefecture.submitted_by.username == "yongchang_officer"
    assert set(CountyDailyFigure.objects.values_list("submitted_by__username", flat=True)) == {
        "jinchuan_officer",
        "yongchang_officer",
    }


def test_jinchangs_figures_are_the_generated_ones(demo):
    """Split and summed again, 金昌市's rows are the figures, submission moments and
    punctuality the generator draws for it (one of its days was late)."""
    province = province_read(GANSU)
    codes = list(Prefecture.objects.filter(active=True).values_list("code", flat=True))
    items = [generate.FigureItem(i.code, i.category) for i in key_items()]
    drawn = {
        (item, date): (figures, moment, on_time)
        for code, item, date, figures, moment, on_time in generate.daily_figures(
            province, prefecture_codes=codes, items=items
        )
        if code == "620300"
    }
    loaded = {
        (row.item.code, row.date): (row.figures(), row.first_submitted_at, row.on_time)
        for row in DailyFigure.objects.filter(prefecture__code="620300").select_related("item")
    }
    assert loaded == drawn
    assert sum(1 for *_rest, on_time in drawn.values() if not on_time) == 26


def test_the_county_submissions_ask_no_build_beyond_the_story(demo):
    """A county submission asks for its dates and the 6 days after to be built; the load
    withdraws those of dates never built, as its ledger and batches ask none: no day after
    the last one is built from carried-forward stock, so the dashboards open on the last day
    (tests/e2e/test_journey_current_demo.py lays the demo four days back)."""
    assert not SnapshotRebuild.objects.filter(date__gt=LAST_DAY).exists()
    assert not SnapshotBuild.objects.filter(date__gt=LAST_DAY).exists()


# --- the province's figures -------------------------------------------------------------


def test_the_provinces_10_march_summary_is_unchanged(demo):
    """The onward batches left after 10 March: the summary to that day is Gansu's 58 batches
    and 4,637,000 items; to the last day it holds the 6 onward batches too (68,000 + 38,500
    = 106,500, to counties), never the draft."""
    to_10_march = allocation_totals(dt.date(2020, 1, 1), dt.date(2020, 3, 10))
    assert (to_10_march["total"], to_10_march["batches"]) == (4_637_000, 58)
    whole = allocation_totals(dt.date(2020, 1, 1), LAST_DAY)
    assert (whole["total"], whole["batches"]) == (4_637_000 + 106_500, 58 + 6)
    by_kind = {row["destination_kind"]: row["quantity"] for row in whole["by_destination_kind"]}
    assert by_kind[DestinationKind.COUNTY] == 106_500


def test_loading_again_adds_nothing(demo):
    def counts():
        return (
            DispatchBatch.objects.count(),
            DispatchBatchLine.objects.count(),
            BatchReceipt.objects.count(),
            StockEvent.objects.count(),
            SupplyRequest.objects.count(),
            RequestEvent.objects.count(),
            Destination.objects.count(),
            User.objects.count(),
            CountyDailyFigure.objects.count(),
            DailyFigure.objects.count(),
        )

    before = counts()
    out = io.StringIO()
    call_command("load_demo", "--historical", stdout=out)
    assert counts() == before
    assert (
        "0 prefecture warehouse receipts posted (4 already there), 0 onward batches to counties "
        "created (6 already there), 0 drafts awaiting a prefecture lead (1 already there)"
    ) in out.getvalue()
    assert "county figures    0 created, 3120 already there" in out.getvalue()


# --- the files' checks ------------------------------------------------------------------


@pytest.fixture
def gansu_copy(tmp_path):
    folder = tmp_path / "gansu"
    shutil.copytree(GANSU, folder)
    return folder


def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _problems(folder):
    with pytest.raises(ProvinceDataInvalid) as caught:
        province_read(folder)
    return {(e.file, e.row, e.field) for e in caught.value.errors}


def test_a_users_county_is_checked_by_row_and_field(gansu_copy):
    """Rows 15 and 18 of users.csv are yuzhong_officer and longxi_officer (the header is row
    1); row 5 is the office."""
    users = gansu_copy / "users.csv"
    _edit(users, "county_officer,620100,620123,", "county_officer,620100,621122,")  # Dingxi's
    _edit(users, "county_officer,621100,621122,", "county_officer,621100,,")
    _edit(
        users,
        "office,Demo-2020-office,office_staff,,,",
        "office,Demo-2020-office,office_staff,,620123,",
    )
    assert _problems(gansu_copy) == {
        ("users.csv", 15, "county"),  # not a county of 620100
        ("users.csv", 18, "county"),  # a county officer without a county
        ("users.csv", 5, "county"),  # the office has no county
    }


def test_a_county_destination_needs_a_county_code(gansu_copy):
    _edit(gansu_copy / "destinations.csv", "county,621124,临洮县", "county,621199,临洮县")
    assert _problems(gansu_copy) == {("destinations.csv", 22, "code")}


def test_onward_yaml_names_the_prefectures_own_people_places_and_batches(gansu_copy):
    onward = gansu_copy / "onward.yaml"
    _edit(onward, "officer: lanzhou_officer", "officer: dingxi_officer")
    _edit(onward, "warehouse: DX01", "warehouse: LZ01")
    _edit(onward, "  - destination: 皋兰县", "  - destination: 陇西县")
    _edit(onward, "    batch: 620100-2020-002", "    batch: 620100-2020-003")
    assert _problems(gansu_copy) == {
        ("onward.yaml", "prefectures[0]", "officer"),
        ("onward.yaml", "prefectures[1]", "warehouse"),
        ("onward.yaml", "prefectures[0].batches[2]", "destination"),
        ("onward.yaml", "requests[0]", "batch"),
    }


def test_a_receipt_above_what_the_province_batch_brought_is_named(gansu_copy):
    """2020-047 brought 15,900 N95 to Lanzhou; LZ01 cannot take 16,000 of it."""
    _edit(gansu_copy / "onward.yaml", "lines: {FH001: 6000,", "lines: {FH001: 16000,")
    province = province_read(gansu_copy)
    with pytest.raises(ProvinceDataInvalid) as caught:
        _onward_receipts(province, office=None, plan=generate.batch_plan(province))
    assert [(e.file, e.row, e.field) for e in caught.value.errors] == [
        ("onward.yaml", "prefectures[0].receipts[0]", "lines")
    ]
    assert "15,900" in caught.value.errors[0].message


def test_the_sum_of_counties_names_every_county_of_its_prefecture(gansu_copy):
    """金昌市 has two active counties; a share for one of them only cannot derive its rows."""
    _edit(
        gansu_copy / "province.yaml",
        '      "620321": 0.3  # 永昌县\n',
        "",
    )
    _edit(gansu_copy / "province.yaml", '"620302": 0.7', '"620302": 1.0')
    assert _problems(gansu_copy) == {("province.yaml", "figures.sum_of_counties", "shares")}
