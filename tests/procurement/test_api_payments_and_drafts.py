"""Through the API, the office pays an order (the sum paid never above its amount, a retry
with the same client UUID paying once) and edits a draft (409 on a stale version, 400 once
placed); leadership reads, and nobody else writes."""

import datetime as dt
import uuid

import pytest

from procurement.models import OrderPayment, OrderStatus
from tests.procurement.conftest import TODAY


@pytest.fixture
def placed(frozen_time, make_order, n95):
    # 10,000 N95 at 3.50: the order amounts to 35,000.00 yuan.
    return make_order([(n95, 10_000, "3.50", TODAY + dt.timedelta(days=4))])


@pytest.fixture
def draft(frozen_time, make_order, n95):
    return make_order([(n95, 1_000, "3.50", TODAY + dt.timedelta(days=4))], place=False)


def _pay(api, order, **body):
    return api.post(f"/api/v1/purchase-orders/{order.number}/payments/", body, format="json")


def test_it_records_payments_up_to_the_amount_and_lists_them(client_for, office, placed):
    api = client_for(office)
    first = _pay(api, placed, amount="20000.00", paid_on=TODAY.isoformat(), note="预付款")
    assert first.status_code == 201, first.json()
    assert [(p["amount"], p["note"]) for p in first.json()["payments"]] == [("20000.00", "预付款")]
    # 35,000.00 − 20,000.00 = 15,000.00 may still be paid: 15,000.01 is refused on `amount`.
    over = _pay(api, placed, amount="15000.01")
    assert over.status_code == 400
    assert [e["field"] for e in over.json()["errors"]] == ["amount"]
    rest = _pay(api, placed, amount="15000.00")
    assert rest.status_code == 201
    assert OrderPayment.objects.filter(order=placed).count() == 2


def test_a_retried_payment_pays_once(client_for, office, placed):
    api = client_for(office)
    key = str(uuid.uuid4())
    assert _pay(api, placed, amount="100.00", client_uuid=key).status_code == 201
    again = _pay(api, placed, amount="100.00", client_uuid=key)
    assert again.status_code == 200
    assert OrderPayment.objects.filter(order=placed).count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "a\x00b"}, "amount"),
        ({"amount": 10**20}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "0.001"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "10", "paid_on": "2020-02-30"}, "paid_on"),
        ({"amount": "10", "paid_on": "2020-02-21"}, "paid_on"),  # tomorrow: not yet paid
        ({"amount": "10", "client_uuid": "not-a-uuid"}, "client_uuid"),
    ],
)
def test_a_bad_payment_is_refused_by_field_and_saves_nothing(
    client_for, office, placed, body, field
):
    response = _pay(client_for(office), placed, **body)
    assert response.status_code == 400
    assert field in [e["field"] for e in response.json()["errors"]]
    assert not OrderPayment.objects.exists()


def test_a_draft_cannot_be_paid(client_for, office, draft):
    response = _pay(client_for(office), draft, amount="10.00")
    assert response.status_code == 400
    assert not OrderPayment.objects.exists()


def test_it_edits_a_draft_and_refuses_a_stale_version_and_a_placed_order(
    client_for, office, draft, placed, masks
):
    api = client_for(office)
    url = f"/api/v1/purchase-orders/{draft.number}/"
    body = {
        "expected_version": draft.version,
        "note": "改为口罩",
        "lines": [
            {
                "item": "FH002",
                "quantity": 4000,
                "unit_price": "0.80",
                "expected_arrival": (TODAY + dt.timedelta(days=3)).isoformat(),
            }
        ],
    }
    changed = api.patch(url, body, format="json")
    assert changed.status_code == 200, changed.json()
    answer = changed.json()
    # 4,000 × 0.80 = 3,200.00 yuan; the supplier and funding source were left as they were.
    assert answer["note"] == "改为口罩"
    assert [(line["item"], line["quantity"]) for line in answer["lines"]] == [("FH002", 4000)]
    assert answer["amount"] == "3200.00"
    assert answer["supplier"]["id"] == draft.supplier_id
    assert answer["version"] == draft.version + 1

    stale = api.patch(url, {**body, "note": "again"}, format="json")
    assert stale.status_code == 409

    placed_edit = api.patch(
        f"/api/v1/purchase-orders/{placed.number}/",
        {"expected_version": placed.version, "note": "x"},
        format="json",
    )
    assert placed_edit.status_code == 400
    placed.refresh_from_db()
    assert placed.status == OrderStatus.PLACED and placed.note == ""


def test_a_draft_edit_names_the_bad_line_and_field(client_for, office, draft):
    response = client_for(office).patch(
        f"/api/v1/purchase-orders/{draft.number}/",
        {
            "expected_version": draft.version,
            "supplier": 999999,
            "lines": [{"item": "FH001", "quantity": -1, "unit_price": "1", "expected_arrival": ""}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["supplier"]
    bad_line = client_for(office).patch(
        f"/api/v1/purchase-orders/{draft.number}/",
        {
            "expected_version": draft.version,
            "lines": [{"item": "FH001", "quantity": -1, "unit_price": "1", "expected_arrival": ""}],
        },
        format="json",
    )
    assert bad_line.status_code == 400
    assert {(e["line"], e["field"]) for e in bad_line.json()["errors"]} >= {
        (0, "quantity"),
        (0, "expected_arrival"),
    }
    draft.refresh_from_db()
    assert draft.lines.get().quantity == 1000


def test_leadership_reads_payments_but_may_not_pay_or_edit(client_for, leader, placed, draft):
    api = client_for(leader)
    assert api.get(f"/api/v1/purchase-orders/{placed.number}/").json()["payments"] == []
    assert _pay(api, placed, amount="10.00").status_code == 403
    edit = api.patch(
        f"/api/v1/purchase-orders/{draft.number}/",
        {"expected_version": draft.version, "note": "x"},
        format="json",
    )
    assert edit.status_code == 403


def test_an_officer_neither_sees_nor_pays_an_order(client_for, officer, placed):
    api = client_for(officer)
    assert api.get(f"/api/v1/purchase-orders/{placed.number}/").status_code == 403
    assert _pay(api, placed, amount="10.00").status_code == 403
    assert not OrderPayment.objects.exists()
