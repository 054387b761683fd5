"""Three-level dispatch through the services (issue 15 §3): a prefecture's own batch is
numbered in its own series, moves its own warehouse's stock, is approved by its lead only,
goes to its counties and units only, is received by the county, and counts in the
prefecture's in-transit until it is received."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation

from allocation.models import BatchStatus, DispatchBatch
from allocation.selectors import in_transit_by_key
from allocation.services import (
    AllocationInvalid,
    batch_approve,
    batch_create,
    batch_dispatch,
    batch_receive,
    batch_update_draft,
)
from inventory.models import StockBalance
from supplycoord.permissions import scope_batch_destinations
from tests.allocation.three_level import *  # noqa: F403
from tests.allocation.three_level import NOW, lanzhou_batch

pytestmark = pytest.mark.usefixtures("clock_2026")


def balance(warehouse, item) -> int:
    return StockBalance.objects.get(warehouse=warehouse, item=item).quantity


def n95_in_transit(prefecture, n95, day=None) -> tuple[int, int]:
    return in_transit_by_key(day or NOW.date()).get((prefecture.pk, n95.pk), (0, 0))


# --- Numbering -------------------------------------------------------------------------------


def test_lanzhous_batches_are_numbered_in_its_own_series_and_the_provinces_is_untouched(
    office, officer, lz01, sz01_2026, to_yuzhong, lanzhou_itself, n95
):
    province_first = batch_create(
        user=office,
        source_warehouse=sz01_2026,
        destination=lanzhou_itself,
        lines=[{"item": n95, "quantity": 100, "channel": "reserve"}],
    )
    lanzhou_first = lanzhou_batch(officer, lz01, to_yuzhong, 300, n95)
    lanzhou_second = lanzhou_batch(officer, lz01, to_yuzhong, 50, n95)
    province_second = batch_create(
        user=office,
        source_warehouse=sz01_2026,
        destination=lanzhou_itself,
        lines=[{"item": n95, "quantity": 100, "channel": "reserve"}],
    )

    assert lanzhou_first.number == "620100-2026-001"
    assert lanzhou_second.number == "620100-2026-002"
    assert lanzhou_first.issuing_prefecture == lanzhou_first.source_warehouse.prefecture
    # The province's own series goes on as if Lanzhou's did not exist.
    assert (province_first.number, province_second.number) == ("2026-001", "2026-002")
    assert province_first.issuing_prefecture is None


# --- Stock, receipt, in transit ----------------------------------------------------------------


def test_a_batch_of_300_from_lz01_to_yuzhong_leaves_700_and_is_in_lanzhous_transit(
    shipped_300, lz01, lanzhou, tianshui, n95
):
    # LZ01 held 1,000; the batch took 300 out when it left.
    assert shipped_300.status == BatchStatus.DISPATCHED
    assert balance(lz01, n95) == 1000 - 300 == 700
    # 榆中县 is Lanzhou's county: its 300 on the road count in Lanzhou's row
    # (in_transit_by_key groups by the destination's prefecture). No expected arrival was
    # given, so none of it is expected within 3 days.
    assert n95_in_transit(lanzhou, n95) == (300, 0)
    assert n95_in_transit(tianshui, n95) == (0, 0)


def test_the_county_receives_280_of_300_and_20_stay_in_transit_until_the_receipt_is_complete(
    shipped_300, county_officer, lanzhou, n95, clock_2026
):
    line = shipped_300.lines.get()
    clock_2026.shift(dt.timedelta(hours=6))

    partly = batch_receive(
        user=county_officer,
        batch=shipped_300,
        expected_version=shipped_300.version,
        received={line.pk: 280},
        note="一箱在途破损",
    )

    line.refresh_from_db()
    assert partly.status == BatchStatus.PARTLY_RECEIVED
    assert line.received_quantity == 280
    assert line.discrepancy == 280 - 300 == -20
    # Still on the road: 300 shipped − 280 received.
    assert n95_in_transit(lanzhou, n95) == (20, 0)

    received = batch_receive(
        user=county_officer,
        batch=partly,
        expected_version=partly.version,
        received={},
        complete=True,
        note="余下20只确认短缺",
    )

    line.refresh_from_db()
    assert received.status == BatchStatus.RECEIVED
    assert line.discrepancy == -20  # what never arrived stays a discrepancy
    assert n95_in_transit(lanzhou, n95) == (0, 0)  # and no longer counts as on the road


def test_an_expected_arrival_within_three_days_counts_in_lanzhous_arriving_part(
    officer, lead, lz01, to_yuzhong, lanzhou, n95
):
    batch = lanzhou_batch(
        officer, lz01, to_yuzhong, 120, n95, expected_arrival=NOW.date() + dt.timedelta(days=3)
    )
    batch = batch_approve(user=lead, batch=batch, expected_version=batch.version)
    batch_dispatch(user=officer, batch=batch, expected_version=batch.version)

    assert n95_in_transit(lanzhou, n95) == (120, 120)


def test_another_countys_officer_cannot_receive_yuzhongs_batch(shipped_300, gaolan_officer):
    line = shipped_300.lines.get()

    with pytest.raises(PermissionDenied):
        batch_receive(
            user=gaolan_officer,
            batch=shipped_300,
            expected_version=shipped_300.version,
            received={line.pk: 300},
        )


# --- Who issues from where, and where a prefecture's batch may go ------------------------------


def test_the_office_may_not_issue_from_lanzhous_warehouse(office, lz01, to_yuzhong, n95):
    with pytest.raises(PermissionDenied):
        lanzhou_batch(office, lz01, to_yuzhong, 10, n95)


def test_lanzhous_officer_may_not_issue_from_the_provincial_reserve(
    officer, sz01_2026, to_yuzhong, n95
):
    with pytest.raises(PermissionDenied):
        lanzhou_batch(officer, sz01_2026, to_yuzhong, 10, n95)


def test_tianshuis_officer_may_not_issue_from_lz01(outsider, lz01, to_yuzhong, n95):
    with pytest.raises(PermissionDenied):
        lanzhou_batch(outsider, lz01, to_yuzhong, 10, n95)


@pytest.mark.parametrize("where", ["lanzhou_itself", "to_qinzhou"])
def test_a_batch_from_lz01_goes_neither_to_lanzhou_itself_nor_to_another_prefectures_county(
    request, officer, lz01, n95, where
):
    destination = request.getfixturevalue(where)

    with translation.override("en"), pytest.raises(AllocationInvalid) as refused:
        lanzhou_batch(officer, lz01, destination, 10, n95)

    assert refused.value.errors == [
        (
            None,
            "A batch from a prefecture's warehouse goes to that prefecture's counties and units.",
        )
    ]
    assert not DispatchBatch.objects.exists()


def test_a_lanzhou_draft_cannot_move_to_the_province_nor_a_province_draft_to_lanzhou(
    office, officer, lz01, sz01_2026, draft_300, to_yuzhong, n95
):
    province_draft = batch_create(
        user=office,
        source_warehouse=sz01_2026,
        destination=to_yuzhong,
        lines=[{"item": n95, "quantity": 10, "channel": "reserve"}],
    )

    # Nobody issues at both levels, so the move is refused on the warehouse (403) before
    # the service's "a draft stays with its issuer" check could speak.
    with pytest.raises(PermissionDenied):
        batch_update_draft(
            user=officer,
            batch=draft_300,
            expected_version=draft_300.version,
            source_warehouse=sz01_2026,
        )
    with pytest.raises(PermissionDenied):
        batch_update_draft(
            user=office,
            batch=province_draft,
            expected_version=province_draft.version,
            source_warehouse=lz01,
        )
    draft_300.refresh_from_db()
    province_draft.refresh_from_db()
    assert draft_300.source_warehouse == lz01 and draft_300.number == "620100-2026-001"
    assert province_draft.source_warehouse == sz01_2026


def test_where_each_role_may_send_batches(
    office,
    officer,
    outsider,
    lead,
    county_officer,
    leader,
    to_yuzhong,
    to_gaolan,
    lanzhou_itself,
    to_qinzhou,
):
    from allocation.models import Destination

    def names(user):
        return sorted(
            scope_batch_destinations(user, Destination.objects).values_list("name_zh", flat=True)
        )

    everywhere = sorted(["榆中县", "皋兰县", "兰州市", "秦州区"])
    assert names(office) == everywhere
    assert names(officer) == sorted(["榆中县", "皋兰县"])  # its counties, never 兰州市 itself
    assert names(outsider) == ["秦州区"]
    # Leads approve, county officers receive, leadership approves the province's: none drafts.
    assert names(lead) == names(county_officer) == names(leader) == []


# --- Approval: the prefecture's lead, and only it ------------------------------------------------


def test_only_lanzhous_lead_approves_lanzhous_batch(
    draft_300, lead, leader, office, officer, outsider_lead
):
    for refused in (leader, office, officer, outsider_lead):
        with pytest.raises(PermissionDenied):
            batch_approve(user=refused, batch=draft_300, expected_version=draft_300.version)

    approved = batch_approve(user=lead, batch=draft_300, expected_version=draft_300.version)

    assert approved.status == BatchStatus.APPROVED and approved.approved_by == lead


def test_an_admin_may_stand_in_for_the_lead(draft_300, admin_user):
    approved = batch_approve(user=admin_user, batch=draft_300, expected_version=draft_300.version)

    assert approved.status == BatchStatus.APPROVED


def test_the_office_may_not_dispatch_lanzhous_approved_batch(draft_300, lead, office, officer):
    approved = batch_approve(user=lead, batch=draft_300, expected_version=draft_300.version)

    with pytest.raises(PermissionDenied):
        batch_dispatch(user=office, batch=approved, expected_version=approved.version)
    with pytest.raises(PermissionDenied):
        batch_dispatch(user=lead, batch=approved, expected_version=approved.version)

    shipped = batch_dispatch(user=officer, batch=approved, expected_version=approved.version)
    assert shipped.status == BatchStatus.DISPATCHED and shipped.dispatched_by == officer
