"""Each event reaches the right people and no one else (issue 16 section 3).

The people (tests/conftest.py, tests/allocation/three_level.py): Lanzhou's officer, lead and
Yuzhong's county officer; the office; leadership; and the outsiders - Tianshui's officer
(`outsider`) and lead, 皋兰县's county officer - who must hear nothing of Lanzhou's events.
The clock stands at 2026-03-10 (10:00 for the allocation tests, 15:00 for the reminders)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from allocation.models import Destination, DestinationKind
from allocation.requests import request_submit, request_triage
from inventory.models import CountyDailyFigure
from inventory.tasks import figures_missing_remind
from procurement.models import SupplierOrigin
from procurement.services import (
    national_allocation_announce,
    order_create,
    order_place,
    supplier_create,
)
from procurement.tasks import inbound_overdue_notify
from production.models import LineStatus, Producer, ProductionLine, ProductionReport
from production.tasks import production_reports_missing_remind
from reports.alerts import alerts_refresh
from reports.services import snapshot_build_for_date
from supplycoord.models import Role
from supplycoord.notifications.models import Notification
from tests.allocation.three_level import *  # noqa: F403 (fixtures)
from tests.allocation.three_level import lanzhou_batch
from tests.factories import DailyFigureFactory, ItemFactory, UserFactory, WarehouseFactory
from tests.procurement.conftest import credit_code
from tests.supplycoord.notify_world import *  # noqa: F403 (fixtures)
from tests.supplycoord.notify_world import TODAY, said, told


@pytest.fixture
def masks(db):
    return ItemFactory(code="FH002", name_zh="医用外科口罩", name_en="Surgical mask")


@pytest.fixture
def everyone(
    officer, outsider, lead, outsider_lead, county_officer, gaolan_officer, office, leader
):
    """Every role that could be told, so a test can say who was not."""


# --- An officer is reminded before the cut-off -------------------------------------------------


def test_an_officer_is_reminded_of_the_key_items_its_prefecture_has_not_reported(
    clock, committed, everyone, lanzhou, tianshui, officer, outsider, n95, masks
):
    # Two key items. Lanzhou reported N95 only; Tianshui reported both.
    DailyFigureFactory(prefecture=lanzhou, item=n95, date=TODAY, submitted_by=officer)
    for item in (n95, masks):
        DailyFigureFactory(prefecture=tianshui, item=item, date=TODAY, submitted_by=outsider)

    with committed():
        assert figures_missing_remind() == 1

    assert list(told("figures_missing")) == ["officer"]
    (notification,) = told("figures_missing")["officer"]
    assert notification.prefecture == lanzhou
    assert said(notification) == (
        "Lanzhou: figures for 2026-03-10 not complete",
        "Key items not reported yet for 2026-03-10: 1 of 2 (Surgical mask). The cut-off is 16:00.",
    )
    # The beat may run again (or twice at once): nobody is told twice.
    with committed():
        figures_missing_remind()
    assert Notification.objects.filter(kind="figures_missing").count() == 1


def test_county_officers_are_reminded_where_the_prefecture_reports_as_their_sum(
    clock, committed, everyone, lanzhou, yuzhong, gaolan, county_officer, n95, masks
):
    """Lanzhou reports as the sum of 榆中县 and 皋兰县: Yuzhong reported both items, Gaolan
    none. Gaolan's officer is reminded of its 2 items; Lanzhou's officers are not (the
    counties enter); Tianshui (no figures at all) reminds its own officer of Tianshui only."""
    lanzhou.reports_as_sum_of_counties = True
    lanzhou.save()
    moment = timezone.now()
    for item in (n95, masks):
        CountyDailyFigure.objects.create(
            county=yuzhong,
            item=item,
            date=TODAY,
            stock=100,
            received=0,
            consumption=10,
            demand=10,
            expected_arrivals_3d=0,
            submitted_by=county_officer,
            first_submitted_at=moment,
            submitted_at=moment,
            on_time=True,
        )

    with committed():
        assert figures_missing_remind() == 2  # 皋兰县 and 天水市

    reminded = told("figures_missing")
    assert sorted(reminded) == ["gaolan_officer", "outsider"]
    (gaolan_note,) = reminded["gaolan_officer"]
    assert said(gaolan_note)[0] == "Gaolan: figures for 2026-03-10 not complete"
    assert "2 of 2 (N95 respirator, Surgical mask)" in said(gaolan_note)[1]
    (tianshui_note,) = reminded["outsider"]
    assert said(tianshui_note)[0] == "Tianshui: figures for 2026-03-10 not complete"


# --- Leadership, of batches awaiting approval ------------------------------------------------


def test_leadership_hears_of_a_province_draft_and_no_one_else(
    committed, everyone, office, sz01_2026, lanzhou_itself, n95
):
    from allocation.services import batch_create

    with committed():
        batch = batch_create(
            user=office,
            source_warehouse=sz01_2026,
            destination=lanzhou_itself,
            lines=[{"item": n95, "quantity": 500, "channel": "reserve"}],
        )

    assert list(told("batch_awaiting_approval")) == ["leader"]
    (notification,) = told("batch_awaiting_approval")["leader"]
    assert notification.url == f"/allocation/batches/{batch.number}/"
    assert said(notification) == (
        f"Batch {batch.number} awaits approval",
        f"Draft batch {batch.number} from {sz01_2026.name_en} to Lanzhou awaits your "
        "approval (lines: 1).",
    )


def test_a_prefecture_draft_goes_to_its_own_lead_only(
    committed, everyone, officer, lz01, to_yuzhong, n95
):
    with committed():
        batch = lanzhou_batch(officer, lz01, to_yuzhong, 300, n95)

    assert batch.number == "620100-2026-001"
    # Not Tianshui's lead, not leadership (a prefecture's batch is its lead's to approve).
    assert list(told("batch_awaiting_approval")) == ["lead"]


def test_a_draft_rolled_back_tells_nobody(committed, everyone, officer, lz01, to_yuzhong, n95):
    from django.db import transaction

    with committed(), pytest.raises(RuntimeError), transaction.atomic():
        lanzhou_batch(officer, lz01, to_yuzhong, 300, n95)
        raise RuntimeError("the rest of the change failed")
    assert told("batch_awaiting_approval") == {}


# --- The office, of new emergency requests ---------------------------------------------------


def _ask(user, claimant, n95, urgency="emergency", quantity=300):
    request, _created = request_submit(
        user=user,
        claimant=claimant,
        urgency=urgency,
        needed_by=TODAY + dt.timedelta(days=2),
        justification="发热门诊扩容",
        lines=[{"item": n95, "quantity": quantity}],
    )
    return request


def test_an_emergency_request_of_a_county_reaches_the_office_and_its_prefectures_officers(
    clock_2026, committed, everyone, county_officer, to_yuzhong, n95
):
    with committed():
        request = _ask(county_officer, to_yuzhong, n95)

    # The office and Lanzhou's officer (who triage a county's requests); not the asker, not
    # Lanzhou's lead, not Tianshui's officer.
    assert sorted(told("request_emergency")) == ["office", "officer"]
    notification = told("request_emergency")["officer"][0]
    assert said(notification) == (
        f"Emergency request {request.number} from Yuzhong",
        "Yuzhong needs by 2026-03-12: N95 respirator 300 piece.",
    )
    # Worded again in Chinese from the same params: the names in Chinese.
    title, body = said(notification, "zh-hans")
    assert "榆中县" in title and "N95口罩 300" in body


def test_a_prefectures_own_emergency_request_reaches_the_office_only(
    clock_2026, committed, everyone, officer, lanzhou_itself, n95
):
    with committed():
        _ask(officer, lanzhou_itself, n95)
    assert list(told("request_emergency")) == ["office"]


def test_an_urgent_request_is_not_an_emergency(
    clock_2026, committed, everyone, county_officer, to_yuzhong, n95
):
    with committed():
        _ask(county_officer, to_yuzhong, n95, urgency="urgent")
    assert told("request_emergency") == {}


# --- A requester, of its request's triage ----------------------------------------------------


@pytest.fixture
def hospital(db):
    """A provincial hospital with two requesters; another unit's requester stands apart."""
    unit = Destination.objects.create(
        kind=DestinationKind.PROVINCIAL_INSTITUTION,
        code="SRMYY",
        name_zh="甘肃省人民医院",
        name_en="Gansu Provincial Hospital",
    )
    unit.requesters.add(
        UserFactory(username="nurse", role=Role.UNIT_REQUESTER),
        UserFactory(username="pharmacist", role=Role.UNIT_REQUESTER),
    )
    other = Destination.objects.create(
        kind=DestinationKind.KEY_UNIT, code="LZJC", name_zh="兰州机场", prefecture_id=None
    )
    other.requesters.add(UserFactory(username="airport", role=Role.UNIT_REQUESTER))
    return unit


