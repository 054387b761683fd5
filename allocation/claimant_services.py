"""The claimant register (申请单位, issue 15): the units other than a prefecture that request
supplies (provincial institutions, aid teams, key units, other provinces) and the counties.
The office keeps their codes, names, contacts, who requests for them (users of role
unit_requester) and, for a unit, its protected staff by category (ClaimantStaff: its norm
estimate). Leadership reads the register. Every change is in the history (simple_history on
Destination with its requesters, and on ClaimantStaff), with who made it.
"""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from supplycoord.bulk import RowError, RowsInvalid
from supplycoord.lib.text import max_quantity, text_error
from supplycoord.models import Role, StaffCategory, User
from supplycoord.permissions import can_change_claimants

from .models import UNIT_KINDS, ClaimantStaff, Destination, DestinationKind

# The kinds the register lists; a county is edited here but made with its county (admin).
REGISTER_KINDS = (DestinationKind.COUNTY, *UNIT_KINDS, DestinationKind.OTHER_PROVINCE)
# The kinds a claimant may be created with here.
NEW_KINDS = (*UNIT_KINDS, DestinationKind.OTHER_PROVINCE)
CODE_MAX = 32


class ClaimantInvalid(RowsInvalid):
    """Every problem of a claimant's entry: RowError(None, field, message)."""


def register_claimants():
    """The claimants of the register, by kind and name."""
    return Destination.objects.filter(kind__in=REGISTER_KINDS).order_by("kind", "name_zh", "pk")


def _text(errors, field, value, *, limit, required=False) -> str:
    value = (value or "").strip() if isinstance(value, str | type(None)) else None
    if value is None:
        errors.append(RowError(None, field, _("Enter text.")))
        return ""
    message = text_error(value)
    if message:
        errors.append(RowError(None, field, message))
    elif required and not value:
        errors.append(RowError(None, field, _("This field is required.")))
    elif len(value) > limit:
        errors.append(
            RowError(None, field, _("At most %(limit)d characters, please.") % {"limit": limit})
        )
    return value


def _check(errors, claimant, *, kind, code, name_zh, name_en, contact, phone, requesters, staff):
    if claimant is None and kind not in NEW_KINDS:
        errors.append(
            RowError(
                None,
                "kind",
                _("Choose a provincial institution, an aid team, a key unit or another province."),
            )
        )
    code = _text(errors, "code", code, limit=CODE_MAX, required=True)
    if code and (
        Destination.objects.filter(code=code).exclude(pk=claimant.pk if claimant else None).exists()
    ):
        errors.append(RowError(None, "code", _("Another claimant has this code.")))
    values = {
        "code": code,
        "name_zh": _text(errors, "name_zh", name_zh, limit=128, required=True),
        "name_en": _text(errors, "name_en", name_en, limit=128),
        "contact": _text(errors, "contact", contact, limit=64),
        "phone": _text(errors, "phone", phone, limit=32),
    }
    requesters = list(requesters or [])
    if any(not isinstance(u, User) or u.role != Role.UNIT_REQUESTER for u in requesters):
        errors.append(
            RowError(None, "requesters", _("Requesters are users of the role unit requester."))
        )
    counts = {}
    for category, count in (staff or {}).items():
        if not isinstance(category, StaffCategory):
            errors.append(RowError(None, "staff", _("Choose a staff category.")))
        elif (
            isinstance(count, bool)
            or not isinstance(count, int)
            or not (0 <= count <= max_quantity())
        ):
            errors.append(
                RowError(None, f"staff_{category.code}", _("Enter a whole number, zero or more."))
            )
        else:
            counts[category] = count
    return values, requesters, counts


def _save_staff(claimant, counts, user):
    """Set the claimant's protected staff: a count of 0 removes the category. Each change is a
    history row of ClaimantStaff with `user`."""
    current = {row.category_id: row for row in ClaimantStaff.objects.filter(destination=claimant)}
    for category, count in counts.items():
        row = current.get(category.pk)
        if count == 0:
            if row is not None:
                row._history_user = user
                row.delete()
            continue
        if row is None:
            row = ClaimantStaff(destination=claimant, category=category, count=count)
        elif row.count == count:
            continue
        row.count = count
        row._history_user = user
        row.save()


@transaction.atomic
def claimant_create(
    *,
    user,
    kind,
    code,
    name_zh,
    name_en="",
    contact="",
    phone="",
    active=True,
    requesters=(),
    staff=None,
) -> Destination:
    """A new claimant unit. Office only. Raises PermissionDenied, ClaimantInvalid."""
    if not can_change_claimants(user):
        raise PermissionDenied(_("Only the office keeps the claimant register."))
    errors: list[RowError] = []
    values, requesters, counts = _check(
        errors,
        None,
        kind=kind,
        code=code,
        name_zh=name_zh,
        name_en=name_en,
        contact=contact,
        phone=phone,
        requesters=requesters,
        staff=staff,
    )
    if errors:
        raise ClaimantInvalid(errors)
    claimant = Destination(kind=kind, active=bool(active), **values)
    claimant._history_user = user
    claimant._change_reason = "claimant_create"
    claimant.save()
    claimant.requesters.set(requesters)
    _save_staff(claimant, counts, user)
    return claimant


@transaction.atomic
def claimant_update(
    *,
    user,
    claimant: Destination,
    code,
    name_zh,
    name_en="",
    contact="",
    phone="",
    active=True,
    requesters=(),
    staff=None,
) -> Destination:
    """Change a claimant of the register (its kind stays). Office only. Raises
    PermissionDenied, ClaimantInvalid."""
    if not can_change_claimants(user):
        raise PermissionDenied(_("Only the office keeps the claimant register."))
    current = Destination.objects.select_for_update().get(pk=claimant.pk)
    if current.kind not in REGISTER_KINDS:
        raise PermissionDenied(_("A prefecture is not kept in the claimant register."))
    errors: list[RowError] = []
    values, requesters, counts = _check(
        errors,
        current,
        kind=current.kind,
        code=code,
        name_zh=name_zh,
        name_en=name_en,
        contact=contact,
        phone=phone,
        requesters=requesters,
        staff=staff,
    )
    if errors:
        raise ClaimantInvalid(errors)
    values["active"] = bool(active)
    changed = any(getattr(current, name) != value for name, value in values.items())
    for name, value in values.items():
        setattr(current, name, value)
    current._history_user = user
    current._change_reason = "claimant_update"
    if changed:
        current.save()
    if set(current.requesters.values_list("pk", flat=True)) != {u.pk for u in requesters}:
        current.requesters.set(requesters)
    _save_staff(current, counts, user)
    return current
