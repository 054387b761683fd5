"""Posting, reversing and listing stock events over the API: all-or-nothing, idempotent, scoped."""

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import StockBalance, StockEvent, WarehouseKind
from inventory.services import stock_issue, stock_receive
from tests.factories import ItemFactory, WarehouseFactory

URL = "/api/v1/stock-events/"
TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2020, 2, 20, 10, 0, tzinfo=TZ)
EVENT_FIELDS = {
    "document_number",
    "warehouse",
    "kind",
    "source",
    "issue_kind",
    "reason",
    "source_document",
    "counterparty",
    "note",
    "occurred_at",
    "recorded_at",
    "recorded_by",
    "client_uuid",
    "reverses",
    "reversed_by",
    "lines",
}


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def sz01(db):
    return WarehouseFactory(code="SZ01")


@pytest.fixture
def lz01(lanzhou):
    return WarehouseFactory(code="LZ01", kind=WarehouseKind.PREFECTURE, prefecture=lanzhou)


@pytest.fixture
def masks(db):
    return ItemFactory(code="FH002")


def receipt(**changes):
    body = {
        "warehouse": "SZ01",
        "kind": "receipt",
        "source": "donation",
        "source_document": "JZ-0131",
        "counterparty": "红十字会",
        "occurred_at": "2020-02-19T15:30:00+08:00",
        "lines": [{"item": "FH001", "quantity": 1000}, {"item": "FH002", "quantity": 200}],
    }
    body.update(changes)
    return body


def balance(warehouse, item):
    return StockBalance.objects.get(warehouse=warehouse, item=item).quantity


def reverse_url(document_number):
    return f"{URL}{document_number}/reverse/"


# --- posting ---------------------------------------------------------------------------


def test_it_records_a_receipt_and_answers_with_the_event(client_for, office, sz01, n95, masks):
    """201 with the stored event: its number, codes instead of ids, signed lines."""
    response = client_for(office).post(URL, receipt(), format="json")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == EVENT_FIELDS
    assert body["document_number"] == "SZ01-202002-0001"
    assert (body["warehouse"], body["kind"], body["source"]) == ("SZ01", "receipt", "donation")
    assert (body["issue_kind"], body["reason"], body["note"]) == ("", "", "")
    assert (body["source_document"], body["counterparty"]) == ("JZ-0131", "红十字会")
    assert dt.datetime.fromisoformat(body["occurred_at"]) == dt.datetime(
        2020, 2, 19, 15, 30, tzinfo=TZ
    )
    assert dt.datetime.fromisoformat(body["recorded_at"]) == NOW
    assert body["recorded_by"] == "office"
    assert (body["client_uuid"], body["reverses"], body["reversed_by"]) == (None, None, None)
    assert body["lines"] == [
        {"item": "FH001", "quantity": 1000, "counted": None},
        {"item": "FH002", "quantity": 200, "counted": None},
    ]
    assert (balance(sz01, n95), balance(sz01, masks)) == (1000, 200)


