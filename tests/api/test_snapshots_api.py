"""Reading the daily snapshot over the API, and queueing a rebuild of a date."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from reports.models import SnapshotBuild, SnapshotRow
from reports.services import snapshot_build_for_date
from tests.factories import DailyFigureFactory, ItemFactory, PrefectureFactory

URL = "/api/v1/snapshots/"
BUILD_URL = "/api/v1/snapshots/build/"
NOW = dt.datetime(2020, 3, 10, 18, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
TODAY = NOW.date()
FIELDS = {
    "date",
    "prefecture",
    "item",
    "stock",
    "stock_is_stale",
    "consumption",
    "avg_consumption_7d",
    "demand",
    "in_transit",
    "arriving_3d",
    "days_of_cover",
    "projected_days_of_cover",
    "shortfall_3d",
    "reconciliation_gap",
    "status",
}


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def masks(db):
    return ItemFactory(code="FH002", name_zh="医用外科口罩", name_en="Surgical mask")


@pytest.fixture
def snapshot(lanzhou, tianshui, n95, masks):
    """Lanzhou reported N95 for a week and masks today; Tianshui reported nothing."""
    for back in range(7):
        DailyFigureFactory(
            prefecture=lanzhou,
            item=n95,
            date=TODAY - dt.timedelta(days=back),
            stock=100,
            received=10,
            consumption=10,
            demand=12,
            expected_arrivals_3d=5,
        )
    DailyFigureFactory(prefecture=lanzhou, item=masks, date=TODAY, stock=60, consumption=30)
    snapshot_build_for_date(date=TODAY - dt.timedelta(days=1))
    snapshot_build_for_date(date=TODAY)


def _rows(response):
    return {(r["prefecture"], r["item"]): r for r in response.json()["results"]}


def test_it_returns_rows_with_the_reports_md_field_names(client_for, office, snapshot):
    """Each row has exactly the reports.md columns, with codes for prefecture and item."""
    response = client_for(office).get(URL)

    assert response.status_code == 200
    rows = _rows(response)
    assert set(rows) == {
        ("620100", "FH001"),
        ("620100", "FH002"),
        ("620500", "FH001"),
        ("620500", "FH002"),
    }
    assert all(set(row) == FIELDS for row in rows.values())


def test_it_returns_the_computed_figures_as_json_numbers(client_for, office, snapshot):
    """Figures come back as numbers (decimals too, never strings)."""
    row = _rows(client_for(office).get(URL, {"item": "FH001"}))[("620100", "FH001")]

    assert row == {
        "date": "2020-03-10",
        "prefecture": "620100",
        "item": "FH001",
        "stock": 100,
        "stock_is_stale": False,
        "consumption": 10,
        "avg_consumption_7d": 10.0,
        "demand": 12,
        "in_transit": 0,
        "arriving_3d": 5,
        "days_of_cover": 10.0,
        "projected_days_of_cover": 10.5,
        "shortfall_3d": 0,
        "reconciliation_gap": 0,
        "status": "green",
    }
    assert isinstance(row["avg_consumption_7d"], float)


def test_it_returns_null_for_missing_figures(client_for, office, snapshot):
    """A prefecture that reported nothing has null figures and a grey status."""
    row = _rows(client_for(office).get(URL))[("620500", "FH001")]

    for field in (
        "stock",
        "consumption",
        "avg_consumption_7d",
        "demand",
        "days_of_cover",
        "projected_days_of_cover",
        "shortfall_3d",
        "reconciliation_gap",
    ):
        assert row[field] is None, field
    assert row["status"] == "grey"


def test_it_defaults_to_the_latest_built_date(client_for, office, snapshot):
    """Without `date` the rows are those of the latest build, which the answer names."""
    body = client_for(office).get(URL).json()

    assert body["date"] == "2020-03-10"
    assert body["built_at"] is not None
    assert {row["date"] for row in body["results"]} == {"2020-03-10"}


def test_it_returns_the_rows_of_a_chosen_date(client_for, office, snapshot):
    """`?date=` picks an earlier built date."""
    body = client_for(office).get(URL, {"date": "2020-03-09"}).json()

    assert body["date"] == "2020-03-09"
    assert {row["date"] for row in body["results"]} == {"2020-03-09"}


def test_it_returns_an_empty_list_for_a_date_never_built(client_for, office, snapshot):
    """A date with no build has no rows and no build time."""
    body = client_for(office).get(URL, {"date": "2020-02-01"}).json()

    assert (body["date"], body["built_at"], body["results"]) == ("2020-02-01", None, [])


def test_it_says_so_when_nothing_was_ever_built(client_for, office, lanzhou, n95):
    """Before any build the date is null and the list empty."""
    body = client_for(office).get(URL).json()

    assert (body["date"], body["built_at"], body["results"]) == (None, None, [])


def test_it_rejects_a_bad_date(client_for, office, snapshot):
    """A `date` that is not YYYY-MM-DD is a 400 naming the parameter."""
    response = client_for(office).get(URL, {"date": "10.03.2020"})

    assert response.status_code == 400
    assert "date" in response.json()


def test_it_shows_an_officer_only_their_prefecture(client_for, officer, snapshot):
    """The Lanzhou officer gets Lanzhou's rows and nothing of Tianshui."""
    rows = _rows(client_for(officer).get(URL))

    assert set(rows) == {("620100", "FH001"), ("620100", "FH002")}


