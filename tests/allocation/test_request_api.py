"""The requests API (issue 15): submit (idempotent), list with filters, read, triage,
withdraw, into batches, the fill rates and the claimants; errors by line and field, 404 out of
scope, 409 on a stale version."""

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from allocation.models import BatchStatus, DispatchBatch, SupplyRequest
from allocation.services import batch_approve, batch_dispatch
from supplycoord.models import Role
from tests.allocation.conftest import NOW
from tests.factories import ItemFactory, UserFactory

pytestmark = pytest.mark.usefixtures("frozen_time")
TODAY = NOW.date()
URL = "/api/v1/requests/"


@pytest.fixture
def hospital_user(db):
    return UserFactory(username="hospital", role=Role.UNIT_REQUESTER)


@pytest.fixture
def hospital(to_hospital, hospital_user):
    to_hospital.code = "SRMYY"
    to_hospital.save()
    to_hospital.requesters.add(hospital_user)
    return to_hospital


@pytest.fixture
def lanzhou_claimant(to_lanzhou):
    to_lanzhou.code = "620100"
    to_lanzhou.save()
    return to_lanzhou


def body(claimant="SRMYY", lines=(("FH001", 2000), ("FH002", 500)), **extra):
    return {
        "claimant": claimant,
        "urgency": "emergency",
        "needed_by": (TODAY + dt.timedelta(days=2)).isoformat(),
        "justification": "ICU expansion: 40 beds",
        "lines": [{"item": item, "quantity": quantity} for item, quantity in lines],
        **extra,
    }


def submit(client, **kwargs):
    return client.post(URL, body(**kwargs), format="json")


def test_a_resend_returns_the_same_request_with_200(
    client_for, hospital, hospital_user, n95, masks
):
    client = client_for(hospital_user)
    key = str(uuid.uuid4())

    first = submit(client, client_uuid=key)
    again = submit(client, client_uuid=key)

    assert first.status_code == 201, first.json()
    assert again.status_code == 200
    assert first.json()["number"] == again.json()["number"] == "XQ-2020-001"
    assert SupplyRequest.objects.count() == 1
    answer = first.json()
    assert answer["claimant"] == {
        "code": "SRMYY",
        "kind": "provincial_institution",
        "name_zh": "甘肃省人民医院",
        "name_en": "",
    }
    assert answer["state"] == "awaiting_triage"
    assert [(x["item"], x["quantity"], x["still_open"]) for x in answer["lines"]] == [
        ("FH001", 2000, 2000),
        ("FH002", 500, 500),
    ]
    assert [e["action"] for e in answer["events"]] == ["submitted"]
    # Without a client id, each post is a new request.
    assert submit(client).status_code == 201
    assert SupplyRequest.objects.count() == 2


def test_errors_name_the_line_and_the_field_and_nothing_is_saved(
    client_for, hospital, hospital_user, n95
):
    client = client_for(hospital_user)

    answer = submit(client, lines=(("FH001", 0), ("NOPE", 5)), urgency="soon")

    assert answer.status_code == 400
    assert {(e["row"], e["field"]) for e in answer.json()["errors"]} == {
        (None, "urgency"),
        (0, "quantity"),
        (1, "item"),
    }
    bad_date = client.post(URL, {**body(), "needed_by": "2020-02-30"}, format="json")
    assert bad_date.status_code == 400
    assert bad_date.json()["errors"][0]["field"] == "needed_by"
    unknown = submit(client, claimant="NOBODY")
    assert [(e["row"], e["field"]) for e in unknown.json()["errors"]] == [(None, "claimant")]
    # Nasty input on PostgreSQL: a NUL, 2^70, a list for a text.
    nasty = client.post(
        URL,
        {**body(lines=(("FH001", 2**70),)), "justification": ["x"], "claimant": "SR\x00"},
        format="json",
    )
    assert nasty.status_code == 400
    assert SupplyRequest.objects.count() == 0


def test_a_user_may_only_request_for_claimants_in_scope(
    client_for, hospital, lanzhou_claimant, officer, outsider, n95, masks
):
    assert submit(client_for(outsider)).status_code == 403
    assert submit(client_for(outsider), claimant="620100").status_code == 403
    assert submit(client_for(officer), claimant="620100").status_code == 201
    assert submit(client_for(officer)).status_code == 403


