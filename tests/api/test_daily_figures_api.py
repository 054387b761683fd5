"""Submitting and listing daily figures over the API: idempotent, all-or-nothing, scoped."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import DailyFigure
from tests.factories import DailyFigureFactory, ItemFactory

URL = "/api/v1/daily-figures/"
# 10:00 in Lanzhou, before the 16:00 cut-off.
NOW = dt.datetime(2020, 3, 10, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def masks(db):
    return ItemFactory(code="FH002", name_zh="医用外科口罩", name_en="Surgical mask")


def row(**changes):
    values = {
        "prefecture": "620100",
        "item": "FH001",
        "date": "2020-03-10",
        "stock": 1000,
        "received": 200,
        "consumption": 150,
        "demand": 180,
        "expected_arrivals_3d": 50,
    }
    values.update(changes)
    return values


def test_it_creates_the_figures_of_a_list(client_for, officer, n95, masks):
    """A first submission creates one figure per row and says so."""
    response = client_for(officer).post(URL, [row(), row(item="FH002")], format="json")

    assert response.status_code == 200
    assert response.json() == {"created": 2, "updated": 0, "unchanged": 0}
    figure = DailyFigure.objects.get(item=n95)
    assert (figure.prefecture.code, figure.date, figure.stock) == ("620100", NOW.date(), 1000)
    assert figure.submitted_by == officer
    assert figure.on_time is True


def test_it_changes_nothing_when_the_same_list_is_resent(client_for, officer, n95, masks):
    """Resending an identical list is idempotent: everything counts as unchanged."""
    client = client_for(officer)
    rows = [row(), row(item="FH002")]
    client.post(URL, rows, format="json")

    response = client.post(URL, rows, format="json")

    assert response.status_code == 200
    assert response.json() == {"created": 0, "updated": 0, "unchanged": 2}
    assert DailyFigure.objects.count() == 2
    assert DailyFigure.history.count() == 2


def test_it_updates_a_changed_row_and_keeps_the_old_value_in_history(client_for, officer, n95):
    """A changed figure for the same key replaces it; the previous value stays in history."""
    client = client_for(officer)
    client.post(URL, [row(stock=1000)], format="json")

    response = client.post(URL, [row(stock=900)], format="json")

    assert response.json() == {"created": 0, "updated": 1, "unchanged": 0}
    figure = DailyFigure.objects.get()
    assert figure.stock == 900
    assert [h.stock for h in figure.history.order_by("history_id")] == [1000, 900]


def test_it_saves_nothing_when_one_row_is_invalid(client_for, officer, n95, masks):
    """One bad row among good ones: 400 naming its row and field, and no row is saved."""
    response = client_for(officer).post(URL, [row(), row(item="FH002", stock=-5)], format="json")

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(1, "stock")]
    assert errors[0]["message"]
    assert DailyFigure.objects.count() == 0


def test_it_reports_every_problem_at_once(client_for, officer, n95, masks):
    """All errors of all rows come back together, each with its row and field."""
    response = client_for(officer).post(
        URL, [row(stock="x", demand=None), row(item="FH002"), row(item="NOPE")], format="json"
    )

    assert response.status_code == 400
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [
        (0, "demand"),
        (0, "stock"),
        (2, "item"),
    ]


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"stock": -1}, "stock"),
        ({"received": 1.5}, "received"),
        ({"consumption": "many"}, "consumption"),
        ({"demand": None}, "demand"),
        ({"item": "NOPE"}, "item"),
        ({"prefecture": "999999"}, "prefecture"),
        ({"date": "2020-03-11"}, "date"),
        ({"date": "10/03/2020"}, "date"),
        # The officer's back-dating window is 7 days: 3 March is the oldest allowed.
        ({"date": "2020-03-02"}, "date"),
    ],
    ids=[
        "negative",
        "not-whole",
        "not-a-number",
        "missing",
        "unknown-item",
        "unknown-prefecture",
        "future-date",
        "bad-date",
        "too-old-for-an-officer",
    ],
)
def test_it_rejects_an_invalid_row(client_for, officer, n95, changes, field):
    """Each kind of invalid value gives 400 with the row and the field at fault."""
    response = client_for(officer).post(URL, [row(**changes)], format="json")

    assert response.status_code == 400
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(0, field)]
    assert DailyFigure.objects.count() == 0


@pytest.mark.parametrize("stock", ["9" * 5000, "-" + "9" * 5000, "0" * 5000 + "1"])
def test_it_refuses_a_number_of_more_digits_than_int_reads(client_for, officer, n95, stock):
    """Python's int() refuses more than 4,300 digits: a 400 at the field, not a 500; leading
    zeros do not make a number large."""
    response = client_for(officer).post(URL, [row(stock=stock)], format="json")

    if stock.startswith("0"):
        assert response.status_code == 200, response.json()
        assert DailyFigure.objects.get().stock == 1
        return
    assert response.status_code == 400
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(0, "stock")]
    assert DailyFigure.objects.count() == 0


def test_it_rejects_a_row_with_a_missing_field(client_for, officer, n95):
    """A row without one of the five figures is refused at that field."""
    incomplete = row()
    del incomplete["expected_arrivals_3d"]

    response = client_for(officer).post(URL, [incomplete], format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "expected_arrivals_3d"


def test_it_lets_an_officer_enter_the_oldest_date_of_the_window(client_for, officer, n95):
    """Seven days back is still inside an officer's window."""
    response = client_for(officer).post(URL, [row(date="2020-03-03")], format="json")

    assert response.json() == {"created": 1, "updated": 0, "unchanged": 0}


