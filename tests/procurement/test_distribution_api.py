"""The distribution reports API: scoped lists, submission idempotent on (enterprise, item,
date), errors by row and field, nothing saved on a refusal (PostgreSQL)."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import translation

from procurement.models import DistributionReport
from tests.procurement.conftest import TODAY
from tests.procurement.distribution_fixtures import *  # noqa: F403 (fixtures)
from tests.procurement.distribution_fixtures import figures

pytestmark = pytest.mark.usefixtures("frozen_time")
URL = reverse("api:distribution-reports")


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _row(owner, item="FH001", date=TODAY, **values):
    return {
        "enterprise": owner.credit_code,
        "item": item,
        "date": date.isoformat() if isinstance(date, dt.date) else date,
        **figures(1_000, 400, 2_000, 600),
        **values,
    }


def test_a_reporter_submits_and_resubmitting_is_idempotent(client_for, dist_a, enterprise_a):
    api = client_for(dist_a)
    body = {"rows": [_row(enterprise_a), _row(enterprise_a, item="FH002")]}
    response = api.post(URL, body, format="json")
    assert response.status_code == 200
    assert response.json() == {"created": 2, "updated": 0, "unchanged": 0}
    response = api.post(URL, body, format="json")
    assert response.json() == {"created": 0, "updated": 0, "unchanged": 2}
    assert DistributionReport.history.count() == 2


def test_a_correction_without_a_reason_is_a_400_on_the_rows_reason(
    client_for, dist_a, enterprise_a
):
    api = client_for(dist_a)
    api.post(URL, [_row(enterprise_a)], format="json")
    # The API speaks the language the caller asks for (Accept-Language), Chinese by default.
    response = api.post(
        URL, [_row(enterprise_a, stock=601)], format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"row": 0, "field": "reason", "message": "A correction needs a reason."}]
    }
    response = api.post(
        URL, {"rows": [_row(enterprise_a, stock=601)], "reason": "recount"}, format="json"
    )
    assert response.json() == {"created": 0, "updated": 1, "unchanged": 0}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("stock", -1),
        ("stock", 2**70),
        ("stock", "1e3"),
        ("stock", "12\x00"),
        ("date", "2020-02-30"),
        ("date", "2020-02-21"),  # tomorrow
        ("item", "FH\x00001"),
        ("enterprise", "nobody"),
    ],
)
def test_bad_input_is_refused_by_row_and_field_and_nothing_saved(
    client_for, dist_a, enterprise_a, field, value
):
    response = client_for(dist_a).post(
        URL, [_row(enterprise_a, item="FH002"), _row(enterprise_a, **{field: value})], format="json"
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    # The pipeline names (row, field); the input guard refuses a NUL or a huge number first,
    # naming the row and the JSON path.
    assert any(e["row"] == 1 and e["field"] in (field, f"[1].{field}") for e in errors), errors
    assert not DistributionReport.objects.exists()


def test_another_enterprises_rows_are_a_403_and_nothing_saved(
    client_for, dist_b, enterprise_a, enterprise_b
):
    response = client_for(dist_b).post(URL, [_row(enterprise_b), _row(enterprise_a)], format="json")
    assert response.status_code == 403
    assert response.json()["rows"] == [1]
    assert not DistributionReport.objects.exists()


def test_officers_and_leadership_may_not_submit(client_for, officer, leader, enterprise_a):
    for user in (officer, leader):
        response = client_for(user).post(URL, [_row(enterprise_a)], format="json")
        assert response.status_code == 403
    assert not DistributionReport.objects.exists()


def test_the_list_is_scoped(
    client_for, office, dist_a, dist_b, officer, enterprise_a, enterprise_b
):
    client_for(office).post(URL, [_row(enterprise_a), _row(enterprise_b)], format="json")

    def seen(user, **params):
        return [r["enterprise"] for r in client_for(user).get(URL, params).json()["results"]]

    assert sorted(seen(office)) == sorted([enterprise_a.credit_code, enterprise_b.credit_code])
    assert seen(dist_a) == [enterprise_a.credit_code]
    assert seen(dist_b) == [enterprise_b.credit_code]
    # The officer of Lanzhou reads the enterprises located there only.
    assert seen(officer) == [enterprise_a.credit_code]
    # Filtering on another's enterprise gives nothing, not an error.
    assert seen(dist_b, enterprise=enterprise_a.credit_code) == []
    enterprises = client_for(dist_b).get(reverse("api:distribution-enterprises")).json()
    assert [e["credit_code"] for e in enterprises["results"]] == [enterprise_b.credit_code]


def test_the_list_costs_the_same_queries_for_1_or_10_reports(
    client_for, office, enterprise_a, django_assert_max_num_queries
):
    api = client_for(office)
    api.post(URL, [_row(enterprise_a)], format="json")
    rows = [_row(enterprise_a, date=TODAY - dt.timedelta(days=n)) for n in range(1, 6)]
    api.post(
        URL, rows + [_row(enterprise_a, item="FH002", date=r["date"]) for r in rows], format="json"
    )
    assert DistributionReport.objects.count() == 11
    # Token and user (2), the count and the page (2), the token's last use (at most 1).
    with django_assert_max_num_queries(6):
        assert api.get(URL).status_code == 200


def test_a_bad_filter_date_is_a_400(client_for, office):
    response = client_for(office).get(URL, {"from": "99999-01-01"})
    assert response.status_code == 400