def test_leadership_reads_but_does_not_submit(client_for, hospital, leader, n95, masks):
    assert submit(client_for(leader)).status_code == 403
    assert client_for(leader).get(URL).status_code == 200


def test_an_outsider_gets_404_on_another_claimants_request(
    client_for, hospital, hospital_user, outsider, officer, reporter, n95, masks
):
    number = submit(client_for(hospital_user)).json()["number"]
    other_unit = UserFactory(username="other_unit", role=Role.UNIT_REQUESTER)

    for user in (outsider, officer, other_unit):
        client = client_for(user)
        assert client.get(f"{URL}{number}/").status_code == 404
        assert (
            client.post(
                f"{URL}{number}/withdraw/", {"expected_version": 1, "reason": "x"}, format="json"
            ).status_code
            == 404
        )
        assert client.get(URL).json()["results"] == []
    # A producer's reporter may not read requests at all.
    assert client_for(reporter).get(URL).status_code == 403
    assert client_for(hospital_user).get(f"{URL}{number}/").status_code == 200


def test_triage_by_item_code_then_a_stale_version_is_409(
    client_for, hospital, hospital_user, office, n95, masks
):
    made = submit(client_for(hospital_user)).json()
    url = f"{URL}{made['number']}/triage/"
    decisions = [
        {
            "item": "FH001",
            "decision": "accepted_part",
            "accepted_quantity": 1200,
            "reason": "short",
        },
        {"line": made["lines"][1]["id"], "decision": "refused", "reason": "holds 30 days"},
    ]

    # Only the office triages: the requester who can see the request gets 403.
    refused = client_for(hospital_user).post(
        url, {"expected_version": 1, "decisions": decisions}, format="json"
    )
    assert refused.status_code == 403
    answer = client_for(office).post(
        url, {"expected_version": 1, "decisions": decisions}, format="json"
    )
    assert answer.status_code == 200, answer.json()
    lines = answer.json()["lines"]
    assert [(x["decision"], x["accepted_quantity"], x["still_open"]) for x in lines] == [
        ("accepted_part", 1200, 1200),
        ("refused", 0, 0),
    ]
    assert answer.json()["version"] == 2
    stale = client_for(office).post(
        url, {"expected_version": 1, "decisions": decisions[:1]}, format="json"
    )
    assert stale.status_code == 409
    # A part needs a reason; an item not on the request is named at its decision.
    bad = client_for(office).post(
        url,
        {
            "expected_version": 2,
            "decisions": [
                {"item": "FH001", "decision": "accepted_part", "accepted_quantity": 100},
                {"item": "FH999", "decision": "accepted"},
            ],
        },
        format="json",
    )
    assert bad.status_code == 400
    assert [(e["row"], e["field"]) for e in bad.json()["errors"]] == [(1, "item")]
    bad = client_for(office).post(
        url,
        {
            "expected_version": 2,
            "decisions": [{"item": "FH001", "decision": "accepted_part", "accepted_quantity": 100}],
        },
        format="json",
    )
    assert [(e["row"], e["field"]) for e in bad.json()["errors"]] == [(0, "reason")]


