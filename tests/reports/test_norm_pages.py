"""The demand estimate page and the norms page: who sees and changes what, what they show,
and that their query counts stay flat."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reports.province import DEMO_NOTE
from reports.services import snapshot_build_for_date
from supplycoord.models import Norm
from supplycoord.norms import norm_set
from tests.factories import (
    DailyFigureFactory,
    ItemFactory,
    PrefectureFactory,
    ProtectedStaffFactory,
    StaffCategoryFactory,
)

TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2020, 2, 10)
START = dt.date(2020, 1, 25)
DEMAND_URL = reverse("reports:demand")
NORMS_URL = reverse("reports:norms")


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2020, 2, 12, 18, 0, tzinfo=TZ), tick=False):
        yield


@pytest.fixture
def ward(db):
    return StaffCategoryFactory(code="isolation_ward", name_en="Isolation ward staff")


@pytest.fixture
def province(office, lanzhou, tianshui, n95, ward):
    """Lanzhou 100 ward staff, Tianshui 20; N95 norm 2 a day; snapshot built for DAY only.

    Estimates: Lanzhou 200, Tianshui 40. Reported: Lanzhou 400 (ratio 2, flagged high),
    Tianshui 40 (ratio 1).
    """
    ProtectedStaffFactory(prefecture=lanzhou, category=ward, count=100)
    ProtectedStaffFactory(prefecture=tianshui, category=ward, count=20)
    norm_set(
        user=office,
        staff_category=ward,
        item=n95,
        effective_from=START,
        per_shift=1,
        shifts_per_day=2,
        note="ward rule",
    )
    DailyFigureFactory(prefecture=lanzhou, item=n95, date=DAY, demand=400, stock=1000)
    DailyFigureFactory(prefecture=tianshui, item=n95, date=DAY, demand=40, stock=100)
    snapshot_build_for_date(date=DAY)


def rows(response):
    return {r.prefecture.code: r for r in response.context["table"].rows}


# --- the demand estimate page ----------------------------------------------------------------


def test_it_opens_on_the_latest_built_date_with_the_item_that_has_a_norm(client, leader, province):
    ItemFactory(code="AA000", sort_order=0)  # a key item before N95, without a norm
    client.force_login(leader)

    response = client.get(DEMAND_URL)

    assert response.status_code == 200
    assert response.context["date"] == DAY
    assert response.context["item"].code == "FH001"
    assert response.context["horizon"] == 7
    lz = rows(response)["620100"]
    assert (lz.estimate, lz.reported, lz.flag) == (200, 400, "high")
    content = response.content.decode()
    assert 'data-prefecture="620100" class="flagged"' in content
    assert 'id="demand-definitions"' in content and 'id="demand-totals"' in content
    # 200 × 7 − 1000 = 400 to send; Tianshui 40 × 7 − 100 = 180
    assert lz.requirement_units == 400 and rows(response)["620500"].requirement_units == 180


def test_it_takes_the_date_item_and_horizon_from_the_query(client, leader, province):
    client.force_login(leader)
    response = client.get(DEMAND_URL, {"date": "2020-02-10", "item": "FH001", "h": "14"})

    assert response.context["horizon"] == 14
    # 200 × 14 − 1000 = 1,800
    assert rows(response)["620100"].requirement_units == 1800
    assert "1,800" in response.content.decode()


@pytest.mark.parametrize("bad", ["0", "61", "-3", "seven", "7.5", "²"])
def test_it_falls_back_to_seven_days_for_a_bad_horizon(client, leader, province, bad):
    client.force_login(leader)
    response = client.get(DEMAND_URL, {"h": bad})

    assert response.status_code == 200
    assert response.context["horizon"] == 7
    assert len(list(response.context["messages"])) == 1


def test_it_says_when_the_item_has_no_norm(client, leader, province):
    ItemFactory(code="FH005")
    client.force_login(leader)
    response = client.get(DEMAND_URL, {"item": "FH005"})

    assert response.status_code == 200
    assert 'id="demand-no-norm"' in response.content.decode()


def test_it_shows_an_officer_only_their_own_row(client, officer, province):
    client.force_login(officer)
    response = client.get(DEMAND_URL)

    assert response.status_code == 200
    assert list(rows(response)) == ["620100"]
    content = response.content.decode()
    assert "620500" not in content and "天水" not in content
    # No province totals: they are built from every prefecture's figures.
    assert 'id="demand-totals"' not in content


def test_an_outsider_sees_nothing_of_lanzhou(client, outsider, province):
    client.force_login(outsider)
    response = client.get(DEMAND_URL)

    assert list(rows(response)) == ["620500"]
    content = response.content.decode()
    assert "620100" not in content and "兰州" not in content


def test_a_producer_reporter_may_not_see_the_demand_page(client, reporter, province):
    client.force_login(reporter)
    assert client.get(DEMAND_URL).status_code == 403
    assert client.get(NORMS_URL).status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client, province):
    assert client.get(DEMAND_URL).status_code == 302
    assert client.get(NORMS_URL).status_code == 302


def test_the_demand_page_query_count_stays_flat(client, leader, office, province, n95):
    client.force_login(leader)
    client.get(DEMAND_URL)  # warm the session and the language
    with CaptureQueriesContext(connection) as few:
        client.get(DEMAND_URL)

    for n in range(6):
        prefecture = PrefectureFactory(code=f"62{n + 10:02d}00")
        category = StaffCategoryFactory(code=f"extra{n}")
        ProtectedStaffFactory(prefecture=prefecture, category=category, count=10)
        norm_set(
            user=office,
            staff_category=category,
            item=n95,
            effective_from=START,
            units_per_person_per_day=1,
        )
        DailyFigureFactory(prefecture=prefecture, item=n95, date=DAY)
    snapshot_build_for_date(date=DAY)

    with CaptureQueriesContext(connection) as many:
        response = client.get(DEMAND_URL)

    assert len(rows(response)) == 8
    assert len(many) == len(few)


# --- the norms page --------------------------------------------------------------------------


def test_everyone_who_reads_reports_sees_the_norms_but_only_the_office_gets_the_form(
    client, office, leader, officer, province
):
    for user, has_form in ((office, True), (leader, False), (officer, False)):
        client.force_login(user)
        response = client.get(NORMS_URL)
        assert response.status_code == 200
        assert [n.units_per_person_per_day for n in response.context["in_force"]] == [2]
        assert ('id="norm-form"' in response.content.decode()) is has_form


def test_the_office_adds_a_norm_version_from_the_page(client, office, province, ward, n95):
    client.force_login(office)
    response = client.post(
        NORMS_URL,
        {
            "staff_category": ward.pk,
            "item": n95.pk,
            "effective_from": "2020-02-11",
            "units_per_person_per_day": "1.5",
            "note": "new ward guidance",
        },
    )

    assert response.status_code == 302
    new = Norm.objects.get(effective_from=dt.date(2020, 2, 11))
    assert new.units_per_person_per_day == 1.5 and new.created_by == office
    assert new.history.get().history_user == office
    # The estimate of the 10th keeps the old norm (2 a day): 100 × 2 = 200.
    page = client.get(DEMAND_URL, {"date": "2020-02-10"})
    assert rows(page)["620100"].estimate == 200
    # The norms page shows both versions, the new one in force today.
    listing = client.get(NORMS_URL)
    assert [(v.effective_from, v.state) for v in listing.context["versions"]] == [
        (dt.date(2020, 2, 11), "in_force"),
        (START, "superseded"),
    ]
    assert len(listing.context["changes"]) == 2


def test_the_page_shows_the_norms_in_force_on_an_earlier_date(client, office, province, ward, n95):
    norm_set(
        user=office,
        staff_category=ward,
        item=n95,
        effective_from=dt.date(2020, 2, 11),
        units_per_person_per_day=1,
    )
    client.force_login(office)

    response = client.get(NORMS_URL, {"date": "2020-02-10"})

    assert [n.units_per_person_per_day for n in response.context["in_force"]] == [2]
    states = [v.state for v in response.context["versions"]]
    assert states == ["scheduled", "in_force"]


def test_the_office_can_give_the_norm_per_shift(client, office, province, ward, n95):
    client.force_login(office)
    client.post(
        NORMS_URL,
        {
            "staff_category": ward.pk,
            "item": n95.pk,
            "effective_from": "2020-02-12",
            "per_shift": "1",
            "shifts_per_day": "3",
        },
    )
    assert Norm.objects.get(effective_from=dt.date(2020, 2, 12)).units_per_person_per_day == 3


def test_a_bad_norm_is_refused_with_the_reason_next_to_the_field(
    client, office, province, ward, n95
):
    client.force_login(office)
    response = client.post(
        NORMS_URL,
        {
            "staff_category": ward.pk,
            "item": n95.pk,
            "effective_from": "2020-02-12",
            "per_shift": "1",
        },
    )

    assert response.status_code == 400
    assert "shifts_per_day" in response.context["form"].errors
    assert Norm.objects.count() == 1


@pytest.mark.parametrize("role", ["leader", "officer", "outsider"])
def test_only_the_office_may_change_norms(client, request, role, province, ward, n95):
    client.force_login(request.getfixturevalue(role))
    response = client.post(
        NORMS_URL,
        {
            "staff_category": ward.pk,
            "item": n95.pk,
            "effective_from": "2020-02-12",
            "units_per_person_per_day": "9",
        },
    )
    assert response.status_code == 403
    assert Norm.objects.count() == 1


def test_the_page_says_demo_norms_are_assumptions(client, leader, office, ward, n95):
    norm_set(
        user=office,
        staff_category=ward,
        item=n95,
        effective_from=START,
        units_per_person_per_day=2,
        note=f"{DEMO_NOTE} (assumed)",
    )
    client.force_login(leader)
    assert 'id="norms-demo-warning"' in client.get(NORMS_URL).content.decode()


def test_the_norms_page_query_count_stays_flat(client, office, province, n95):
    client.force_login(office)
    client.get(NORMS_URL)
    with CaptureQueriesContext(connection) as few:
        client.get(NORMS_URL)

    for n in range(6):
        category = StaffCategoryFactory(code=f"extra{n}")
        for start in (START, DAY):
            norm_set(
                user=office,
                staff_category=category,
                item=n95,
                effective_from=start,
                units_per_person_per_day=n + 1,
            )

    with CaptureQueriesContext(connection) as many:
        response = client.get(NORMS_URL)

    assert len(response.context["versions"]) == 13
    assert len(many) == len(few)