def test_it_records_an_issue_as_negative_lines(client_for, office, sz01, n95):
    stock_receive(user=office, warehouse=sz01, lines=[(n95, 100)], source="purchase")

    response = client_for(office).post(
        URL,
        {
            "warehouse": "SZ01",
            "kind": "issue",
            "issue_kind": "dispatch",
            "counterparty": "兰州市",
            "lines": [{"item": "FH001", "quantity": 40}],
        },
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["lines"] == [{"item": "FH001", "quantity": -40, "counted": None}]
    assert balance(sz01, n95) == 60


def test_it_records_an_adjustment_and_a_count(client_for, office, sz01, n95):
    """100 in, −3 damaged (97), counted 95: the count line says counted 95, quantity −2."""
    stock_receive(user=office, warehouse=sz01, lines=[(n95, 100)], source="purchase")
    client = client_for(office)

    adjusted = client.post(
        URL,
        {
            "warehouse": "SZ01",
            "kind": "adjustment",
            "reason": "damaged",
            "lines": [{"item": "FH001", "quantity": -3}],
        },
        format="json",
    )
    counted = client.post(
        URL,
        {"warehouse": "SZ01", "kind": "count", "lines": [{"item": "FH001", "counted": 95}]},
        format="json",
    )

    assert adjusted.status_code == 201
    assert adjusted.json()["reason"] == "damaged"
    assert counted.status_code == 201
    assert counted.json()["lines"] == [{"item": "FH001", "quantity": -2, "counted": 95}]
    assert balance(sz01, n95) == 95


def test_it_answers_a_retry_with_the_same_event_and_200(client_for, office, sz01, n95, masks):
    """The same client_uuid twice: one event, the second answer 200 with the first event."""
    client = client_for(office)
    key = str(uuid.uuid4())

    first = client.post(URL, receipt(client_uuid=key), format="json")
    again = client.post(URL, receipt(client_uuid=key), format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert first.json()["client_uuid"] == key
    assert StockEvent.objects.count() == 1
    assert balance(sz01, n95) == 1000


def test_it_lists_every_problem_with_its_line(client_for, office, sz01, n95):
    """Unknown item on line 1, a fraction on line 2, a future time: 400, nothing saved."""
    response = client_for(office).post(
        URL,
        receipt(
            occurred_at="2020-02-21T09:00:00+08:00",
            lines=[
                {"item": "FH001", "quantity": 5},
                {"item": "NOPE", "quantity": 5},
                {"item": "FH001", "quantity": 2.5},
            ],
        ),
        format="json",
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {(e["line"], e["field"]) for e in errors} == {
        (None, "occurred_at"),
        (1, "item"),
        (2, "item"),
        (2, "quantity"),
    }
    assert all(e["message"] for e in errors)
    assert not StockEvent.objects.exists()


def test_it_speaks_the_callers_language(client_for, office, sz01, n95):
    """Messages are translated: English on request, the field names stay as they are."""
    response = client_for(office).post(
        URL,
        receipt(lines=[{"item": "NOPE", "quantity": 1}]),
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.json()["errors"] == [
        {"line": 0, "field": "item", "message": "Unknown item code."}
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "reversal"}, "kind"),
        ({"kind": None}, "kind"),
        ({"source": "stolen"}, "source"),
        ({"warehouse": "NOPE"}, "warehouse"),
        ({"lines": "FH001"}, "lines"),
        ({"client_uuid": "abc"}, "client_uuid"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
    ],
)
def test_it_refuses_a_bad_event_field(client_for, office, sz01, n95, masks, body, field):
    response = client_for(office).post(URL, receipt(**body), format="json")

    assert response.status_code == 400
    assert [(e["line"], e["field"]) for e in response.json()["errors"]] == [(None, field)]


def test_it_refuses_a_body_that_is_not_an_object(client_for, office):
    response = client_for(office).post(URL, [receipt()], format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "non_field_errors"


def test_it_answers_409_with_every_shortfall(client_for, office, sz01, n95, masks):
    """Issuing 150 N95 of 100 and 10 masks of 0: 409 naming both, nothing issued."""
    stock_receive(user=office, warehouse=sz01, lines=[(n95, 100)], source="purchase")

    response = client_for(office).post(
        URL,
        {
            "warehouse": "SZ01",
            "kind": "issue",
            "issue_kind": "dispatch",
            "lines": [{"item": "FH001", "quantity": 150}, {"item": "FH002", "quantity": 10}],
        },
        format="json",
    )

    assert response.status_code == 409
    body = response.json()
    assert body["detail"]
    assert sorted(body["shortfalls"], key=lambda s: s["item"]) == [
        {"item": "FH001", "requested": 150, "available": 100},
        {"item": "FH002", "requested": 10, "available": 0},
    ]
    assert balance(sz01, n95) == 100


def test_it_lets_an_officer_post_to_their_own_warehouse(client_for, officer, lz01, n95, masks):
    response = client_for(officer).post(URL, receipt(warehouse="LZ01"), format="json")

    assert response.status_code == 201
    assert response.json()["document_number"] == "LZ01-202002-0001"


@pytest.mark.parametrize("role_user", ["outsider", "leader", "reporter"])
def test_it_refuses_posting_outside_the_callers_scope(
    client_for, request, role_user, lz01, n95, masks
):
    """An officer of another prefecture, leadership and producer reporters get 403."""
    user = request.getfixturevalue(role_user)

    response = client_for(user).post(URL, receipt(warehouse="LZ01"), format="json")

    assert response.status_code == 403
    assert response.json()["detail"]
    assert not StockEvent.objects.exists()


def test_it_refuses_anonymous_callers(api_client, db):
    assert api_client.post(URL, receipt(), format="json").status_code == 401
    assert api_client.get(URL).status_code == 401


# --- reversing -------------------------------------------------------------------------


def test_it_reverses_an_event_by_its_document_number(client_for, office, sz01, n95):
    """201 with the reversal: negated line, `reverses` naming the original, balance back."""
    original = stock_receive(user=office, warehouse=sz01, lines=[(n95, 100)], source="purchase")
    client = client_for(office)

    response = client.post(reverse_url(original.document_number), {"reason": "录错"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["reverses"], body["note"]) == (
        "reversal",
        original.document_number,
        "录错",
    )
    assert body["document_number"] == "SZ01-202002-0002"
    assert body["lines"] == [{"item": "FH001", "quantity": -100, "counted": None}]
    assert balance(sz01, n95) == 0
    listed = client.get(URL, {"kind": "receipt"}).json()["results"]
    assert listed[0]["reversed_by"] == "SZ01-202002-0002"


def test_it_refuses_a_second_reversal_with_409(client_for, office, sz01, n95):
    original = stock_receive(user=office, warehouse=sz01, lines=[(n95, 100)], source="purchase")
    client = client_for(office)
    client.post(reverse_url(original.document_number), {"reason": "错"}, format="json")

    response = client.post(reverse_url(original.document_number), {"reason": "错"}, format="json")

    assert response.status_code == 409
    assert "SZ01-202002-0002" in response.json()["detail"]


def test_it_refuses_to_reverse_a_receipt_already_issued_with_409(client_for, office, sz01, n95):
    original = stock_receive(user=office, warehouse=sz01, lines=[(n95, 100)], source="purchase")
    stock_issue(user=office, warehouse=sz01, lines=[(n95, 90)], issue_kind="dispatch")

    response = client_for(office).post(
        reverse_url(original.document_number), {"reason": "错"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["shortfalls"] == [{"item": "FH001", "requested": 100, "available": 10}]


def test_it_needs_a_reason_to_reverse(client_for, office, sz01, n95):
    original = stock_receive(user=office, warehouse=sz01, lines=[(n95, 100)], source="purchase")

    response = client_for(office).post(reverse_url(original.document_number), {}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "reason"


def test_it_hides_and_protects_events_outside_the_callers_scope(
    client_for, office, outsider, leader, lz01, n95
):
    """The outsider cannot see Lanzhou's event (404); leadership sees it but may not act (403)."""
    original = stock_receive(user=office, warehouse=lz01, lines=[(n95, 10)], source="purchase")
    url = reverse_url(original.document_number)

    assert client_for(outsider).post(url, {"reason": "x"}, format="json").status_code == 404
    assert client_for(leader).post(url, {"reason": "x"}, format="json").status_code == 403
    assert (
        client_for(office)
        .post(reverse_url("SZ01-202002-9999"), {"reason": "x"}, format="json")
        .status_code
        == 404
    )
    assert balance(lz01, n95) == 10


# --- listing ---------------------------------------------------------------------------


@pytest.fixture
def ledger(office, sz01, lz01, n95, masks):
    """SZ01: receipt on the 14th (N95 + masks), issue of N95 on the 18th; LZ01: receipt on the 16th."""
    stock_receive(
        user=office,
        warehouse=sz01,
        lines=[(n95, 100), (masks, 50)],
        source="purchase",
        occurred_at=dt.datetime(2020, 2, 14, 9, 0, tzinfo=TZ),
    )
    stock_issue(
        user=office,
        warehouse=sz01,
        lines=[(n95, 30)],
        issue_kind="dispatch",
        occurred_at=dt.datetime(2020, 2, 18, 23, 30, tzinfo=TZ),
    )
    stock_receive(
        user=office,
        warehouse=lz01,
        lines=[(n95, 20)],
        source="donation",
        occurred_at=dt.datetime(2020, 2, 16, 9, 0, tzinfo=TZ),
    )


def numbers(response):
    assert response.status_code == 200
    return [event["document_number"] for event in response.json()["results"]]


def test_it_lists_the_events_in_the_order_they_happened(client_for, leader, ledger):
    """Leadership reads every warehouse's ledger, oldest first, with the lines."""
    response = client_for(leader).get(URL)

    assert numbers(response) == ["SZ01-202002-0001", "LZ01-202002-0001", "SZ01-202002-0002"]
    first = response.json()["results"][0]
    assert set(first) == EVENT_FIELDS
    assert first["lines"] == [
        {"item": "FH001", "quantity": 100, "counted": None},
        {"item": "FH002", "quantity": 50, "counted": None},
    ]
    assert response.json()["count"] == 3


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"warehouse": "SZ01"}, ["SZ01-202002-0001", "SZ01-202002-0002"]),
        ({"item": "FH002"}, ["SZ01-202002-0001"]),
        ({"kind": "issue"}, ["SZ01-202002-0002"]),
        # Local dates: the issue at 23:30 on the 18th (15:30 UTC) belongs to the 18th.
        ({"from": "2020-02-16", "to": "2020-02-18"}, ["LZ01-202002-0001", "SZ01-202002-0002"]),
        ({"to": "2020-02-17"}, ["SZ01-202002-0001", "LZ01-202002-0001"]),
        ({"from": "2020-02-19"}, []),
    ],
)
def test_it_filters_the_events(client_for, office, ledger, query, expected):
    assert numbers(client_for(office).get(URL, query)) == expected


def test_it_shows_an_officer_only_their_prefectures_warehouses(
    client_for, officer, outsider, ledger
):
    assert numbers(client_for(officer).get(URL)) == ["LZ01-202002-0001"]
    assert numbers(client_for(outsider).get(URL)) == []
    assert numbers(client_for(outsider).get(URL, {"warehouse": "LZ01"})) == []


def test_it_refuses_a_malformed_date_filter(client_for, office, ledger):
    assert client_for(office).get(URL, {"from": "2020-02-30"}).status_code == 400


def test_it_lists_events_in_a_constant_number_of_queries(client_for, office, sz01, n95, masks):
    """3 events or 30 with two lines each: the same few queries (token, count, page, lines)."""
    client = client_for(office)

    def post_receipts(n):
        for _ in range(n):
            stock_receive(
                user=office, warehouse=sz01, lines=[(n95, 1), (masks, 1)], source="purchase"
            )

    post_receipts(3)
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(URL).json()["results"]) == 3
    post_receipts(27)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(URL).json()["results"]) == 30

    assert len(many) == len(few) <= 5


def test_it_documents_the_stock_event_contract(client_for, leader):
    """The schema names the three ledger paths and the answers the POST can give."""
    document = client_for(leader).get("/api/schema/", {"format": "json"}).json()

    post = document["paths"]["/api/v1/stock-events/"]["post"]
    assert {"200", "201", "400", "403", "409"} <= set(post["responses"])
    reverse = document["paths"]["/api/v1/stock-events/{document_number}/reverse/"]["post"]
    assert {"201", "400", "403", "404", "409"} <= set(reverse["responses"])
    assert "/api/v1/stock-balances/" in document["paths"]
    listed = {p["name"] for p in document["paths"]["/api/v1/stock-events/"]["get"]["parameters"]}
    assert {"warehouse", "item", "kind", "from", "to", "limit", "offset"} <= listed


@pytest.mark.parametrize("query", [{"to": "9999-12-31"}, {"from": "0001-01-01"}])
def test_it_answers_400_for_a_date_filter_at_the_edge_of_the_calendar(client_for, office, query):
    response = client_for(office).get("/api/v1/stock-events/", query)
    assert response.status_code == 400
