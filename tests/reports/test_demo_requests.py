"""The demo's claimants and requests from below (issue 15; supplycoord/data/demo/gansu/
requests.yaml, destinations.csv, claimant_staff.csv), on the historical demo loaded once.

Every number here is counted by hand from those files and from the batch plan of
allocation.yaml (the batches' quantities are printed by `generate.batch_plan`).
"""

import datetime as dt
import io
import shutil
import zoneinfo
from collections import Counter
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Sum

from allocation.models import (
    ClaimantStaff,
    Destination,
    DestinationKind,
    DispatchBatchLine,
    LineDecision,
    RequestAction,
    RequestEvent,
    SupplyRequest,
    SupplyRequestLine,
)
from allocation.request_selectors import (
    emergency_requests_open_since,
    fill_rates,
    requests_with_progress,
    visible_requests,
)
from inventory.models import StockEventLine
from reports.province import GANSU, ProvinceDataInvalid, province_read
from supplycoord.models import Item, User

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# The demo's "now": the morning after its last day (2020-03-24), when the office opens.
DEMO_NOW = dt.datetime(2020, 3, 25, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def demo(demo_loaded, db):
    """The historical demo, loaded once per test process; each test's changes rolled back."""


def _state_counts(user):
    rows = requests_with_progress(visible_requests(user))
    return Counter(row.state for row in rows)


def test_every_destination_is_a_claimant_with_a_code(demo):
    """15 prefecture destinations (14 prefectures and Lanzhou New Area, by their own codes),
    4 counties (three-level dispatch: 榆中县, 皋兰县, 陇西县, 临洮县, by their county codes),
    4 provincial hospitals, the Hubei team, 3 key units, 9 other provinces and cities."""
    kinds = Counter(Destination.objects.values_list("kind", flat=True))
    assert kinds == {
        DestinationKind.PREFECTURE: 15,
        DestinationKind.COUNTY: 4,
        DestinationKind.PROVINCIAL_INSTITUTION: 4,
        DestinationKind.AID_TEAM: 1,
        DestinationKind.KEY_UNIT: 3,
        DestinationKind.OTHER_PROVINCE: 9,
    }
    assert not Destination.objects.filter(code__isnull=True).exists()
    lanzhou = Destination.objects.get(kind=DestinationKind.PREFECTURE, name_zh="兰州市")
    assert lanzhou.code == "620100" == lanzhou.prefecture.code
    assert Destination.objects.get(code="GS-YEYLD").name_zh == "甘肃省支援湖北医疗队"
    assert Destination.objects.get(code="120000").name_zh == "天津市"


def test_institutions_the_team_and_key_units_have_protected_staff(demo):
    """claimant_staff.csv: 16 rows; 2,640 + 2,815 + 2,500 + 1,310 in the four hospitals, 760
    in the team, 1,500 + 800 checking passengers at the railway and the airports."""
    assert ClaimantStaff.objects.count() == 16
    assert ClaimantStaff.objects.aggregate(s=Sum("count"))["s"] == 12_325
    team = dict(
        ClaimantStaff.objects.filter(destination__code="GS-YEYLD").values_list(
            "category__code", "count"
        )
    )
    assert team == {"isolation_ward": 700, "general_medical": 60}


def test_each_unit_requester_requests_for_its_two_or_three_units(demo):
    units = {
        user.username: sorted(user.requester_units.values_list("code", flat=True))
        for user in User.objects.filter(role="unit_requester")
    }
    assert units == {
        "req_srmyy": ["GS-SRMYY", "GS-YEYLD"],
        "req_ldyy": ["GS-LDEY", "GS-LDYY", "GS-SZYY"],
        "req_jtys": ["GS-DLGS", "GS-LZTL", "GS-MHJC"],
    }
    assert User.objects.get(username="req_ldyy").check_password("Demo-2020-req-ldyy")
    out = io.StringIO()
    call_command("demo_users", stdout=out)
    assert "req_jtys" in out.getvalue() and "甘肃省民航机场集团有限公司" in out.getvalue()


def test_requests_by_state_urgency_and_decision(demo):
    """16 requests: 10 answered by batches and received (榆中县's by Lanzhou's batch among
    them), 1 refused whole, 3 open (the railway bureau's, accepted in part, and the two
    emergencies of the last day), 2 awaiting triage (the airport group's, and 陇西县's of the
    last day, awaiting Dingxi). Numbered in the order they came in, the counties' among the
    province's (onward.yaml: 榆中县 XQ-2020-011 of 15 March, 陇西县 XQ-2020-015)."""
    office = User.objects.get(username="office")
    assert _state_counts(office) == {
        "received": 9 + 1,
        "refused": 1,
        "open": 3,
        "awaiting_triage": 1 + 1,
    }
    assert Counter(SupplyRequest.objects.values_list("urgency", flat=True)) == {
        "emergency": 3,
        "urgent": 5 + 2,
        "routine": 6,
    }
    # 榆中县's: 2 lines accepted, 1 in part; 陇西县's 3 lines await triage.
    assert Counter(SupplyRequestLine.objects.values_list("decision", flat=True)) == {
        LineDecision.ACCEPTED: 17 + 2,
        LineDecision.ACCEPTED_PART: 17 + 1,
        LineDecision.REFUSED: 3,
        LineDecision.PENDING: 2 + 3,
    }
    # A part and a refusal always give their reason; what was accepted never exceeds the ask.
    assert not SupplyRequestLine.objects.filter(
        decision__in=(LineDecision.ACCEPTED_PART, LineDecision.REFUSED), decision_reason=""
    ).exists()
    numbers = list(SupplyRequest.objects.order_by("submitted_at").values_list("number", flat=True))
    assert numbers == [f"XQ-2020-{n:03d}" for n in range(1, 17)]
    first = SupplyRequest.objects.get(number="XQ-2020-001")
    assert (first.claimant.code, first.urgency) == ("GS-YEYLD", "emergency")
    counties = SupplyRequest.objects.filter(claimant__kind=DestinationKind.COUNTY)
    assert sorted(counties.values_list("number", "claimant__code")) == [
        ("XQ-2020-011", "620123"),
        ("XQ-2020-015", "621122"),
    ]
    # One event per submission (14 + 2), per decided line (37 + 榆中县's 3) and per line put
    # into a batch (28 + 榆中县's 3).
    assert Counter(RequestEvent.objects.values_list("action", flat=True)) == {
        RequestAction.SUBMITTED: 14 + 2,
        RequestAction.TRIAGED: 37 + 3,
        RequestAction.BATCHED: 28 + 3,
    }


def test_batch_lines_answer_requests_within_what_was_accepted(demo):
    """28 batch lines of 9 of the province's batches answer request lines: 27,800 + 35,100 +
    27,700 (the team), 22,600 + 16,400 + 5,800 + 7,100 (the hospitals), 79,400 (Lanzhou),
    84,700 (Tianshui); and 3 lines of Lanzhou's 620100-2020-002 榆中县's: 8,000 + 15,000 +
    6,000 = 29,000."""
    linked = DispatchBatchLine.objects.filter(request_line__isnull=False)
    assert linked.count() == 28 + 3
    assert linked.values("batch").distinct().count() == 9 + 1
    assert linked.aggregate(q=Sum("quantity"))["q"] == 306_600 + 29_000
    for line in SupplyRequestLine.objects.annotate(batched=Sum("batch_lines__quantity")):
        assert line.accepted_quantity <= line.quantity
        assert (line.batched or 0) <= line.accepted_quantity
    # Each linked line is triaged before its batch was drafted, and its batch is its claimant's.
    for batch_line in linked.select_related("batch", "request_line__request"):
        request_line = batch_line.request_line
        assert request_line.decided_at <= batch_line.batch.created_at
        assert request_line.request.claimant_id == batch_line.batch.destination_id
        assert request_line.item_id == batch_line.item_id


def test_the_batches_and_the_ledger_are_unchanged(demo):
    """The requests move no stock: the province's batches still carry 4,637,000 and the ledger
    sums to 1,124,127, but for the prefectures' onward stock (onward.yaml, counted in
    tests/reports/test_demo_three_level.py): 88,000 + 50,000 into LZ01 and DX01, 68,000 +
    38,500 out to counties: + 31,500."""
    province = DispatchBatchLine.objects.filter(batch__issuing_prefecture=None)
    assert province.aggregate(q=Sum("quantity"))["q"] == 4_637_000
    assert StockEventLine.objects.aggregate(s=Sum("quantity"))["s"] == 1_124_127 + 31_500


def test_the_hubei_teams_fill_rate_for_n95(demo):
    """N95 (FH001) for the team: asked 10,000 + 9,000 + 8,000 = 27,000; accepted 7,500 (part)
    + 9,000 + 7,500 (part) = 24,000; dispatched by 2020-001, -011 and -029: 7,500 + 9,000 +
    7,500 = 24,000 (the donated 10,000 of 2020-019 answered no request): fill rate 1. Time to
    fill: 01-26 09:00 → 01-27 10:00 = 25 h, 02-01 09:30 → 02-03 10:00 = 48.5 h, 02-15 10:00 →
    02-18 10:00 = 72 h; median 48.5 h."""
    office = User.objects.get(username="office")
    team = Destination.objects.get(code="GS-YEYLD")
    n95 = Item.objects.get(code="FH001")
    (row,) = fill_rates(
        office, start=dt.date(2020, 1, 25), end=dt.date(2020, 3, 24), claimant=team, item=n95
    )
    assert (row.lines, row.asked, row.accepted, row.dispatched) == (3, 27_000, 24_000, 24_000)
    assert row.fill_rate == 1
    assert row.median_hours_to_fill == Decimal("48.5")


def test_the_provincial_hospitals_n95_is_not_all_filled(demo):
    """甘肃省人民医院, FH001: 5,600 accepted (part of 6,000) and dispatched by 2020-004; the
    emergency of the last day, 3,000 accepted, not yet: 5,600 / 8,600 = 65.1 %."""
    office = User.objects.get(username="office")
    (row,) = fill_rates(
        office,
        start=dt.date(2020, 1, 25),
        end=dt.date(2020, 3, 24),
        claimant=Destination.objects.get(code="GS-SRMYY"),
        item=Item.objects.get(code="FH001"),
    )
    assert (row.asked, row.accepted, row.dispatched) == (9_000, 8_600, 5_600)
    assert round(row.fill_rate, 3) == Decimal("0.651")


def test_the_alert_finds_the_emergency_open_longer_than_12_hours(demo):
    """At 09:00 the morning after the last day, 12 hours back is 21:00 of the last day: the
    provincial hospital's emergency (08:30, accepted at 10:00, not dispatched) is open longer;
    the Second Hospital's (23:10) is not yet; the team's emergency of January was filled."""
    found = emergency_requests_open_since(DEMO_NOW - dt.timedelta(hours=12))
    # Numbered 014 and 016: 榆中县's request (011) and 陇西县's (015) came in among them.
    assert [(r.number, r.claimant.code) for r in found] == [("XQ-2020-014", "GS-SRMYY")]
    # By noon both are.
    later = emergency_requests_open_since(DEMO_NOW + dt.timedelta(hours=3) - dt.timedelta(hours=12))
    assert [r.number for r in later] == ["XQ-2020-014", "XQ-2020-016"]


def test_a_unit_requester_sees_only_its_units_requests(demo):
    jtys = User.objects.get(username="req_jtys")
    assert set(visible_requests(jtys).values_list("claimant__code", flat=True)) == {
        "GS-LZTL",
        "GS-MHJC",
    }
    assert _state_counts(jtys) == {"open": 1, "awaiting_triage": 1}
    ldyy = User.objects.get(username="req_ldyy")
    assert visible_requests(ldyy).count() == 4
    assert set(visible_requests(ldyy).values_list("claimant__code", flat=True)) == {
        "GS-LDYY",
        "GS-LDEY",
        "GS-SZYY",
    }
    assert visible_requests(User.objects.get(username="req_srmyy")).count() == 6
    # An officer sees its prefecture's and its counties' (榆中县's); the office all.
    officer = User.objects.get(username="lanzhou_officer")
    assert sorted(visible_requests(officer).values_list("claimant__code", flat=True)) == [
        "620100",
        "620123",
    ]
    assert visible_requests(User.objects.get(username="office")).count() == 14 + 2


def test_loading_again_adds_no_request(demo):
    before = (
        SupplyRequest.objects.count(),
        SupplyRequestLine.objects.count(),
        RequestEvent.objects.count(),
        ClaimantStaff.objects.count(),
        Destination.requesters.through.objects.count(),
    )
    out = io.StringIO()
    call_command("load_demo", "--historical", stdout=out)
    assert "0 requests created (16 already there)" in out.getvalue()
    after = (
        SupplyRequest.objects.count(),
        SupplyRequestLine.objects.count(),
        RequestEvent.objects.count(),
        ClaimantStaff.objects.count(),
        Destination.requesters.through.objects.count(),
    )
    assert after == before


def test_a_wrong_requester_and_a_wrong_request_line_are_named(tmp_path):
    """The file checks name the file, the row or key path and the field; nothing is loaded."""
    folder = tmp_path / "gansu"
    shutil.copytree(GANSU, folder)
    destinations = folder / "destinations.csv"
    destinations.write_text(
        destinations.read_text(encoding="utf-8").replace(",req_jtys\n", ",office\n", 1),
        encoding="utf-8",
    )
    requests = folder / "requests.yaml"
    requests.write_text(
        requests.read_text(encoding="utf-8").replace("[FH005, 4500, accepted]", "[FH005, 0]", 1),
        encoding="utf-8",
    )
    with pytest.raises(ProvinceDataInvalid) as caught:
        province_read(folder)
    where = {(e.file, e.row, e.field) for e in caught.value.errors}
    assert where == {
        ("destinations.csv", 7, "requesters"),
        ("requests.yaml", "requests[0].lines[2]", "lines"),
    }
