"""Requests from below (issue 15): submit, triage, put into batches, fill, withdraw; who may."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from allocation.models import (
    BatchStatus,
    Destination,
    DestinationKind,
    LineDecision,
    RequestAction,
    SupplyRequest,
)
from allocation.request_selectors import (
    RequestState,
    emergency_requests_open_since,
    fill_rates,
    open_accepted_requests,
    requested_rate,
    requests_with_progress,
    visible_requests,
)
from allocation.requests import (
    RequestInvalid,
    request_submit,
    request_triage,
    request_withdraw,
    requests_into_batches,
)
from allocation.services import (
    AllocationInvalid,
    batch_approve,
    batch_cancel,
    batch_dispatch,
    batch_receive,
    batch_update_draft,
)
from supplycoord.models import Role
from tests.allocation.conftest import NOW
from tests.factories import UserFactory

pytestmark = pytest.mark.usefixtures("frozen_time")
TODAY = NOW.date()


@pytest.fixture
def hospital_user(db):
    return UserFactory(username="hospital", role=Role.UNIT_REQUESTER)


@pytest.fixture
def hospital(to_hospital, hospital_user):
    to_hospital.code = "SRMYY"
    to_hospital.save()
    to_hospital.requesters.add(hospital_user)
    return to_hospital


def submit(user, claimant, lines, **kwargs):
    request, _created = request_submit(
        user=user,
        claimant=claimant,
        urgency=kwargs.pop("urgency", "emergency"),
        needed_by=kwargs.pop("needed_by", TODAY + dt.timedelta(days=4)),
        justification=kwargs.pop("justification", "ICU expansion: 40 beds"),
        lines=[{"item": item, "quantity": q} for item, q in lines],
        **kwargs,
    )
    return request


def decide(office, request, *entries):
    lines = {line.item.code: line for line in request.lines.all()}
    return request_triage(
        user=office,
        request=request,
        expected_version=request.version,
        decisions=[
            {"line": lines[code].pk, "decision": decision, **extra}
            for code, decision, extra in entries
        ],
    )


def test_it_numbers_a_request_and_keeps_who_submitted_it(hospital, hospital_user, n95, masks):
    request = submit(hospital_user, hospital, [(n95, 2000), (masks, 500)])
    assert request.number == "XQ-2020-001"
    assert [(x.item.code, x.quantity, x.decision) for x in request.lines.order_by("pk")] == [
        ("FH001", 2000, "pending"),
        ("FH002", 500, "pending"),
    ]
    assert list(request.events.values_list("action", "by__username")) == [("submitted", "hospital")]
    assert submit(hospital_user, hospital, [(n95, 1)]).number == "XQ-2020-002"


def test_a_resend_with_the_same_client_id_makes_no_second_request(hospital, hospital_user, n95):
    key = "6f1c2a9e-7a35-4c5e-9a55-0c8f1f3b2d11"
    first = submit(hospital_user, hospital, [(n95, 10)], client_uuid=key)
    again, created = request_submit(
        user=hospital_user,
        claimant=hospital,
        urgency="routine",
        needed_by=TODAY,
        justification="x",
        lines=[{"item": n95, "quantity": 99}],
        client_uuid=key,
    )
    assert (again.pk, created) == (first.pk, False)
    assert SupplyRequest.objects.count() == 1


def test_bad_input_is_refused_by_line_and_field_and_nothing_is_saved(hospital, hospital_user, n95):
    with pytest.raises(RequestInvalid) as refused:
        request_submit(
            user=hospital_user,
            claimant=hospital,
            urgency="soon",
            needed_by=TODAY - dt.timedelta(days=1),
            justification="bad\x00text",
            lines=[
                {"item": n95, "quantity": 0},
                {"item": "NOPE", "quantity": 5},
                {"item": n95, "quantity": 2**70},
            ],
        )
    found = {(e.row, e.field) for e in refused.value.errors}
    assert found == {
        (None, "urgency"),
        (None, "needed_by"),
        (None, "justification"),
        (0, "quantity"),
        (1, "item"),
        (2, "item"),  # the same item twice
        (2, "quantity"),
    }
    assert SupplyRequest.objects.count() == 0


def test_an_outsider_cannot_request_for_a_unit_or_another_prefecture(
    hospital, outsider, officer, to_lanzhou, n95
):
    with pytest.raises(PermissionDenied):
        submit(outsider, hospital, [(n95, 1)])
    with pytest.raises(PermissionDenied):
        submit(outsider, to_lanzhou, [(n95, 1)])
    # The Lanzhou officer requests for Lanzhou, but not for a provincial hospital.
    assert submit(officer, to_lanzhou, [(n95, 1)]).claimant == to_lanzhou
    with pytest.raises(PermissionDenied):
        submit(officer, hospital, [(n95, 1)])


def test_requests_are_seen_only_in_scope(
    hospital, hospital_user, officer, outsider, leader, to_lanzhou, n95
):
    mine = submit(hospital_user, hospital, [(n95, 1)])
    theirs = submit(officer, to_lanzhou, [(n95, 1)])
    assert list(visible_requests(hospital_user)) == [mine]
    assert list(visible_requests(officer)) == [theirs]
    assert list(visible_requests(outsider)) == []
    assert set(visible_requests(leader)) == {mine, theirs}


def test_triage_accepts_in_part_with_a_reason_and_keeps_the_decision(
    hospital, hospital_user, office, n95, masks
):
    request = submit(hospital_user, hospital, [(n95, 2000), (masks, 500)])
    with pytest.raises(RequestInvalid) as refused:
        decide(office, request, ("FH001", "accepted_part", {"accepted_quantity": 1200}))
    assert [(e.row, e.field) for e in refused.value.errors] == [(0, "reason")]
    with pytest.raises(RequestInvalid) as refused:
        decide(
            office,
            request,
            ("FH001", "accepted_part", {"accepted_quantity": 2000, "reason": "all"}),
        )
    assert [(e.row, e.field) for e in refused.value.errors] == [(0, "accepted_quantity")]
    request = decide(
        office,
        request,
        ("FH001", "accepted_part", {"accepted_quantity": 1200, "reason": "reserve is short"}),
        ("FH002", "refused", {"reason": "the hospital holds 30 days"}),
    )
    lines = {x.item.code: x for x in request.lines.all()}
    assert (lines["FH001"].decision, lines["FH001"].accepted_quantity) == ("accepted_part", 1200)
    assert (lines["FH002"].decision, lines["FH002"].accepted_quantity) == ("refused", 0)
    assert request.events.filter(action=RequestAction.TRIAGED).count() == 2
    with pytest.raises(PermissionDenied):
        decide(hospital_user, request, ("FH001", "accepted", {}))


def test_accepted_lines_become_a_draft_batch_and_the_request_follows_it_to_receipt(
    hospital, hospital_user, office, leader, stocked, n95, masks
):
    request = submit(hospital_user, hospital, [(n95, 2000), (masks, 500)])
    request = decide(
        office,
        request,
        ("FH001", "accepted_part", {"accepted_quantity": 1200, "reason": "short"}),
        ("FH002", "accepted", {}),
    )
    line_ids = list(request.lines.order_by("pk").values_list("pk", flat=True))
    (batch,) = requests_into_batches(user=office, line_ids=line_ids, source_warehouse=stocked)
    assert batch.status == BatchStatus.DRAFT
    assert batch.destination == hospital
    assert batch.expected_arrival == TODAY + dt.timedelta(days=4)
    assert sorted((x.item.code, x.quantity) for x in batch.lines.all()) == [
        ("FH001", 1200),
        ("FH002", 500),
    ]
    # Nothing accepted is left: a second attempt is refused.
    with pytest.raises(RequestInvalid):
        requests_into_batches(user=office, line_ids=line_ids, source_warehouse=stocked)
    # In a draft: still open (nothing dispatched).
    (row,) = requests_with_progress([request])
    assert row.state == RequestState.OPEN
    batch = batch_approve(user=leader, batch=batch, expected_version=batch.version)
    batch = batch_dispatch(user=office, batch=batch, expected_version=batch.version)
    (row,) = requests_with_progress([request])
    assert row.state == RequestState.DISPATCHED
    assert list(visible_requests(office, state="open")) == []
    lines = {x.item.code: x.pk for x in batch.lines.all()}
    batch_receive(
        user=office,
        batch=batch,
        expected_version=batch.version,
        received={lines["FH001"]: 1200, lines["FH002"]: 500},
        complete=True,
    )
    (row,) = requests_with_progress([request])
    assert row.state == RequestState.RECEIVED
    # Fill rate: 1,700 dispatched of 1,700 accepted per line; 2,500 were asked.
    rows = {r.item.code: r for r in fill_rates(office, start=TODAY, end=TODAY)}
    assert (rows["FH001"].asked, rows["FH001"].accepted, rows["FH001"].dispatched) == (
        2000,
        1200,
        1200,
    )
    assert rows["FH001"].fill_rate == 1
    assert rows["FH001"].median_hours_to_fill == Decimal("0.0")


def test_a_batch_never_takes_more_than_was_accepted_and_keeps_its_link_when_edited(
    hospital, hospital_user, office, stocked, n95
):
    request = submit(hospital_user, hospital, [(n95, 300)])
    request = decide(office, request, ("FH001", "accepted", {}))
    (batch,) = requests_into_batches(
        user=office, line_ids=[request.lines.get().pk], source_warehouse=stocked
    )
    with pytest.raises(AllocationInvalid):
        batch_update_draft(
            user=office,
            batch=batch,
            expected_version=batch.version,
            lines=[{"item": n95, "quantity": 301, "channel": "reserve"}],
        )
    batch = batch_update_draft(
        user=office,
        batch=batch,
        expected_version=batch.version,
        lines=[{"item": n95, "quantity": 250, "channel": "reserve"}],
    )
    assert batch.lines.get().request_line == request.lines.get()
    # Cancelling the batch gives the accepted quantity back to the request.
    batch_cancel(user=office, batch=batch, expected_version=batch.version, note="wrong truck")
    assert open_accepted_requests(items=[n95]) == {
        (hospital.pk, n95.pk): [(300, TODAY + dt.timedelta(days=4))]
    }


def test_the_requested_rate_spreads_each_line_over_its_days_until_needed():
    # 300 needed in 4 days (75 a day) + 100 needed yesterday (counted over 1 day) = 175.
    entries = [(300, TODAY + dt.timedelta(days=4)), (100, TODAY - dt.timedelta(days=1))]
    assert requested_rate(entries, TODAY) == Decimal(175)
    assert requested_rate([], TODAY) is None


def test_withdrawing_leaves_what_is_already_in_a_batch(
    hospital, hospital_user, office, stocked, n95, masks, outsider
):
    request = submit(hospital_user, hospital, [(n95, 300), (masks, 50)])
    request = decide(office, request, ("FH001", "accepted", {}))
    n95_line = request.lines.get(item=n95)
    requests_into_batches(user=office, line_ids=[n95_line.pk], source_warehouse=stocked)
    request.refresh_from_db()  # putting lines into a batch moved the request's version
    with pytest.raises(PermissionDenied):
        request_withdraw(
            user=outsider, request=request, expected_version=request.version, reason="x"
        )
    request = request_withdraw(
        user=hospital_user, request=request, expected_version=request.version, reason="done"
    )
    assert dict(request.lines.values_list("item__code", "decision")) == {
        "FH001": LineDecision.ACCEPTED,
        "FH002": LineDecision.WITHDRAWN,
    }


def test_an_emergency_request_open_too_long_is_listed_for_the_alert(
    hospital, hospital_user, office, n95
):
    request = submit(hospital_user, hospital, [(n95, 10)])
    submit(hospital_user, hospital, [(n95, 10)], urgency="routine")
    assert emergency_requests_open_since(NOW + dt.timedelta(hours=13)) == [request]
    assert emergency_requests_open_since(NOW) == []
    decide(office, request, ("FH001", "refused", {"reason": "not a key item for them"}))
    assert emergency_requests_open_since(NOW + dt.timedelta(hours=13)) == []


def test_a_county_destination_is_its_prefectures_officers(officer, lanzhou, n95):
    from supplycoord.models import County

    county = County.objects.create(prefecture=lanzhou, code="620102", name_zh="城关区")
    claimant = Destination.objects.create(
        kind=DestinationKind.COUNTY, name_zh="城关区", prefecture=lanzhou, county=county
    )
    assert submit(officer, claimant, [(n95, 5)]).claimant == claimant
