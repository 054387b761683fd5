"""A proposal is kept with the inputs it was computed from: recomputing it from what it kept
gives the same quantities; inputs it could not keep exactly are refused."""

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest

from allocation.proposals import ProposalInvalid, proposal_create, reserve_floor_set
from allocation.waterfill import Claimant, water_fill
from reports.proposal_inputs import proposal_inputs
from reports.services import snapshot_build_for_date
from tests.factories import DailyFigureFactory

D = dt.date(2020, 2, 20)


@pytest.fixture(autouse=True)
def _frozen(frozen_time):
    """20 February 2020, 10:00."""


@pytest.fixture
def snapshot(lanzhou, tianshui, n95):
    """Seven days of uneven consumption: 7-day averages of 142.857… and 185.714… a day; the
    snapshot keeps four decimals, a proposal line two. N95 handed out one by one."""
    n95.pack_size = 1
    n95.save()
    for prefecture, stock, used in ((lanzhou, 1000, 1000), (tianshui, 3000, 1300)):
        for back in range(7):
            day = D - dt.timedelta(days=back)
            DailyFigureFactory(
                prefecture=prefecture,
                item=n95,
                date=day,
                stock=stock,
                consumption=used if back == 0 else 0,
                demand=600,
                expected_arrivals_3d=0,
            )
    for back in range(6, -1, -1):
        snapshot_build_for_date(date=D - dt.timedelta(days=back))


def build(office, sz01, n95, **kwargs):
    return proposal_create(
        user=office,
        name="N95",
        date=D,
        warehouses=[sz01],
        inputs=proposal_inputs(date=D, items=[n95]),
        **kwargs,
    )


def test_the_kept_inputs_give_back_the_proposed_quantities(office, stocked, n95, snapshot):
    proposal = build(office, stocked, n95, quantities={n95.pk: 4005})
    item = proposal.items.get()
    lines = list(item.lines.select_related("prefecture"))
    # Issue 15 renamed the source "avg_consumption_7d" to "consumption" (RateSource).
    assert {line.rate_source for line in lines} == {"consumption"}
    again = water_fill(
        [
            Claimant(
                line.prefecture.code,
                line.stock,
                line.arriving_3d,
                Fraction(line.rate),
                Fraction(line.weight),
            )
            for line in lines
        ],
        item.quantity,
        item.pack_size,
    )
    assert {line.prefecture.code: line.proposed for line in lines} == {
        code: share.quantity for code, share in again.shares.items()
    }


@pytest.mark.parametrize(
    "weight", [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("1.005")]
)
def test_a_weight_that_cannot_be_kept_as_used_is_refused(office, stocked, n95, snapshot, weight):
    with pytest.raises(ProposalInvalid):
        build(office, stocked, n95, weights={"620100": (weight, "重灾区")})


@pytest.mark.parametrize("quantity", [10**15, 10**19, -1, True, 1.5])
def test_a_reserve_floor_too_large_to_be_a_figure_is_refused(office, n95, quantity):
    with pytest.raises(ProposalInvalid):
        reserve_floor_set(user=office, item=n95, quantity=quantity)
