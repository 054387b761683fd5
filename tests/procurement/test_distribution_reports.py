"""Distribution enterprises' daily reports through the service: scope, corrections with a
reason kept in history, idempotent resubmission, dates, bounds (on PostgreSQL)."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from procurement.distribution_services import (
    DistributionReportsInvalid,
    DistributionReportsOutOfScope,
    distribution_enterprise_create,
    distribution_enterprise_update,
    distribution_report_submit,
    distribution_reports_submit,
)
from procurement.models import DistributionReport
from tests.procurement.conftest import NOW, TODAY, credit_code
from tests.procurement.distribution_fixtures import *  # noqa: F403 (fixtures)
from tests.procurement.distribution_fixtures import figures

pytestmark = pytest.mark.usefixtures("frozen_time")


@pytest.fixture(autouse=True)
def _english():
    # The messages are asserted in English: their Chinese is merged into locale/ later.
    with translation.override("en"):
        yield


YESTERDAY = TODAY - dt.timedelta(days=1)


def _errors(excinfo):
    return {(e.row, e.field): e.message for e in excinfo.value.errors}


def test_it_saves_a_days_report_of_every_item(dist_a, enterprise_a, n95, masks):
    result = distribution_report_submit(
        user=dist_a,
        enterprise=enterprise_a,
        date=TODAY,
        rows=[
            {"item": n95, **figures(1_000, 400, 2_000, 600)},
            {"item": masks, **figures(50_000, 20_000, 0, 30_000)},
        ],
    )
    assert result.as_dict() == {"created": 2, "updated": 0, "unchanged": 0}
    report = DistributionReport.objects.get(enterprise=enterprise_a, item=n95, date=TODAY)
    assert report.figures() == figures(1_000, 400, 2_000, 600)
    assert report.submitted_by == dist_a
    assert report.first_submitted_at == report.submitted_at == NOW
    assert report.history.count() == 1


def test_an_unchanged_resubmission_writes_nothing(dist_a, enterprise_a, n95, masks):
    rows = [{"item": n95, **figures(1, 2, 3, 4)}]
    distribution_report_submit(user=dist_a, enterprise=enterprise_a, date=TODAY, rows=rows)
    again = distribution_report_submit(user=dist_a, enterprise=enterprise_a, date=TODAY, rows=rows)
    assert again.as_dict() == {"created": 0, "updated": 0, "unchanged": 1}
    # No second history row: nothing changed.
    assert DistributionReport.history.count() == 1


def test_a_correction_needs_a_reason_even_for_today(dist_a, enterprise_a, n95):
    distribution_report_submit(
        user=dist_a,
        enterprise=enterprise_a,
        date=TODAY,
        rows=[{"item": n95, **figures(1, 2, 3, 4)}],
    )
    with pytest.raises(DistributionReportsInvalid) as excinfo:
        distribution_report_submit(
            user=dist_a,
            enterprise=enterprise_a,
            date=TODAY,
            rows=[{"item": n95, **figures(1, 2, 3, 5)}],
        )
    assert _errors(excinfo) == {(0, "reason"): "A correction needs a reason."}
    assert DistributionReport.objects.get().stock == 4


def test_a_correction_with_a_reason_keeps_the_old_figures_in_history(
    dist_a, office, enterprise_a, n95
):
    distribution_report_submit(
        user=dist_a,
        enterprise=enterprise_a,
        date=YESTERDAY,
        rows=[{"item": n95, **figures(100, 40, 200, 60)}],
    )
    result = distribution_report_submit(
        user=office,
        enterprise=enterprise_a,
        date=YESTERDAY,
        rows=[{"item": n95, **figures(100, 40, 200, 66)}],
        reason="盘点后更正库存",
    )
    assert result.updated == 1
    report = DistributionReport.objects.get()
    assert report.stock == 66
    assert report.correction_reason == "盘点后更正库存"
    assert report.submitted_by == office
    # first_submitted_at stays: it decides on time / late.
    assert report.first_submitted_at == NOW
    old, new = report.history.order_by("history_date", "history_id")
    assert (old.stock, old.history_user, old.history_type) == (60, dist_a, "+")
    assert (new.stock, new.history_user, new.history_change_reason) == (
        66,
        office,
        "盘点后更正库存",
    )


def test_a_reporter_cannot_report_for_another_enterprise(dist_b, enterprise_a, enterprise_b, n95):
    with pytest.raises(DistributionReportsOutOfScope):
        distribution_reports_submit(
            user=dist_b,
            rows=[
                {
                    "enterprise": enterprise_b.credit_code,
                    "item": "FH001",
                    "date": TODAY,
                    **figures(1, 1, 1, 1),
                },
                {
                    "enterprise": enterprise_a.credit_code,
                    "item": "FH001",
                    "date": TODAY,
                    **figures(1, 1, 1, 1),
                },
            ],
        )
    assert not DistributionReport.objects.exists()


def test_officers_and_leadership_cannot_report(officer, leader, enterprise_a, n95):
    for user in (officer, leader):
        with pytest.raises(DistributionReportsOutOfScope):
            distribution_report_submit(
                user=user,
                enterprise=enterprise_a,
                date=TODAY,
                rows=[{"item": n95, **figures(1, 1, 1, 1)}],
            )


def test_an_item_the_enterprise_does_not_report_is_refused(dist_b, enterprise_b, masks):
    # 天水医药 reports N95 only.
    with pytest.raises(DistributionReportsInvalid) as excinfo:
        distribution_report_submit(
            user=dist_b,
            enterprise=enterprise_b,
            date=TODAY,
            rows=[{"item": masks, **figures(1, 1, 1, 1)}],
        )
    assert _errors(excinfo) == {(0, "item"): "This enterprise does not report this item."}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "Must be zero or more."),
        (2**70, "This number is too large."),
        ("1e3", "Enter a whole number."),
        ("1.5", "Enter a whole number."),
        ("12\x00", "Enter a whole number."),
        (None, "This field is required."),
    ],
)
def test_bad_numbers_are_refused_by_row_and_field(dist_a, enterprise_a, n95, masks, value, message):
    with pytest.raises(DistributionReportsInvalid) as excinfo:
        distribution_report_submit(
            user=dist_a,
            enterprise=enterprise_a,
            date=TODAY,
            rows=[
                {"item": masks, **figures(1, 1, 1, 1)},
                {"item": n95, **figures(1, 1, 1, 1), "shipped": value},
            ],
        )
    assert _errors(excinfo) == {(1, "shipped"): message}
    # All or nothing: the good first row is not saved either.
    assert not DistributionReport.objects.exists()


def test_dates_future_unreadable_and_too_old_are_refused(dist_a, office, enterprise_a, n95):
    def submit(user, date):
        return distribution_report_submit(
            user=user,
            enterprise=enterprise_a,
            date=date,
            rows=[{"item": n95, **figures(1, 1, 1, 1)}],
        )

    for date in (TODAY + dt.timedelta(days=1), "2020-02-31", "2020-02-20\x00"):
        with pytest.raises(DistributionReportsInvalid) as excinfo:
            submit(dist_a, date)
        assert list(_errors(excinfo)) == [(0, "date")]
    # A reporter back-dates 7 days (OFFICER_BACKDATE_DAYS), as an officer does; the office freely.
    with pytest.raises(DistributionReportsInvalid) as excinfo:
        submit(dist_a, TODAY - dt.timedelta(days=8))
    assert list(_errors(excinfo)) == [(0, "date")]
    assert submit(dist_a, TODAY - dt.timedelta(days=7)).created == 1
    assert submit(office, TODAY - dt.timedelta(days=30)).created == 1


def test_a_reason_with_a_nul_is_refused(dist_a, enterprise_a, n95):
    distribution_report_submit(
        user=dist_a,
        enterprise=enterprise_a,
        date=TODAY,
        rows=[{"item": n95, **figures(1, 1, 1, 1)}],
    )
    with pytest.raises(DistributionReportsInvalid) as excinfo:
        distribution_report_submit(
            user=dist_a,
            enterprise=enterprise_a,
            date=TODAY,
            rows=[{"item": n95, **figures(1, 1, 1, 2)}],
            reason="bad\x00reason",
        )
    assert list(_errors(excinfo)) == [(0, "reason")]


# --- The register -------------------------------------------------------------------------------


def test_only_the_office_changes_the_register(dist_a, leader, lanzhou):
    for user in (dist_a, leader):
        with pytest.raises(PermissionDenied):
            distribution_enterprise_create(
                user=user, name="X", credit_code=credit_code(900), prefecture=lanzhou
            )


def test_a_bad_credit_code_or_a_wrong_role_is_refused_by_field(office, lanzhou, reporter):
    with pytest.raises(ValidationError) as excinfo:
        distribution_enterprise_create(
            user=office, name="X", credit_code="91620100MA7000001X", prefecture=lanzhou
        )
    assert "credit_code" in excinfo.value.message_dict
    with pytest.raises(ValidationError) as excinfo:
        distribution_enterprise_create(
            user=office,
            name="X",
            credit_code=credit_code(901),
            prefecture=lanzhou,
            reporters=[reporter],  # a producer reporter
        )
    assert "reporters" in excinfo.value.message_dict


def test_the_register_keeps_its_history(office, enterprise_a, dist_b):
    distribution_enterprise_update(
        user=office, enterprise=enterprise_a, phone="0931-1111111", reporters=[dist_b]
    )
    enterprise_a.refresh_from_db()
    assert list(enterprise_a.reporters.all()) == [dist_b]
    latest = enterprise_a.history.latest()
    assert (latest.phone, latest.history_user) == ("0931-1111111", office)
    # A lower-case credit code is stored upper-case (the check character is a letter here).
    code = credit_code(777)
    created = distribution_enterprise_create(
        user=office, name="Y", credit_code=f" {code.lower()} ", prefecture=enterprise_a.prefecture
    )
    assert created.credit_code == code
