"""The API's input boundary beyond single fields: nesting, size, and JSON for every error."""

import json

import pytest
from django.test import override_settings

from inventory.models import DailyFigure
from supplycoord.lib import api_input
from supplycoord.lib.api_input import BULK_ROW_BYTES, bulk_body_max_bytes
from supplycoord.lib.text import field_text_error, is_free_text, number_error, text_error

DAILY = "/api/v1/daily-figures/"


def post_json(client, url, body):
    text = body if isinstance(body, str) else json.dumps(body)
    return client.generic(
        "POST", url, text, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )


# --- The rule itself ----------------------------------------------------------------------


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\x85", "\x9f", "\ud800"])
def test_the_rule_refuses_control_characters_everywhere(char):
    assert text_error(f"a{char}b")
    assert text_error(f"a{char}b", multiline=True)


@pytest.mark.parametrize("char", ["\t", "\n", "\r"])
def test_line_breaks_and_tabs_are_for_free_text_only(char):
    assert text_error(f"a{char}b")
    assert text_error(f"a{char}b", multiline=True) is None


def test_free_text_is_known_by_the_fields_name():
    assert is_free_text("note") and is_free_text("lines-0-note") and is_free_text("reason-620100")
    assert not is_free_text("carrier") and not is_free_text("FH001-stock")
    assert field_text_error("rows[3].reason", "a\nb") is None
    assert field_text_error("counterparty", "a\nb")


def test_ordinary_text_passes():
    assert text_error("甘A12345 · 兰州市 — N95口罩 (FH001) 12:30") is None


@pytest.mark.parametrize("number", [10**12 + 1, -(10**12) - 1, 10**20, float("inf"), 1e300])
def test_absurd_numbers_are_refused(number):
    assert number_error(number)


@pytest.mark.parametrize("number", [0, 10**12, -(10**12), 1.5, True])
def test_ordinary_numbers_pass(number):
    assert number_error(number) is None


# --- Bodies -------------------------------------------------------------------------------


def test_a_deeply_nested_body_is_a_json_400(client_for, office):
    body = "[" * 50_000 + "]" * 50_000

    response = post_json(client_for(office), DAILY, body)

    assert response.status_code == 400
    assert "Nested too deeply" in response.json()["errors"][0]["message"]


def test_a_body_nested_beyond_the_limit_names_where(client_for, office):
    body = [{"reason": [[[[[[[[[[[[[[[[[[[[[["x"]]]]]]]]]]]]]]]]]]]]]]}]

    response = post_json(client_for(office), DAILY, body)

    assert response.status_code == 400
    assert response.json()["errors"][0]["path"].startswith("[0].reason[0]")


def test_infinity_written_as_a_huge_exponent_is_refused(client_for, office):
    response = post_json(client_for(office), DAILY, '[{"stock": 1e400}]')
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "[0].stock"


def test_a_nul_in_an_object_key_is_refused(client_for, office):
    response = post_json(client_for(office), DAILY, [{"stock\u0000": 1}])
    assert response.status_code == 400


def test_a_key_given_twice_in_one_object_is_refused_not_read_as_the_last(
    client_for, office, lanzhou, tianshui, n95
):
    """{"prefecture": "620100", "prefecture": "620500"}: which did the sender mean? Neither is
    guessed; nothing is saved."""
    body = (
        '[{"prefecture": "620100", "prefecture": "620500", "item": "FH001", '
        '"date": "2020-02-10", "stock": 1, "received": 0, "consumption": 0, "demand": 0, '
        '"expected_arrivals_3d": 0}]'
    )

    response = post_json(client_for(office), DAILY, body)

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["field"] == "prefecture"
    assert "prefecture" in error["message"] and "twice" in error["message"]
    assert not DailyFigure.objects.exists()


def test_invalid_json_keeps_the_endpoints_error_shape(client_for, office):
    response = post_json(client_for(office), DAILY, "[{")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "non_field_errors"


