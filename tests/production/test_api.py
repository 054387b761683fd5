"""The production API: reports in bulk (all or nothing, scoped), producers and problems."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from rest_framework.test import APIClient

from inventory.models import StockBalance
from production.models import LineStatus, Problem, ProblemStatus, ProductionLine, ProductionReport
from production.services import problem_report, production_reports_submit
from tests.factories import ItemFactory

URL = "/api/v1/production-reports/"
PRODUCERS_URL = "/api/v1/producers/"
PROBLEMS_URL = "/api/v1/production-problems/"
NOW = dt.datetime(2020, 3, 10, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
LANZHOU_CODE = "91350100M000100Y43"
TIANSHUI_CODE = "91110108551385082Q"


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def row(**changes):
    values = {
        "producer": LANZHOU_CODE,
        "item": "FH001",
        "date": "2020-03-10",
        "output": 80_000,
        "to_reserve": 0,
        "to_prefectures": 40_000,
        "to_market": 10_000,
        "factory_stock": 30_000,
        "held_for_province": 5_000,
        "raw_material_days": 6,
    }
    values.update(changes)
    return values


def post(client, *rows, reason=""):
    return client.post(URL, {"rows": list(rows), "reason": reason}, format="json")


# --- Submitting reports ----------------------------------------------------------------------


def test_it_creates_a_reporters_reports_and_counts_them(client_for, reporter, reporting_producer):
    response = post(client_for(reporter), row(), row(date="2020-03-09"))

    assert response.status_code == 200
    assert response.json() == {"created": 2, "updated": 0, "unchanged": 0}
    report = ProductionReport.objects.get(date=NOW.date())
    assert (report.producer, report.item.code, report.output) == (
        reporting_producer,
        "FH001",
        80_000,
    )
    assert (report.held_for_province, report.raw_material_days) == (5_000, 6)
    assert report.submitted_by == reporter


def test_it_defaults_the_optional_figures(client_for, reporter, reporting_producer):
    minimal = {k: v for k, v in row().items() if k in ("producer", "item", "date", "output")}
    minimal["factory_stock"] = 10

    assert post(client_for(reporter), minimal).status_code == 200
    report = ProductionReport.objects.get()
    assert (report.to_reserve, report.to_market, report.raw_material_days) == (0, 0, None)


def test_it_changes_nothing_when_the_same_rows_are_resent(client_for, reporter, reporting_producer):
    client = client_for(reporter)
    post(client, row())

    response = post(client, row())

    assert response.json() == {"created": 0, "updated": 0, "unchanged": 1}
    assert ProductionReport.history.count() == 1


def test_it_needs_a_reason_to_correct_a_past_date(client_for, reporter, reporting_producer):
    client = client_for(reporter)
    post(client, row(date="2020-03-09"))

    response = post(client, row(date="2020-03-09", output=1))

    assert response.status_code == 400
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(0, "reason")]
    assert response.json()["errors"][0]["message"]
    assert ProductionReport.objects.get().output == 80_000


def test_it_corrects_a_past_date_with_a_reason_and_keeps_the_history(
    client_for, reporter, reporting_producer
):
    client = client_for(reporter)
    post(client, row(date="2020-03-09"))

    response = post(client, row(date="2020-03-09", output=1), reason="Typed a zero too many")

    assert response.json() == {"created": 0, "updated": 1, "unchanged": 0}
    report = ProductionReport.objects.get()
    assert (report.output, report.correction_reason) == (1, "Typed a zero too many")
    assert [h.output for h in report.history.order_by("history_id")] == [80_000, 1]


def test_it_corrects_todays_report_without_a_reason(client_for, reporter, reporting_producer):
    client = client_for(reporter)
    post(client, row())

    assert post(client, row(output=90_000)).json()["updated"] == 1


def test_it_saves_nothing_when_one_row_is_invalid(client_for, reporter, reporting_producer):
    """All or nothing: one bad row among good ones, 400 naming its row and field."""
    response = post(
        client_for(reporter),
        row(),
        row(date="2020-03-09", held_for_province=40_000),
        row(date="2020-03-08", output=-1),
    )

    assert response.status_code == 400
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [
        (1, "held_for_province"),
        (2, "output"),
    ]
    assert ProductionReport.objects.count() == 0


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"producer": "91440300708461136T"}, "producer"),
        ({"item": "NOPE"}, "item"),
        ({"date": "2020-03-11"}, "date"),
        ({"date": "10/03/2020"}, "date"),
        ({"output": 1.5}, "output"),
        ({"factory_stock": None}, "factory_stock"),
        ({"raw_material_days": "many"}, "raw_material_days"),
    ],
    ids=[
        "unknown-producer",
        "unknown-item",
        "future",
        "bad-date",
        "not-whole",
        "missing",
        "not-a-number",
    ],
)
def test_it_rejects_an_invalid_row(client_for, reporter, reporting_producer, changes, field):
    response = post(client_for(reporter), row(**changes))

    assert response.status_code == 400
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(0, field)]


def test_it_refuses_an_item_the_producer_has_no_line_for(client_for, reporter, reporting_producer):
    ItemFactory(code="XD001")

    response = post(client_for(reporter), row(item="XD001"))

    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(0, "item")]


def test_it_forbids_another_producers_rows_and_saves_nothing(
    client_for, reporter, reporting_producer, other_reporting_producer
):
    response = post(client_for(reporter), row(), row(producer=TIANSHUI_CODE))

    assert response.status_code == 403
    assert response.json()["rows"] == [1]
    assert response.json()["detail"]
    assert ProductionReport.objects.count() == 0


def test_it_lets_the_office_report_for_any_producer(
    client_for, office, reporting_producer, other_reporting_producer
):
    response = post(client_for(office), row(), row(producer=TIANSHUI_CODE))

    assert response.json()["created"] == 2


@pytest.mark.parametrize("role", ["officer", "leader", "outsider"])
def test_it_forbids_roles_that_do_not_report(client_for, reporting_producer, role, request):
    response = post(client_for(request.getfixturevalue(role)), row())

    assert response.status_code == 403
    assert ProductionReport.objects.count() == 0


def test_it_forbids_a_reporter_of_no_producer(client_for, outsider_reporter, reporting_producer):
    response = post(client_for(outsider_reporter), row())

    assert response.status_code == 403
    assert response.json()["rows"] == [0]
    assert ProductionReport.objects.count() == 0


def test_it_needs_authentication(reporting_producer):
    assert APIClient().post(URL, {"rows": [row()]}, format="json").status_code == 401


def test_it_accepts_a_bare_list_of_rows(client_for, reporter, reporting_producer):
    response = client_for(reporter).post(URL, [row()], format="json")

    assert response.json() == {"created": 1, "updated": 0, "unchanged": 0}


@pytest.mark.parametrize(
    "body",
    [{"row": row()}, {"rows": row()}, {"rows": [], "reason": 5}, "text"],
    ids=["no-rows", "rows-not-a-list", "reason-not-text", "not-an-object"],
)
def test_it_rejects_a_body_of_the_wrong_shape(client_for, reporter, reporting_producer, body):
    response = client_for(reporter).post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["row"] is None


def test_it_rejects_malformed_json(client_for, reporter):
    response = client_for(reporter).post(URL, data="{", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["row"] is None


def test_delivery_into_the_held_reserve_raises_its_stock(
    client_for, reporter, reporting_producer, held_warehouse, n95
):
    client = client_for(reporter)

    post(client, row(to_reserve=30_000))

    balance = StockBalance.objects.get(warehouse=held_warehouse, item=n95)
    assert balance.quantity == 30_000

    # A correction of the delivery moves the reserve to the new figure, not on top of it.
    post(client, row(to_reserve=20_000))
    balance.refresh_from_db()
    assert balance.quantity == 20_000


# --- Listing reports -------------------------------------------------------------------------


@pytest.fixture
def reports(office, reporting_producer, other_reporting_producer):
    rows = [
        row(producer=code, date=f"2020-03-{day:02d}")
        for day in (8, 9, 10)
        for code in (LANZHOU_CODE, TIANSHUI_CODE)
    ]
    production_reports_submit(user=office, rows=rows)


def _keys(response):
    return [(r["producer"], r["date"]) for r in response.json()["results"]]


def test_a_reporter_lists_only_their_producers_reports(client_for, reporter, reports):
    response = client_for(reporter).get(URL)

    assert response.status_code == 200
    assert _keys(response) == [
        (LANZHOU_CODE, "2020-03-08"),
        (LANZHOU_CODE, "2020-03-09"),
        (LANZHOU_CODE, "2020-03-10"),
    ]
    first = response.json()["results"][0]
    assert first["item"] == "FH001"
    assert first["output"] == 80_000
    assert first["submitted_by"] == "office"


def test_an_officer_lists_the_reports_of_their_prefectures_producers(client_for, officer, reports):
    assert {p for p, _ in _keys(client_for(officer).get(URL))} == {LANZHOU_CODE}


def test_filtering_by_another_producer_gives_an_empty_list(client_for, reporter, reports):
    response = client_for(reporter).get(URL, {"producer": TIANSHUI_CODE})

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_a_reporter_of_no_producer_lists_nothing(client_for, outsider_reporter, reports):
    assert client_for(outsider_reporter).get(URL).json()["count"] == 0


def test_it_filters_by_producer_item_and_dates(client_for, leader, reports):
    client = client_for(leader)

    assert client.get(URL).json()["count"] == 6
    assert len(_keys(client.get(URL, {"from": "2020-03-09", "to": "2020-03-09"}))) == 2
    assert _keys(client.get(URL, {"producer": TIANSHUI_CODE.lower(), "date": "2020-03-10"})) == [
        (TIANSHUI_CODE, "2020-03-10")
    ]
    assert client.get(URL, {"item": "XD001"}).json()["count"] == 0


@pytest.mark.parametrize("value", ["yesterday", "0001-01-01", "9999-12-31"])
def test_it_rejects_a_bad_date_filter(client_for, office, reports, value):
    assert client_for(office).get(URL, {"from": value}).status_code == 400


def test_it_lists_in_a_constant_number_of_queries(
    client_for, office, reports, reporting_producer, django_assert_max_num_queries
):
    items = ItemFactory.create_batch(10)
    for item in items:
        ProductionLine.objects.create(producer=reporting_producer, item=item, daily_capacity=1)
    production_reports_submit(user=office, rows=[row(item=i.code) for i in items])
    client = client_for(office)

    with django_assert_max_num_queries(5):
        response = client.get(URL)
    assert response.json()["count"] == 16


# --- Producers -------------------------------------------------------------------------------


def test_a_reporter_lists_their_producers_with_capacity(
    client_for, reporter, reporting_producer, other_reporting_producer, n95
):
    ProductionLine.objects.create(
        producer=reporting_producer, item=n95, daily_capacity=50_000, status=LineStatus.BUILDING
    )
    ProductionLine.objects.create(
        producer=reporting_producer, item=n95, daily_capacity=7, status=LineStatus.STOPPED
    )

    response = client_for(reporter).get(PRODUCERS_URL)

    assert response.status_code == 200
    [producer] = response.json()["results"]
    assert producer["credit_code"] == LANZHOU_CODE
    assert producer["prefecture"] == "620100"
    assert producer["held_reserve_warehouse"] == "DC09"
    assert producer["capacity"] == [
        {"item": "FH001", "commissioned": 100_000, "when_all_built": 150_000}
    ]


@pytest.mark.parametrize(
    "role, codes",
    [
        ("officer", [LANZHOU_CODE]),
        ("outsider", [TIANSHUI_CODE]),
        ("leader", [LANZHOU_CODE, TIANSHUI_CODE]),
        ("outsider_reporter", []),
    ],
)
def test_producers_are_scoped_to_the_caller(
    client_for, reporting_producer, other_reporting_producer, role, codes, request
):
    response = client_for(request.getfixturevalue(role)).get(PRODUCERS_URL)

    assert [p["credit_code"] for p in response.json()["results"]] == codes


def test_producers_list_in_a_constant_number_of_queries(
    client_for, office, reporting_producer, other_reporting_producer, django_assert_max_num_queries
):
    client = client_for(office)

    with django_assert_max_num_queries(4):
        response = client.get(PRODUCERS_URL)
    assert response.json()["count"] == 2


# --- Problems --------------------------------------------------------------------------------


def test_a_reporter_reports_takes_and_resolves_a_problem(client_for, reporter, producer):
    client = client_for(reporter)

    created = client.post(
        PROBLEMS_URL,
        {"producer": LANZHOU_CODE, "category": "raw_materials", "description": "No melt-blown"},
        format="json",
    )

    assert created.status_code == 201
    body = created.json()
    assert (body["status"], body["reported_by"], body["age_days"]) == ("open", "reporter", 0)
    pk = body["id"]

    taken = client.post(f"{PROBLEMS_URL}{pk}/take/", format="json")
    assert taken.status_code == 200
    assert (taken.json()["status"], taken.json()["owner"]) == ("in_progress", "reporter")

    unexplained = client.post(f"{PROBLEMS_URL}{pk}/resolve/", {}, format="json")
    assert unexplained.status_code == 400
    assert [e["field"] for e in unexplained.json()["errors"]] == ["resolution"]

    resolved = client.post(
        f"{PROBLEMS_URL}{pk}/resolve/", {"resolution": "Supplier found"}, format="json"
    )
    assert resolved.status_code == 200
    assert (resolved.json()["status"], resolved.json()["resolved_by"]) == ("resolved", "reporter")
    assert Problem.objects.get().resolution == "Supplier found"

    again = client.post(f"{PROBLEMS_URL}{pk}/take/", format="json")
    assert again.status_code == 400
    assert [e["field"] for e in again.json()["errors"]] == ["status"]


def test_reporting_a_problem_names_the_fields_at_fault(client_for, reporter, producer):
    response = client_for(reporter).post(
        PROBLEMS_URL, {"producer": LANZHOU_CODE, "category": "weather"}, format="json"
    )

    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"category", "description"}
    assert Problem.objects.count() == 0


def test_a_reporter_cannot_report_for_a_producer_they_cannot_see(
    client_for, reporter, producer, other_producer
):
    response = client_for(reporter).post(
        PROBLEMS_URL,
        {"producer": TIANSHUI_CODE, "category": "labour", "description": "x"},
        format="json",
    )

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["producer"]
    assert Problem.objects.count() == 0


@pytest.fixture
def problem(reporter, producer):
    return problem_report(
        user=reporter, producer=producer, category="logistics", description="Roads closed"
    )


def test_an_officer_reads_but_may_not_handle_their_prefectures_problems(
    client_for, officer, problem
):
    client = client_for(officer)

    assert [p["id"] for p in client.get(PROBLEMS_URL).json()["results"]] == [problem.pk]
    assert client.post(f"{PROBLEMS_URL}{problem.pk}/take/", format="json").status_code == 403
    response = client.post(
        PROBLEMS_URL,
        {"producer": LANZHOU_CODE, "category": "labour", "description": "x"},
        format="json",
    )
    assert response.status_code == 403
    problem.refresh_from_db()
    assert problem.status == ProblemStatus.OPEN


@pytest.mark.parametrize("role", ["outsider", "outsider_reporter"])
def test_a_problem_out_of_sight_is_not_found(client_for, problem, role, request):
    client = client_for(request.getfixturevalue(role))

    assert client.get(PROBLEMS_URL).json()["results"] == []
    assert client.post(f"{PROBLEMS_URL}{problem.pk}/take/", format="json").status_code == 404
    response = client.post(
        f"{PROBLEMS_URL}{problem.pk}/resolve/", {"resolution": "x"}, format="json"
    )
    assert response.status_code == 404


def test_the_office_resolves_any_problem_and_filters_by_status(client_for, office, problem):
    client = client_for(office)

    response = client.post(
        f"{PROBLEMS_URL}{problem.pk}/resolve/", {"resolution": "Pass issued"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["owner"] == "office"
    assert client.get(PROBLEMS_URL, {"status": "open"}).json()["count"] == 0
    assert (
        client.get(PROBLEMS_URL, {"status": "resolved", "category": "logistics"}).json()["count"]
        == 1
    )
    assert client.get(PROBLEMS_URL, {"status": "nonsense"}).status_code == 400


# --- The schema ------------------------------------------------------------------------------


def test_the_schema_documents_the_production_endpoints(client_for, leader):
    document = client_for(leader).get("/api/schema/", {"format": "json"}).json()

    paths = document["paths"]
    for path in (
        "/api/v1/producers/",
        "/api/v1/production-reports/",
        "/api/v1/production-problems/",
    ):
        assert path in paths
    submit = paths["/api/v1/production-reports/"]["post"]
    assert {"200", "400", "403"} <= set(submit["responses"])
    row_schema = document["components"]["schemas"]["ProductionReportRow"]["properties"]
    assert {"producer", "item", "date", "output", "factory_stock", "to_reserve"} <= set(row_schema)
    assert any(p.endswith("/take/") for p in paths)
    assert any(p.endswith("/resolve/") for p in paths)


def test_it_lists_the_first_problems_of_many_wrong_reports_and_says_there_are_more(
    client_for, reporter, reporting_producer, settings
):
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "MAX_ERRORS_REPORTED": 100}
    rows = [row(item=f"NOPE{n}", output=-1, factory_stock=-1) for n in range(3000)]

    response = post(client_for(reporter), *rows)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert len(errors) == 101
    assert errors[-1]["row"] is None
    assert errors[-1]["field"] == "non_field_errors"
    assert not ProductionReport.objects.exists()
