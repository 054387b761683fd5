"""Bad input is a 400 naming the row (line) and field, never a 500, and nothing is half
saved: control characters and NUL, huge and negative numbers, dates out of range, money with
too many decimals, a credit code with the wrong check character."""

import datetime as dt

import pytest
from django.urls import reverse

from procurement.models import PurchaseOrder, PurchaseOrderLine, Supplier
from tests.procurement.conftest import TODAY

GOOD_LINE = {
    "item": "FH001",
    "quantity": 10,
    "unit_price": "1.00",
    "expected_arrival": "2020-02-25",
}


@pytest.fixture
def api(frozen_time, client_for, office, supplier, n95):
    return client_for(office)


def _order(api, by, lines, **extra):
    return api.post(
        "/api/v1/purchase-orders/",
        {"supplier": by.pk, "funding_source": "fiscal", "lines": lines, **extra},
        format="json",
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("quantity", -5),
        ("quantity", 0),
        ("quantity", 10**20),
        ("quantity", "12:99"),
        ("unit_price", "-1.00"),
        ("unit_price", "1.005"),
        ("unit_price", "1e400"),
        ("unit_price", "NaN"),
        ("unit_price", "99999999999999999999"),
        ("expected_arrival", "1999-12-31"),
        ("expected_arrival", "2020-02-30"),
        ("expected_arrival", "9999-12-31"),
        ("expected_arrival", "2020-02-19"),  # before the order date (today, the 20th)
        ("item", "FH\x00001"),
        ("item", "NOPE"),
    ],
)
def test_a_bad_line_is_refused_by_line_and_field(api, supplier, field, value):
    response = _order(api, supplier, [GOOD_LINE, {**GOOD_LINE, "item": "FH002", field: value}])

    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert any(e["field"] == field and e["line"] == 1 for e in errors), errors
    assert PurchaseOrder.objects.count() == 0
    assert PurchaseOrderLine.objects.count() == 0


def test_a_huge_amount_is_refused_at_its_line(api, supplier):
    # 10^12 × 99,999.99 = 9.99…e16 yuan > 9,999,999,999,999,999.99
    response = _order(api, supplier, [{**GOOD_LINE, "quantity": 10**12, "unit_price": "99999.99"}])

    assert response.status_code == 400
    assert response.json()["errors"][0]["line"] == 0
    assert PurchaseOrder.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ordered_on", "2020-02-21"),  # in the future
        ("ordered_on", "1999-12-31"),
        ("funding_source", "loan"),
        ("note", "bad\x07bell"),
        ("supplier", "12:99"),
        ("buyer_unit", "12:99"),
    ],
)
def test_a_bad_header_field_is_named(api, supplier, field, value):
    response = _order(api, supplier, [GOOD_LINE], **{field: value})

    assert response.status_code == 400, response.content
    assert any(e["field"] == field for e in response.json()["errors"]), response.json()
    assert PurchaseOrder.objects.count() == 0


def test_working_capital_needs_a_reserve_task_unit(api, supplier):
    response = _order(api, supplier, [GOOD_LINE], funding_source="working_capital")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "funding_source"


def test_the_pages_refuse_nul_and_control_characters_and_save_nothing(
    frozen_time, client, office, supplier, n95
):
    client.force_login(office)
    form = {
        "buyer_unit": "",
        "supplier": str(supplier.pk),
        "funding_source": "fiscal",
        "ordered_on": TODAY.isoformat(),
        "note": "",
        "expected_version": "",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-item": "FH001",
        "lines-0-quantity": "10",
        "lines-0-unit_price": "1.00",
        "lines-0-expected_arrival": "2020-02-25",
    }
    for name, value in [("lines-0-quantity", "1\x000"), ("note", "a\x1bb")]:
        response = client.post(reverse("procurement:order_new"), {**form, name: value})
        assert response.status_code == 400
        assert name in response.content.decode()
    response = client.post(
        reverse("procurement:supplier_new"),
        {"name": "甲\x00厂", "credit_code": "", "origin": "abroad"},
    )
    assert response.status_code == 400
    assert PurchaseOrder.objects.count() == 0
    assert not Supplier.objects.filter(name__startswith="甲").exists()


def test_the_order_form_puts_a_service_error_on_its_line(
    frozen_time, client, office, supplier, n95
):
    client.force_login(office)
    response = client.post(
        reverse("procurement:order_new"),
        {
            "supplier": str(supplier.pk),
            "funding_source": "fiscal",
            "ordered_on": TODAY.isoformat(),
            "lines-TOTAL_FORMS": "2",
            "lines-INITIAL_FORMS": "0",
            "lines-0-item": "FH001",
            "lines-0-quantity": "10",
            "lines-0-unit_price": "1.00",
            "lines-0-expected_arrival": "2020-02-25",
            "lines-1-item": "FH001",
            "lines-1-quantity": "-3",
            "lines-1-unit_price": "1.00",
            "lines-1-expected_arrival": (TODAY - dt.timedelta(days=1)).isoformat(),
        },
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert html.count('class="has-error"') == 1  # only the second row
    assert PurchaseOrder.objects.count() == 0


def test_a_credit_code_with_a_wrong_check_character_is_refused(api):
    from tests.procurement.conftest import credit_code

    good = credit_code(3)
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    for code in (wrong, good[:17], "9162010OMA7000003X"):
        response = api.post(
            "/api/v1/suppliers/",
            {"name": "某厂", "credit_code": code, "origin": "in_province"},
            format="json",
        )
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "credit_code"
    assert not Supplier.objects.filter(name="某厂").exists()
    assert (
        api.post(
            "/api/v1/suppliers/",
            {"name": "某厂", "credit_code": good, "origin": "in_province"},
            format="json",
        ).status_code
        == 201
    )


def test_filters_of_the_api_refuse_bad_values(api):
    for url in [
        "/api/v1/purchase-orders/?status=nope",
        "/api/v1/purchase-orders/?supplier=99999999999999999999",
        "/api/v1/purchase-orders/?item=%00",
        "/api/v1/purchase-orders/?overdue=maybe",
        "/api/v1/supplier-capabilities/?item=FH001&within_days=-1",
        "/api/v1/supplier-capabilities/?item=FH001&within_days=99999999999",
        "/api/v1/supplier-capabilities/",
        "/api/v1/suppliers/?origin=mars",
    ]:
        assert api.get(url).status_code == 400, url
