"""Problems through the pages: report, take in hand, resolve, with who may do what."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from production.models import Problem, ProblemCategory, ProblemStatus

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2020, 2, 10, 10, 0, tzinfo=TZ)
LIST_URL = reverse("production:problem_list")
NEW_URL = reverse("production:problem_new")


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def make_problem(producer, user, *, days_ago=0, category=ProblemCategory.RAW_MATERIALS, **fields):
    return Problem.objects.create(
        producer=producer,
        category=category,
        description=fields.pop("description", "熔喷布只够三天"),
        reported_by=user,
        reported_at=NOW - dt.timedelta(days=days_ago),
        **fields,
    )


def detail_url(problem):
    return reverse("production:problem_detail", args=[problem.pk])


def test_a_reporter_reports_takes_and_resolves_a_problem(client, reporter, producer):
    client.force_login(reporter)
    form = client.get(f"{NEW_URL}?producer={producer.pk}")
    assert form.status_code == 200
    assert form.context["form"].initial["producer"] == producer

    response = client.post(
        NEW_URL,
        {"producer": producer.pk, "category": ProblemCategory.LABOUR, "description": "缺工人"},
    )

    problem = Problem.objects.get()
    assert response.status_code == 302 and response.url == detail_url(problem)
    assert (problem.reported_by, problem.status, problem.category) == (
        reporter,
        ProblemStatus.OPEN,
        ProblemCategory.LABOUR,
    )
    page = client.get(detail_url(problem)).content.decode()
    assert 'id="take-form"' in page and 'id="resolve-form"' in page

    response = client.post(detail_url(problem), {"action": "take"})

    assert response.status_code == 302 and response.url == detail_url(problem)
    problem.refresh_from_db()
    assert (problem.status, problem.owner) == (ProblemStatus.IN_PROGRESS, reporter)

    response = client.post(detail_url(problem), {"action": "resolve", "resolution": "已招工"})

    assert response.status_code == 302
    problem.refresh_from_db()
    assert (problem.status, problem.resolution, problem.resolved_by) == (
        ProblemStatus.RESOLVED,
        "已招工",
        reporter,
    )
    page = client.get(detail_url(problem))
    assert [r.status for r in page.context["history"]] == ["resolved", "in_progress", "open"]
    content = page.content.decode()
    assert content.count(f"{reporter.username}") >= 3
    assert 'id="take-form"' not in content and 'id="resolve-form"' not in content


def test_a_resolution_must_say_how(client, reporter, producer):
    problem = make_problem(producer, reporter)
    client.force_login(reporter)
    response = client.post(detail_url(problem), {"action": "resolve", "resolution": "  "})
    assert response.status_code == 400
    assert 'id="err-resolution"' in response.content.decode()
    problem.refresh_from_db()
    assert problem.status == ProblemStatus.OPEN


def test_a_resolved_problem_cannot_be_taken(client, office, producer):
    problem = make_problem(
        producer, office, status=ProblemStatus.RESOLVED, resolution="x", resolved_at=NOW
    )
    client.force_login(office)
    response = client.post(detail_url(problem), {"action": "take"})
    assert response.status_code == 400
    assert 'id="action-errors"' in response.content.decode()


def test_a_problem_needs_a_category_and_a_description(client, reporter, producer):
    client.force_login(reporter)
    response = client.post(NEW_URL, {"producer": producer.pk, "category": "", "description": ""})
    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="err-category"' in content and 'id="err-description"' in content
    assert not Problem.objects.exists()


def test_a_reporter_may_not_report_for_another_producer(client, reporter, other_producer):
    client.force_login(reporter)
    response = client.post(
        NEW_URL,
        {"producer": other_producer.pk, "category": "labour", "description": "x"},
    )
    assert response.status_code == 200
    assert 'id="err-producer"' in response.content.decode()
    assert not Problem.objects.exists()


def test_the_list_shows_open_problems_oldest_first_with_ages_and_a_summary(
    client, office, producer, other_producer
):
    new = make_problem(producer, office, days_ago=1)
    middle = make_problem(other_producer, office, days_ago=4, category=ProblemCategory.LOGISTICS)
    old = make_problem(producer, office, days_ago=9, status=ProblemStatus.IN_PROGRESS)
    make_problem(
        producer,
        office,
        days_ago=20,
        status=ProblemStatus.RESOLVED,
        resolution="x",
        resolved_at=NOW,
    )
    client.force_login(office)

    response = client.get(LIST_URL)

    assert response.status_code == 200
    assert [(p.pk, p.age) for p in response.context["problems"]] == [
        (old.pk, 9),
        (middle.pk, 4),
        (new.pk, 1),
    ]
    summary = {row.category: row.counts for row in response.context["summary"]}
    assert summary["raw_materials"] == [1, 0, 1]
    assert summary["logistics"] == [0, 1, 0]
    assert summary["labour"] == [0, 0, 0]
    content = response.content.decode()
    assert '<td class="num bucket-2 s-text-red">1</td>' in content


def test_the_list_filters_by_category_and_status_and_ignores_bad_values(client, office, producer):
    raw = make_problem(producer, office)
    logistics = make_problem(producer, office, category=ProblemCategory.LOGISTICS)
    done = make_problem(
        producer, office, status=ProblemStatus.RESOLVED, resolution="x", resolved_at=NOW
    )
    client.force_login(office)

    def shown(query):
        response = client.get(LIST_URL, query)
        assert response.status_code == 200
        return [p.pk for p in response.context["problems"]]

    assert shown({"category": "logistics"}) == [logistics.pk]
    assert shown({"status": "resolved"}) == [done.pk]
    assert shown({"status": "all"}) == [raw.pk, logistics.pk, done.pk]
    assert shown({"category": "nonsense", "status": "nonsense"}) == [raw.pk, logistics.pk]


def test_a_reporter_sees_only_their_producers_problems(
    client, reporter, producer, other_producer, office
):
    mine = make_problem(producer, office)
    theirs = make_problem(other_producer, office)
    client.force_login(reporter)
    assert [p.pk for p in client.get(LIST_URL).context["problems"]] == [mine.pk]
    assert client.get(detail_url(theirs)).status_code == 404
    assert client.post(detail_url(theirs), {"action": "take"}).status_code == 404


def test_leadership_reads_but_may_not_act(client, leader, producer, office):
    problem = make_problem(producer, office)
    client.force_login(leader)
    assert client.get(LIST_URL).status_code == 200
    page = client.get(detail_url(problem))
    assert page.status_code == 200
    assert 'id="take-form"' not in page.content.decode()
    assert client.post(detail_url(problem), {"action": "take"}).status_code == 403
    assert client.get(NEW_URL).status_code == 403
    problem.refresh_from_db()
    assert problem.status == ProblemStatus.OPEN


def test_an_officer_reads_their_prefectures_problems_and_cannot_act(
    client, officer, producer, other_producer, office
):
    """Lanzhou's officer sees Lanzhou's producer's problem, read-only; Tianshui's is a 404."""
    mine = make_problem(producer, office)
    theirs = make_problem(other_producer, office)
    client.force_login(officer)
    listed = client.get(LIST_URL)
    assert listed.status_code == 200
    assert list(listed.context["problems"]) == [mine]
    page = client.get(detail_url(mine))
    assert page.status_code == 200
    assert 'id="take-form"' not in page.content.decode()
    assert client.post(detail_url(mine), {"action": "take"}).status_code == 403
    assert client.get(detail_url(theirs)).status_code == 404
    assert client.get(NEW_URL).status_code == 403


def test_an_outsider_officer_sees_no_other_prefectures_problems(client, outsider, producer, office):
    problem = make_problem(producer, office)
    client.force_login(outsider)
    assert list(client.get(LIST_URL).context["problems"]) == []
    assert client.get(detail_url(problem)).status_code == 404
    assert client.get(NEW_URL).status_code == 403


def test_the_list_runs_a_constant_number_of_queries(
    client, office, producer, other_producer, django_assert_max_num_queries
):
    make_problem(producer, office)
    client.force_login(office)
    with django_assert_max_num_queries(6) as one:
        assert client.get(LIST_URL).status_code == 200
    for days in range(10):
        make_problem(other_producer, office, days_ago=days, owner=office)
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(client.get(LIST_URL).context["problems"]) == 11