def test_into_batches_then_dispatch_shows_progress_and_batch_numbers(
    client_for, hospital, hospital_user, office, leader, stocked, n95, masks
):
    made = submit(client_for(hospital_user)).json()
    number = made["number"]
    client_for(office).post(
        f"{URL}{number}/triage/",
        {
            "expected_version": 1,
            "decisions": [
                {"item": "FH001", "decision": "accepted"},
                {
                    "item": "FH002",
                    "decision": "accepted_part",
                    "accepted_quantity": 300,
                    "reason": "short",
                },
            ],
        },
        format="json",
    )
    ids = [x["id"] for x in made["lines"]]

    # The requester may not put lines into batches.
    assert (
        client_for(hospital_user)
        .post(f"{URL}into-batches/", {"lines": ids, "warehouse": "SZ01"}, format="json")
        .status_code
        == 403
    )
    unknown = client_for(office).post(
        f"{URL}into-batches/", {"lines": ids, "warehouse": "NOPE"}, format="json"
    )
    assert unknown.json()["errors"][0]["field"] == "warehouse"
    answer = client_for(office).post(
        f"{URL}into-batches/", {"lines": ids, "warehouse": "SZ01"}, format="json"
    )
    assert answer.status_code == 201, answer.json()
    (draft,) = answer.json()
    assert draft["destination"] == "SRMYY"
    # Again: nothing accepted is left, named by its index in `lines`.
    again = client_for(office).post(
        f"{URL}into-batches/", {"lines": ids, "warehouse": "SZ01"}, format="json"
    )
    assert [(e["row"], e["field"]) for e in again.json()["errors"]] == [(0, "lines"), (1, "lines")]

    batch = DispatchBatch.objects.get(number=draft["number"])
    batch = batch_approve(user=leader, batch=batch, expected_version=batch.version)
    batch_dispatch(user=office, batch=batch, expected_version=batch.version)
    detail = client_for(hospital_user).get(f"{URL}{number}/").json()
    # 2000 accepted and dispatched; 300 of the 500 asked accepted, dispatched: nothing open.
    assert [
        (x["in_batches"], x["dispatched"], x["still_open"], [b["number"] for b in x["batches"]])
        for x in detail["lines"]
    ] == [(2000, 2000, 0, [draft["number"]]), (300, 300, 0, [draft["number"]])]
    assert detail["lines"][0]["batches"][0]["status"] == BatchStatus.DISPATCHED
    assert detail["state"] == "dispatched"
    assert [e["action"] for e in detail["events"]] == [
        "submitted",
        "triaged",
        "triaged",
        "batched",
        "batched",
    ]


def test_withdraw_needs_a_reason_and_the_version(client_for, hospital, hospital_user, n95, masks):
    number = submit(client_for(hospital_user)).json()["number"]
    url = f"{URL}{number}/withdraw/"
    client = client_for(hospital_user)

    assert client.post(url, {"reason": "x"}, format="json").json()["errors"][0]["field"] == (
        "expected_version"
    )
    assert client.post(url, {"expected_version": 1, "reason": " "}, format="json").json()["errors"][
        0
    ]["field"] == ("reason")
    answer = client.post(url, {"expected_version": 1, "reason": "Patients moved"}, format="json")
    assert answer.status_code == 200
    assert answer.json()["state"] == "withdrawn"
    assert client.post(url, {"expected_version": 1, "reason": "x"}, format="json").status_code == (
        409
    )


def test_the_list_filters_and_its_query_count_does_not_grow(
    client_for, hospital, hospital_user, office, n95, masks, frozen_time
):
    client = client_for(hospital_user)
    submit(client)  # XQ-2020-001, emergency, FH001 + FH002, 2020-02-20
    frozen_time.shift(dt.timedelta(days=1))
    submit(client, lines=(("FH002", 10),), urgency="routine")  # XQ-2020-002, 2020-02-21
    number = submit(client, lines=(("FH001", 5),)).json()["number"]  # XQ-2020-003
    client_for(office).post(
        f"{URL}{number}/triage/",
        {
            "expected_version": 1,
            "decisions": [{"item": "FH001", "decision": "refused", "reason": "no"}],
        },
        format="json",
    )

    def numbers(query):
        answer = client.get(URL + query)
        assert answer.status_code == 200, answer.json()
        return [x["number"] for x in answer.json()["results"]]

    assert numbers("") == ["XQ-2020-003", "XQ-2020-002", "XQ-2020-001"]
    assert numbers("?urgency=routine") == ["XQ-2020-002"]
    assert numbers("?item=FH001") == ["XQ-2020-003", "XQ-2020-001"]
    assert numbers("?state=awaiting_triage") == ["XQ-2020-002", "XQ-2020-001"]
    assert numbers("?state=open") == ["XQ-2020-002", "XQ-2020-001"]
    assert numbers("?state=closed") == ["XQ-2020-003"]
    assert numbers("?claimant=SRMYY&from=2020-02-21&to=2020-02-21") == [
        "XQ-2020-003",
        "XQ-2020-002",
    ]
    assert numbers("?to=2020-02-20") == ["XQ-2020-001"]
    assert numbers("?claimant=OTHER") == []
    assert client.get(URL + "?from=1999-01-01").status_code == 400
    assert client.get(URL + "?state=bogus").status_code == 400

    with CaptureQueriesContext(connection) as three:
        client.get(URL)
    for _ in range(5):
        submit(client, lines=(("FH001", 1),))
    with CaptureQueriesContext(connection) as eight:
        client.get(URL)
    assert len(eight) == len(three)


