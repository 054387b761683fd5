"""A submission of thousands of wrong rows lists the first SUPPLYCOORD["MAX_ERRORS_REPORTED"]
problems and says there were more: the list (and the worker's memory) stays bounded."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from inventory.models import DailyFigure

URL = "/api/v1/daily-figures/"
NOW = dt.datetime(2020, 3, 10, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def wrong_row(n):
    """Every field of it wrong: eight errors."""
    return {
        "prefecture": "990000",
        "item": f"NOPE{n}",
        "date": "2020-03-11",
        **dict.fromkeys(("stock", "received", "consumption", "demand", "expected_arrivals_3d"), -1),
    }


def test_it_lists_the_first_problems_of_3000_wrong_rows_and_says_there_are_more(
    client_for, office, settings
):
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "MAX_ERRORS_REPORTED": 100}

    response = client_for(office).post(
        URL, [wrong_row(n) for n in range(3000)], format="json", HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert len(errors) == 101
    assert [error["row"] for error in errors[:100]] == sorted(
        error["row"] for error in errors[:100]
    )
    assert errors[0]["row"] == 0
    assert errors[-1] == {
        "row": None,
        "field": "non_field_errors",
        "message": "More problems were found than are listed: correct these and submit again.",
    }
    assert not DailyFigure.objects.exists()


def test_it_lists_every_problem_up_to_the_limit_without_a_note(client_for, office, settings):
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "MAX_ERRORS_REPORTED": 16}

    response = client_for(office).post(URL, [wrong_row(0), wrong_row(1)], format="json")

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert len(errors) == 16
    assert {error["row"] for error in errors} == {0, 1}