def test_every_problem_of_a_body_is_listed_with_its_row(client_for, office):
    rows = [{"prefecture": "620100\x00"}, {"item": "FH\x01"}, {"stock": 10**20}]

    response = post_json(client_for(office), DAILY, rows)

    assert response.status_code == 400
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [
        (0, "prefecture"),
        (1, "item"),
        (2, "stock"),
    ]
    assert not DailyFigure.objects.exists()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10_000)
def test_a_body_over_the_limit_is_a_json_413(client_for, office):
    response = post_json(client_for(office), "/api/v1/snapshots/build/", {"date": "x" * 20_000})

    assert response.status_code == 413
    assert response["Content-Type"].startswith("application/json")
    assert "10,000" in response.json()["detail"]


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10_000)
def test_a_form_body_over_djangos_limit_is_a_json_413(client_for, office):
    response = client_for(office).post(
        "/api/v1/snapshots/build/", {"date": "x" * 20_000}, format="multipart"
    )
    assert response.status_code == 413
    assert response["Content-Type"].startswith("application/json")


def test_the_bulk_limit_makes_room_for_the_documented_rows(settings):
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "MAX_ROWS_PER_SUBMISSION": 50_000}
    assert bulk_body_max_bytes() >= 50_000 * BULK_ROW_BYTES > settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def test_a_row_at_its_widest_fits_the_bulk_budget():
    row = {
        "producer": "9" * 18,
        "item": "X" * 32,
        "date": "2020-03-10",
        **dict.fromkeys(
            (
                "output",
                "factory_stock",
                "to_reserve",
                "to_prefectures",
                "to_market",
                "held_for_province",
                "raw_material_days",
            ),
            10**12,
        ),
        "reason": "更正" * 45,  # ~90 Chinese characters, sent as \\uXXXX escapes
    }
    assert len(json.dumps(row, indent=2).encode()) + 8 <= BULK_ROW_BYTES


def test_a_submission_of_the_row_limit_is_answered_by_the_row_limit(
    client_for, office, settings, monkeypatch
):
    """Past Django's global body limit, the bulk endpoint still reads up to its row limit: one
    row too many gets the row-limit answer, not a 413."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 50_000
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "MAX_ROWS_PER_SUBMISSION": 1_000}
    monkeypatch.setattr(api_input, "BULK_OVERHEAD_BYTES", 0)
    row = {
        "prefecture": "620100",
        "item": "FH001",
        "date": "2020-02-10",
        "stock": 10**12,
        "received": 10**12,
        "consumption": 10**12,
        "demand": 10**12,
        "expected_arrivals_3d": 10**12,
        "reason": "补报" * 20,
    }
    body = json.dumps([row] * 1_001, indent=2)
    assert 50_000 < len(body.encode()) <= bulk_body_max_bytes()

    response = post_json(client_for(office), DAILY, body)

    assert response.status_code == 400
    assert "At most 1,000 rows" in response.json()["errors"][0]["message"]


def test_a_bulk_body_over_its_own_limit_is_a_json_413(client_for, office, settings):
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "MAX_ROWS_PER_SUBMISSION": 10}
    body = json.dumps([{"reason": "x" * 10_000}] * 300)
    assert len(body) > bulk_body_max_bytes()

    response = post_json(client_for(office), DAILY, body)

    assert response.status_code == 413
    assert response["Content-Type"].startswith("application/json")


# --- Errors Django answers before a view ---------------------------------------------------


def test_an_unknown_api_url_is_a_json_404(client_for, office):
    response = client_for(office).get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["detail"]


def test_a_page_404_stays_a_page(client, office):
    client.force_login(office)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_query_parameter_with_nul_is_a_json_400(client_for, office):
    response = client_for(office).get(DAILY, {"prefecture": "62\x000"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "prefecture"


def test_a_path_parameter_with_nul_is_a_json_400(client_for, office):
    response = post_json(client_for(office), "/api/v1/stock-events/a%00b/reverse/", {})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "document_number"


def test_a_crash_under_the_api_is_a_json_500(client_for, office, monkeypatch):
    from supplycoord import api

    def crash(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(api.PrefectureListView, "get", crash)
    client = client_for(office)
    client.raise_request_exception = False

    response = client.get("/api/v1/reference/prefectures/")

    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