def test_fill_rates_per_claimant_and_item(
    client_for, hospital, hospital_user, office, leader, stocked, n95, masks, frozen_time
):
    client = client_for(hospital_user)
    made = submit(client).json()  # 2000 N95 + 500 masks at 2020-02-20 10:00
    client_for(office).post(
        f"{URL}{made['number']}/triage/",
        {
            "expected_version": 1,
            "decisions": [
                {
                    "item": "FH001",
                    "decision": "accepted_part",
                    "accepted_quantity": 1000,
                    "reason": "short",
                },
                {"item": "FH002", "decision": "accepted"},
            ],
        },
        format="json",
    )
    (draft,) = (
        client_for(office)
        .post(
            f"{URL}into-batches/",
            {"lines": [made["lines"][0]["id"]], "warehouse": "SZ01"},
            format="json",
        )
        .json()
    )
    frozen_time.shift(dt.timedelta(hours=6))
    batch = DispatchBatch.objects.get(number=draft["number"])
    batch = batch_approve(user=leader, batch=batch, expected_version=batch.version)
    batch_dispatch(user=office, batch=batch, expected_version=batch.version)

    rows = client.get("/api/v1/request-fill-rates/").json()

    # N95: 1000 of the 2000 asked accepted, all 1000 dispatched 6 h after submission: 100 %.
    # Masks: 500 accepted, none dispatched: 0 %, no time to fill.
    assert [
        (
            r["item"],
            r["lines"],
            r["asked"],
            r["accepted"],
            r["dispatched"],
            r["fill_rate"],
            r["median_hours_to_fill"],
        )
        for r in rows
    ] == [
        ("FH001", 1, 2000, 1000, 1000, "1.0000", "6.0"),
        ("FH002", 1, 500, 500, 0, "0.0000", None),
    ]
    assert client.get("/api/v1/request-fill-rates/?item=FH002").json()[0]["item"] == "FH002"
    # The period: submitted before it, nothing; a first date after the last (today): 400.
    assert client.get("/api/v1/request-fill-rates/?from=2020-02-21&to=2020-02-22").json() == []
    assert client.get("/api/v1/request-fill-rates/?from=2020-02-21").status_code == 400
    assert client.get("/api/v1/request-fill-rates/?claimant=NOPE").status_code == 400
    assert client.get("/api/v1/request-fill-rates/?from=2020-02-31").status_code == 400
    # Another unit's requester sees no rows.
    other = UserFactory(username="other_unit", role=Role.UNIT_REQUESTER)
    assert client_for(other).get("/api/v1/request-fill-rates/").json() == []


def test_claimants_are_those_one_may_request_for(
    client_for, hospital, hospital_user, lanzhou_claimant, officer, outsider, office, leader
):
    def codes(user):
        return [c["code"] for c in client_for(user).get("/api/v1/claimants/").json()["results"]]

    assert codes(hospital_user) == ["SRMYY"]
    assert codes(officer) == ["620100"]
    assert codes(outsider) == []
    assert codes(leader) == []
    assert sorted(codes(office)) == ["620100", "SRMYY"]


def test_inactive_items_are_refused(client_for, hospital, hospital_user, n95):
    ItemFactory(code="OLD01", active=False)
    answer = submit(client_for(hospital_user), lines=(("OLD01", 5),))
    assert [(e["row"], e["field"]) for e in answer.json()["errors"]] == [(0, "item")]


def test_nasty_query_parameters_are_never_a_server_error(client_for, hospital, hospital_user):
    client = client_for(hospital_user)
    for query in (
        "?claimant=a%00b",
        "?item=a%00b",
        "?from=2020-02-30",
        f"?limit={2**70}",
        "?state=open&urgency=%00",
    ):
        assert client.get(URL + query).status_code in (200, 400), query
    for query in ("?claimant=a%00b", "?item=a%00b", "?to=2020-13-01"):
        answer = client.get("/api/v1/request-fill-rates/" + query)
        assert answer.status_code in (200, 400), query
