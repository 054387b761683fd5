"""Every claimant in the proposal, with a rate that cannot be gamed (issue 15 section 2).

reports.md "Requests and the rate a proposal uses": a claimant's rate is the first that exists
of its reported consumption (a prefecture's demand after it), its open accepted requests ÷
max(1, days until needed-by), its norm estimate; capped at 1.5 × the norm estimate where one
exists; a prefecture flagged by the spot checks uses median per-person rate × its staff.

Every case below: SZ01 holds 5,000 N95 (packs of 20), the proposal is of 20 February 2020.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from allocation.models import (
    BatchStatus,
    ClaimantStaff,
    Destination,
    DestinationKind,
    DispatchBatch,
    Proposal,
)
from allocation.proposals import (
    ClaimantInput,
    ProposalInvalid,
    RateSource,
    SpotCheck,
    proposal_accept,
    proposal_create,
)
from allocation.requests import request_submit, request_triage
from reports.models import SpotCheckFlag
from reports.proposal_inputs import proposal_inputs
from reports.services import snapshot_build_for_date
from supplycoord.models import Norm, ProtectedStaff, Role, StaffCategory
from tests.factories import DailyFigureFactory, UserFactory

D = dt.date(2020, 2, 20)


@pytest.fixture(autouse=True)
def _frozen(frozen_time):
    """20 February 2020, 10:00 (the proposal's date is that day)."""


@pytest.fixture
def isolation(db):
    return StaffCategory.objects.create(code="isolation", name_zh="隔离病区", sort_order=1)


@pytest.fixture
def norm(office, isolation, n95):
    """One N95 per isolation-ward person per day."""
    return Norm.objects.create(
        staff_category=isolation,
        item=n95,
        effective_from=D - dt.timedelta(days=30),
        units_per_person_per_day=1,
        created_by=office,
    )


def snapshot(n95, figures):
    """figures: [(prefecture, stock, consumption a day)]."""
    for prefecture, stock, consumption in figures:
        DailyFigureFactory(
            prefecture=prefecture,
            item=n95,
            date=D,
            stock=stock,
            consumption=consumption,
            demand=consumption,
            expected_arrivals_3d=0,
        )
    snapshot_build_for_date(date=D)


@pytest.fixture
def hospital(to_hospital):
    to_hospital.code = "SRMYY"
    to_hospital.save()
    return to_hospital


@pytest.fixture
def key_unit(db):
    return Destination.objects.create(
        kind=DestinationKind.KEY_UNIT, code="LZJ", name_zh="兰州铁路局", name_en="Railway bureau"
    )


def accepted_request(office, claimant, item, quantity, needed_by):
    requester = UserFactory(username=f"req-{claimant.pk}", role=Role.UNIT_REQUESTER)
    claimant.requesters.add(requester)
    request, _created = request_submit(
        user=requester,
        claimant=claimant,
        urgency="emergency",
        needed_by=needed_by,
        justification="ICU expansion",
        lines=[{"item": item, "quantity": quantity}],
    )
    line = request.lines.get()
    request_triage(
        user=office,
        request=request,
        expected_version=request.version,
        decisions=[{"line": line.pk, "decision": "accepted", "accepted_quantity": quantity}],
    )
    return request


def build(office, sz01, n95, units=None, **kwargs):
    return proposal_create(
        user=office,
        name="N95",
        date=D,
        warehouses=[sz01],
        inputs=proposal_inputs(date=D, items=[n95], units=units),
        **kwargs,
    )


def lines_of(proposal):
    return {
        (line.prefecture.code if line.prefecture_id else line.destination.code): line
        for line in proposal.items.get().lines.select_related("prefecture", "destination")
    }


def test_a_rate_three_times_the_norm_estimate_is_capped_at_one_and_a_half_times(
    office, stocked, n95, lanzhou, tianshui, isolation, norm
):
    """Lanzhou reports 600 a day; its 200 isolation staff × 1 a day make a norm estimate of
    200: 600 = 3 × 200 > 1.5 × 200 = 300, so the rate used is 300. Tianshui (no staff: an
    estimate of 0, so no cap) keeps its 500.
    Level T: 300T − 1,000 + 500T − 3,000 = 5,000 → T = 9,000 / 800 = 11.25.
    Lanzhou 300 × 11.25 − 1,000 = 2,375 = 118.75 packs; Tianshui 5,625 − 3,000 = 2,625 =
    131.25 packs. Down to packs 2,360 + 2,620 = 4,980; the spare pack goes to the larger
    fraction (Lanzhou's 0.75): Lanzhou 2,380, Tianshui 2,620. Uncapped (600) Lanzhou would
    have had 1,100T = 9,000, T = 8.18: 600 × 8.18 − 1,000 ≈ 3,909."""
    ProtectedStaff.objects.create(prefecture=lanzhou, category=isolation, count=200)
    snapshot(n95, [(lanzhou, 1000, 600), (tianshui, 3000, 500)])

    lines = lines_of(build(office, stocked, n95))

    lz, ts = lines["620100"], lines["620500"]
    assert (lz.rate, lz.rate_source, lz.rate_uncapped, lz.rate_adjustment) == (
        Decimal("300.00"),
        RateSource.CONSUMPTION,
        Decimal("600.00"),
        "capped",
    )
    assert (lz.rate_cap, lz.norm_estimate) == (Decimal("1.50"), Decimal("200.00"))
    assert (ts.rate, ts.rate_adjustment, ts.norm_estimate) == (Decimal("500.00"), "", 0)
    assert (lz.quantity, ts.quantity) == (2380, 2620)


def test_a_rate_within_the_cap_is_not_touched(office, stocked, n95, lanzhou, isolation, norm):
    """600 a day against an estimate of 400 (400 staff): 600 ≤ 1.5 × 400 = 600, kept."""
    ProtectedStaff.objects.create(prefecture=lanzhou, category=isolation, count=400)
    snapshot(n95, [(lanzhou, 1000, 600)])

    lz = lines_of(build(office, stocked, n95))["620100"]
    assert (lz.rate, lz.rate_adjustment, lz.rate_uncapped) == (Decimal("600.00"), "", None)


def test_a_prefecture_flagged_by_the_spot_checks_uses_the_median_rate_times_its_staff(
    office, stocked, n95, lanzhou, tianshui, isolation, norm
):
    """Lanzhou is flagged for N95 on D (z 7.7); the comparison's median is 5.6 N95 per
    protected person over the 7 days, 0.8 a day; Lanzhou has 2,300 protected staff: rate
    0.8 × 2,300 = 1,840 a day instead of the 600 it reports (the norm estimate of 2,300 does
    not cap it). Handing out 4,520: Lanzhou's own cover 1,000 / 1,840 is the lowest; alone,
    1,840T − 1,000 = 4,520 → T = 3 ≤ Tianshui's 3,000 / 500 = 6: Lanzhou 4,520, Tianshui 0."""
    ProtectedStaff.objects.create(prefecture=lanzhou, category=isolation, count=2300)
    snapshot(n95, [(lanzhou, 1000, 600), (tianshui, 3000, 500)])
    SpotCheckFlag.objects.create(
        date=D,
        prefecture=lanzhou,
        item=n95,
        figure=Decimal("40"),
        median=Decimal("5.6"),
        mad=Decimal("1"),
        score=Decimal("7.70"),
        prefectures_compared=14,
        computed_at=timezone.now(),
    )

    proposal = build(office, stocked, n95, quantities={n95.pk: 4520})

    lz, ts = lines_of(proposal)["620100"], lines_of(proposal)["620500"]
    assert (lz.rate, lz.rate_source, lz.rate_adjustment) == (
        Decimal("1840.00"),
        RateSource.SPOT_CHECK,
        "spot_check",
    )
    assert (lz.rate_uncapped, lz.staff, lz.spot_check_median) == (
        Decimal("600.00"),
        2300,
        Decimal("0.800000"),
    )
    assert (lz.spot_check_date, lz.spot_check_score) == (D, Decimal("7.70"))
    assert (lz.quantity, ts.quantity, ts.no_share) == (4520, 0, "above_level")
    assert proposal.items.get().level == Decimal("3.00")


def test_a_cleared_flag_no_longer_replaces_the_rate(office, stocked, n95, lanzhou, isolation):
    ProtectedStaff.objects.create(prefecture=lanzhou, category=isolation, count=2300)
    snapshot(n95, [(lanzhou, 1000, 600)])
    SpotCheckFlag.objects.create(
        date=D,
        prefecture=lanzhou,
        item=n95,
        figure=Decimal("40"),
        median=Decimal("5.6"),
        mad=Decimal("1"),
        score=Decimal("7.70"),
        prefectures_compared=14,
        computed_at=timezone.now(),
        cleared_at=timezone.now(),
    )
    lz = lines_of(build(office, stocked, n95))["620100"]
    assert (lz.rate, lz.rate_source) == (Decimal("600.00"), RateSource.CONSUMPTION)


def test_a_hospital_with_an_accepted_request_gets_a_share_next_to_the_prefectures(
    office, stocked, n95, lanzhou, tianshui, hospital, to_lanzhou
):
    """The hospital's accepted 600 N95, needed in 3 days: 600 / 3 = 200 a day; it reports no
    stock (0). Covers: hospital 0, Lanzhou 1,000 / 500 = 2, Tianshui 3,000 / 500 = 6.
    All three: T = (5,000 + 0 + 1,000 + 3,000) / (200 + 500 + 500) = 9,000 / 1,200 = 7.5 ≥ 6.
    Hospital 200 × 7.5 = 1,500 (75 packs); Lanzhou 3,750 − 1,000 = 2,750 (137.5 packs);
    Tianshui 3,750 − 3,000 = 750 (37.5 packs). Down to packs: 1,500 + 2,740 + 740 = 4,980; the
    spare pack goes to the largest fraction, a tie of 0.5 broken by code (620100 first):
    Lanzhou 2,760, Tianshui 740. By default the proposal includes the units with an open
    accepted request for the item, so the hospital is in without being chosen."""
    snapshot(n95, [(lanzhou, 1000, 500), (tianshui, 3000, 500)])
    request = accepted_request(office, hospital, n95, 600, D + dt.timedelta(days=3))

    proposal = build(office, stocked, n95)

    lines = lines_of(proposal)
    hosp = lines["SRMYY"]
    assert list(proposal.units.all()) == [hospital]
    assert (hosp.prefecture, hosp.destination, hosp.rate, hosp.rate_source) == (
        None,
        hospital,
        Decimal("200.00"),
        RateSource.REQUESTS,
    )
    assert (hosp.stock, hosp.stock_note) == (0, "does_not_report")
    assert (hosp.quantity, lines["620100"].quantity, lines["620500"].quantity) == (
        1500,
        2760,
        740,
    )
    assert proposal.items.get().level == Decimal("7.50")

    # Accepted: one draft batch per claimant, the hospital's to the hospital itself; its
    # batch answers the accepted 600 of its request, the other 900 answer no request.
    batches = proposal_accept(user=office, proposal=proposal, expected_version=1)
    got = {b.destination: b for b in batches}
    assert set(got) == {hospital, to_lanzhou, lines["620500"].destination}
    assert got[hospital].status == BatchStatus.DRAFT
    request_line = request.lines.get()
    assert sorted((x.quantity, x.request_line_id) for x in got[hospital].lines.all()) == [
        (600, request_line.pk),
        (900, None),
    ]
    assert list(
        request.events.filter(action="batched").values_list("quantity", "batch", "line")
    ) == [(600, got[hospital].pk, request_line.pk)]
    assert DispatchBatch.objects.filter(proposal=proposal).count() == 3


def test_a_hospital_asking_beyond_its_norm_is_capped_too(
    office, stocked, n95, hospital, isolation, norm
):
    """600 needed in 3 days is 200 a day; 100 staff × 1 = 100 a day estimated: capped at
    1.5 × 100 = 150."""
    ClaimantStaff.objects.create(destination=hospital, category=isolation, count=100)
    accepted_request(office, hospital, n95, 600, D + dt.timedelta(days=3))

    hosp = lines_of(build(office, stocked, n95))["SRMYY"]
    assert (hosp.rate, hosp.rate_source, hosp.rate_uncapped, hosp.rate_adjustment) == (
        Decimal("150.00"),
        RateSource.REQUESTS,
        Decimal("200.00"),
        "capped",
    )


def test_a_hospital_without_a_request_but_with_staff_gets_its_norm_estimate(
    office, stocked, n95, lanzhou, hospital, isolation, norm
):
    """No request; 150 isolation staff × 1 N95 a day = 150 a day (the norm estimate).
    Lanzhou 1,000 at 500: covers hospital 0, Lanzhou 2. Both: T = (5,000 + 1,000) / 650 =
    9.23 ≥ 2. Hospital 150 × 6,000 / 650 = 1,384.6 (69.23 packs), Lanzhou 500 × 6,000 / 650 −
    1,000 = 3,615.4 (180.77 packs); down: 1,380 + 3,600 = 4,980; the spare pack to Lanzhou
    (0.77 > 0.23): hospital 1,380, Lanzhou 3,620. The office includes it by hand: by default
    (no open request) it would not be in."""
    ClaimantStaff.objects.create(destination=hospital, category=isolation, count=150)
    snapshot(n95, [(lanzhou, 1000, 500)])

    assert "SRMYY" not in lines_of(build(office, stocked, n95))
    lines = lines_of(build(office, stocked, n95, units=[hospital]))
    hosp = lines["SRMYY"]
    assert (hosp.rate, hosp.rate_source, hosp.norm_estimate, hosp.staff) == (
        Decimal("150.00"),
        RateSource.NORM,
        Decimal("150.00"),
        150,
    )
    assert (hosp.quantity, lines["620100"].quantity) == (1380, 3620)


def test_a_unit_with_neither_a_request_nor_staff_gets_nothing_and_says_why(
    office, stocked, n95, lanzhou, key_unit, norm
):
    snapshot(n95, [(lanzhou, 1000, 500)])
    lines = lines_of(build(office, stocked, n95, units=[key_unit]))
    unit = lines["LZJ"]
    assert (unit.rate, unit.rate_source, unit.quantity, unit.no_share) == (
        None,
        "",
        0,
        "no_rate_unit",
    )
    assert (unit.stock, unit.stock_note) == (0, "does_not_report")
    # Lanzhou takes everything: 5,000.
    assert lines["620100"].quantity == 5000


def test_a_prefecture_falls_back_to_its_requests_then_its_norm_estimate(
    office, stocked, n95, lanzhou, tianshui, to_lanzhou, isolation, norm
):
    """No consumption or demand reported (both 0). Lanzhou has an accepted request of 700
    needed in 7 days (100 a day); Tianshui has 80 staff (80 a day estimated)."""
    ProtectedStaff.objects.create(prefecture=tianshui, category=isolation, count=80)
    snapshot(n95, [(lanzhou, 0, 0), (tianshui, 0, 0)])
    to_lanzhou.code = "620100"
    to_lanzhou.save()
    accepted_request(office, to_lanzhou, n95, 700, D + dt.timedelta(days=7))

    lines = lines_of(build(office, stocked, n95))
    assert (lines["620100"].rate, lines["620100"].rate_source) == (
        Decimal("100.00"),
        RateSource.REQUESTS,
    )
    assert (lines["620500"].rate, lines["620500"].rate_source) == (
        Decimal("80.00"),
        RateSource.NORM,
    )


def test_the_rate_choice_in_one_place():
    """The rule alone: first that exists, the cap, the flag (no database)."""
    cap = Decimal("1.5")
    assert ClaimantInput(avg_consumption_7d=Decimal("0"), demand=40).rate_choice(cap).source == (
        RateSource.DEMAND
    )
    choice = ClaimantInput(requested_rate=Decimal("200"), norm_estimate=Decimal("120")).rate_choice(
        cap
    )
    assert (choice.rate, choice.uncapped, choice.cap) == (Decimal("180.00"), Decimal("200.00"), cap)
    flagged = ClaimantInput(
        avg_consumption_7d=Decimal("600"),
        staff=2300,
        spot_check=SpotCheck(date=D, score=Decimal("7.7"), median_7d=Decimal("5.6")),
    ).rate_choice(cap)
    assert (flagged.rate, flagged.source, flagged.uncapped) == (
        Decimal("1840.00"),
        RateSource.SPOT_CHECK,
        Decimal("600.00"),
    )
    # Flagged without staff: nothing to multiply, its own rate stands.
    assert ClaimantInput(
        avg_consumption_7d=Decimal("600"),
        spot_check=SpotCheck(date=D, score=Decimal("7.7"), median_7d=Decimal("5.6")),
    ).rate_choice(cap).rate == Decimal("600.00")
    assert ClaimantInput().rate_choice(cap).rate is None


def test_only_institutions_aid_teams_and_key_units_join_the_prefectures(
    office, stocked, n95, lanzhou, to_tianjin
):
    """Another province is a destination, not a claimant of the province's reserve."""
    snapshot(n95, [(lanzhou, 1000, 500)])
    with pytest.raises(ProposalInvalid) as caught:
        build(office, stocked, n95, units=[to_tianjin])
    assert "天津市" in caught.value.errors[0][1]
    assert not Proposal.objects.exists()
