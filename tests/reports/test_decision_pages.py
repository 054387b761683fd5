"""Spot-check and alert pages: who may see what, what they show, flat query counts."""

import datetime as dt
import io
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from django.urls import reverse

from reports.alerts import alerts_refresh
from reports.models import SpotCheckFlag, SpotCheckFollowUp, SpotCheckStatus
from reports.services import snapshot_build_for_date
from reports.spotchecks import spot_check_follow_up_record, spot_checks_compute_for_date
from supplycoord.exports import TITLE_ROWS
from tests.factories import (
    DailyFigureFactory,
    PrefectureFactory,
    ProtectedStaffFactory,
    StaffCategoryFactory,
)

TZ = ZoneInfo("Asia/Shanghai")
D = dt.date(2020, 2, 20)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(dt.datetime(2020, 2, 20, 18, 0, tzinfo=TZ), tick=False):
        yield


def seed(n95, count, *, first=()):
    """`count` prefectures with 100 protected staff and N95 consumption of 100 on D (1 per
    person), except the first (Lanzhou in `province`): 500 (5 per person), the outlier, and red
    (stock 20 / 500 a day). Every other prefecture after it is red too (250 / ~100 a day)."""
    category = StaffCategoryFactory(code="ward")
    prefectures = list(first)
    prefectures += [
        PrefectureFactory(code=f"63{n + 1:02d}00") for n in range(count - len(prefectures))
    ]
    for n, prefecture in enumerate(prefectures):
        ProtectedStaffFactory(prefecture=prefecture, category=category, count=100)
        consumption = 500 if n == 0 else 100 + n % 3
        stock = 20 if n == 0 else (250 if n % 2 else 5000)  # every other one red too
        DailyFigureFactory(
            prefecture=prefecture, item=n95, date=D, consumption=consumption, stock=stock
        )
    snapshot_build_for_date(date=D)
    spot_checks_compute_for_date(date=D)
    alerts_refresh(date=D)
    return prefectures


@pytest.fixture
def province(lanzhou, tianshui, n95):
    """Lanzhou (the outlier, red), Tianshui (red) and five more prefectures."""
    return seed(n95, 7, first=[lanzhou, tianshui])


def test_the_office_sees_the_flags_the_chart_and_the_follow_up_form(client, office, province):
    client.force_login(office)
    response = client.get(reverse("reports:spot_checks"))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-prefecture="620100"' in content
    assert 'data-chart="spotcheck"' in content
    assert 'id="spotcheck-FH001"' in content  # the chart's data
    assert "js/spotchecks.js" in content
    assert reverse("reports:spot_check_follow_up", args=[SpotCheckFlag.objects.get().pk]) in content
    assert response.context["date"] == D


def test_leadership_reads_the_flags_without_the_form(client, leader, province):
    client.force_login(leader)
    response = client.get(reverse("reports:spot_checks"), {"date": "2020-02-20"})
    assert response.status_code == 200
    assert 'data-prefecture="620100"' in response.content.decode()
    assert not response.context["may_follow_up"]
    flag = SpotCheckFlag.objects.get()
    response = client.post(
        reverse("reports:spot_check_follow_up", args=[flag.pk]), {"action": "contacted"}
    )
    assert response.status_code == 403


@pytest.mark.parametrize("user", ["officer", "outsider", "reporter"])
def test_officers_do_not_see_spot_checks(client, request, province, user):
    """Spot checks compare prefectures with each other: office and leadership only."""
    client.force_login(request.getfixturevalue(user))
    assert client.get(reverse("reports:spot_checks")).status_code == 403
    assert client.get(reverse("reports:spot_check_notice")).status_code == 403


def test_the_office_records_a_follow_up_from_the_page(client, office, province):
    client.force_login(office)
    flag = SpotCheckFlag.objects.get()
    response = client.post(
        reverse("reports:spot_check_follow_up", args=[flag.pk]),
        {"action": "notice_issued", "note": "通报 2020-7"},
    )
    assert response.status_code == 302
    flag.refresh_from_db()
    assert flag.status == SpotCheckStatus.NOTICE_ISSUED
    follow_up = SpotCheckFollowUp.objects.get()
    assert (follow_up.author, follow_up.note) == (office, "通报 2020-7")
    page = client.get(reverse("reports:spot_checks"), {"date": "2020-02-20"}).content.decode()
    assert "通报 2020-7" in page


