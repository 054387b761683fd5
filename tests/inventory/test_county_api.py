"""County figures over the API (`/api/v1/county-figures/`, issue 15 §3): idempotent on
(county, item, date), all or nothing, scoped; Lanzhou's own rows refused on
`/api/v1/daily-figures/` while it reports as the sum of its counties."""

import json

import pytest

from inventory.models import CountyDailyFigure, DailyFigure
from tests.inventory.county_world import *  # noqa: F403 - the fixtures
from tests.inventory.county_world import TODAY, county_row

URL = "/api/v1/county-figures/"
DAILY_URL = "/api/v1/daily-figures/"
# County B's figures (the rest of the row as county A's).
B = {
    "county": "620122",
    "stock": 50,
    "received": 10,
    "consumption": 5,
    "demand": 6,
    "expected_arrivals_3d": 0,
}


def test_a_county_officer_submits_and_a_resend_changes_nothing(
    client_for, summed, n95, county_officer
):
    client = client_for(county_officer)

    first = client.post(URL, [county_row()], format="json")
    again = client.post(URL, [county_row()], format="json")

    assert first.status_code == 200 and first.json() == {"created": 1, "updated": 0, "unchanged": 0}
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 1}
    assert CountyDailyFigure.objects.get().stock == 100
    assert not DailyFigure.objects.exists()


def test_the_second_county_completes_lanzhou(
    client_for, summed, n95, county_officer, gaolan_officer
):
    client_for(county_officer).post(URL, [county_row()], format="json")

    response = client_for(gaolan_officer).post(
        URL, {"rows": [county_row(**B)], "reason": ""}, format="json"
    )

    assert response.status_code == 200
    figure = DailyFigure.objects.get(prefecture=summed, item=n95, date=TODAY)
    assert (figure.stock, figure.received, figure.consumption) == (150, 30, 15)
    # And Lanzhou's row reads like any other on the daily-figures endpoint.
    listed = client_for(gaolan_officer).get(DAILY_URL)
    assert listed.status_code == 200
    assert listed.json()["results"] == []  # a county officer reads no prefecture's rows


@pytest.mark.parametrize("who", ["office", "officer"])
def test_lanzhous_own_rows_are_refused_by_row_and_field(client_for, request, summed, n95, who):
    row = {"prefecture": "620100", "item": "FH001", "date": TODAY.isoformat(), "stock": 1}
    row.update(received=0, consumption=0, demand=0, expected_arrivals_3d=0)
    client = client_for(request.getfixturevalue(who))

    response = client.post(DAILY_URL, [row], format="json", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "row": 0,
                "field": "prefecture",
                "message": "Lanzhou reports as the sum of its counties: its counties enter "
                "the figures.",
            }
        ]
    }
    assert not DailyFigure.objects.exists()


@pytest.mark.parametrize(
    ("who", "rows", "refused"),
    [
        # B's officer sends its own row and one of A: the 403 names A's row.
        ("gaolan_officer", [county_row(**B), county_row()], [1]),
        # A county officer of Tianshui.
        ("qinzhou_officer", [county_row()], [0]),
    ],
)
def test_another_county_officer_cannot_write_county_a(
    client_for, request, summed, n95, who, rows, refused
):
    response = client_for(request.getfixturevalue(who)).post(URL, rows, format="json")

    assert response.status_code == 403
    assert response.json()["rows"] == refused
    assert not CountyDailyFigure.objects.exists()


@pytest.mark.parametrize("who", ["officer", "lead", "leader", "reporter"])
def test_roles_that_do_not_enter_county_figures_get_a_403(client_for, request, summed, n95, who):
    response = client_for(request.getfixturevalue(who)).post(URL, [county_row()], format="json")

    assert response.status_code == 403
    assert not CountyDailyFigure.objects.exists()


def test_a_county_of_tianshui_is_refused_at_its_county(
    client_for, summed, qinzhou, n95, qinzhou_officer
):
    client = client_for(qinzhou_officer)

    response = client.post(
        URL, [county_row(county="620502")], format="json", HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "row": 0,
            "field": "county",
            "message": "Tianshui does not report as the sum of its counties: its officers "
            "enter its figures.",
        }
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("stock", 10**20),
        ("stock", -1),
        ("consumption", "1.5"),
        ("date", "2020-02-30"),
        ("date", "1999-12-31"),
        ("date", "2020-02-11"),  # tomorrow
        ("item", "FH999"),
        ("county", "620199"),
    ],
)
def test_bad_input_is_a_400_naming_the_row_and_field(client_for, summed, n95, office, field, value):
    response = client_for(office).post(
        URL, [county_row(**B), county_row(**{field: value})], format="json"
    )

    assert response.status_code == 400
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(1, field)]
    assert not CountyDailyFigure.objects.exists()


@pytest.mark.parametrize("field", ["county", "item", "date", "reason"])
def test_a_nul_is_refused_before_any_query_with_its_path(client_for, summed, n95, office, field):
    body = json.dumps([county_row(**B), county_row(**{field: "62\x000123"})])

    response = client_for(office).generic("POST", URL, body, content_type="application/json")

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["row"], error["field"], error["path"]) == (1, field, f"[1].{field}")
    assert not CountyDailyFigure.objects.exists()


def test_the_list_is_scoped_to_what_each_may_see(
    client_for,
    summed,
    qinzhou,
    n95,
    office,
    officer,
    lead,
    outsider,
    county_officer,
    gaolan_officer,
    qinzhou_officer,
):
    client_for(office).post(URL, [county_row(), county_row(**B)], format="json")

    def seen(user, query=""):
        response = client_for(user).get(URL + query)
        assert response.status_code == 200
        return sorted(r["county"] for r in response.json()["results"])

    assert seen(office) == ["620122", "620123"]
    assert seen(officer) == ["620122", "620123"]
    assert seen(lead) == ["620122", "620123"]
    assert seen(county_officer) == ["620123"]
    assert seen(gaolan_officer) == ["620122"]
    assert seen(outsider) == []
    assert seen(qinzhou_officer) == []
    assert seen(office, "?county=620122") == ["620122"]
    assert seen(office, "?prefecture=620500") == []
    row = client_for(county_officer).get(URL).json()["results"][0]
    assert row == {
        "county": "620123",
        "item": "FH001",
        "date": TODAY.isoformat(),
        "stock": 100,
        "received": 20,
        "consumption": 10,
        "demand": 12,
        "expected_arrivals_3d": 5,
        "on_time": True,
        "first_submitted_at": row["first_submitted_at"],
        "submitted_at": row["submitted_at"],
        "submitted_by": "office",
        "correction_reason": "",
    }


def test_the_list_costs_the_same_queries_whatever_its_length(
    client_for, summed, n95, office, django_assert_max_num_queries
):
    client = client_for(office)
    client.post(URL, [county_row()], format="json")
    with django_assert_max_num_queries(10) as one:
        client.get(URL)
    queries = len(one)  # now: the next request resets the connection's log
    client.post(URL, [county_row(**B), county_row(date="2020-02-09")], format="json")

    with django_assert_max_num_queries(queries):
        assert len(client.get(URL).json()["results"]) == 3