def _decide(user, request, decision, **extra):
    line = request.lines.get()
    return request_triage(
        user=user,
        request=request,
        expected_version=request.version,
        decisions=[{"line": line.pk, "decision": decision, **extra}],
    )


def test_a_units_requesters_hear_of_its_triage(
    clock_2026, committed, everyone, office, hospital, n95
):
    nurse = hospital.requesters.get(username="nurse")
    request = _ask(nurse, hospital, n95, urgency="urgent")

    with committed():
        _decide(office, request, "accepted_part", accepted_quantity=200, reason="库存不足")

    # The submitter and the unit's other requester; not the airport's, not the office that
    # decided, no officer.
    assert sorted(told("request_triaged")) == ["nurse", "pharmacist"]
    assert said(told("request_triaged")["pharmacist"][0]) == (
        f"Request {request.number} was triaged",
        f"Request {request.number} of Gansu Provincial Hospital: accepted 0, accepted in "
        "part 1, refused 0, awaiting triage 0.",
    )


def test_a_county_officer_hears_of_its_requests_triage_by_its_prefecture(
    clock_2026, committed, everyone, officer, county_officer, to_yuzhong, n95
):
    request = _ask(county_officer, to_yuzhong, n95, urgency="urgent")

    with committed():
        _decide(officer, request, "refused", reason="请向省里申请")

    # Yuzhong's officer (who asked); not Lanzhou's officer who decided, no outsider.
    assert list(told("request_triaged")) == ["county_officer"]
    assert "refused 1" in said(told("request_triaged")["county_officer"][0])[1]