def test_the_notice_list_exports_as_xlsx(client, office, province):
    flag = SpotCheckFlag.objects.get()
    spot_check_follow_up_record(user=office, flag=flag, action="explained", note="Surge ward")
    client.force_login(office)
    response = client.get(reverse("reports:spot_check_notice"), {"date": "2020-02-20"})
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == TITLE_ROWS + 2  # the title block, the header, one flag
    prefecture, item, figure, median, score, status, note = rows[TITLE_ROWS + 1]
    assert prefecture == "兰州市"
    assert (figure, median, note) == (5.0, 1.01, "Surge ward")
    assert score == float(flag.score)


def test_an_officer_sees_only_their_prefectures_alerts(client, officer, outsider, province):
    client.force_login(officer)
    content = client.get(reverse("reports:alerts")).content.decode()
    assert 'data-prefecture="620100"' in content
    client.force_login(outsider)
    content = client.get(reverse("reports:alerts")).content.decode()
    assert 'data-prefecture="620100"' not in content


def test_the_office_sees_every_alert_and_closed_ones_on_request(client, office, lanzhou, province):
    lanzhou.daily_figures.filter(date=D).update(stock=100_000)  # Lanzhou is green now
    snapshot_build_for_date(date=D)
    alerts_refresh(date=D)
    client.force_login(office)

    response = client.get(reverse("reports:alerts"), {"kind": "item_red"})
    open_codes = [a.prefecture.code for a in response.context["page"]]
    response = client.get(reverse("reports:alerts"), {"show": "all", "kind": "item_red"})
    all_codes = [a.prefecture.code for a in response.context["page"]]

    assert "620500" in open_codes and "620100" not in open_codes
    assert sorted(all_codes) == sorted([*open_codes, "620100"])
    assert response.status_code == 200


def test_the_overview_shows_the_alerts_panel(client, leader, officer, province):
    """Rendered with the overview itself; the partial stays for htmx refreshes."""
    client.force_login(leader)
    overview = client.get(reverse("reports:overview")).content.decode()
    assert 'id="alerts-panel"' in overview and 'data-kind="item_red"' in overview
    panel = client.get(reverse("reports:alerts_panel"))
    assert panel.status_code == 200
    assert 'data-kind="item_red"' in panel.content.decode()
    assert panel.context["alerts_panel"]["total"] >= 1
    client.force_login(officer)
    assert client.get(reverse("reports:alerts_panel")).status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client, province):
    for name in ("spot_checks", "alerts", "alerts_panel", "spot_check_notice"):
        assert client.get(reverse(f"reports:{name}")).status_code == 302


@pytest.mark.parametrize("count", [6, 20])
def test_the_pages_run_a_constant_number_of_queries(
    client, office, n95, django_assert_max_num_queries, count
):
    seed(n95, count)
    spot_check_follow_up_record(
        user=office, flag=SpotCheckFlag.objects.get(), action="contacted", note="Called."
    )
    client.force_login(office)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("reports:spot_checks")).status_code == 200
    # 6, the overdue inbound per item (order lines, allocations, their items: 3) and the
    # overdrawn working-capital lines (units, order amounts, payments: 3).
    with django_assert_max_num_queries(12):
        assert client.get(reverse("reports:alerts"), {"show": "all"}).status_code == 200
    with django_assert_max_num_queries(5):
        assert client.get(reverse("reports:alerts_panel")).status_code == 200


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_pages_work_in_both_languages(client, office, province, language):
    client.force_login(office)
    client.post(reverse("set_language"), {"language": language, "next": "/"})
    for name in ("spot_checks", "alerts", "alerts_panel", "spot_check_notice"):
        response = client.get(reverse(f"reports:{name}"))
        assert response.status_code == 200, name
    # Item names follow the language (the page's own words come from the catalogues).
    page = client.get(reverse("reports:spot_checks")).content.decode()
    assert ("N95 respirator" in page) is (language == "en")
