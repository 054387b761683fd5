"""The proposal shows what arrives in the provincial reserve within 3 days and may hand it out
("on hand + arriving within 3 days"); the basis is kept on the proposal and marked on the
batches it creates. Water-filling worked by hand with the basis switched."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from allocation.models import Destination, DestinationKind, ProposalBasis
from allocation.proposals import (
    ProposalInvalid,
    proposal_accept,
    proposal_create,
    proposal_view,
)
from inventory.models import ReceiptSource
from inventory.services import stock_receive
from procurement.services import national_allocation_announce
from reports.proposal_inputs import proposal_inputs
from reports.services import snapshot_build_for_date
from tests.factories import DailyFigureFactory
from tests.procurement.conftest import NOW, TODAY

D = TODAY  # 20 February 2020


@pytest.fixture
def world(frozen_time, office, lanzhou, tianshui, n95, sz01, make_order):
    """SZ01 holds 5,000 N95. Lanzhou: stock 1,000, 500 a day; Tianshui: stock 3,000, 500 a
    day. Coming into the reserve: an order of 2,000 expected d+2 (within 3 days) and a national
    allocation of 1,000 expected d+10 (not within 3 days)."""
    stock_receive(
        user=office,
        warehouse=sz01,
        lines=[(n95, 5000)],
        source=ReceiptSource.PURCHASE,
        occurred_at=NOW - dt.timedelta(days=5),
    )
    for prefecture, stock in ((lanzhou, 1000), (tianshui, 3000)):
        DailyFigureFactory(
            prefecture=prefecture, item=n95, date=D, stock=stock, consumption=500, demand=600
        )
        Destination.objects.create(
            kind=DestinationKind.PREFECTURE,
            name_zh=prefecture.name_zh,
            name_en=prefecture.name_en,
            prefecture=prefecture,
        )
    make_order([(n95, 2000, "3.50", D + dt.timedelta(days=2))])
    national_allocation_announce(
        user=office,
        item=n95,
        quantity=1000,
        expected_arrival=D + dt.timedelta(days=10),
        warehouse=sz01,
    )
    snapshot_build_for_date(date=D)


def build(office, sz01, n95, basis):
    return proposal_create(
        user=office,
        name="N95",
        date=D,
        warehouses=[sz01],
        inputs=proposal_inputs(date=D, items=[n95]),
        basis=basis,
    )


def shares(proposal):
    item = proposal.items.get()
    return {line.prefecture.code: line.proposed for line in item.lines.select_related("prefecture")}


def test_on_hand_hands_out_the_stock_only(world, office, sz01, n95):
    # Q = 5,000: 500T − 1,000 + 500T − 3,000 = 5,000 → T = 9: Lanzhou 3,500, Tianshui 1,500.
    proposal = build(office, sz01, n95, ProposalBasis.ON_HAND)
    item = proposal.items.get()
    assert (item.arriving_3d, item.arriving_counted, item.available) == (2000, 0, 5000)
    assert item.level == Decimal("9.00")
    assert shares(proposal) == {"620100": 3500, "620500": 1500}


def test_on_hand_plus_arriving_hands_out_the_order_too(world, client, office, sz01, n95):
    # Q = 5,000 + 2,000 = 7,000 (the national 1,000 of d+10 is not within 3 days):
    # 1,000T − 4,000 = 7,000 → T = 11: Lanzhou 4,500, Tianshui 2,500.
    proposal = build(office, sz01, n95, ProposalBasis.ON_HAND_PLUS_ARRIVING_3D)
    item = proposal.items.get()
    assert (item.arriving_3d, item.arriving_counted, item.available) == (2000, 2000, 7000)
    assert item.level == Decimal("11.00")
    assert shares(proposal) == {"620100": 4500, "620500": 2500}
    # What stays in the reserve counts what arrives: 5,000 + 2,000 − 7,000 = 0 (it once
    # showed 5,000 − 7,000 = −2,000).
    [view] = proposal_view(proposal)
    assert view.kept == 0

    batches = proposal_accept(user=office, proposal=proposal, expected_version=proposal.version)
    # Lanzhou (first by code) takes 4,500 of the 5,000 on hand; Tianshui the other 500 and
    # 2,000 of what arrives, in one line of 2,500. Both batches are marked with the basis.
    got = {b.destination.prefecture.code: b for b in batches}
    assert {code: b.lines.get().quantity for code, b in got.items()} == {
        "620100": 4500,
        "620500": 2500,
    }
    assert {b.proposal_basis for b in batches} == {ProposalBasis.ON_HAND_PLUS_ARRIVING_3D}
    client.force_login(office)
    listed = client.get(reverse("allocation:batch_list")).content.decode()
    assert listed.count("arriving-basis") == 2
    detail = client.get(reverse("allocation:batch_detail", args=[batches[0].number]))
    assert 'data-basis="on_hand_plus_arriving_3d"' in detail.content.decode()


def test_more_than_on_hand_plus_arriving_is_refused(world, office, sz01, n95):
    with pytest.raises(ProposalInvalid) as refused:
        proposal_create(
            user=office,
            name="N95",
            date=D,
            warehouses=[sz01],
            inputs=proposal_inputs(date=D, items=[n95]),
            quantities={n95.pk: 7001},
            basis=ProposalBasis.ON_HAND_PLUS_ARRIVING_3D,
        )
    assert "7,000" in refused.value.errors[0][1]


def test_an_unknown_basis_is_refused(world, office, sz01, n95):
    with pytest.raises(ProposalInvalid):
        build(office, sz01, n95, "everything")


def test_the_pages_show_and_keep_the_basis(world, client, office, sz01, n95):
    client.force_login(office)
    form = client.get(reverse("reports:proposal_new")).content.decode()
    assert 'name="basis"' in form and "2,000" in form  # the arriving column
    response = client.post(
        reverse("reports:proposal_new"),
        {
            "name": "N95",
            "date": D.isoformat(),
            f"item-{n95.code}": "1",
            f"warehouse-{sz01.code}": "1",
            "basis": ProposalBasis.ON_HAND_PLUS_ARRIVING_3D,
        },
    )
    assert response.status_code == 302
    detail = client.get(response.url).content.decode()
    assert 'data-basis="on_hand_plus_arriving_3d"' in detail

    refused = client.post(
        reverse("reports:proposal_new"),
        {"name": "N95", "date": D.isoformat(), f"item-{n95.code}": "1", "basis": "x\x01"},
    )
    assert refused.status_code == 400
