"""The producer register, a producer's page and the commissioner's desk: who sees what."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from production.models import (
    Licence,
    LicenceKind,
    LineStatus,
    Problem,
    ProblemCategory,
    ProblemStatus,
    Producer,
    ProducerStatus,
    ProductionLine,
    ProductionReport,
    RawMaterial,
    RawMaterialKind,
)
from supplycoord.lib.credit_code import check_character
from tests.factories import ItemFactory

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2020, 2, 10, 10, 0, tzinfo=TZ)
TODAY = dt.date(2020, 2, 10)
LIST_URL = reverse("production:producer_list")
DESK_URL = reverse("production:commissioner")


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def credit_code(n: int) -> str:
    first17 = f"91620100MA{n:07d}"
    return first17 + check_character(first17)


def make_producer(prefecture, n, **fields):
    return Producer.objects.create(
        name=f"生产企业{n}", credit_code=credit_code(n), prefecture=prefecture, **fields
    )


def report(producer, item, date, output, **figures):
    moment = timezone.make_aware(dt.datetime.combine(date, dt.time(12)))
    figures.setdefault("factory_stock", 1000)
    return ProductionReport.objects.create(
        producer=producer,
        item=item,
        date=date,
        output=output,
        submitted_by=producer.reporters.first() or _any_user(),
        first_submitted_at=moment,
        submitted_at=moment,
        **figures,
    )


def _any_user():
    from tests.factories import UserFactory

    return UserFactory(username="someone")


def problem(producer, user, *, days_ago=0, status=ProblemStatus.OPEN, **fields):
    reported = NOW - dt.timedelta(days=days_ago)
    return Problem.objects.create(
        producer=producer,
        category=fields.pop("category", ProblemCategory.RAW_MATERIALS),
        description=fields.pop("description", "熔喷布不足"),
        reported_by=user,
        reported_at=reported,
        status=status,
        resolved_at=NOW if status == ProblemStatus.RESOLVED else None,
        **fields,
    )


# --- The register -------------------------------------------------------------------------


def test_it_lists_the_register_with_capacity_licences_and_problems(
    client, office, reporting_producer, other_reporting_producer, n95, reporter
):
    ProductionLine.objects.create(
        producer=reporting_producer, item=n95, daily_capacity=40_000, status=LineStatus.BUILDING
    )
    ProductionLine.objects.create(
        producer=reporting_producer, item=n95, daily_capacity=7_000, status=LineStatus.STOPPED
    )
    Licence.objects.create(
        producer=reporting_producer,
        kind=LicenceKind.PRODUCTION_LICENCE,
        number="甘械注准1",
        issued=TODAY - dt.timedelta(days=300),
        expires=TODAY + dt.timedelta(days=14),
    )
    Licence.objects.create(
        producer=reporting_producer,
        kind=LicenceKind.OTHER,
        number="later",
        issued=TODAY - dt.timedelta(days=300),
        expires=TODAY + dt.timedelta(days=15),
    )
    problem(reporting_producer, reporter)
    problem(reporting_producer, reporter, status=ProblemStatus.RESOLVED, resolution="ok")
    client.force_login(office)

    response = client.get(LIST_URL)

    assert response.status_code == 200
    rows = response.context["producers"]
    mine = next(p for p in rows if p.pk == reporting_producer.pk)
    assert (mine.commissioned_capacity, mine.when_all_built_capacity) == (100_000, 140_000)
    assert (mine.licences_flagged, mine.problems_open) == (1, 1)
    other = next(p for p in rows if p.pk == other_reporting_producer.pk)
    assert (other.commissioned_capacity, other.licences_flagged, other.problems_open) == (
        50_000,
        0,
        0,
    )
    content = response.content.decode()
    assert "100,000" in content and "140,000" in content
    assert reverse("production:producer_detail", args=[reporting_producer.pk]) in content
    assert reverse("production:producers_export", args=["xlsx"]) in content
    assert reverse("production:producers_export", args=["csv"]) in content


def test_it_filters_by_status_and_prefecture_and_ignores_bad_values(
    client, office, producer, other_producer, tianshui
):
    other_producer.status = ProducerStatus.STOPPED
    other_producer.save()
    client.force_login(office)

    def shown(query):
        response = client.get(LIST_URL, query)
        assert response.status_code == 200
        return {p.pk for p in response.context["producers"]}

    assert shown({"status": "stopped"}) == {other_producer.pk}
    assert shown({"prefecture": tianshui.code}) == {other_producer.pk}
    assert shown({"status": "nonsense", "prefecture": "999999"}) == {
        producer.pk,
        other_producer.pk,
    }


def test_a_reporter_sees_only_their_producers(client, reporter, producer, other_producer):
    client.force_login(reporter)
    response = client.get(LIST_URL)
    assert [p.pk for p in response.context["producers"]] == [producer.pk]


def test_an_officer_sees_their_prefecture_read_only(client, officer, producer, other_producer):
    client.force_login(officer)
    response = client.get(LIST_URL)
    assert [p.pk for p in response.context["producers"]] == [producer.pk]
    detail = client.get(reverse("production:producer_detail", args=[producer.pk]))
    assert detail.status_code == 200
    assert reverse("production:report_entry") not in detail.content.decode().split("<main>")[1]


def test_the_register_runs_a_constant_number_of_queries(
    client, office, lanzhou, n95, django_assert_max_num_queries
):
    def make(n):
        producer = make_producer(lanzhou, n)
        ProductionLine.objects.create(
            producer=producer, item=n95, daily_capacity=1000, status=LineStatus.COMMISSIONED
        )
        Licence.objects.create(
            producer=producer,
            kind=LicenceKind.OTHER,
            number=str(n),
            issued=TODAY - dt.timedelta(days=10),
            expires=TODAY,
        )
        problem(producer, office)

    client.force_login(office)
    make(1)
    with django_assert_max_num_queries(5) as one:
        assert client.get(LIST_URL).status_code == 200
    for n in range(2, 12):
        make(n)
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(LIST_URL)
    assert len(response.context["producers"]) == 11


# --- A producer's page --------------------------------------------------------------------


def detail_url(producer):
    return reverse("production:producer_detail", args=[producer.pk])


def test_the_producer_page_shows_lines_licences_materials_reports_and_problems(
    client, office, reporting_producer, n95, reporter
):
    producer = reporting_producer
    producer.national_whitelist_since = dt.date(2020, 2, 1)
    producer.save()
    Licence.objects.create(
        producer=producer,
        kind=LicenceKind.PRODUCTION_LICENCE,
        number="EXPIRED-1",
        issued=dt.date(2019, 1, 1),
        expires=TODAY - dt.timedelta(days=1),
    )
    Licence.objects.create(
        producer=producer,
        kind=LicenceKind.EMERGENCY_APPROVAL,
        number="SOON-1",
        issued=dt.date(2019, 1, 1),
        expires=TODAY + dt.timedelta(days=3),
    )
    Licence.objects.create(
        producer=producer,
        kind=LicenceKind.OTHER,
        number="FINE-1",
        issued=dt.date(2019, 1, 1),
        expires=TODAY + dt.timedelta(days=300),
    )
    RawMaterial.objects.create(
        producer=producer,
        material=RawMaterialKind.MELT_BLOWN,
        stock=90,
        daily_use=20,
        unit="t",
    )
    # Three low days running (50%) end today: flagged.
    for days_ago in range(3):
        report(producer, n95, TODAY - dt.timedelta(days=days_ago), 50_000, to_reserve=0)
    report(producer, n95, TODAY - dt.timedelta(days=20), 99_999)  # outside the 14 days
    problem(producer, reporter, days_ago=4, description="缺熔喷布")
    problem(
        producer,
        reporter,
        days_ago=9,
        status=ProblemStatus.RESOLVED,
        resolution="已协调",
        description="缺工人",
    )
    client.force_login(office)

    response = client.get(detail_url(producer))

    assert response.status_code == 200
    page = response.context["page"]
    assert [(r.licence.number, r.expired, r.expiring) for r in page.licences] == [
        ("EXPIRED-1", True, False),
        ("SOON-1", False, True),
        ("FINE-1", False, False),
    ]
    assert page.licences_flagged == 2
    assert [row.low for row in page.reports] == [True, True, True]
    assert page.lines[0].ratio == 0.5 and page.lines[0].ratio_date == TODAY
    assert [(i.code, i.commissioned, i.when_all_built) for i in page.capacity] == [
        ("FH001", 100_000, 100_000)
    ]
    content = response.content.decode()
    assert 'class="licence-expired"' in content and 'class="licence-expiring"' in content
    assert content.count('class="utilisation-low"') == 3
    assert "50.0%" in content
    assert "99,999" not in content
    assert "2020-02-01" in content  # whitelist date
    assert reporter.username in content  # the commissioner
    assert '<td class="num days-left">4</td>' in content
    assert [p.description for p in page.open_problems] == ["缺熔喷布"]
    assert page.open_problems[0].age == 4
    assert [p.description for p in page.resolved_problems] == ["缺工人"]
    assert reverse("inventory:warehouse_detail", args=["DC09"]) in content


def test_the_warehouse_link_is_shown_only_to_who_may_open_it(client, reporter, reporting_producer):
    client.force_login(reporter)
    response = client.get(detail_url(reporting_producer))
    assert response.status_code == 200
    assert not response.context["page"].warehouse_link
    assert reverse("inventory:warehouse_detail", args=["DC09"]) not in response.content.decode()


@pytest.mark.parametrize("who", ["reporter", "outsider", "outsider_reporter"])
def test_another_producer_page_is_404(client, request, who, producer, other_producer):
    client.force_login(request.getfixturevalue(who))
    target = other_producer if who == "reporter" else producer
    assert client.get(detail_url(target)).status_code == 404


def test_the_producer_page_runs_a_constant_number_of_queries(
    client, office, reporting_producer, n95, django_assert_max_num_queries
):
    producer = reporting_producer
    report(producer, n95, TODAY, 60_000)
    problem(producer, office)
    client.force_login(office)
    # 21: utilisation reads the producer and the items once each (issue 13); +1 the nav's
    # badge of requests awaiting triage, for the office (issue 15).
    with django_assert_max_num_queries(22) as one:
        assert client.get(detail_url(producer)).status_code == 200

    for n in range(2, 8):
        item = ItemFactory(code=f"X{n:03d}")
        ProductionLine.objects.create(
            producer=producer, item=item, daily_capacity=1000, status=LineStatus.COMMISSIONED
        )
        Licence.objects.create(
            producer=producer,
            kind=LicenceKind.OTHER,
            number=str(n),
            issued=dt.date(2019, 1, 1),
            expires=TODAY,
        )
        RawMaterial.objects.create(
            producer=producer, material=RawMaterialKind.OTHER, stock=n, daily_use=1, unit="t"
        )
        for days_ago in range(5):
            report(producer, item, TODAY - dt.timedelta(days=days_ago), 500)
        problem(producer, office, days_ago=n)
        problem(producer, office, status=ProblemStatus.RESOLVED, resolution="ok")

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(detail_url(producer))
    assert len(response.context["page"].reports) == 31


# --- The commissioner's desk --------------------------------------------------------------


def test_the_desk_lists_missing_reports_first_with_a_prefilled_entry_link(
    client, reporter, reporting_producer, n95, other_reporting_producer
):
    gown = ItemFactory(code="FH002", name_zh="防护服", sort_order=0)
    ProductionLine.objects.create(
        producer=reporting_producer, item=gown, daily_capacity=5000, status=LineStatus.COMMISSIONED
    )
    report(reporting_producer, gown, TODAY, 4321)
    problem(reporting_producer, reporter, days_ago=5)
    client.force_login(reporter)

    response = client.get(DESK_URL)

    assert response.status_code == 200
    desk = response.context["desk"]
    assert [(p.pk, i.code, r is None) for p, i, r in desk.today_reports] == [
        (reporting_producer.pk, "FH001", True),
        (reporting_producer.pk, "FH002", False),
    ]
    content = response.content.decode()
    assert "4,321" in content
    assert (
        f"{reverse('production:report_entry')}?producer={reporting_producer.pk}&amp;date=2020-02-10"
        in content
    )
    assert desk.open_problems[0].age == 5
    assert other_reporting_producer.name not in content
    assert reverse("production:problem_new") in content


def test_the_office_may_open_the_desk(client, office, reporting_producer, other_reporting_producer):
    client.force_login(office)
    response = client.get(DESK_URL)
    assert response.status_code == 200
    assert len(response.context["desk"].producers) == 2


@pytest.mark.parametrize("who", ["officer", "leader"])
def test_officers_and_leadership_may_not_open_the_desk(client, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(DESK_URL).status_code == 403


def test_pages_ask_anonymous_users_to_log_in(client, producer):
    for url in (LIST_URL, detail_url(producer), DESK_URL):
        response = client.get(url)
        assert response.status_code == 302 and "login" in response.url


def test_the_pages_render_in_english_when_chosen(client, office, reporting_producer, n95):
    report(reporting_producer, n95, TODAY, 70_000)
    made = problem(reporting_producer, office)
    client.force_login(office)
    client.cookies["django_language"] = "en"
    urls = [
        LIST_URL,
        detail_url(reporting_producer),
        DESK_URL,
        reverse("production:report_entry"),
        reverse("production:problem_list"),
        reverse("production:problem_new"),
        reverse("production:problem_detail", args=[made.pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert '<html lang="en">' in response.content.decode()