def test_it_lets_office_staff_enter_old_dates(client_for, office, lanzhou, n95):
    """Office staff may enter figures older than the officers' window."""
    response = client_for(office).post(URL, [row(date="2020-01-25")], format="json")

    assert response.status_code == 200
    assert response.json()["created"] == 1


def test_it_needs_a_reason_to_correct_a_past_date(client_for, officer, n95):
    """Changing yesterday's figure without a reason is refused at the row's `reason`."""
    client = client_for(officer)
    client.post(URL, [row(date="2020-03-09")], format="json")

    response = client.post(URL, [row(date="2020-03-09", stock=1)], format="json")

    assert response.status_code == 400
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(0, "reason")]
    assert DailyFigure.objects.get().stock == 1000


def test_it_corrects_a_past_date_with_a_reason(client_for, officer, n95):
    """With a reason the correction is saved and the reason kept with the figure and history."""
    client = client_for(officer)
    client.post(URL, [row(date="2020-03-09")], format="json")

    response = client.post(
        URL, [row(date="2020-03-09", stock=1, reason="Counted twice")], format="json"
    )

    assert response.json() == {"created": 0, "updated": 1, "unchanged": 0}
    figure = DailyFigure.objects.get()
    assert (figure.stock, figure.correction_reason) == (1, "Counted twice")
    assert figure.history.latest("history_id").history_change_reason == "Counted twice"


def test_it_resends_a_past_date_unchanged_without_a_reason(client_for, officer, n95):
    """Resending an unchanged past figure is not a correction, so it needs no reason."""
    client = client_for(officer)
    client.post(URL, [row(date="2020-03-09")], format="json")

    response = client.post(URL, [row(date="2020-03-09")], format="json")

    assert response.json() == {"created": 0, "updated": 0, "unchanged": 1}


def test_it_rejects_a_body_that_is_not_a_list(client_for, officer, n95):
    """A single object instead of a list is a 400 about the body, with row null."""
    response = client_for(officer).post(URL, row(), format="json")

    assert response.status_code == 400
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [
        (None, "non_field_errors")
    ]


def test_it_rejects_malformed_json(client_for, officer):
    """Broken JSON gets the same error shape as any other bad body."""
    response = client_for(officer).post(URL, data="[{", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["row"] is None


def test_it_rejects_a_row_that_is_not_an_object(client_for, officer, n95):
    """A list element that is not an object is named by its index."""
    response = client_for(officer).post(URL, [row(), 7], format="json")

    assert response.status_code == 400
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(1, "non_field_errors")]


def test_it_accepts_an_empty_list(client_for, officer):
    """An empty list changes nothing and says so."""
    response = client_for(officer).post(URL, [], format="json")

    assert response.json() == {"created": 0, "updated": 0, "unchanged": 0}


def test_it_forbids_an_outsider_officer_and_saves_nothing(client_for, outsider, lanzhou, n95):
    """An officer of Tianshui may not write Lanzhou's figures: 403 naming the rows."""
    response = client_for(outsider).post(
        URL, [row(prefecture="620500"), row(prefecture="620100")], format="json"
    )

    assert response.status_code == 403
    assert response.json()["rows"] == [1]
    assert response.json()["detail"]
    assert DailyFigure.objects.count() == 0


@pytest.mark.parametrize("role", ["leader", "reporter"])
def test_it_forbids_roles_that_do_not_report(client_for, lanzhou, n95, role, request):
    """Leadership and producer reporters read; they may not submit figures."""
    response = client_for(request.getfixturevalue(role)).post(URL, [row()], format="json")

    assert response.status_code == 403
    assert DailyFigure.objects.count() == 0


