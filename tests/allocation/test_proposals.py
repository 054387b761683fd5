"""Allocation proposals: built from the snapshot, kept with their inputs, edited, accepted
into draft dispatch batches through the allocation services."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from allocation.models import (
    BatchStatus,
    Destination,
    DestinationKind,
    DispatchBatch,
    ProposalStatus,
)
from allocation.proposals import (
    ProposalConflict,
    ProposalInvalid,
    proposal_accept,
    proposal_create,
    proposal_update,
    reserve_floor_set,
)
from allocation.services import batch_approve
from reports.proposal_inputs import proposal_inputs
from reports.services import snapshot_build_for_date
from tests.factories import DailyFigureFactory

D = dt.date(2020, 2, 20)


@pytest.fixture(autouse=True)
def _frozen(frozen_time):
    """Every test happens on 20 February 2020, 10:00 (the stock arrived five days before)."""


@pytest.fixture
def snapshot(frozen_time, lanzhou, tianshui, n95):
    """Lanzhou: stock 1,000, 500 a day (2 days). Tianshui: stock 3,000, 500 a day (6 days)."""
    for prefecture, stock in ((lanzhou, 1000), (tianshui, 3000)):
        DailyFigureFactory(
            prefecture=prefecture,
            item=n95,
            date=D,
            stock=stock,
            consumption=500,
            demand=600,
            expected_arrivals_3d=0,
        )
    snapshot_build_for_date(date=D)


@pytest.fixture
def destinations(lanzhou, tianshui, to_lanzhou):
    Destination.objects.create(
        kind=DestinationKind.PREFECTURE, name_zh="天水市", name_en="Tianshui", prefecture=tianshui
    )


def build(office, sz01, n95, **kwargs):
    return proposal_create(
        user=office,
        name="N95 第一轮",
        date=D,
        warehouses=[sz01],
        inputs=proposal_inputs(date=D, items=[n95]),
        **kwargs,
    )


def lines_of(proposal):
    item = proposal.items.get()
    return {line.prefecture.code: line for line in item.lines.select_related("prefecture")}


def test_it_splits_the_available_reserve_by_water_filling(office, stocked, n95, snapshot):
    """5,000 in SZ01, packs of 20. Level T: 500T − 1,000 + 500T − 3,000 = 5,000 → T = 9:
    Lanzhou 3,500, Tianshui 1,500. Both reach 9 days of cover."""
    proposal = build(office, stocked, n95)

    item = proposal.items.get()
    assert (item.on_hand, item.committed, item.reserve_floor, item.quantity) == (5000, 0, 0, 5000)
    assert item.level == Decimal("9.00")
    lines = lines_of(proposal)
    assert (lines["620100"].proposed, lines["620500"].proposed) == (3500, 1500)
    assert lines["620100"].quantity == 3500
    # The inputs are kept as they were.
    assert (lines["620100"].stock, lines["620100"].rate, lines["620100"].rate_source) == (
        1000,
        Decimal("500.00"),
        # Issue 15 renamed the source: "consumption" (of RateSource), formerly "avg_consumption_7d".
        "consumption",
    )
    assert lines["620100"].days() == 2
    assert lines["620100"].days(3500) == 9


def test_a_weight_and_the_reserve_floor_change_the_split(office, stocked, n95, snapshot):
    """Floor 1,000: 4,000 to hand out. Lanzhou weighted 2 (w·r = 1,000 a day); Tianshui sits
    at 6 days. Lanzhou alone: 1,000T − 1,000 = 4,000, T = 5 ≤ 6, so Lanzhou gets all 4,000 and
    Tianshui, already above the level, nothing."""
    reserve_floor_set(user=office, item=n95, quantity=1000)
    proposal = build(office, stocked, n95, weights={"620100": (Decimal(2), "重灾区")})

    lines = lines_of(proposal)
    assert proposal.items.get().quantity == 4000
    assert (lines["620100"].quantity, lines["620500"].quantity) == (4000, 0)
    assert lines["620500"].no_share == "above_level"
    assert (lines["620100"].weight, lines["620100"].weight_reason) == (Decimal("2.00"), "重灾区")


def test_a_prefecture_without_stock_gets_nothing_and_says_why(office, stocked, n95, snapshot, db):
    from tests.factories import PrefectureFactory

    PrefectureFactory(code="620200", name_zh="嘉峪关市")
    proposal = build(office, stocked, n95)
    assert lines_of(proposal)["620200"].no_share == "no_stock"
    assert lines_of(proposal)["620200"].quantity == 0


def test_asking_for_more_than_available_is_refused_with_the_figures(office, stocked, n95, snapshot):
    with pytest.raises(ProposalInvalid) as caught:
        build(office, stocked, n95, quantities={n95.pk: 6000})
    assert "5,000" in caught.value.errors[0][1]


def test_a_weight_needs_a_reason(office, stocked, n95, snapshot):
    with pytest.raises(ProposalInvalid):
        build(office, stocked, n95, weights={"620100": (Decimal(2), "")})


@pytest.mark.parametrize("role", ["officer", "outsider", "leader", "reporter"])
def test_only_the_office_makes_proposals(request, role, stocked, n95, snapshot):
    with pytest.raises(PermissionDenied):
        build(request.getfixturevalue(role), stocked, n95)


def test_edited_quantities_are_saved_with_history_and_checked_against_the_total(
    office, stocked, n95, snapshot
):
    proposal = build(office, stocked, n95)
    lines = lines_of(proposal)
    proposal = proposal_update(
        user=office,
        proposal=proposal,
        expected_version=1,
        quantities={lines["620100"].pk: "3,000", lines["620500"].pk: 2000},
        name="N95 第一轮（改）",
    )
    lines = lines_of(proposal)
    assert (lines["620100"].quantity, lines["620500"].quantity) == (3000, 2000)
    assert lines["620100"].proposed == 3500  # what the arithmetic said stays beside it
    (edit,) = lines["620100"].history.all()
    assert (edit.quantity, edit.history_user) == (3000, office)

    with pytest.raises(ProposalInvalid):
        proposal_update(
            user=office,
            proposal=proposal,
            expected_version=2,
            quantities={lines["620500"].pk: 2001},
        )
    with pytest.raises(ProposalConflict):
        proposal_update(user=office, proposal=proposal, expected_version=1, quantities={})


def test_accepting_makes_one_draft_batch_per_prefecture_for_leadership_to_approve(
    office, leader, stocked, n95, snapshot, destinations
):
    proposal = build(office, stocked, n95)
    batches = proposal_accept(user=office, proposal=proposal, expected_version=1)

    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.ACCEPTED
    assert len(batches) == 2
    by_prefecture = {
        b.destination.prefecture.code: b for b in DispatchBatch.objects.filter(proposal=proposal)
    }
    lanzhou = by_prefecture["620100"]
    assert lanzhou.status == BatchStatus.DRAFT
    assert lanzhou.source_warehouse == stocked
    assert [(line.item.code, line.quantity, line.channel) for line in lanzhou.lines.all()] == [
        ("FH001", 3500, "reserve")
    ]
    batch_approve(user=leader, batch=lanzhou, expected_version=lanzhou.version)

    with pytest.raises(ProposalInvalid):
        proposal_update(user=office, proposal=proposal, expected_version=2, quantities={})


def test_batches_already_drafted_from_the_reserve_are_not_handed_out_twice(
    office, stocked, n95, snapshot, destinations
):
    first = build(office, stocked, n95)
    proposal_accept(user=office, proposal=first, expected_version=1)
    second = build(office, stocked, n95)
    item = second.items.get()
    assert (item.on_hand, item.committed, item.quantity) == (5000, 5000, 0)


def test_a_prefecture_without_a_destination_stops_the_acceptance(
    office, stocked, n95, snapshot, to_lanzhou
):
    # Issue 15: every line has a claimant destination, so building the proposal gives Tianshui
    # (which had none) a destination of kind prefecture; the acceptance stops when that is no
    # longer active (deactivated here), as it stopped before when there was none.
    proposal = build(office, stocked, n95)
    Destination.objects.filter(prefecture__code="620500").update(active=False)
    with pytest.raises(ProposalInvalid) as caught:
        proposal_accept(user=office, proposal=proposal, expected_version=1)
    assert "天水" in caught.value.errors[0][1] or "Tianshui" in caught.value.errors[0][1]
    assert not DispatchBatch.objects.exists()
