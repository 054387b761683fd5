"""The problem workflow: open → in progress → resolved, by who may handle the producer."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from production.models import Problem, ProblemStatus
from production.selectors import open_problems, problems_visible_to
from production.services import problem_report, problem_resolve, problem_take

TZ = ZoneInfo("Asia/Shanghai")
REPORTED = dt.datetime(2020, 2, 10, 9, 0, tzinfo=TZ)


@pytest.fixture
def problem(reporter, producer):
    return problem_report(
        user=reporter,
        producer=producer,
        category="raw_materials",
        description="熔喷布只够两天",
        now=REPORTED,
    )


def test_a_commissioner_reports_a_problem_which_starts_open(problem, reporter):
    assert problem.status == ProblemStatus.OPEN
    assert problem.reported_by == reporter
    assert problem.owner is None
    assert problem.age_days(dt.date(2020, 2, 13)) == 3


def test_the_office_takes_it_in_hand_and_resolves_it_keeping_the_history(problem, office):
    problem_take(user=office, problem=problem)
    resolved = problem_resolve(
        user=office,
        problem=problem,
        resolution="省工信厅协调调入熔喷布 2 吨",
        now=dt.datetime(2020, 2, 12, 17, 0, tzinfo=TZ),
    )

    assert resolved.status == ProblemStatus.RESOLVED
    assert (resolved.owner, resolved.resolved_by) == (office, office)
    # Age stops at the resolution: two days, whatever day it is read.
    assert resolved.age_days(dt.date(2020, 3, 30)) == 2
    statuses = [h.status for h in resolved.history.order_by("history_date", "history_id")]
    assert statuses == ["open", "in_progress", "resolved"]
    assert not open_problems(Problem.objects.all()).exists()


def test_a_problem_can_be_resolved_straight_from_open(problem, reporter):
    resolved = problem_resolve(user=reporter, problem=problem, resolution="已自行解决")
    assert resolved.owner == reporter


def test_a_resolved_problem_cannot_be_taken_or_resolved_again(problem, office):
    problem_resolve(user=office, problem=problem, resolution="done")
    with pytest.raises(ValidationError) as caught:
        problem_take(user=office, problem=problem)
    assert "status" in caught.value.message_dict
    with pytest.raises(ValidationError):
        problem_resolve(user=office, problem=problem, resolution="again")


def test_resolving_needs_a_resolution(problem, office):
    with pytest.raises(ValidationError) as caught:
        problem_resolve(user=office, problem=problem, resolution="  ")
    assert "resolution" in caught.value.message_dict
    problem.refresh_from_db()
    assert problem.status == ProblemStatus.OPEN


def test_reporting_needs_a_known_category_and_a_description(reporter, producer):
    with pytest.raises(ValidationError) as caught:
        problem_report(user=reporter, producer=producer, category="weather", description="")
    assert set(caught.value.message_dict) == {"category", "description"}


@pytest.mark.parametrize("role", ["officer", "leader", "outsider_reporter"])
def test_others_may_neither_report_nor_handle_problems(request, role, producer, problem):
    user = request.getfixturevalue(role)
    with pytest.raises(PermissionDenied):
        problem_report(user=user, producer=producer, category="labour", description="x")
    with pytest.raises(PermissionDenied):
        problem_take(user=user, problem=problem)
    with pytest.raises(PermissionDenied):
        problem_resolve(user=user, problem=problem, resolution="x")


def test_a_reporter_sees_only_their_producers_problems(
    reporter, office, problem, other_producer, outsider_reporter
):
    problem_report(user=office, producer=other_producer, category="funding", description="y")
    assert list(problems_visible_to(reporter)) == [problem]
    assert problems_visible_to(office).count() == 2
    assert not problems_visible_to(outsider_reporter).exists()
