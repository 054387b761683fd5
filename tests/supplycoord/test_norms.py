"""Demand norms: `norm_set` (office only, validated, versioned, with history), which version
is in force on a day, and the demo norms (documented assumptions, idempotent)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from reports.province import DEMO_NOTE_PREFIX, GANSU, province_read
from reports.province.load import province_norms_create
from supplycoord.models import Norm
from supplycoord.norms import norm_set, norm_versions, norms_in_force
from supplycoord.services import reference_load_shipped
from tests.factories import ItemFactory, StaffCategoryFactory

JAN_25 = dt.date(2020, 1, 25)
FEB_10 = dt.date(2020, 2, 10)
DEMO_NORMS = province_read(GANSU).norms


def demo_norms_create(user):
    return province_norms_create(province_read(GANSU), user=user)


@pytest.fixture
def isolation(db):
    return StaffCategoryFactory(code="isolation_ward", name_en="Isolation ward staff")


def set_norm(user, category, item, **kwargs):
    kwargs.setdefault("effective_from", JAN_25)
    return norm_set(user=user, staff_category=category, item=item, **kwargs)


def test_it_lets_the_office_set_a_norm_per_shift_times_shifts(office, isolation, n95):
    norm = set_norm(office, isolation, n95, per_shift="1.5", shifts_per_day="3", note="ward rule")

    norm.refresh_from_db()
    # 1.5 per shift × 3 shifts = 4.5 a day
    assert norm.units_per_person_per_day == Decimal("4.5")
    assert (norm.per_shift, norm.shifts_per_day) == (Decimal("1.5"), Decimal("3"))
    assert norm.created_by == office
    assert norm.note == "ward rule"
    assert norm.history.get().history_user == office


def test_it_accepts_a_daily_figure_directly_and_zero(office, isolation, n95):
    assert set_norm(office, isolation, n95, units_per_person_per_day="2.25").units_display == "2.25"
    later = set_norm(office, isolation, n95, units_per_person_per_day=0, effective_from=FEB_10)
    assert later.units_per_person_per_day == 0


def test_it_accepts_all_three_figures_when_they_agree(office, isolation, n95):
    norm = set_norm(
        office, isolation, n95, per_shift="2", shifts_per_day="2", units_per_person_per_day="4"
    )
    assert norm.units_per_person_per_day == 4


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({}, "units_per_person_per_day"),
        ({"units_per_person_per_day": "-1"}, "units_per_person_per_day"),
        ({"units_per_person_per_day": "abc"}, "units_per_person_per_day"),
        ({"units_per_person_per_day": "1.00001"}, "units_per_person_per_day"),
        ({"units_per_person_per_day": "100000"}, "units_per_person_per_day"),
        ({"per_shift": "1"}, "shifts_per_day"),
        ({"shifts_per_day": "2"}, "per_shift"),
        ({"per_shift": "1", "shifts_per_day": "0"}, "shifts_per_day"),
        ({"per_shift": "1", "shifts_per_day": "25"}, "shifts_per_day"),
        (
            {"per_shift": "1", "shifts_per_day": "3", "units_per_person_per_day": "2"},
            "units_per_person_per_day",
        ),
        (
            {"units_per_person_per_day": "1", "effective_from": dt.date(1999, 12, 31)},
            "effective_from",
        ),
        ({"units_per_person_per_day": "1", "note": "x" * 2001}, "note"),
    ],
)
def test_it_refuses_bad_input_and_saves_nothing(office, isolation, n95, kwargs, field):
    with pytest.raises(ValidationError) as caught:
        set_norm(office, isolation, n95, **kwargs)
    assert field in caught.value.message_dict
    assert not Norm.objects.exists()


@pytest.mark.parametrize("role", ["officer", "outsider", "leader", "reporter"])
def test_it_lets_only_the_office_change_norms(request, role, isolation, n95):
    user = request.getfixturevalue(role)
    with pytest.raises(PermissionDenied):
        set_norm(user, isolation, n95, units_per_person_per_day="3")
    assert not Norm.objects.exists()


def test_it_adds_a_version_for_a_new_date_and_keeps_the_old_one(office, isolation, n95):
    set_norm(office, isolation, n95, units_per_person_per_day="3")
    set_norm(office, isolation, n95, units_per_person_per_day="2", effective_from=FEB_10)

    assert [n.units_per_person_per_day for n in norm_versions(item=n95)] == [2, 3]


def test_it_corrects_a_version_saved_again_for_the_same_date(office, admin_user, isolation, n95):
    first = set_norm(office, isolation, n95, units_per_person_per_day="3")
    again = set_norm(admin_user, isolation, n95, units_per_person_per_day="4", note="typo")

    assert again.pk == first.pk
    assert Norm.objects.count() == 1
    # The history keeps the old figure and says who corrected it.
    history = list(first.history.order_by("history_date"))
    assert [h.units_per_person_per_day for h in history] == [3, 4]
    assert [h.history_user for h in history] == [office, admin_user]
    assert again.created_by == office


def test_the_database_refuses_two_versions_for_one_date(office, isolation, n95):
    set_norm(office, isolation, n95, units_per_person_per_day="3")
    with pytest.raises(IntegrityError), transaction.atomic():
        Norm.objects.create(
            staff_category=isolation, item=n95, effective_from=JAN_25, units_per_person_per_day=1
        )


def test_the_norm_in_force_is_the_latest_version_on_or_before_the_day(office, isolation, n95):
    set_norm(office, isolation, n95, units_per_person_per_day="3")
    set_norm(office, isolation, n95, units_per_person_per_day="2", effective_from=FEB_10)
    key = (isolation.pk, n95.pk)

    assert key not in norms_in_force(JAN_25 - dt.timedelta(days=1))
    assert norms_in_force(JAN_25)[key].units_per_person_per_day == 3
    assert norms_in_force(FEB_10 - dt.timedelta(days=1))[key].units_per_person_per_day == 3
    assert norms_in_force(FEB_10)[key].units_per_person_per_day == 2
    assert norms_in_force(dt.date(2021, 1, 1))[key].units_per_person_per_day == 2


def test_norms_in_force_keep_categories_and_items_apart(office, isolation, n95):
    fever = StaffCategoryFactory(code="fever_clinic")
    gown = ItemFactory(code="FH005")
    set_norm(office, isolation, n95, units_per_person_per_day="3")
    set_norm(office, fever, n95, units_per_person_per_day="1", effective_from=FEB_10)
    set_norm(office, isolation, gown, units_per_person_per_day="1")

    in_force = norms_in_force(FEB_10, items=[n95])
    assert {k: n.units_per_person_per_day for k, n in in_force.items()} == {
        (isolation.pk, n95.pk): 3,
        (fever.pk, n95.pk): 1,
    }


def test_the_demo_norms_are_documented_assumptions_and_load_once(office):
    reference_load_shipped(kinds=("items", "staff_categories"))

    first = demo_norms_create(office)
    second = demo_norms_create(office)

    assert first == {"created": len(DEMO_NORMS), "existing": 0, "skipped": 0}
    assert second == {"created": 0, "existing": len(DEMO_NORMS), "skipped": 0}
    assert Norm.objects.count() == len(DEMO_NORMS)
    assert all(n.note.startswith(DEMO_NOTE_PREFIX) for n in Norm.objects.all())
    assert all("assumption" in n.note for n in Norm.objects.all())
    # Isolation-ward N95: 1 per shift × 3 shifts, then the assumed revision to 2 shifts.
    n95 = norms_in_force(dt.date(2020, 2, 1))
    later = norms_in_force(dt.date(2020, 2, 15))
    key = next(
        k
        for k, n in n95.items()
        if n.staff_category.code == "isolation_ward" and n.item.code == "FH001"
    )
    assert n95[key].units_per_person_per_day == 3
    assert later[key].units_per_person_per_day == 2


def test_the_demo_norms_leave_an_office_correction_alone(office):
    reference_load_shipped(kinds=("items", "staff_categories"))
    demo_norms_create(office)
    norm = Norm.objects.get(
        staff_category__code="fever_clinic", item__code="FH001", effective_from=JAN_25
    )
    norm_set(
        user=office,
        staff_category=norm.staff_category,
        item=norm.item,
        effective_from=JAN_25,
        units_per_person_per_day="5",
        note="our own figure",
    )

    demo_norms_create(office)

    norm.refresh_from_db()
    assert norm.units_per_person_per_day == 5


def test_the_demo_norms_skip_unknown_codes(office):
    assert demo_norms_create(office) == {"created": 0, "existing": 0, "skipped": len(DEMO_NORMS)}
