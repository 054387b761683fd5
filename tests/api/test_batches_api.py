"""The dispatch batch API: create → approve → dispatch → receive → close, and its refusals."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from allocation.models import BatchStatus, DispatchBatch
from tests.allocation import conftest as allocation
from tests.allocation.conftest import NOW, dispatched_batch, make_batch

# The allocation tests' fixtures: a stocked reserve warehouse and destinations.
frozen_time = allocation.frozen_time
masks = allocation.masks
sz01 = allocation.sz01
stocked = allocation.stocked
to_lanzhou = allocation.to_lanzhou
to_hospital = allocation.to_hospital
to_tianjin = allocation.to_tianjin

pytestmark = pytest.mark.usefixtures("frozen_time")

BATCHES = "/api/v1/batches/"


def act(client, number, action, version, **body):
    return client.post(
        f"{BATCHES}{number}/{action}/", {"expected_version": version, **body}, format="json"
    )


def test_a_batch_goes_from_draft_to_closed_through_the_api(
    client_for, office, leader, officer, stocked, to_lanzhou, n95, masks
):
    response = client_for(office).post(
        BATCHES,
        {
            "source_warehouse": "SZ01",
            "destination": to_lanzhou.pk,
            "priority": "hard_hit_area",
            "expected_arrival": "2020-02-22",
            "lines": [
                {"item": "FH001", "quantity": 1000, "channel": "reserve"},
                {"item": "FH002", "quantity": 300, "channel": "purchase"},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    batch = response.json()
    assert batch["number"] == "2020-001"
    assert (batch["status"], batch["version"]) == ("draft", 1)
    assert batch["source_warehouse"] == "SZ01"
    assert batch["destination"]["kind"] == "prefecture"
    assert [(line["item"], line["quantity"]) for line in batch["lines"]] == [
        ("FH001", 1000),
        ("FH002", 300),
    ]

    response = act(client_for(leader), "2020-001", "approve", 1)
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["version"]) == ("approved", 2)

    response = act(client_for(office), "2020-001", "dispatch", 2)
    assert response.status_code == 200, response.json()
    dispatched = response.json()
    assert dispatched["status"] == "dispatched"
    assert dispatched["dispatched_at"] is not None
    n95_line, mask_line = dispatched["lines"]

    response = act(
        client_for(officer),
        "2020-001",
        "receive",
        3,
        received=[{"line": n95_line["id"], "quantity": 900}],
    )
    assert response.status_code == 200, response.json()
    partly = response.json()
    assert partly["status"] == "partly_received"
    assert partly["lines"][0]["received_quantity"] == 900
    assert partly["lines"][0]["discrepancy"] == -100
    assert partly["lines"][1]["received_quantity"] == 0

    response = act(client_for(office), "2020-001", "close", 4, note="100 N95 lost in transit")
    assert response.status_code == 200, response.json()
    closed = response.json()
    assert closed["status"] == "closed"
    assert [(t["from_status"], t["to_status"], t["by"]) for t in closed["timeline"]] == [
        ("", "draft", "office"),
        ("draft", "approved", "leader"),
        ("approved", "dispatched", "office"),
        ("dispatched", "partly_received", "officer"),
        ("partly_received", "closed", "office"),
    ]
    detail = client_for(officer).get(f"{BATCHES}2020-001/")
    assert detail.status_code == 200
    assert detail.json() == closed


def test_create_lists_every_problem(client_for, office, stocked, n95):
    response = client_for(office).post(
        BATCHES,
        {"source_warehouse": "NOPE", "destination": 999, "lines": []},
        format="json",
    )
    assert response.status_code == 400
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"source_warehouse", "destination"}

    response = client_for(office).post(
        BATCHES,
        {"source_warehouse": "SZ01", "destination": "兰州市", "lines": []},
        format="json",
    )
    assert response.status_code == 400


def test_create_rejects_bad_lines_with_their_index(client_for, office, stocked, to_lanzhou):
    response = client_for(office).post(
        BATCHES,
        {
            "source_warehouse": "SZ01",
            "destination": to_lanzhou.pk,
            "lines": [
                {"item": "FH001", "quantity": 10, "channel": "reserve"},
                {"item": "FH001", "quantity": 0, "channel": "reserve"},
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    assert {error["line"] for error in response.json()["errors"]} == {1}
    assert not DispatchBatch.objects.exists()


@pytest.mark.parametrize("destination", ["²", "9" * 5000])
def test_it_refuses_a_destination_id_int_cannot_read(client_for, office, stocked, destination):
    """A digit to str.isdigit() that int() refuses ("²"), or 5,000 of them: a 400, not a
    500."""
    response = client_for(office).post(
        BATCHES,
        {
            "source_warehouse": "SZ01",
            "destination": destination,
            "lines": [{"item": "FH001", "quantity": 10, "channel": "reserve"}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["destination"]
    assert not DispatchBatch.objects.exists()


def test_the_second_of_two_people_acting_gets_a_conflict(
    client_for, office, leader, stocked, to_lanzhou, n95
):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 10)])
    assert act(client_for(leader), batch.number, "approve", 1).status_code == 200

    response = act(client_for(office), batch.number, "cancel", 1)

    assert response.status_code == 409
    assert "detail" in response.json()
    batch.refresh_from_db()
    assert (batch.status, batch.version) == (BatchStatus.APPROVED, 2)


def test_dispatch_refused_for_short_stock_names_every_short_item(
    client_for, office, leader, stocked, to_lanzhou, n95, masks
):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 6000), (masks, 100)])
    act(client_for(leader), batch.number, "approve", 1)

    response = act(client_for(office), batch.number, "dispatch", 2)

    assert response.status_code == 409
    body = response.json()
    assert body["shortfalls"] == [{"item": "FH001", "requested": 6000, "available": 5000}]
    batch.refresh_from_db()
    assert batch.status == BatchStatus.APPROVED


def test_wrong_state_and_missing_version_are_bad_requests(
    client_for, office, stocked, to_lanzhou, n95
):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 10)])

    assert act(client_for(office), batch.number, "dispatch", 1).status_code == 400
    response = client_for(office).post(f"{BATCHES}{batch.number}/cancel/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "expected_version"


def test_a_cancel_needs_a_reason_which_the_timeline_keeps(
    client_for, office, stocked, to_lanzhou, n95
):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 10)])

    refused = act(client_for(office), batch.number, "cancel", 1)
    cancelled = act(client_for(office), batch.number, "cancel", 1, note="与第12批重复")

    assert refused.status_code == 400 and refused.json()["errors"]
    assert cancelled.status_code == 200
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CANCELLED
    assert batch.transitions.order_by("at", "id").last().note == "与第12批重复"


@pytest.mark.parametrize(
    ("role", "action"),
    [("office", "approve"), ("leader", "dispatch"), ("leader", "cancel"), ("officer", "cancel")],
)
def test_roles_are_enforced(
    request, client_for, office, leader, officer, stocked, to_lanzhou, n95, role, action
):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 10)])
    if action == "dispatch":
        act(client_for(leader), batch.number, "approve", 1)
        batch.refresh_from_db()

    response = act(client_for(request.getfixturevalue(role)), batch.number, action, batch.version)

    assert response.status_code == 403
    assert "detail" in response.json()


def test_leadership_and_officers_may_not_create(client_for, leader, officer, stocked, to_lanzhou):
    body = {
        "source_warehouse": "SZ01",
        "destination": to_lanzhou.pk,
        "lines": [{"item": "FH001", "quantity": 10, "channel": "reserve"}],
    }
    for user in (leader, officer):
        assert client_for(user).post(BATCHES, body, format="json").status_code == 403


def test_officers_see_only_batches_to_their_prefecture(
    client_for, office, leader, officer, outsider, stocked, to_lanzhou, to_hospital, n95
):
    ours = make_batch(office, stocked, to_lanzhou, [(n95, 10)])
    theirs = make_batch(office, stocked, to_hospital, [(n95, 10)])

    def numbers(user):
        return [b["number"] for b in client_for(user).get(BATCHES).json()["results"]]

    assert numbers(office) == [theirs.number, ours.number]
    assert numbers(officer) == [ours.number]
    assert numbers(outsider) == []
    assert client_for(outsider).get(f"{BATCHES}{ours.number}/").status_code == 404
    assert act(client_for(outsider), ours.number, "cancel", 1).status_code == 404


def test_the_list_filters(client_for, office, leader, stocked, to_lanzhou, to_hospital, n95, masks):
    dispatched_batch(office, leader, stocked, to_lanzhou, [(n95, 10)])
    make_batch(office, stocked, to_hospital, [(masks, 10)])
    client = client_for(office)

    def numbers(**params):
        response = client.get(BATCHES, params)
        assert response.status_code == 200, response.json()
        return [b["number"] for b in response.json()["results"]]

    assert numbers(status="dispatched") == ["2020-001"]
    assert numbers(destination_kind="provincial_institution") == ["2020-002"]
    assert numbers(destination=to_lanzhou.pk) == ["2020-001"]
    assert numbers(item="FH002") == ["2020-002"]
    assert numbers(channel="reserve") == ["2020-002", "2020-001"]
    assert numbers(channel="donation") == []
    assert numbers(**{"from": NOW.date().isoformat(), "to": NOW.date().isoformat()}) == ["2020-001"]
    assert client.get(BATCHES, {"status": "nope"}).status_code == 400


def test_the_list_costs_the_same_queries_for_many_batches(
    client_for, office, leader, stocked, to_lanzhou, n95, masks
):
    client = client_for(office)
    dispatched_batch(office, leader, stocked, to_lanzhou, [(n95, 10), (masks, 5)])
    with CaptureQueriesContext(connection) as few:
        assert client.get(BATCHES).status_code == 200
    for _ in range(5):
        dispatched_batch(office, leader, stocked, to_lanzhou, [(n95, 10), (masks, 5)])
    with CaptureQueriesContext(connection) as many:
        response = client.get(BATCHES)
    assert response.json()["count"] == 6
    assert len(many) == len(few)


def test_the_schema_documents_every_batch_endpoint(client_for, leader):
    document = client_for(leader).get("/api/schema/", {"format": "json"}).json()

    for path in (
        "/api/v1/batches/",
        "/api/v1/batches/{number}/",
        *(
            f"/api/v1/batches/{{number}}/{action}/"
            for action in ("approve", "dispatch", "receive", "close", "cancel")
        ),
    ):
        assert path in document["paths"], path
