"""Demand norms: the one service that writes them, and the reads of what is in force.

A norm says how many units of an item one person of a staff category uses per day
(reports.md, "Demand estimate"). Norms are reference data the office edits; each change is a
new *version* with the date it takes effect, so the estimate of a past day keeps using the
norm that was in force then. `norm_set` is the only writer: the page, the admin's users (via
the page) and the demo loader all call it.
"""

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from .lib.dates import LATEST_FILTER_DATE, earliest_date
from .models import Item, Norm, StaffCategory
from .permissions import can_change_norms

# A person does not use a hundred thousand of anything a day: a larger figure is a typo
# (a pack count entered as pieces, a monthly figure entered as daily).
MAX_UNITS_PER_DAY = Decimal("100000")
MAX_SHIFTS_PER_DAY = Decimal("24")
UNITS_PLACES = Decimal("0.0001")
PART_PLACES = Decimal("0.01")


def _decimal(value, *, field: str, places: Decimal, errors: dict) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        errors[field] = _("Enter a number.")
        return None
    if not number.is_finite():
        errors[field] = _("Enter a number.")
        return None
    if number != number.quantize(places):
        errors[field] = _("At most %(places)d decimal places.") % {
            "places": -places.as_tuple().exponent
        }
        return None
    if number < 0:
        errors[field] = _("Must be 0 or more.")
        return None
    return number


@transaction.atomic
def norm_set(
    *,
    user,
    staff_category: StaffCategory,
    item: Item,
    effective_from: dt.date,
    units_per_person_per_day=None,
    per_shift=None,
    shifts_per_day=None,
    note: str = "",
) -> Norm:
    """Set the norm of (staff category, item) from `effective_from` on. Office staff only.

    Give either `units_per_person_per_day`, or `per_shift` and `shifts_per_day` (then the
    daily figure is their product), or all three when they agree. A new date adds a version;
    the versions before it stay in force for their days. The same date again replaces that
    version (a correction): its history keeps the old figures and who changed them.
    0 is a valid norm ("this category needs none of this item from this date").

    Raises PermissionDenied for anyone but office staff and admins, ValidationError (a dict
    of field → message, every problem at once) for bad input.
    """
    if not can_change_norms(user):
        raise PermissionDenied(_("Only office staff may change demand norms."))

    errors: dict[str, str] = {}
    units = _decimal(
        units_per_person_per_day,
        field="units_per_person_per_day",
        places=UNITS_PLACES,
        errors=errors,
    )
    part = _decimal(per_shift, field="per_shift", places=PART_PLACES, errors=errors)
    shifts = _decimal(shifts_per_day, field="shifts_per_day", places=PART_PLACES, errors=errors)
    if shifts is not None and not Decimal("0") < shifts <= MAX_SHIFTS_PER_DAY:
        errors["shifts_per_day"] = _("Shifts per day must be more than 0 and at most 24.")
    if not errors:
        if (part is None) != (shifts is None):
            missing = "shifts_per_day" if shifts is None else "per_shift"
            errors[missing] = _("Give both the units per shift and the shifts per day.")
        elif part is not None:
            product = part * shifts
            if units is None:
                units = product
            elif units != product:
                errors["units_per_person_per_day"] = _(
                    "%(part)s per shift × %(shifts)s shifts is %(product)s a day, not %(units)s."
                ) % {"part": part, "shifts": shifts, "product": product, "units": units}
        elif units is None:
            errors["units_per_person_per_day"] = _(
                "Give the units per person per day, or the units per shift and shifts per day."
            )
    if (
        units is not None
        and units >= MAX_UNITS_PER_DAY
        and "units_per_person_per_day" not in errors
    ):
        errors["units_per_person_per_day"] = _(
            "At most %(max)s units per person per day: check the unit of the item."
        ) % {"max": f"{MAX_UNITS_PER_DAY:,}"}
    if not isinstance(effective_from, dt.date) or isinstance(effective_from, dt.datetime):
        errors["effective_from"] = _("Enter a valid date.")
    elif not earliest_date() <= effective_from <= LATEST_FILTER_DATE:
        errors["effective_from"] = _("Enter a date between %(first)s and %(last)s.") % {
            "first": earliest_date().isoformat(),
            "last": LATEST_FILTER_DATE.isoformat(),
        }
    note = (note or "").strip()
    if len(note) > 2000:
        errors["note"] = _("At most 2,000 characters.")
    if errors:
        raise ValidationError(errors)

    # Lock the version being replaced, if any, so two people correcting it at once are
    # serialised and the history records both changes in order.
    norm = (
        Norm.objects.select_for_update()
        .filter(staff_category=staff_category, item=item, effective_from=effective_from)
        .first()
    )
    if norm is None:
        norm = Norm(
            staff_category=staff_category,
            item=item,
            effective_from=effective_from,
            created_by=user,
        )
    norm.units_per_person_per_day = units.quantize(UNITS_PLACES)
    norm.per_shift = part
    norm.shifts_per_day = shifts
    norm.note = note
    norm._history_user = user
    norm.save()
    return norm


def norms_in_force(
    date: dt.date, *, items=None, staff_categories=None
) -> dict[tuple[int, int], Norm]:
    """{(staff_category_id, item_id): the norm in force on `date`}, in one query.

    Versions that take effect after `date` are ignored; of the rest the latest wins. A
    (category, item) with no version yet in force is absent (not zero: "no norm").
    """
    versions = Norm.objects.filter(effective_from__lte=date).select_related(
        "staff_category", "item"
    )
    if items is not None:
        versions = versions.filter(item__in=items)
    if staff_categories is not None:
        versions = versions.filter(staff_category__in=staff_categories)
    in_force = {}
    # Oldest first: each later version overwrites the one before it.
    for norm in versions.order_by("effective_from", "pk"):
        in_force[(norm.staff_category_id, norm.item_id)] = norm
    return in_force


def norm_versions(*, item=None, staff_category=None) -> QuerySet[Norm]:
    """Every version, newest date first per (category, item), with who created it."""
    versions = Norm.objects.select_related("staff_category", "item", "created_by")
    if item is not None:
        versions = versions.filter(item=item)
    if staff_category is not None:
        versions = versions.filter(staff_category=staff_category)
    return versions.order_by(
        "staff_category__sort_order",
        "staff_category__code",
        "item__sort_order",
        "item__code",
        "-effective_from",
    )
