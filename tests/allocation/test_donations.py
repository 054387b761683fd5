"""Donations: received with their receipt event; restricted ones go only where allowed."""

import pytest
from django.core.exceptions import PermissionDenied

from allocation.models import Destination, DestinationKind, DonationRestriction
from allocation.services import (
    AllocationInvalid,
    DonationOverdrawn,
    DonationRestricted,
    batch_cancel,
    batch_update_draft,
    donation_allows,
    donation_receive,
    donation_remaining,
)
from inventory.models import StockBalance
from tests.allocation.conftest import make_batch
from tests.factories import WarehouseFactory

pytestmark = pytest.mark.usefixtures("frozen_time")


def donate(office, warehouse, item, quantity=1000, **kwargs):
    return donation_receive(
        user=office,
        warehouse=warehouse,
        donor_name="某基金会",
        donor_kind="organisation",
        lines=[(item, quantity)],
        **kwargs,
    )


def donated_line(donation, item, quantity):
    return {"item": item, "quantity": quantity, "channel": "donation", "donation": donation}


def test_it_receives_a_donation_into_the_warehouse_with_one_receipt(office, sz01, n95):
    donation = donate(office, sz01, n95, 1000, declared_value=12000, public=True)

    event = donation.receipt_event
    assert (event.receipt_source, event.counterparty) == ("donation", "某基金会")
    assert list(donation.lines.values_list("item__code", "quantity")) == [("FH001", 1000)]
    assert StockBalance.objects.get(warehouse=sz01, item=n95).quantity == 1000
    assert donation.received_on.isoformat() == "2020-02-20"


def test_it_lets_only_the_office_record_donations(leader, sz01, n95):
    with pytest.raises(PermissionDenied):
        donate(leader, sz01, n95)


def test_it_needs_the_named_prefecture_of_a_restricted_donation(office, sz01, n95):
    with pytest.raises(AllocationInvalid):
        donate(office, sz01, n95, restriction=DonationRestriction.NAMED_PREFECTURE)


def test_it_sends_a_prefecture_donation_only_to_that_prefecture(
    office, sz01, n95, lanzhou, tianshui, to_lanzhou
):
    donation = donate(
        office,
        sz01,
        n95,
        restriction=DonationRestriction.NAMED_PREFECTURE,
        restricted_prefecture=lanzhou,
    )
    to_tianshui = Destination.objects.create(
        kind=DestinationKind.PREFECTURE, name_zh="天水市", prefecture=tianshui
    )

    with pytest.raises(DonationRestricted):
        make_batch(office, sz01, to_tianshui, [donated_line(donation, n95, 10)])
    batch = make_batch(office, sz01, to_lanzhou, [donated_line(donation, n95, 10)])

    assert batch.lines.get().donation == donation


def test_it_sends_a_front_line_donation_nowhere_outside_the_province(
    office, sz01, n95, to_hospital, to_tianjin
):
    donation = donate(office, sz01, n95, restriction=DonationRestriction.FRONT_LINE_STAFF)
    aid_team = Destination.objects.create(kind=DestinationKind.AID_TEAM, name_zh="援鄂医疗队")

    with pytest.raises(DonationRestricted):
        make_batch(office, sz01, to_tianjin, [donated_line(donation, n95, 10)])
    assert donation_allows(donation, to_hospital) and donation_allows(donation, aid_team)
    assert not donation_allows(donation, to_tianjin)


def test_it_sends_a_named_destination_donation_only_there(
    office, sz01, n95, to_hospital, to_lanzhou
):
    donation = donate(
        office,
        sz01,
        n95,
        restriction=DonationRestriction.NAMED_DESTINATION,
        restricted_destination=to_hospital,
    )

    with pytest.raises(DonationRestricted):
        make_batch(office, sz01, to_lanzhou, [donated_line(donation, n95, 10)])
    # Changing a draft's destination checks the restriction again.
    batch = make_batch(office, sz01, to_hospital, [donated_line(donation, n95, 10)])
    with pytest.raises(DonationRestricted):
        batch_update_draft(user=office, batch=batch, expected_version=1, destination=to_lanzhou)


def test_it_refuses_to_draw_more_than_is_left_of_a_donation(office, sz01, n95, to_lanzhou):
    donation = donate(office, sz01, n95, 1000)
    first = make_batch(office, sz01, to_lanzhou, [donated_line(donation, n95, 700)])

    with pytest.raises(DonationOverdrawn):
        make_batch(office, sz01, to_lanzhou, [donated_line(donation, n95, 301)])
    # Two lines of one batch add up too.
    with pytest.raises(DonationOverdrawn):
        make_batch(
            office,
            sz01,
            to_lanzhou,
            [donated_line(donation, n95, 200), donated_line(donation, n95, 200)],
        )
    assert donation_remaining(donation) == {n95.pk: 300}
    # A cancelled batch gives its share back.
    batch_cancel(user=office, batch=first, expected_version=1, note="duplicate")
    assert donation_remaining(donation) == {n95.pk: 1000}
    make_batch(office, sz01, to_lanzhou, [donated_line(donation, n95, 1000)])


def test_it_lets_a_draft_keep_its_own_share_when_edited(office, sz01, n95, to_lanzhou):
    donation = donate(office, sz01, n95, 1000)
    batch = make_batch(office, sz01, to_lanzhou, [donated_line(donation, n95, 1000)])

    batch = batch_update_draft(
        user=office, batch=batch, expected_version=1, lines=[donated_line(donation, n95, 900)]
    )

    assert batch.lines.get().quantity == 900


def test_it_refuses_donated_goods_from_another_warehouse_or_of_another_item(
    office, sz01, n95, masks, to_lanzhou
):
    donation = donate(office, sz01, n95, 1000)
    other = WarehouseFactory(code="SZ02")

    with pytest.raises(AllocationInvalid):
        make_batch(office, other, to_lanzhou, [donated_line(donation, n95, 10)])
    with pytest.raises(DonationOverdrawn):
        make_batch(office, sz01, to_lanzhou, [donated_line(donation, masks, 10)])
