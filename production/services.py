"""State changes of production. Pages, the API and imports all call these."""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from supplycoord.models import Role

from .models import Licence, LineStatus, Producer, ProductionLine
from .selectors import user_can_change_producer

# Fields office staff may set on a producer; reporters are assigned with `reporters=`.
PRODUCER_FIELDS = (
    "name",
    "credit_code",
    "prefecture",
    "county",
    "address",
    "contact",
    "phone",
    "product_categories",
    "status",
    "resumption_date",
    "national_whitelist_since",
    "provincial_whitelist_since",
    "held_reserve_warehouse",
    "active",
)


def _require_office(user):
    if not user.is_authenticated or not user.is_office:
        raise PermissionDenied(_("Only office staff may change the producer register."))


def _set_reporters(producer: Producer, reporters):
    reporters = list(reporters)
    if any(r.effective_role != Role.PRODUCER_REPORTER for r in reporters):
        raise ValidationError(
            {"reporters": _("Only producer reporters or commissioners can be assigned.")}
        )
    producer.reporters.set(reporters)


def _save_with_history(obj, *, user, reason: str):
    # full_clean runs the credit-code validator and the choices for callers that skip forms.
    obj.full_clean()
    obj._history_user = user
    obj._change_reason = reason
    obj.save()


@transaction.atomic
def producer_create(*, user, reporters=(), **fields) -> Producer:
    """Add a producer to the register. Office staff only."""
    _require_office(user)
    unknown = set(fields) - set(PRODUCER_FIELDS)
    if unknown:
        raise TypeError(f"unknown producer fields: {sorted(unknown)}")
    producer = Producer(**fields)
    _save_with_history(producer, user=user, reason="producer_create")
    if reporters:
        _set_reporters(producer, reporters)
    return producer


@transaction.atomic
def producer_update(*, user, producer: Producer, reporters=None, **fields) -> Producer:
    """Change a producer's register entry (and, given `reporters`, who reports for it)."""
    _require_office(user)
    unknown = set(fields) - set(PRODUCER_FIELDS)
    if unknown:
        raise TypeError(f"unknown producer fields: {sorted(unknown)}")
    producer = Producer.objects.select_for_update().get(pk=producer.pk)
    for name, value in fields.items():
        setattr(producer, name, value)
    _save_with_history(producer, user=user, reason="producer_update")
    if reporters is not None:
        _set_reporters(producer, reporters)
    return producer


@transaction.atomic
def production_line_set_status(
    *, user, line: ProductionLine, status: str, on: dt.date | None = None
) -> ProductionLine:
    """Move a line to `status`. Commissioning records the actual date (`on`, else kept)."""
    line = ProductionLine.objects.select_for_update().select_related("producer").get(pk=line.pk)
    if not user_can_change_producer(user, line.producer):
        raise PermissionDenied(_("You may not change this producer's lines."))
    line.status = status
    if line.status == LineStatus.COMMISSIONED and on is not None:
        line.actual_commissioning = on
    _save_with_history(line, user=user, reason="production_line_set_status")
    return line


@transaction.atomic
def licence_add(
    *,
    user,
    producer: Producer,
    kind: str,
    number: str,
    issued: dt.date,
    issuer: str = "",
    expires: dt.date | None = None,
) -> Licence:
    """Record a licence of a producer. Office staff, or a reporter of that producer."""
    if not user_can_change_producer(user, producer):
        raise PermissionDenied(_("You may not add licences to this producer."))
    licence = Licence(
        producer=producer, kind=kind, number=number, issuer=issuer, issued=issued, expires=expires
    )
    _save_with_history(licence, user=user, reason="licence_add")
    return licence