# --- The office, of overdue inbound ----------------------------------------------------------


def test_the_office_hears_once_of_each_overdue_order_and_national_allocation(
    clock, committed, everyone, office, n95, masks
):
    supplier = supplier_create(
        user=office,
        name="兰州康泰医疗用品有限公司",
        credit_code=credit_code(1),
        origin=SupplierOrigin.IN_PROVINCE,
    )

    def order(expected):
        made = order_create(
            user=office,
            supplier=supplier,
            buyer_unit=None,
            funding_source="fiscal",
            ordered_on=TODAY - dt.timedelta(days=10),
            lines=[
                {"item": n95, "quantity": 100, "unit_price": Decimal("1.00"), "expected_arrival": e}
                for e in expected
            ]
            + [
                {
                    "item": masks,
                    "quantity": 50,
                    "unit_price": Decimal("0.50"),
                    "expected_arrival": expected[0],
                }
            ],
        )
        return order_place(user=office, order=made, expected_version=made.version)

    late = order([TODAY - dt.timedelta(days=3)])  # 2 lines expected on the 7th: overdue
    order([TODAY + dt.timedelta(days=3)])  # expected on the 13th: not overdue
    national_allocation_announce(
        user=office,
        item=n95,
        quantity=10_000,
        expected_arrival=TODAY - dt.timedelta(days=1),
        warehouse=WarehouseFactory(code="SZ01", name_zh="省级储备一库"),
        reference="国卫调〔2026〕3号",
        announced_on=TODAY - dt.timedelta(days=5),
    )

    with committed():
        assert inbound_overdue_notify() == 2

    assert list(told("inbound_overdue")) == ["office"]
    words = sorted(said(n) for n in told("inbound_overdue")["office"])
    assert words == [
        (
            "National allocation 国卫调〔2026〕3号 is overdue",
            "National allocation 国卫调〔2026〕3号 (N95 respirator, 10,000 piece outstanding) "
            "was expected by 2026-03-09 and has not arrived.",
        ),
        (
            f"Purchase order {late.number} is overdue",
            f"Purchase order {late.number} from 兰州康泰医疗用品有限公司 was expected by "
            "2026-03-07 and has not all arrived (overdue lines: 2).",
        ),
    ]
    # Still overdue the next morning: not told again.
    with committed():
        inbound_overdue_notify()
    assert Notification.objects.filter(kind="inbound_overdue").count() == 2


