"""The alert on emergency requests left open (issue 15): an emergency request with a line still
open EMERGENCY_REQUEST_ALERT_HOURS (12) after it was submitted, as of min(now, the end of the
built date), raises `request_emergency_open`; it closes at the first refresh after its lines
are dispatched, refused or withdrawn.

The world: 甘肃省人民医院 (a provincial hospital, no prefecture) submits an emergency request
XQ-2020-001 for 2,000 N95 on 2020-02-20 at 10:00 (Shanghai); 榆中县 (a county of Lanzhou)
one for 100 N95 at the same moment.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from allocation.models import Destination, DestinationKind
from allocation.requests import request_submit, request_triage, request_withdraw
from reports.alerts import (
    alert_conditions_for_date,
    alert_summary,
    alerts_panel,
    alerts_refresh,
    alerts_visible_to,
)
from reports.models import Alert, AlertKind

TZ = ZoneInfo("Asia/Shanghai")
SUBMITTED = dt.datetime(2020, 2, 20, 10, 0, tzinfo=TZ)
DAY = SUBMITTED.date()
KIND = AlertKind.REQUEST_EMERGENCY_OPEN


def at(*args):
    return time_machine.travel(dt.datetime(*args, tzinfo=TZ), tick=False)


@pytest.fixture
def hospital(db):
    return Destination.objects.create(
        kind=DestinationKind.PROVINCIAL_INSTITUTION,
        name_zh="甘肃省人民医院",
        name_en="Gansu Provincial Hospital",
        code="SRMYY",
    )


@pytest.fixture
def county(lanzhou):
    return Destination.objects.create(
        kind=DestinationKind.COUNTY,
        name_zh="榆中县",
        name_en="Yuzhong County",
        prefecture=lanzhou,
        code="620123",
    )


def submit(office, claimant, item, quantity, urgency="emergency"):
    with at(2020, 2, 20, 10, 0):
        request, _created = request_submit(
            user=office,
            claimant=claimant,
            urgency=urgency,
            needed_by=DAY + dt.timedelta(days=1),
            justification="ICU",
            lines=[{"item": item, "quantity": quantity}],
        )
    return request


@pytest.fixture
def emergency(office, hospital, n95):
    return submit(office, hospital, n95, 2000)


def kinds(conditions):
    return sorted(key for key in conditions if key.startswith(KIND))


def test_an_emergency_request_raises_the_alert_once_12_hours_have_passed(emergency):
    key = f"{KIND}:{emergency.pk}"
    # 21:59: 11 h 59 min open, below 12 h.
    with at(2020, 2, 20, 21, 59):
        assert kinds(alert_conditions_for_date(DAY)) == []
    # 22:00: 10:00 + 12 h; the condition is "submitted before now − 12 h": not yet.
    with at(2020, 2, 20, 22, 0):
        assert kinds(alert_conditions_for_date(DAY)) == []
    # 22:01: open 12 h 1 min.
    with at(2020, 2, 20, 22, 1):
        condition = alert_conditions_for_date(DAY)[key]
    assert condition["prefecture_id"] is None  # a hospital: the office's
    assert condition["detail"]["hours_open"] == 12
    assert condition["detail"]["number"] == "XQ-2020-001"


def test_a_past_date_counts_until_the_end_of_that_day(emergency):
    """Built on 2020-02-25 for 2020-02-20: as of 2020-02-21 00:00, 14 h open; for
    2020-02-19 (before it was submitted) there is nothing."""
    with at(2020, 2, 25, 18, 0):
        (condition,) = [c for k, c in alert_conditions_for_date(DAY).items() if k.startswith(KIND)]
        assert condition["detail"]["hours_open"] == 14
        assert kinds(alert_conditions_for_date(DAY - dt.timedelta(days=1))) == []


def test_routine_urgent_and_closed_requests_raise_nothing(office, hospital, n95, emergency):
    submit(office, hospital, n95, 5, urgency="urgent")
    submit(office, hospital, n95, 5, urgency="routine")
    with at(2020, 2, 21, 9, 0):
        request_triage(
            user=office,
            request=emergency,
            expected_version=emergency.version,
            decisions=[
                {"line": emergency.lines.get().pk, "decision": "refused", "reason": "holds 30 days"}
            ],
        )
        assert kinds(alert_conditions_for_date(DAY + dt.timedelta(days=1))) == []


def test_accepted_but_not_dispatched_stays_open(office, emergency):
    with at(2020, 2, 20, 12, 0):
        request_triage(
            user=office,
            request=emergency,
            expected_version=emergency.version,
            decisions=[{"line": emergency.lines.get().pk, "decision": "accepted"}],
        )
    with at(2020, 2, 21, 9, 0):
        # 10:00 → 09:00 the next day: 23 h.
        condition = alert_conditions_for_date(DAY + dt.timedelta(days=1))[f"{KIND}:{emergency.pk}"]
    assert condition["detail"]["hours_open"] == 23


def test_the_refresh_opens_and_closes_it_and_the_summary_reads_in_both_languages(
    office, emergency, leader
):
    with at(2020, 2, 21, 9, 0):
        alerts_refresh(date=DAY + dt.timedelta(days=1))
        alert = alerts_visible_to(office).get(kind=KIND)
        with translation.override("en"):
            assert alert_summary(alert, as_of=DAY + dt.timedelta(days=1)) == (
                "Emergency request XQ-2020-001 of Gansu Provincial Hospital, open 23 hours"
            )
        chinese = alert_summary(alert, as_of=DAY + dt.timedelta(days=1))
        assert "XQ-2020-001" in chinese and "甘肃省人民医院" in chinese
        assert "Gansu" not in chinese
        # Leadership sees it in the panel; counted under its kind.
        panel = alerts_panel(leader, as_of=DAY + dt.timedelta(days=1))
        assert {k: n for k, _label, n in panel["counts"]}[KIND] == 1
    with at(2020, 2, 21, 11, 0):
        request_withdraw(
            user=office, request=emergency, expected_version=emergency.version, reason="moved"
        )
        alerts_refresh(date=DAY + dt.timedelta(days=1))
    alert = Alert.objects.get(kind=KIND)
    assert alert.closed_on == DAY + dt.timedelta(days=1)
    # Closed at 11:00: 25 hours open, whatever the page's date.
    with translation.override("en"):
        assert alert_summary(alert, as_of=dt.date(2020, 3, 1)).endswith("open 25 hours")


def test_a_county_request_is_its_prefectures_and_hidden_from_an_outsider(
    office, county, n95, officer, outsider, client
):
    submit(office, county, n95, 100)
    with at(2020, 2, 21, 9, 0):
        alerts_refresh(date=DAY + dt.timedelta(days=1))
        assert alerts_visible_to(officer).filter(kind=KIND).count() == 1
        assert alerts_visible_to(outsider).filter(kind=KIND).count() == 0
        client.force_login(officer)
        page = client.get(reverse("reports:alerts"))
    assert page.status_code == 200
    assert "XQ-2020-001" in page.content.decode()
