"""Hostile input to the spot-check, alert, demand and norm pages: a message or a 4xx, never
a 500, and nothing written by anyone but the office."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.models import DailyFigure
from reports.alerts import alerts_refresh
from reports.models import SpotCheckFlag, SpotCheckFollowUp, SpotCheckStatus
from reports.services import snapshot_build_for_date
from reports.spotchecks import spot_check_follow_up_record, spot_checks_compute_for_date
from supplycoord.models import Norm
from tests.factories import (
    DailyFigureFactory,
    ItemFactory,
    PrefectureFactory,
    ProtectedStaffFactory,
    StaffCategoryFactory,
    UserFactory,
)

TZ = ZoneInfo("Asia/Shanghai")
D = dt.date(2020, 2, 20)
ODD_DATES = ["", "x", "2020-02-30", "9999-12-31", "0001-01-01", "2020-02-20T00:00", "²" * 50]


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(dt.datetime(2020, 2, 20, 18, 0, tzinfo=TZ), tick=False):
        yield


@pytest.fixture
def ward(db):
    return StaffCategoryFactory(code="ward")


@pytest.fixture
def province(lanzhou, tianshui, n95, ward):
    """Seven prefectures of 100 staff; Lanzhou uses 5 N95 a person, the others about 1."""
    prefectures = [lanzhou, tianshui] + [PrefectureFactory(code=f"63{n:02d}00") for n in range(5)]
    for n, prefecture in enumerate(prefectures):
        ProtectedStaffFactory(prefecture=prefecture, category=ward, count=100)
        DailyFigureFactory(
            prefecture=prefecture,
            item=n95,
            date=D,
            consumption=500 if n == 0 else 100 + n % 3,
            stock=20 if n == 0 else 5000,
        )
    snapshot_build_for_date(date=D)
    spot_checks_compute_for_date(date=D)
    alerts_refresh(date=D)
    return prefectures


@pytest.fixture
def flag(province, lanzhou):
    return SpotCheckFlag.objects.get(prefecture=lanzhou)


@pytest.mark.parametrize("action", ["", "bogus", SpotCheckStatus.NONE, "x" * 10_000])
def test_a_follow_up_with_an_unknown_action_is_refused_with_a_message(client, office, flag, action):
    client.force_login(office)
    url = reverse("reports:spot_check_follow_up", args=[flag.pk])
    response = client.post(url, {"action": action, "note": "called"})
    assert response.status_code == 302
    assert not SpotCheckFollowUp.objects.exists()


def test_a_follow_up_note_too_long_is_refused(client, office, flag):
    client.force_login(office)
    url = reverse("reports:spot_check_follow_up", args=[flag.pk])
    client.post(url, {"action": "contacted", "note": "x" * 2001})
    assert not SpotCheckFollowUp.objects.exists()


def test_a_follow_up_goes_back_only_to_this_site(client, office, flag):
    client.force_login(office)
    url = reverse("reports:spot_check_follow_up", args=[flag.pk])
    response = client.post(url, {"action": "contacted", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert "evil" not in response["Location"]


def test_a_follow_up_of_a_flag_that_does_not_exist_is_a_404(client, office, flag):
    client.force_login(office)
    response = client.post(
        reverse("reports:spot_check_follow_up", args=[flag.pk + 1000]), {"action": "contacted"}
    )
    assert response.status_code == 404


@pytest.mark.parametrize("role", ["leader", "officer", "outsider", "reporter"])
def test_only_the_office_records_follow_ups(client, request, role, flag):
    client.force_login(request.getfixturevalue(role))
    url = reverse("reports:spot_check_follow_up", args=[flag.pk])
    assert client.post(url, {"action": "contacted"}).status_code == 403
    flag.refresh_from_db()
    assert flag.status == SpotCheckStatus.NONE
    assert not SpotCheckFollowUp.objects.exists()


@pytest.mark.parametrize("raw", ODD_DATES)
def test_odd_dates_on_the_read_pages_fall_back_not_a_500(client, office, province, raw):
    client.force_login(office)
    for name in ("reports:spot_checks", "reports:demand"):
        assert client.get(reverse(name), {"date": raw}).status_code == 200
    assert client.get(reverse("reports:norms"), {"date": raw}).status_code == 200
    assert client.get(reverse("reports:spot_check_notice"), {"date": raw}).status_code in (
        200,
        404,
    )


@pytest.mark.parametrize(
    "params",
    [
        {"page": "x"},
        {"page": "-1"},
        {"page": "9" * 40},
        {"page": "²"},
        {"kind": "bogus"},
        {"show": "everything"},
        {"show": "all", "kind": "item_red", "page": "0"},
    ],
)
def test_odd_alert_filters_fall_back_not_a_500(client, office, officer, province, params):
    for user in (office, officer):
        client.force_login(user)
        assert client.get(reverse("reports:alerts"), params).status_code == 200


@pytest.mark.parametrize(
    "params", [{"item": "nope"}, {"h": "9" * 40}, {"h": "٣"}, {"item": "", "h": ""}]
)
def test_odd_demand_filters_fall_back_not_a_500(client, office, province, params):
    client.force_login(office)
    assert client.get(reverse("reports:demand"), params).status_code == 200


def test_it_falls_back_on_a_horizon_of_more_digits_than_int_reads(client, office, province):
    client.force_login(office)
    assert client.get(reverse("reports:demand"), {"h": "9" * 5000}).status_code == 200


def test_an_officer_sees_only_their_own_prefectures_alerts(client, officer, lanzhou, province):
    client.force_login(officer)
    page = client.get(reverse("reports:alerts"), {"show": "all"}).context["page"]
    assert page.paginator.count >= 1
    assert {alert.prefecture_id for alert in page} == {lanzhou.pk}
    assert client.get(reverse("reports:alerts_panel")).status_code == 403


@pytest.mark.parametrize(
    "fields",
    [
        {"units_per_person_per_day": "NaN"},
        {"units_per_person_per_day": "Infinity"},
        {"units_per_person_per_day": "9" * 40},
        {"units_per_person_per_day": "-1"},
        {"units_per_person_per_day": "1e5"},
        {"units_per_person_per_day": "0.00001"},
        {"per_shift": "2", "shifts_per_day": "25"},
        {"per_shift": "2", "shifts_per_day": "0"},
        {"per_shift": "2"},
        {"effective_from": "0001-01-01"},
        {"effective_from": "9999-12-31"},
        {"effective_from": "x"},
        {"staff_category": "999999"},
        {"staff_category": "x"},
        {"item": "999999"},
        {"note": "x" * 2001},
    ],
)
def test_bad_norms_are_refused_with_a_400_not_a_500(client, office, province, ward, n95, fields):
    client.force_login(office)
    data = {
        "staff_category": ward.pk,
        "item": n95.pk,
        "effective_from": "2020-02-01",
        "units_per_person_per_day": "2",
        **fields,
    }
    response = client.post(reverse("reports:norms"), data)
    assert response.status_code == 400
    assert not Norm.objects.exists()


@pytest.mark.parametrize("role", ["leader", "officer", "outsider", "reporter"])
def test_only_the_office_edits_norms(client, request, role, province, ward, n95):
    client.force_login(request.getfixturevalue(role))
    data = {
        "staff_category": ward.pk,
        "item": n95.pk,
        "effective_from": "2020-02-01",
        "units_per_person_per_day": "2",
    }
    assert client.post(reverse("reports:norms"), data).status_code == 403
    assert not Norm.objects.exists()


def test_the_spot_check_page_runs_the_same_queries_for_one_flag_or_many(client, office, ward, n95):
    """Many outliers over two items, each with follow-ups by two people: the same count."""
    masks = ItemFactory(code="FH002")
    prefectures = [PrefectureFactory(code=f"64{n:02d}00") for n in range(20)]
    for prefecture in prefectures:
        ProtectedStaffFactory(prefecture=prefecture, category=ward, count=100)

    def run(outliers):
        for n, prefecture in enumerate(prefectures):
            for item in (n95, masks):
                DailyFigureFactory(
                    prefecture=prefecture,
                    item=item,
                    date=D,
                    consumption=1000 + n if n < outliers else 100 + n % 3,
                )
        snapshot_build_for_date(date=D)
        for flag in spot_checks_compute_for_date(date=D):
            for author in (office, UserFactory(role=office.role)):
                spot_check_follow_up_record(user=author, flag=flag, action="contacted", note="x")
        client.force_login(office)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("reports:spot_checks")).status_code == 200
        return len(queries.captured_queries)

    few = run(1)
    assert SpotCheckFlag.objects.count() == 2
    DailyFigure.objects.all().delete()
    many = run(4)
    assert SpotCheckFlag.objects.count() == 8
    assert many == few