def test_it_shows_an_outsider_none_of_lanzhous_rows(client_for, outsider, snapshot):
    """Filtering on Lanzhou as Tianshui's officer gives an empty list; unfiltered, only Tianshui."""
    client = client_for(outsider)

    assert client.get(URL, {"prefecture": "620100"}).json()["results"] == []
    assert {p for p, _ in _rows(client.get(URL))} == {"620500"}


def test_it_shows_a_producer_reporter_no_rows(client_for, reporter, snapshot):
    """A producer reporter is scoped to producers, not prefectures: no snapshot rows."""
    assert client_for(reporter).get(URL).json()["results"] == []


def test_it_filters_by_prefecture_and_item(client_for, leader, snapshot):
    """`prefecture` and `item` narrow the rows to one key."""
    rows = _rows(client_for(leader).get(URL, {"prefecture": "620100", "item": "FH002"}))

    assert list(rows) == [("620100", "FH002")]
    assert rows[("620100", "FH002")]["status"] == "red"


# Token, latest date, build, count, page; an officer's scope costs one more.
@pytest.mark.parametrize("role, rows, queries", [("office", 120, 5), ("officer", 10, 6)])
def test_it_reads_in_a_constant_number_of_queries(
    client_for, snapshot, role, rows, queries, request, django_assert_max_num_queries
):
    """The query count does not grow with prefectures and items."""
    client = client_for(request.getfixturevalue(role))
    with django_assert_max_num_queries(queries):
        client.get(URL)

    for n in range(10):
        PrefectureFactory(code=f"6290{n:02d}")
    for item in ItemFactory.create_batch(8):
        DailyFigureFactory(prefecture=request.getfixturevalue("lanzhou"), item=item, date=TODAY)
    snapshot_build_for_date(date=TODAY)
    assert SnapshotRow.objects.filter(date=TODAY).count() == 12 * 10

    with django_assert_max_num_queries(queries):
        response = client.get(URL)
    assert response.json()["count"] == rows


# Building


def test_it_queues_a_build_for_office_staff(
    client_for, office, lanzhou, n95, django_capture_on_commit_callbacks
):
    """Office staff get 202; the build runs after commit and records the date's build."""
    DailyFigureFactory(prefecture=lanzhou, item=n95, date=TODAY)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for(office).post(BUILD_URL, {"date": "2020-03-10"}, format="json")

    assert response.status_code == 202
    assert response.json() == {"queued": True, "date": "2020-03-10"}
    assert not SnapshotBuild.objects.exists()  # nothing runs before the commit
    for callback in callbacks:
        callback()
    build = SnapshotBuild.objects.get(date=TODAY)
    assert build.rows == 1
    assert SnapshotRow.objects.get().stock == 100


def test_it_lets_an_admin_build(
    client_for, admin_user, lanzhou, n95, django_capture_on_commit_callbacks
):
    """An admin may queue builds like office staff."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(admin_user).post(BUILD_URL, {"date": "2020-03-09"}, format="json")

    assert response.status_code == 202
    assert SnapshotBuild.objects.filter(date=dt.date(2020, 3, 9)).exists()


@pytest.mark.parametrize("role", ["officer", "leader", "reporter"])
def test_it_forbids_others_to_build(
    client_for, lanzhou, n95, role, request, django_capture_on_commit_callbacks
):
    """Officers, leadership and producer reporters get 403 and nothing is queued."""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client_for(request.getfixturevalue(role)).post(
            BUILD_URL, {"date": "2020-03-10"}, format="json"
        )

    assert response.status_code == 403
    assert callbacks == []
    assert not SnapshotBuild.objects.exists()


@pytest.mark.parametrize("date", ["2020-03-11", "0001-01-02", "tomorrow", "", None])
def test_it_rejects_a_future_or_bad_date(
    client_for, office, date, django_capture_on_commit_callbacks
):
    """A future, malformed or missing date is a 400 naming `date`, and nothing is queued."""
    body = {} if date is None else {"date": date}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client_for(office).post(BUILD_URL, body, format="json")

    assert response.status_code == 400
    assert "date" in response.json()
    assert callbacks == []


def test_it_needs_authentication_to_build(api_client, db):
    """Anonymous build requests get 401."""
    assert api_client.post(BUILD_URL, {"date": "2020-03-10"}, format="json").status_code == 401
