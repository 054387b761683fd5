"""The distribution enterprise pages: who sees what (an outsider reporter and an officer of
another prefecture get 404/403), the report form with corrections, the rollup with its date
picker, the register form, and flat query counts."""

import datetime as dt

import pytest
from django.urls import reverse

from procurement.distribution_services import (
    distribution_enterprise_create,
    distribution_report_submit,
)
from procurement.models import DistributionEnterprise, DistributionReport
from tests.procurement.conftest import TODAY, credit_code
from tests.procurement.distribution_fixtures import *  # noqa: F403 (fixtures)
from tests.procurement.distribution_fixtures import figures

pytestmark = pytest.mark.usefixtures("frozen_time")
YESTERDAY = TODAY - dt.timedelta(days=1)
REPORT = reverse("procurement:distribution_report")


def _post(n95_values, masks_values=None, *, enterprise, date=TODAY, reason=""):
    data = {"enterprise": enterprise.pk, "date": date.isoformat(), "reason": reason}
    for code, values in (("FH001", n95_values), ("FH002", masks_values)):
        if values is not None:
            for name, value in values.items():
                data[f"{code}-{name}"] = value
    return data


def test_a_reporter_enters_a_days_figures_and_corrects_one_with_a_reason(
    client, dist_a, enterprise_a, n95, masks
):
    client.force_login(dist_a)
    page = client.get(REPORT)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="FH001-purchase_in_transit"' in html and 'inputmode="numeric"' in html
    response = client.post(
        REPORT,
        _post(figures(1000, 400, 2000, 600), figures(5, 4, 3, 2), enterprise=enterprise_a),
    )
    assert response.status_code == 302
    assert DistributionReport.objects.count() == 2
    # Same day, one figure changed, no reason: refused (400), nothing changed.
    data = _post(figures(1000, 400, 2000, 650), figures(5, 4, 3, 2), enterprise=enterprise_a)
    response = client.post(REPORT, data)
    assert response.status_code == 400
    assert 'id="id_reason_today"' in response.content.decode()
    assert DistributionReport.objects.get(item=n95).stock == 600
    data["reason"] = "盘点后更正"
    assert client.post(REPORT, data).status_code == 302
    report = DistributionReport.objects.get(item=n95)
    assert (report.stock, report.correction_reason) == (650, "盘点后更正")


@pytest.mark.parametrize("bad", ["-1", str(2**70), "1e3", "abc", "12\x00"])
def test_bad_numbers_on_the_form_are_a_400_naming_the_field(client, dist_a, enterprise_a, bad):
    client.force_login(dist_a)
    values = figures(1, 1, 1, 1)
    values["shipped"] = bad
    response = client.post(REPORT, _post(values, figures(1, 1, 1, 1), enterprise=enterprise_a))
    assert response.status_code == 400
    if "\x00" not in bad:
        assert 'id="err-FH001-shipped"' in response.content.decode()
    # (A NUL is refused by the input guard before the view, with the same 400.)
    assert not DistributionReport.objects.exists()


def test_an_outsider_reporter_cannot_open_or_post_another_enterprises_form(
    client, dist_b, enterprise_a, enterprise_b
):
    client.force_login(dist_b)
    # Another reporter's enterprise is not in their scope: 404, as if it did not exist.
    assert client.get(REPORT, {"enterprise": enterprise_a.pk}).status_code == 404
    data = _post(figures(1, 1, 1, 1), figures(1, 1, 1, 1), enterprise=enterprise_a)
    assert client.post(REPORT, data).status_code == 404
    assert (
        client.get(reverse("procurement:distribution_detail", args=[enterprise_a.pk])).status_code
        == 404
    )
    # The rollup and the register's forms are the office's.
    assert client.get(reverse("procurement:distribution_rollup")).status_code == 403
    assert client.get(reverse("procurement:distribution_new")).status_code == 403
    # The list shows only their own.
    html = client.get(reverse("procurement:distribution_list")).content.decode()
    assert "天水医药有限公司" in html and "国药控股兰州有限公司" not in html
    assert not DistributionReport.objects.exists()