# --- The office, of new alerts ---------------------------------------------------------------


def test_the_office_hears_of_the_alerts_a_build_opens(
    clock, committed, everyone, lanzhou, tianshui, officer, n95
):
    # Lanzhou: 20 N95 at 10 a day, 2 days of cover: red. Tianshui reported nothing: missing.
    DailyFigureFactory(prefecture=lanzhou, item=n95, date=TODAY, stock=20, submitted_by=officer)
    snapshot_build_for_date(date=TODAY)

    with committed():
        assert alerts_refresh(date=TODAY)["opened"] == 2

    assert list(told("alerts_opened")) == ["office"]
    (notification,) = told("alerts_opened")["office"]
    assert said(notification) == (
        "New alerts: 2",
        "The build of 2026-03-10 opened new alerts: Item in red: 1, Report missing: 1.",
    )
    # The same conditions found again open nothing new and tell nobody.
    with committed():
        alerts_refresh(date=TODAY)
    assert Notification.objects.filter(kind="alerts_opened").count() == 1


# --- A commissioner, of missing production reports ------------------------------------------


def test_a_commissioner_hears_of_its_producers_missing_reports(
    clock, committed, everyone, lanzhou, officer, n95, masks
):
    commissioner = UserFactory(username="commissioner", role=Role.PRODUCER_REPORTER)
    other = UserFactory(username="other_commissioner", role=Role.PRODUCER_REPORTER)
    late = Producer.objects.create(
        name="兰州防护用品厂", credit_code=credit_code(11), prefecture=lanzhou
    )
    done = Producer.objects.create(
        name="天水口罩厂", credit_code=credit_code(12), prefecture=lanzhou
    )
    late.reporters.add(commissioner)
    done.reporters.add(other)
    for producer in (late, done):
        for item in (n95, masks):
            ProductionLine.objects.create(
                producer=producer, item=item, daily_capacity=1000, status=LineStatus.COMMISSIONED
            )
    # A line still being built expects no report.
    ProductionLine.objects.create(
        producer=late,
        item=ItemFactory(code="FH009"),
        daily_capacity=1000,
        status=LineStatus.BUILDING,
    )
    moment = timezone.now()
    reports = [(late, n95), (done, n95), (done, masks)]
    for producer, item in reports:
        ProductionReport.objects.create(
            producer=producer,
            item=item,
            date=TODAY,
            output=100,
            factory_stock=10,
            submitted_by=commissioner if producer == late else other,
            first_submitted_at=moment,
            submitted_at=moment,
        )

    with committed():
        assert production_reports_missing_remind() == 1

    assert list(told("production_report_missing")) == ["commissioner"]
    (notification,) = told("production_report_missing")["commissioner"]
    assert said(notification) == (
        "兰州防护用品厂: production report for 2026-03-10 missing",
        "Items not reported yet for 2026-03-10: 1 of 2 (Surgical mask).",
    )
    assert notification.url == f"/production/reports/new/?producer={late.pk}"
