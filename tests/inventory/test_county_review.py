"""A hostile review of the county figures (issue 15 §3): the office's switch must say which
prefecture it switches, and a prefecture's own figures sent as the office switches it to the
sum of its counties must not overwrite the row its counties derive.

Lanzhou = 榆中县 (A, `county_officer`) + 皋兰县 (B, `gaolan_officer`), tests/inventory/county_world.py.
"""

import threading

import pytest
from django.conf import settings
from django.db import connections
from django.urls import reverse

from inventory.county_figures import county_figures_submit, prefecture_set_reports_as_sum
from inventory.models import DailyFigure
from inventory.services import DAILY_FIGURES, DailyFiguresInvalid, daily_figures_submit
from supplycoord.models import Prefecture
from tests.inventory.county_world import *  # noqa: F403 - the fixtures
from tests.inventory.county_world import TODAY, county_row

STATUS = reverse("inventory:county_status")


# --- The office's switch --------------------------------------------------------------------


def test_a_switch_that_names_no_prefecture_switches_nothing(client, summed, tianshui, office):
    """The page's form always names its prefecture; a post that lost it (a stale or hand-made
    form) must not fall on whichever prefecture the page would open on (Lanzhou here)."""
    client.force_login(office)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.post(STATUS, {"value": "off"})

    assert response.status_code == 400
    assert "Choose the prefecture to switch." in response.content.decode()
    assert Prefecture.objects.get(code="620100").reports_as_sum_of_counties is True
    assert Prefecture.objects.get(code="620500").reports_as_sum_of_counties is False


def test_a_switch_naming_its_prefecture_still_switches_it(client, summed, office):
    client.force_login(office)

    response = client.post(STATUS, {"prefecture": "620100", "value": "off"})

    assert response.status_code == 302
    assert Prefecture.objects.get(code="620100").reports_as_sum_of_counties is False


# --- The prefecture's own figures racing the switch ---------------------------------------------


def _in_another_connection(work):
    """Run `work` in a thread of its own (its own database connection, committed there) and
    wait for it; re-raise what it raised."""
    failures = []

    def run():
        try:
            work()
        except Exception as exc:  # noqa: BLE001 - handed back to the test
            failures.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive()
    if failures:
        raise failures[0]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_figures_sent_as_the_office_switches_do_not_overwrite_the_counties_sum(
    lanzhou, yuzhong, gaolan, n95, office, officer, county_officer, gaolan_officer, monkeypatch
):
    """Lanzhou's officer entered 500 N95 of stock this morning, then corrects it to 999 just as
    the office switches Lanzhou to the sum of its counties and both counties report (100 +
    200 = 300, derived). Its correction was read before the switch: saved, it would leave
    999 where the counties' sum is 300, while nobody may enter Lanzhou's rows."""
    row = {
        "prefecture": "620100",
        "item": "FH001",
        "date": TODAY.isoformat(),
        "stock": 500,
        "received": 0,
        "consumption": 10,
        "demand": 10,
        "expected_arrivals_3d": 0,
    }
    daily_figures_submit(user=officer, rows=[row])

    def switch_and_both_counties_report():
        prefecture_set_reports_as_sum(user=office, prefecture=lanzhou, value=True)
        county_figures_submit(user=county_officer, rows=[county_row(stock=100)])
        county_figures_submit(user=gaolan_officer, rows=[county_row(county="620122", stock=200)])

    # The officer's correction has read Lanzhou (not yet summed) when the others go ahead.
    read_owners = DAILY_FIGURES.owners

    def owners_then_the_others(codes):
        found = list(read_owners(codes))
        _in_another_connection(switch_and_both_counties_report)
        return found

    monkeypatch.setattr(DAILY_FIGURES, "owners", owners_then_the_others)

    with pytest.raises(DailyFiguresInvalid) as refused:
        daily_figures_submit(user=officer, rows=[{**row, "stock": 999}])

    assert [(e.row, e.field) for e in refused.value.errors] == [(0, "prefecture")]
    figure = DailyFigure.objects.get(prefecture=lanzhou, item=n95, date=TODAY)
    # The counties' 100 + 200.
    assert figure.stock == 300