@pytest.mark.parametrize("bad", ["x", "²", "1" * 40, "1\x00"])
def test_a_bad_enterprise_id_is_refused_not_a_500(client, dist_a, enterprise_a, bad):
    client.force_login(dist_a)
    # 403 from the view; a NUL is a 400 from the input guard.
    assert client.get(REPORT, {"enterprise": bad}).status_code == (400 if "\x00" in bad else 403)


def test_an_officer_reads_the_enterprises_of_their_prefecture_only(
    client, officer, outsider, enterprise_a, enterprise_b
):
    # officer: Lanzhou (enterprise A is there); outsider: Tianshui (enterprise B).
    client.force_login(officer)
    assert (
        client.get(reverse("procurement:distribution_detail", args=[enterprise_a.pk])).status_code
        == 200
    )
    assert (
        client.get(reverse("procurement:distribution_detail", args=[enterprise_b.pk])).status_code
        == 404
    )
    assert client.get(reverse("procurement:distribution_rollup")).status_code == 403
    assert client.get(REPORT).status_code == 403
    client.force_login(outsider)
    assert (
        client.get(reverse("procurement:distribution_detail", args=[enterprise_a.pk])).status_code
        == 404
    )


def test_the_rollup_page_shows_sums_and_completeness_for_the_picked_date(
    client, leader, dist_a, dist_b, enterprise_a, enterprise_b, n95, masks
):
    distribution_report_submit(
        user=dist_a,
        enterprise=enterprise_a,
        date=YESTERDAY,
        rows=[
            {"item": n95, **figures(1000, 400, 2000, 600)},
            {"item": masks, **figures(1, 1, 1, 1)},
        ],
    )
    distribution_report_submit(
        user=dist_b,
        enterprise=enterprise_b,
        date=YESTERDAY,
        rows=[{"item": n95, **figures(300, 100, 500, 250)}],
    )
    client.force_login(leader)
    response = client.get(
        reverse("procurement:distribution_rollup"), {"date": YESTERDAY.isoformat()}
    )
    assert response.status_code == 200
    html = response.content.decode()
    # N95 purchase in transit 2,000 + 500 = 2,500; stock 600 + 250 = 850.
    assert "2,500" in html and "850" in html
    # Both submitted at 10:00 (frozen time) on 2020-02-20, after 2020-02-19's 16:00 cut-off:
    # both late, none on time → 0 of 2 (0.00 %).
    assert response.context["completeness"].rate == 0
    assert [r.state for r in response.context["completeness"].rows] == ["late", "late"]
    # Today is the default date.
    assert client.get(reverse("procurement:distribution_rollup")).context["date"] == TODAY


@pytest.mark.parametrize("bad", ["2020-02-31", "99999-01-01", "0001-01-01", "3000-01-01"])
def test_a_bad_date_on_the_rollup_is_a_400_showing_today(client, office, bad):
    client.force_login(office)
    response = client.get(reverse("procurement:distribution_rollup"), {"date": bad})
    assert response.status_code == 400
    assert response.context["date"] == TODAY


