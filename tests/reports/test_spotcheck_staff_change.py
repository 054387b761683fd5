"""A change of protected staff rebuilds the recent built dates, so their stored spot checks
(consumption per protected person) are recomputed with the new counts; the admin cannot
change counts behind the service's back."""

import datetime as dt

from django.urls import reverse

from inventory.services import protected_staff_set
from reports.models import SnapshotRebuild, SpotCheckFigure, SpotCheckFlag
from reports.services import snapshot_build_for_date
from reports.spotchecks import spot_checks_compute_for_date
from supplycoord.models import ProtectedStaff
from tests.reports.test_spotcheck_results import categories, fourteen
from tests.reports.test_spotchecks import D, frozen_time

__all__ = ["categories", "fourteen", "frozen_time"]


def test_a_staff_change_rebuilds_the_built_dates_of_the_last_seven_days(
    fourteen, n95, office, django_capture_on_commit_callbacks
):
    # D is "today" (the frozen clock). Built: D-8, D-6 and D; D-6 … D is the window of a
    # change made on D, so D-6 and D are requested again, D-8 is not, and D-3 (never built)
    # is not requested either.
    for day in (D - dt.timedelta(days=8), D - dt.timedelta(days=6), D):
        snapshot_build_for_date(date=day)
    SnapshotRebuild.objects.all().delete()

    protected_staff_set(user=office, counts={(fourteen[0].code, "ward"): 61})

    assert sorted(SnapshotRebuild.objects.values_list("date", flat=True)) == [
        D - dt.timedelta(days=6),
        D,
    ]


def test_no_change_requests_nothing(fourteen, office):
    snapshot_build_for_date(date=D)
    SnapshotRebuild.objects.all().delete()

    assert protected_staff_set(user=office, counts={(fourteen[0].code, "ward"): 60}) == 0

    assert not SnapshotRebuild.objects.exists()


def test_the_rebuild_recomputes_the_stored_flag_with_the_new_staff(
    fourteen, n95, office, django_capture_on_commit_callbacks
):
    # The outlier 621400 consumed 4.00 per person of its 100 people (400 over the window).
    # With 400 people (ward 60 → 360), its figure is 400 / 400 = 1.00: no longer an outlier.
    with django_capture_on_commit_callbacks(execute=True):
        snapshot_build_for_date(date=D)
    assert SpotCheckFlag.objects.filter(date=D, prefecture=fourteen[-1]).exists()

    with django_capture_on_commit_callbacks(execute=True):
        protected_staff_set(user=office, counts={(fourteen[-1].code, "ward"): 360})

    figure = SpotCheckFigure.objects.get(date=D, item=n95, prefecture=fourteen[-1])
    assert (figure.figure, figure.flagged) == (1, False)
    assert not SpotCheckFlag.objects.filter(date=D).exists()
    spot_checks_compute_for_date(date=D)  # and a rerun agrees
    assert not SpotCheckFlag.objects.filter(date=D).exists()


def test_the_admin_cannot_change_protected_staff(admin_client, fourteen):
    row = ProtectedStaff.objects.filter(prefecture=fourteen[0]).first()
    change = reverse("admin:supplycoord_protectedstaff_change", args=[row.pk])

    admin_client.post(
        change, {"prefecture": row.prefecture_id, "category": row.category_id, "count": 5}
    )

    row.refresh_from_db()
    assert row.count == 60  # ward staff of the worked example, unchanged
    assert admin_client.get(reverse("admin:supplycoord_protectedstaff_add")).status_code == 403
    assert admin_client.get(change).status_code == 200  # it still shows the count
