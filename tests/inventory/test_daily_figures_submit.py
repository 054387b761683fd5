"""`daily_figures_submit`: the one service behind the entry page, the API and imports."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from inventory.models import DailyFigure
from inventory.services import DailyFiguresInvalid, DailyFiguresOutOfScope, daily_figures_submit
from tests.factories import ItemFactory, PrefectureFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2020, 2, 10)
MORNING = dt.datetime(2020, 2, 10, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def frozen():
    """Every test runs at 10:00 Shanghai time on TODAY unless it travels elsewhere."""
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def gloves(db):
    return ItemFactory(code="FH002", name_zh="医用手套", name_en="Medical gloves")


def back(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


def figure_row(**overrides) -> dict:
    row = {
        "prefecture": "620100",
        "item": "FH001",
        "date": TODAY.isoformat(),
        "stock": 100,
        "received": 20,
        "consumption": 10,
        "demand": 15,
        "expected_arrivals_3d": 5,
    }
    row.update(overrides)
    return row


def errors_of(excinfo) -> list[tuple[int, str]]:
    return [(error.row, error.field) for error in excinfo.value.errors]


def history_count() -> int:
    return DailyFigure.history.count()


# --- saving ----------------------------------------------------------------------------


def test_it_creates_rows_and_returns_counts(lanzhou, n95, gloves, officer):
    """New keys are created with the submitter and time, and counted as created."""
    result = daily_figures_submit(
        user=officer, rows=[figure_row(), figure_row(item="FH002", stock=40)]
    )

    assert result.as_dict() == {"created": 2, "updated": 0, "unchanged": 0}
    assert result.dates_changed == {TODAY}
    masks = DailyFigure.objects.get(prefecture=lanzhou, item=n95, date=TODAY)
    assert masks.figures() == {
        "stock": 100,
        "received": 20,
        "consumption": 10,
        "demand": 15,
        "expected_arrivals_3d": 5,
    }
    assert masks.submitted_by == officer
    assert masks.first_submitted_at == MORNING
    assert masks.submitted_at == MORNING
    assert DailyFigure.objects.get(item=gloves).stock == 40
    assert history_count() == 2


def test_it_counts_an_unchanged_resubmission_and_writes_nothing(
    lanzhou, n95, gloves, officer, frozen
):
    """Sending the same figures again changes no row and adds no history."""
    rows = [figure_row(), figure_row(item="FH002")]
    daily_figures_submit(user=officer, rows=rows)
    history_before = history_count()

    frozen.shift(dt.timedelta(hours=1))
    result = daily_figures_submit(user=officer, rows=rows)

    assert result.as_dict() == {"created": 0, "updated": 0, "unchanged": 2}
    assert result.dates_changed == set()
    assert history_count() == history_before
    assert DailyFigure.objects.get(item=n95).submitted_at == MORNING


def test_it_counts_created_updated_and_unchanged_in_one_submission(lanzhou, n95, gloves, officer):
    """One list may hold a new key, a correction and an unchanged row."""
    third = ItemFactory(code="FH003")
    daily_figures_submit(user=officer, rows=[figure_row(), figure_row(item="FH002")])

    result = daily_figures_submit(
        user=officer,
        rows=[figure_row(), figure_row(item="FH002", stock=99), figure_row(item=third.code)],
    )

    assert result.as_dict() == {"created": 1, "updated": 1, "unchanged": 1}


def test_it_replaces_a_correction_and_keeps_the_old_figure_in_history(
    lanzhou, n95, officer, office, frozen
):
    """A correction replaces the figures; history keeps the old ones, who changed them, why."""
    daily_figures_submit(user=officer, rows=[figure_row(date=back(2).isoformat(), stock=100)])

    frozen.shift(dt.timedelta(hours=2))
    result = daily_figures_submit(
        user=office, rows=[figure_row(date=back(2).isoformat(), stock=90)], reason="recount"
    )

    assert result.as_dict() == {"created": 0, "updated": 1, "unchanged": 0}
    figure = DailyFigure.objects.get(prefecture=lanzhou, item=n95, date=back(2))
    assert figure.stock == 90
    assert figure.submitted_by == office
    assert figure.correction_reason == "recount"
    assert figure.first_submitted_at == MORNING
    assert figure.submitted_at == MORNING + dt.timedelta(hours=2)
    first, second = figure.history.order_by("history_id")
    assert (first.history_type, first.stock, first.history_user) == ("+", 100, officer)
    assert (second.history_type, second.stock, second.history_user) == ("~", 90, office)
    assert second.history_change_reason == "recount"


def test_it_requires_a_reason_to_correct_a_past_date(lanzhou, n95, officer):
    """A changed figure of an earlier day without a reason is refused on the `reason` field."""
    daily_figures_submit(user=officer, rows=[figure_row(date=back(1).isoformat(), stock=100)])

    with pytest.raises(DailyFiguresInvalid) as excinfo:
        daily_figures_submit(user=officer, rows=[figure_row(date=back(1).isoformat(), stock=90)])

    assert errors_of(excinfo) == [(0, "reason")]
    assert DailyFigure.objects.get(date=back(1)).stock == 100


def test_it_corrects_a_past_date_given_a_reason(lanzhou, n95, officer):
    """With a reason (for the submission or on the row) the past correction goes through."""
    daily_figures_submit(
        user=officer,
        rows=[figure_row(date=back(1).isoformat()), figure_row(date=back(2).isoformat())],
    )

    result = daily_figures_submit(
        user=officer,
        rows=[
            figure_row(date=back(1).isoformat(), stock=90),
            figure_row(date=back(2).isoformat(), stock=80, reason="typo in stock"),
        ],
        reason="late delivery counted",
    )

    assert result.updated == 2
    assert DailyFigure.objects.get(date=back(1)).correction_reason == "late delivery counted"
    assert DailyFigure.objects.get(date=back(2)).correction_reason == "typo in stock"


def test_it_corrects_todays_figures_without_a_reason(lanzhou, n95, officer):
    """Before the day is over a prefecture may revise its figures freely."""
    daily_figures_submit(user=officer, rows=[figure_row(stock=100)])

    result = daily_figures_submit(user=officer, rows=[figure_row(stock=90)])

    assert result.updated == 1
    assert DailyFigure.objects.get().stock == 90


def test_it_accepts_numbers_written_as_strings(lanzhou, n95, officer):
    """Form posts and CSV imports send "12"; it is the whole number 12."""
    daily_figures_submit(
        user=officer,
        rows=[
            figure_row(
                stock="12", received="0", consumption="3", demand="4", expected_arrivals_3d="5"
            )
        ],
    )

    assert DailyFigure.objects.get().figures() == {
        "stock": 12,
        "received": 0,
        "consumption": 3,
        "demand": 4,
        "expected_arrivals_3d": 5,
    }


# --- all or nothing --------------------------------------------------------------------


def test_it_accepts_full_width_digits_typed_with_a_chinese_ime(lanzhou, n95, officer):
    """１２ from a Chinese input method is the number 12, not an error."""
    daily_figures_submit(user=officer, rows=[figure_row(stock="１２", demand="１，２００")])
    figure = DailyFigure.objects.get()
    assert (figure.stock, figure.demand) == (12, 1200)


def test_it_saves_nothing_when_one_row_is_invalid(lanzhou, n95, gloves, officer):
    """Two good rows and one bad: no row is saved, no history written."""
    third = ItemFactory(code="FH003")

    with pytest.raises(DailyFiguresInvalid) as excinfo:
        daily_figures_submit(
            user=officer,
            rows=[figure_row(), figure_row(item="FH002", stock=-1), figure_row(item=third.code)],
        )

    assert errors_of(excinfo) == [(1, "stock")]
    assert not DailyFigure.objects.exists()
    assert history_count() == 0


def test_it_applies_no_correction_when_another_row_is_invalid(lanzhou, n95, officer):
    """A valid correction in a submission with an invalid row is not applied either."""
    daily_figures_submit(user=officer, rows=[figure_row(stock=100)])

    with pytest.raises(DailyFiguresInvalid):
        daily_figures_submit(user=officer, rows=[figure_row(stock=90), figure_row(item="FH999")])

    assert DailyFigure.objects.get().stock == 100
    assert history_count() == 1


# --- validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"stock": -1}, "stock"),
        ({"received": "-3"}, "received"),
        ({"consumption": 1.5}, "consumption"),
        ({"consumption": "1.5"}, "consumption"),
        ({"demand": "abc"}, "demand"),
        ({"expected_arrivals_3d": ""}, "expected_arrivals_3d"),
        ({"stock": None}, "stock"),
        ({"stock": True}, "stock"),
        ({"item": "NOPE"}, "item"),
        ({"prefecture": "629999"}, "prefecture"),
        ({"date": "2020-02-30"}, "date"),
        ({"date": "11/02/2020"}, "date"),
        ({"date": "2020-02-11"}, "date"),  # tomorrow
        ({"stock": "²"}, "stock"),
        ({"stock": "--5"}, "stock"),
        ({"stock": "٣"}, "stock"),
        ({"stock": "1e3"}, "stock"),
        ({"date": "0001-01-01"}, "date"),
    ],
    ids=[
        "negative",
        "negative-string",
        "fraction",
        "fraction-string",
        "letters",
        "blank",
        "null",
        "boolean",
        "unknown-item",
        "unknown-prefecture",
        "impossible-date",
        "not-iso-date",
        "future-date",
        "superscript-digit",
        "double-minus",
        "arabic-indic-digit",
        "exponent",
        "before-the-earliest-date",
    ],
)
def test_it_rejects_an_invalid_value_on_its_field(lanzhou, n95, office, overrides, field):
    """Each bad value is reported at row 0 on its own field, and nothing is saved."""
    with pytest.raises(DailyFiguresInvalid) as excinfo:
        daily_figures_submit(user=office, rows=[figure_row(**overrides)])

    assert errors_of(excinfo) == [(0, field)]
    assert excinfo.value.errors[0].message
    assert not DailyFigure.objects.exists()


@pytest.mark.parametrize(
    "field", ["prefecture", "item", "date", "stock", "received", "consumption", "demand"]
)
def test_it_rejects_a_row_missing_a_field(lanzhou, n95, office, field):
    """A row without one of its keys is refused on that field."""
    row = figure_row()
    del row[field]

    with pytest.raises(DailyFiguresInvalid) as excinfo:
        daily_figures_submit(user=office, rows=[row])

    assert errors_of(excinfo) == [(0, field)]


def test_it_rejects_an_item_no_longer_in_the_catalogue(lanzhou, officer):
    """An inactive item cannot be reported."""
    ItemFactory(code="OLD01", active=False)

    with pytest.raises(DailyFiguresInvalid) as excinfo:
        daily_figures_submit(user=officer, rows=[figure_row(item="OLD01")])

    assert errors_of(excinfo) == [(0, "item")]


def test_it_rejects_an_inactive_prefecture(n95, office):
    """An inactive prefecture no longer reports."""
    PrefectureFactory(code="620999", active=False)

    with pytest.raises(DailyFiguresInvalid) as excinfo:
        daily_figures_submit(user=office, rows=[figure_row(prefecture="620999")])

    assert errors_of(excinfo) == [(0, "prefecture")]


def test_it_rejects_a_date_older_than_seven_days_for_an_officer(lanzhou, n95, officer):
    """An officer may go back 7 days (02-03), not 8 (02-02)."""
    with pytest.raises(DailyFiguresInvalid) as excinfo:
        daily_figures_submit(user=officer, rows=[figure_row(date=back(8).isoformat())])

    assert errors_of(excinfo) == [(0, "date")]
    result = daily_figures_submit(user=officer, rows=[figure_row(date=back(7).isoformat())])
    assert result.created == 1


def test_it_lets_office_staff_enter_older_dates(lanzhou, n95, office):
    """Office staff may fill in any past date, e.g. a month back."""
    result = daily_figures_submit(user=office, rows=[figure_row(date=back(30).isoformat())])

    assert result.created == 1


def test_it_honours_a_changed_backdating_window(lanzhou, n95, officer, settings):
    """The 7 days are a setting (OFFICER_BACKDATE_DAYS)."""
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "OFFICER_BACKDATE_DAYS": 2}

    with pytest.raises(DailyFiguresInvalid) as excinfo:
        daily_figures_submit(user=officer, rows=[figure_row(date=back(3).isoformat())])

    assert errors_of(excinfo) == [(0, "date")]


def test_it_rejects_the_same_key_twice_in_one_submission(lanzhou, n95, officer):
    """Two rows for one prefecture, item and date: the second is named as the duplicate."""
    with pytest.raises(DailyFiguresInvalid) as excinfo:
        daily_figures_submit(user=officer, rows=[figure_row(stock=1), figure_row(stock=2)])

    assert errors_of(excinfo) == [(1, "item")]
    assert not DailyFigure.objects.exists()


def test_it_reports_every_error_at_once(lanzhou, n95, gloves, officer):
    """Five bad fields over three rows give five errors, each with its row and field."""
    with pytest.raises(DailyFiguresInvalid) as excinfo:
        daily_figures_submit(
            user=officer,
            rows=[
                figure_row(stock=-1, received="x"),
                figure_row(item="FH002", consumption=1.5, demand=None),
                figure_row(date="2020-02-11"),
            ],
        )

    assert errors_of(excinfo) == [
        (0, "received"),
        (0, "stock"),
        (1, "consumption"),
        (1, "demand"),
        (2, "date"),
    ]
    assert all(error.message for error in excinfo.value.errors)
    assert excinfo.value.errors[0].as_dict()["row"] == 0


# --- scope -----------------------------------------------------------------------------


def test_it_refuses_an_officer_another_prefecture(lanzhou, tianshui, n95, officer):
    """Lanzhou's officer cannot write Tianshui's figures."""
    with pytest.raises(DailyFiguresOutOfScope) as excinfo:
        daily_figures_submit(user=officer, rows=[figure_row(prefecture="620500")])

    assert excinfo.value.rows == [0]
    assert not DailyFigure.objects.exists()


def test_it_saves_nothing_when_an_out_of_scope_row_is_mixed_with_good_ones(
    lanzhou, tianshui, n95, gloves, officer
):
    """One foreign row makes the whole submission out of scope."""
    with pytest.raises(DailyFiguresOutOfScope) as excinfo:
        daily_figures_submit(
            user=officer,
            rows=[figure_row(), figure_row(prefecture="620500"), figure_row(item="FH002")],
        )

    assert excinfo.value.rows == [1]
    assert not DailyFigure.objects.exists()


def test_it_lets_office_staff_report_for_any_prefecture(lanzhou, tianshui, n95, office):
    """The office enters figures on behalf of any prefecture."""
    result = daily_figures_submit(user=office, rows=[figure_row(), figure_row(prefecture="620500")])

    assert result.created == 2


@pytest.mark.parametrize("role", ["leader", "reporter"])
def test_it_refuses_roles_that_do_not_report_daily_figures(lanzhou, n95, request, role):
    """Leadership and producer reporters cannot submit daily figures at all."""
    user = request.getfixturevalue(role)

    with pytest.raises(DailyFiguresOutOfScope):
        daily_figures_submit(user=user, rows=[figure_row()])

    assert not DailyFigure.objects.exists()


# --- punctuality -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local_time", "on_time"),
    [
        (dt.time(15, 59, 59), True),
        (dt.time(16, 0, 0), True),  # "by the cut-off": 16:00 itself still counts
        (dt.time(16, 0, 1), False),
        (dt.time(23, 0), False),
    ],
)
def test_it_marks_a_submission_on_time_before_the_cut_off(
    lanzhou, n95, officer, local_time, on_time
):
    """The cut-off is 16:00 local time (Asia/Shanghai) of the reported day."""
    with time_machine.travel(dt.datetime.combine(TODAY, local_time, SHANGHAI), tick=False):
        daily_figures_submit(user=officer, rows=[figure_row()])

    assert DailyFigure.objects.get().on_time is on_time


def test_it_marks_a_back_dated_first_submission_late(lanzhou, n95, officer):
    """Yesterday's figures first sent this morning missed yesterday's cut-off."""
    daily_figures_submit(user=officer, rows=[figure_row(date=back(1).isoformat())])

    assert DailyFigure.objects.get().on_time is False


def test_it_honours_a_changed_cut_off(lanzhou, n95, gloves, officer, settings):
    """With the cut-off moved to 18:00, a 17:00 submission is on time, 18:30 is not."""
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "CUTOFF_TIME": "18:00"}

    with time_machine.travel(dt.datetime(2020, 2, 10, 17, 0, tzinfo=SHANGHAI), tick=False):
        daily_figures_submit(user=officer, rows=[figure_row()])
    with time_machine.travel(dt.datetime(2020, 2, 10, 18, 30, tzinfo=SHANGHAI), tick=False):
        daily_figures_submit(user=officer, rows=[figure_row(item="FH002")])

    assert DailyFigure.objects.get(item=n95).on_time is True
    assert DailyFigure.objects.get(item=gloves).on_time is False


def test_it_keeps_on_time_from_the_first_submission_after_a_late_correction(lanzhou, n95, officer):
    """A prefecture that reported by 16:00 stays on time when it corrects at 17:00."""
    daily_figures_submit(user=officer, rows=[figure_row(stock=100)])  # 10:00

    five_pm = dt.datetime(2020, 2, 10, 17, 0, tzinfo=SHANGHAI)
    with time_machine.travel(five_pm, tick=False):
        daily_figures_submit(user=officer, rows=[figure_row(stock=90)])

    figure = DailyFigure.objects.get()
    assert figure.stock == 90
    assert figure.on_time is True
    assert figure.first_submitted_at == MORNING
    assert figure.submitted_at == five_pm


def test_it_keeps_a_late_first_submission_late_after_a_correction(lanzhou, n95, officer):
    """Correcting a late report does not make it on time either."""
    with time_machine.travel(dt.datetime(2020, 2, 9, 17, 0, tzinfo=SHANGHAI), tick=False):
        daily_figures_submit(user=officer, rows=[figure_row(date=back(1).isoformat())])

    daily_figures_submit(
        user=officer, rows=[figure_row(date=back(1).isoformat(), stock=1)], reason="fix"
    )

    assert DailyFigure.objects.get().on_time is False