def test_the_office_creates_an_enterprise_and_assigns_a_reporter_and_items(
    client, office, lanzhou, dist_a, n95
):
    client.force_login(office)
    response = client.post(
        reverse("procurement:distribution_new"),
        {
            "name": "甘肃新特药",
            "credit_code": credit_code(800),
            "prefecture": lanzhou.pk,
            "items": [n95.pk],
            "reporters": [dist_a.pk],
            "active": "on",
        },
    )
    assert response.status_code == 302
    enterprise = DistributionEnterprise.objects.get(name="甘肃新特药")
    assert list(enterprise.reporters.all()) == [dist_a]
    assert list(enterprise.items.all()) == [n95]
    assert enterprise.history.latest().history_user == office
    # A wrong check character and a taken code: 400 on the field, nothing saved.
    for code in ("91620100MA7000001X", credit_code(800)):
        response = client.post(
            reverse("procurement:distribution_new"),
            {"name": "另一家", "credit_code": code, "prefecture": lanzhou.pk, "active": "on"},
        )
        assert response.status_code == 400
        assert "credit_code" in response.context["form"].errors
    # A NUL or a line break in a name: the input guard's 400 (supplycoord/middleware.py).
    response = client.post(
        reverse("procurement:distribution_new"),
        {"name": "坏\x00名", "credit_code": credit_code(801), "prefecture": lanzhou.pk},
    )
    assert response.status_code == 400
    assert DistributionEnterprise.objects.count() == 1


def test_the_enterprise_page_shows_corrections_with_who_and_why(
    client, office, dist_a, enterprise_a, n95
):
    distribution_report_submit(
        user=dist_a,
        enterprise=enterprise_a,
        date=YESTERDAY,
        rows=[{"item": n95, **figures(1, 1, 1, 6)}],
    )
    distribution_report_submit(
        user=office,
        enterprise=enterprise_a,
        date=YESTERDAY,
        rows=[{"item": n95, **figures(1, 1, 1, 7)}],
        reason="盘点更正",
    )
    client.force_login(office)
    url = reverse("procurement:distribution_detail", args=[enterprise_a.pk])
    html = client.get(url, {"days": "30"}).content.decode()
    assert "盘点更正" in html and "dist_a" in html
    assert client.get(url, {"days": "7"}).status_code == 400


def _make_enterprises(office, lanzhou, n95, start, count):
    for serial in range(start, start + count):
        enterprise = distribution_enterprise_create(
            user=office,
            name=f"企业{serial:02d}",
            credit_code=credit_code(700 + serial),
            prefecture=lanzhou,
            items=[n95],
        )
        for back in range(3):
            distribution_report_submit(
                user=office,
                enterprise=enterprise,
                date=TODAY - dt.timedelta(days=back),
                rows=[{"item": n95, **figures(1, 1, 1, 1)}],
            )


def test_the_pages_cost_the_same_queries_with_2_or_12_enterprises(client, office, lanzhou, n95):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(office)

    def counts():
        first = DistributionEnterprise.objects.order_by("pk").first()
        urls = [
            reverse("procurement:distribution_list"),
            reverse("procurement:distribution_rollup"),
            reverse("procurement:distribution_detail", args=[first.pk]),
            f"{REPORT}?enterprise={first.pk}",
        ]
        found = []
        for url in urls:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            found.append(len(ctx.captured_queries))
        return found

    _make_enterprises(office, lanzhou, n95, 0, 2)
    few = counts()
    _make_enterprises(office, lanzhou, n95, 2, 10)
    assert counts() == few


def test_the_rollup_page_query_count(client, office, lanzhou, n95, django_assert_max_num_queries):
    _make_enterprises(office, lanzhou, n95, 0, 5)
    client.force_login(office)
    # Session and user (2), the rollup (5), completeness (4), the nav's rules (0: no query).
    with django_assert_max_num_queries(15):
        assert client.get(reverse("procurement:distribution_rollup")).status_code == 200


def test_a_distribution_reporter_lands_on_their_report_form(client, dist_a, enterprise_a):
    client.force_login(dist_a)
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response.url == REPORT
    assert client.get(response.url).status_code == 200


def test_a_reporter_without_an_enterprise_sees_a_plain_message(client, dist_a):
    client.force_login(dist_a)
    response = client.get(REPORT)
    assert response.status_code == 200
    assert response.context["enterprise"] is None


def test_the_pages_in_english(client, office, enterprise_a, settings):
    client.force_login(office)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(reverse("procurement:distribution_rollup")).content.decode()
    assert "Reporting completeness" in html and "Purchase in transit" in html