def test_it_needs_authentication(api_client, lanzhou, n95):
    """Anonymous submissions get 401."""
    assert api_client.post(URL, [row()], format="json").status_code == 401


def test_it_submits_in_a_constant_number_of_queries(client_for, office, lanzhou, tianshui):
    """The service validates and writes in bulk: 200 rows cost a handful more queries than 2."""
    items = ItemFactory.create_batch(20)
    client = client_for(office)
    small = [row(item=items[0].code), row(item=items[1].code)]
    large = [
        row(prefecture=p, item=i.code, date=f"2020-03-{d:02d}")
        for p in ("620100", "620500")
        for i in items
        for d in range(1, 6)
    ]

    with CaptureQueriesContext(connection) as few:
        assert client.post(URL, small, format="json").json()["created"] == 2
    with CaptureQueriesContext(connection) as many:
        assert client.post(URL, large, format="json").json()["created"] == 200

    # One bulk insert per table, whatever the number of rows.
    assert len(many) <= len(few)


# Listing


@pytest.fixture
def figures(lanzhou, tianshui, n95, masks):
    for day in (8, 9, 10):
        DailyFigureFactory(prefecture=lanzhou, item=n95, date=dt.date(2020, 3, day))
    DailyFigureFactory(prefecture=lanzhou, item=masks, date=dt.date(2020, 3, 10))
    DailyFigureFactory(prefecture=tianshui, item=n95, date=dt.date(2020, 3, 10))


def _keys(response):
    return [(r["prefecture"], r["item"], r["date"]) for r in response.json()["results"]]


def test_it_lists_an_officers_own_figures_by_code(client_for, officer, figures):
    """An officer lists their prefecture's figures only, named by codes."""
    response = client_for(officer).get(URL)

    assert response.status_code == 200
    assert _keys(response) == [
        ("620100", "FH001", "2020-03-08"),
        ("620100", "FH001", "2020-03-09"),
        ("620100", "FH001", "2020-03-10"),
        ("620100", "FH002", "2020-03-10"),
    ]
    first = response.json()["results"][0]
    assert {"stock", "received", "consumption", "demand", "expected_arrivals_3d"} <= set(first)
    assert first["stock"] == 100


def test_it_shows_an_outsider_none_of_lanzhous_figures(client_for, outsider, figures):
    """Filtering by another prefecture's code gives an empty list, not its figures."""
    response = client_for(outsider).get(URL, {"prefecture": "620100"})

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_it_filters_by_date_range_item_and_prefecture(client_for, office, figures):
    """`from`, `to`, `date`, `item` and `prefecture` narrow the list."""
    client = client_for(office)

    assert len(_keys(client.get(URL, {"from": "2020-03-09", "to": "2020-03-09"}))) == 1
    assert _keys(client.get(URL, {"date": "2020-03-10", "item": "FH001"})) == [
        ("620100", "FH001", "2020-03-10"),
        ("620500", "FH001", "2020-03-10"),
    ]
    assert len(_keys(client.get(URL, {"prefecture": "620500"}))) == 1


def test_it_rejects_a_bad_date_filter(client_for, office, figures):
    """A filter date that is not a date is a 400."""
    assert client_for(office).get(URL, {"from": "yesterday"}).status_code == 400


@pytest.mark.parametrize("role, count", [("leader", 5), ("reporter", 0)])
def test_it_lets_other_roles_read_what_they_may_see(client_for, figures, role, count, request):
    """Leadership reads the whole province; a producer reporter sees no prefecture."""
    response = client_for(request.getfixturevalue(role)).get(URL)

    assert response.status_code == 200
    assert response.json()["count"] == count


def test_it_lists_in_a_constant_number_of_queries(
    client_for, officer, figures, lanzhou, django_assert_max_num_queries
):
    """The list costs the same few queries however many figures it holds."""
    client = client_for(officer)
    for item in ItemFactory.create_batch(30):
        DailyFigureFactory(prefecture=lanzhou, item=item, date=dt.date(2020, 3, 10))

    with django_assert_max_num_queries(5):
        response = client.get(URL)
    assert response.json()["count"] == 34


def test_it_refuses_more_rows_than_the_limit_in_one_call(client_for, officer, n95, settings):
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "MAX_ROWS_PER_SUBMISSION": 2}
    response = client_for(officer).post(URL, [row(), row(), row()], format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["row"] is None
    assert DailyFigure.objects.count() == 0


def test_it_refuses_a_row_dated_before_the_earliest_date(client_for, office, lanzhou, n95):
    response = client_for(office).post(URL, [row(date="0001-01-02")], format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "date"
    assert DailyFigure.objects.count() == 0
