"""State changes of procurement: suppliers, reserve-task units, purchase orders, arrivals and
payments. Pages and the API call these; they validate everything and raise domain errors.

Every order service runs in one transaction, checks the caller's rule
(supplycoord.permissions), compares the caller's `expected_version` with the order's
(optimistic concurrency, as for dispatch batches), moves the order with
`filter(pk, version=expected).update(version=F("version") + 1, ...)` and writes an
OrderTransition row with the acting user.

An arrival is a purchase receipt in the reserve ledger, posted by
inventory.services.stock_receive (source document = the order number, the client UUID makes
a retried arrival a no-op), linked to the order lines by OrderArrival/OrderArrivalLine in the
same transaction. Nothing arrives above what was ordered: such a line is refused, by its
position and field, and nothing is saved.

Lock order, the same everywhere: the order row → its lines (by pk) → the year's order-number
sequence → whatever the inventory services lock (document sequences, balances).
"""

import dataclasses
import datetime as dt
import math
import uuid
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from inventory.models import ReceiptSource, StockEvent, Warehouse
from inventory.services import LedgerError, LedgerInvalid, stock_receive
from supplycoord.bulk import parse_signed_whole_number
from supplycoord.events import inbound_changed
from supplycoord.lib.credit_code import is_valid_credit_code
from supplycoord.lib.dates import (
    LATEST_FILTER_DATE,
    earliest_date,
    local_date,
    local_today,
    parse_iso_date,
)
from supplycoord.lib.numbering import next_year_number
from supplycoord.lib.numbers import grouped
from supplycoord.lib.text import ascii_whole_number, text_error
from supplycoord.models import Item
from supplycoord.permissions import (
    can_change_suppliers,
    can_edit_purchase_order,
    can_record_national_allocation,
    can_record_order_arrival,
    can_request_national_allocation,
)

from .models import (
    MAX_AMOUNT,
    OPEN_STATUSES,
    PRICE_DIGITS,
    FundingSource,
    NationalAllocation,
    NationalAllocationArrival,
    NationalRequest,
    NationalRequestStatus,
    NationalRequestTransition,
    NationalRequestYearSequence,
    OrderArrival,
    OrderArrivalLine,
    OrderPayment,
    OrderStatus,
    OrderTransition,
    OrderYearSequence,
    PurchaseOrder,
    PurchaseOrderLine,
    ReserveUnit,
    Supplier,
    SupplierCapability,
    SupplierOrigin,
)

MAX_LEAD_TIME_DAYS = 365
MAX_PRICE = Decimal(10 ** (PRICE_DIGITS - 2)) - Decimal("0.01")
# An expected arrival further out than this is a typing error (20202-02-20, 2220-02-20).
MAX_YEARS_AHEAD = 5
TEXT_LIMITS = {
    "name": 128,
    "contact": 64,
    "phone": 32,
    "note": 2000,
    "reason": 2000,
    "justification": 4000,
    "reference": 64,
}


@dataclasses.dataclass(frozen=True)
class Problem:
    line: int | None  # position in the submitted lines, from 0; None for the record itself
    field: str
    message: str

    def as_dict(self):
        return {"line": self.line, "field": self.field, "message": str(self.message)}


class ProcurementError(Exception):
    """A change the procurement services refuse. Pages and the API show `message`."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ProcurementInvalid(ProcurementError):
    """The input is invalid: `errors` lists every problem (Problem: line, field, message)."""

    def __init__(self, errors: list[Problem]):
        errors = sorted(errors, key=lambda e: -1 if e.line is None else e.line)
        super().__init__("; ".join(str(e.message) for e in errors))
        self.errors = errors


class OrderConflict(ProcurementError):
    """Someone changed the order since the caller read it."""

    def __init__(self):
        super().__init__(
            _("Someone else changed this order in the meantime. Reload it and try again.")
        )


class OrderWrongState(ProcurementError):
    pass


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


# --- Reading what was typed: one set of rules for pages, the API and code ------------------


def _text(errors, field, value, *, line=None, required=False, multiline=False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.append(Problem(line, field, _("Enter text.")))
        return ""
    value = value.strip()
    message = text_error(value, multiline=multiline)
    if message:
        errors.append(Problem(line, field, message))
        return ""
    limit = TEXT_LIMITS.get(field)
    if limit and len(value) > limit:
        errors.append(
            Problem(line, field, _("At most %(limit)d characters, please.") % {"limit": limit})
        )
    if required and not value:
        errors.append(Problem(line, field, _("This field is required.")))
    return value


def _whole(errors, field, value, *, line=None, minimum=0, maximum=None, required=True):
    """A whole number in [minimum, maximum] (maximum: SUPPLYCOORD["MAX_QUANTITY"]), or None."""
    maximum = settings.SUPPLYCOORD["MAX_QUANTITY"] if maximum is None else maximum
    if value is None or value == "":
        if required:
            errors.append(Problem(line, field, _("This field is required.")))
        return None
    # The one reading of a typed whole number (supplycoord.bulk): "10,000", full-width
    # digits from a Chinese IME and 12.0 pass, as on every other form of the product.
    number, message = parse_signed_whole_number(value)
    if message:
        errors.append(Problem(line, field, message))
        return None
    if number < minimum:
        message = _("Enter a number above zero.") if minimum == 1 else _("Must be zero or more.")
        errors.append(Problem(line, field, message))
        return None
    if number > maximum:
        errors.append(
            Problem(
                line,
                field,
                _("Numbers larger than %(max)s are not accepted.") % {"max": grouped(maximum)},
            )
        )
        return None
    return number


def _money(errors, field, value, *, line=None, maximum=MAX_PRICE, required=True, positive=False):
    """Yuan with at most two decimals, ≥ 0 (> 0 when `positive`), at most `maximum`."""
    if value is None or value == "":
        if required:
            errors.append(Problem(line, field, _("This field is required.")))
        return None
    amount = None
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int) and not isinstance(value, bool):
        amount = Decimal(value)
    elif isinstance(value, float) and math.isfinite(value):
        amount = Decimal(str(value))
    elif isinstance(value, str) and len(value.strip()) <= 40:
        try:
            amount = Decimal(value.strip().replace(",", ""))
        except InvalidOperation:
            amount = None
    if amount is None or not amount.is_finite():
        errors.append(Problem(line, field, _("Enter an amount in yuan, e.g. 12.50.")))
        return None
    if amount < 0 or (positive and amount == 0):
        message = _("Enter an amount above zero.") if positive else _("Must be zero or more.")
        errors.append(Problem(line, field, message))
        return None
    # The size first: quantizing 1e400 to fen would overflow the decimal context.
    if amount > maximum:
        errors.append(
            Problem(
                line,
                field,
                _("Amounts larger than %(max)s yuan are not accepted.")
                % {"max": grouped(maximum, 2)},
            )
        )
        return None
    fen = amount.quantize(Decimal("0.01"))
    if amount != fen:
        errors.append(Problem(line, field, _("At most two decimal places (fen).")))
        return None
    return fen


def _date(errors, field, value, *, line=None, required=True, not_future=False):
    if value is None or value == "":
        if required:
            errors.append(Problem(line, field, _("This field is required.")))
        return None
    day = parse_iso_date(value)
    if day is None:
        errors.append(Problem(line, field, _("Enter a date as YYYY-MM-DD.")))
        return None
    today = local_today()
    latest = today if not_future else min(LATEST_FILTER_DATE, _years_after(today))
    if day < earliest_date() or day > latest:
        errors.append(
            Problem(
                line,
                field,
                _("Enter a date between %(first)s and %(last)s.")
                % {"first": earliest_date().isoformat(), "last": latest.isoformat()},
            )
        )
        return None
    return day


def _years_after(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year + MAX_YEARS_AHEAD)
    except ValueError:  # 29 February
        return day.replace(year=day.year + MAX_YEARS_AHEAD, day=28)


def _choice(errors, field, value, choices, message) -> str | None:
    if isinstance(value, str) and value.strip() in choices.values:
        return value.strip()
    errors.append(Problem(None, field, message))
    return None


def _parse_uuid(value):
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value).strip())
    except ValueError:
        return None


# --- Suppliers and their capabilities --------------------------------------------------------


def _supplier_values(errors, *, name, credit_code, origin, contact, phone, note, supplier=None):
    values = {
        "name": _text(errors, "name", name, required=True),
        "origin": _choice(errors, "origin", origin, SupplierOrigin, _("Choose an origin.")),
        "contact": _text(errors, "contact", contact),
        "phone": _text(errors, "phone", phone),
        "note": _text(errors, "note", note, multiline=True),
    }
    code = _text(errors, "credit_code", credit_code).upper()
    if code and not is_valid_credit_code(code):
        errors.append(
            Problem(
                None,
                "credit_code",
                _(
                    "Enter a valid 18-character unified social credit code (its last "
                    "character is a check character)."
                ),
            )
        )
    elif not code and values["origin"] not in (None, SupplierOrigin.ABROAD):
        errors.append(
            Problem(
                None,
                "credit_code",
                _("An enterprise in China needs its unified social credit code."),
            )
        )
    elif code:
        taken = Supplier.objects.filter(credit_code=code)
        if supplier is not None:
            taken = taken.exclude(pk=supplier.pk)
        if taken.exists():
            errors.append(
                Problem(None, "credit_code", _("A supplier with this credit code is listed."))
            )
    values["credit_code"] = code or None
    return values


@transaction.atomic
def supplier_create(
    *, user, name, origin, credit_code="", contact="", phone="", note=""
) -> Supplier:
    """A new enterprise of the directory. Office only. Raises PermissionDenied,
    ProcurementInvalid (every problem, by field)."""
    _require(can_change_suppliers(user), _("Only the office changes the supplier directory."))
    errors: list[Problem] = []
    values = _supplier_values(
        errors,
        name=name,
        credit_code=credit_code,
        origin=origin,
        contact=contact,
        phone=phone,
        note=note,
    )
    if errors:
        raise ProcurementInvalid(errors)
    supplier = Supplier(**values)
    supplier._history_user = user
    supplier.save()
    return supplier


@transaction.atomic
def supplier_update(*, user, supplier: Supplier, **fields) -> Supplier:
    """Change any of name, credit_code, origin, contact, phone, note, active."""
    _require(can_change_suppliers(user), _("Only the office changes the supplier directory."))
    allowed = {"name", "credit_code", "origin", "contact", "phone", "note", "active"}
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"supplier_update() got unexpected fields: {sorted(unknown)}")
    current = Supplier.objects.select_for_update().get(pk=supplier.pk)
    merged = {name: getattr(current, name) for name in allowed}
    merged.update(fields)
    active = bool(merged.pop("active"))
    errors: list[Problem] = []
    values = _supplier_values(errors, supplier=current, **merged)
    if errors:
        raise ProcurementInvalid(errors)
    for name, value in values.items():
        setattr(current, name, value)
    current.active = active
    current._history_user = user
    current.save()
    return current


def _item(errors, value, *, line=None, field="item") -> Item | None:
    item = value
    if isinstance(value, str):
        code = value.strip()
        item = Item.objects.filter(code=code).first() if code and not text_error(code) else None
    if not isinstance(item, Item) or not item.active:
        errors.append(Problem(line, field, _("Choose an item of the catalogue.")))
        return None
    return item


@transaction.atomic
def supplier_capability_set(
    *,
    user,
    supplier: Supplier,
    item,
    daily_capacity,
    lead_time_days,
    minimum_order=0,
    last_unit_price=None,
) -> SupplierCapability:
    """What `supplier` can deliver of `item` (one row per item: set again to change it)."""
    _require(can_change_suppliers(user), _("Only the office changes the supplier directory."))
    errors: list[Problem] = []
    item = _item(errors, item)
    capacity = _whole(errors, "daily_capacity", daily_capacity, minimum=1)
    lead = _whole(errors, "lead_time_days", lead_time_days, maximum=MAX_LEAD_TIME_DAYS)
    minimum = _whole(errors, "minimum_order", minimum_order, required=False) or 0
    price = _money(errors, "last_unit_price", last_unit_price, required=False)
    if errors:
        raise ProcurementInvalid(errors)
    capability = (
        SupplierCapability.objects.select_for_update().filter(supplier=supplier, item=item).first()
    )
    if capability is None:
        capability = SupplierCapability(supplier=supplier, item=item)
    capability.daily_capacity = capacity
    capability.lead_time_days = lead
    capability.minimum_order = minimum
    capability.last_unit_price = price
    capability.updated_at = timezone.now()
    capability._history_user = user
    capability.save()
    return capability


@transaction.atomic
def supplier_capability_remove(*, user, capability: SupplierCapability) -> None:
    """The supplier no longer offers the item (the history keeps what it offered)."""
    _require(can_change_suppliers(user), _("Only the office changes the supplier directory."))
    capability._history_user = user
    capability.delete()


# --- Reserve-task units ----------------------------------------------------------------------


def _unit_values(errors, *, name, capital_granted, warehouses, contact, phone, note, unit=None):
    values = {
        "name": _text(errors, "name", name, required=True),
        "contact": _text(errors, "contact", contact),
        "phone": _text(errors, "phone", phone),
        "note": _text(errors, "note", note, multiline=True),
        "capital_granted": _money(errors, "capital_granted", capital_granted, maximum=MAX_AMOUNT),
    }
    if values["name"]:
        taken = ReserveUnit.objects.filter(name=values["name"])
        if unit is not None:
            taken = taken.exclude(pk=unit.pk)
        if taken.exists():
            errors.append(Problem(None, "name", _("A reserve-task unit of this name exists.")))
    chosen = list(warehouses or [])
    if any(not isinstance(w, Warehouse) or not w.is_reserve for w in chosen):
        errors.append(
            Problem(
                None,
                "warehouses",
                _("Choose provincial reserve or producer-held reserve warehouses."),
            )
        )
    return values, chosen


@transaction.atomic
def reserve_unit_create(
    *, user, name, capital_granted, warehouses=(), contact="", phone="", note=""
) -> ReserveUnit:
    """A reserve-task unit (承储单位) with its working-capital line granted. Office only."""
    _require(can_change_suppliers(user), _("Only the office changes reserve-task units."))
    errors: list[Problem] = []
    values, chosen = _unit_values(
        errors,
        name=name,
        capital_granted=capital_granted,
        warehouses=warehouses,
        contact=contact,
        phone=phone,
        note=note,
    )
    if errors:
        raise ProcurementInvalid(errors)
    unit = ReserveUnit(**values)
    unit._history_user = user
    unit.save()
    unit.warehouses.set(chosen)
    return unit


@transaction.atomic
def reserve_unit_update(*, user, unit: ReserveUnit, **fields) -> ReserveUnit:
    """Change any of name, capital_granted, warehouses, contact, phone, note, active."""
    _require(can_change_suppliers(user), _("Only the office changes reserve-task units."))
    allowed = {"name", "capital_granted", "warehouses", "contact", "phone", "note", "active"}
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"reserve_unit_update() got unexpected fields: {sorted(unknown)}")
    current = ReserveUnit.objects.select_for_update().get(pk=unit.pk)
    merged = {name: getattr(current, name) for name in allowed - {"warehouses"}}
    merged["warehouses"] = list(current.warehouses.all())
    merged.update(fields)
    active = bool(merged.pop("active"))
    errors: list[Problem] = []
    values, chosen = _unit_values(errors, unit=current, **merged)
    if errors:
        raise ProcurementInvalid(errors)
    for name, value in values.items():
        setattr(current, name, value)
    current.active = active
    current._history_user = user
    current.save()
    current.warehouses.set(chosen)
    return current


# --- Purchase orders ---------------------------------------------------------------------------


def _next_order_number(year: int) -> str:
    """The next number of `year` (CG-2020-001)."""
    return next_year_number(OrderYearSequence, "CG", year)


def _order_header(errors, *, buyer_unit, supplier, funding_source, ordered_on, note) -> dict:
    if buyer_unit is not None and (
        not isinstance(buyer_unit, ReserveUnit) or not buyer_unit.active
    ):
        errors.append(
            Problem(None, "buyer_unit", _("Choose an active reserve-task unit, or the office."))
        )
        buyer_unit = None
    if not isinstance(supplier, Supplier) or not supplier.active:
        errors.append(Problem(None, "supplier", _("Choose an active supplier of the directory.")))
        supplier = None
    funding = _choice(
        errors, "funding_source", funding_source, FundingSource, _("Choose a funding source.")
    )
    if (
        funding == FundingSource.WORKING_CAPITAL
        and buyer_unit is None
        and not any(e.field == "buyer_unit" for e in errors)
    ):
        errors.append(
            Problem(
                None,
                "funding_source",
                _("Only a reserve-task unit buys with working capital; choose the unit."),
            )
        )
    ordered = _date(errors, "ordered_on", ordered_on or local_today(), not_future=True)
    return {
        "buyer_unit": buyer_unit,
        "supplier": supplier,
        "funding_source": funding,
        "ordered_on": ordered,
        "note": _text(errors, "note", note, multiline=True),
    }


def _parse_order_lines(errors, lines, *, ordered_on) -> list[dict]:
    """[{item, quantity, unit_price, expected_arrival}], every problem by line and field."""
    if not isinstance(lines, list | tuple) or not lines:
        errors.append(Problem(None, "lines", _("Add at least one line.")))
        return []
    limit = settings.SUPPLYCOORD["MAX_ROWS_PER_SUBMISSION"]
    if len(lines) > limit:
        errors.append(
            Problem(
                None, "lines", _("At most %(limit)s lines, please.") % {"limit": grouped(limit)}
            )
        )
        return []
    parsed, seen = [], {}
    for index, line in enumerate(lines):
        if not isinstance(line, Mapping):
            errors.append(
                Problem(
                    index,
                    "non_field_errors",
                    _("Each line gives an item, a quantity, a unit price and an expected arrival."),
                )
            )
            continue
        item = _item(errors, line.get("item"), line=index)
        if item is not None and item.pk in seen:
            errors.append(
                Problem(
                    index,
                    "item",
                    _("This item is already on line %(line)s; one line per item.")
                    % {"line": grouped(seen[item.pk] + 1)},
                )
            )
            item = None
        elif item is not None:
            seen[item.pk] = index
        quantity = _whole(errors, "quantity", line.get("quantity"), line=index, minimum=1)
        price = _money(errors, "unit_price", line.get("unit_price"), line=index)
        expected = _date(errors, "expected_arrival", line.get("expected_arrival"), line=index)
        if expected and ordered_on and expected < ordered_on:
            errors.append(
                Problem(
                    index,
                    "expected_arrival",
                    _("The expected arrival cannot be before the order date."),
                )
            )
            expected = None
        if quantity is not None and price is not None and quantity * price > MAX_AMOUNT:
            errors.append(
                Problem(
                    index,
                    "quantity",
                    _("The line's amount (quantity × unit price) is too large."),
                )
            )
            quantity = None
        if None not in (item, quantity, price, expected):
            parsed.append(
                {
                    "item": item,
                    "quantity": quantity,
                    "unit_price": price,
                    "expected_arrival": expected,
                }
            )
    return parsed


def _write_lines(order, parsed):
    PurchaseOrderLine.objects.bulk_create(
        [PurchaseOrderLine(order=order, **line) for line in parsed]
    )


def _audit(order, *, user, from_status, to_status, at, note=""):
    OrderTransition.objects.create(
        order=order, from_status=from_status, to_status=to_status, by=user, at=at, note=note
    )


def _locked(order, expected_version=None) -> PurchaseOrder:
    """The order re-read under a row lock; OrderConflict if it moved since the caller read it
    (`expected_version` None: no check, for an arrival retried with its client UUID)."""
    current = (
        PurchaseOrder.objects.select_for_update(of=("self",))
        .select_related("supplier", "buyer_unit")
        .get(pk=order.pk)
    )
    if expected_version is not None and current.version != expected_version:
        raise OrderConflict()
    return current


def _require_status(order, allowed, message):
    if order.status not in allowed:
        raise OrderWrongState(message % {"status": order.get_status_display()})


# The order transitions that change what the province counts as inbound (procurement/inbound.py).
INBOUND_TRANSITIONS = (OrderStatus.PLACED, OrderStatus.CANCELLED, OrderStatus.CLOSED)


def _transition(order, *, to_status, by, at, note="", **fields) -> PurchaseOrder:
    """The one place an order changes state: moved under its version, audited with it.
    `note` is the transition's (the audit row's); the order's own note is `order_note`."""
    if "order_note" in fields:
        fields["note"] = fields.pop("order_note")
    from_status = order.status
    updated = PurchaseOrder.objects.filter(pk=order.pk, version=order.version).update(
        version=F("version") + 1, status=to_status, **fields
    )
    if updated == 0:
        raise OrderConflict()
    order.refresh_from_db()
    _audit(order, user=by, from_status=from_status, to_status=to_status, at=at, note=note)
    if to_status in INBOUND_TRANSITIONS and from_status != to_status:
        # What is coming changed from this day on (an arrival reaches the reports through
        # its stock event instead).
        inbound_changed(dates={local_date(at)})
    return order


def _check_version(expected_version):
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise ProcurementInvalid(
            [Problem(None, "expected_version", _("Send the version you read."))]
        )


@transaction.atomic
def order_create(
    *,
    user,
    supplier,
    lines,
    funding_source,
    buyer_unit=None,
    ordered_on=None,
    note="",
) -> PurchaseOrder:
    """A draft order with the next number of the year (CG-2020-001).

    `buyer_unit`: a ReserveUnit, or None for the office. `lines`: [{"item": Item or code,
    "quantity": int > 0, "unit_price": yuan (Decimal, int or text), "expected_arrival": date
    or YYYY-MM-DD}], each item once. Raises PermissionDenied (office only), ProcurementInvalid.
    """
    _require(can_edit_purchase_order(user), _("Only the office creates purchase orders."))
    errors: list[Problem] = []
    header = _order_header(
        errors,
        buyer_unit=buyer_unit,
        supplier=supplier,
        funding_source=funding_source,
        ordered_on=ordered_on,
        note=note,
    )
    parsed = _parse_order_lines(errors, lines, ordered_on=header["ordered_on"])
    if errors:
        raise ProcurementInvalid(errors)
    now = timezone.now()
    year = local_date(now).year
    order = PurchaseOrder.objects.create(
        number=_next_order_number(year), year=year, created_by=user, created_at=now, **header
    )
    _write_lines(order, parsed)
    _audit(order, user=user, from_status="", to_status=OrderStatus.DRAFT, at=now)
    return order


@transaction.atomic
def order_update_draft(
    *, user, order: PurchaseOrder, expected_version, lines=None, **fields
) -> PurchaseOrder:
    """Change a draft: any of buyer_unit, supplier, funding_source, ordered_on, note; `lines`
    (as order_create) replaces every line. Raises PermissionDenied, OrderConflict,
    OrderWrongState, ProcurementInvalid."""
    _require(can_edit_purchase_order(user, order), _("Only the office edits purchase orders."))
    allowed = {"buyer_unit", "supplier", "funding_source", "ordered_on", "note"}
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"order_update_draft() got unexpected fields: {sorted(unknown)}")
    _check_version(expected_version)
    current = _locked(order, expected_version)
    _require_status(
        current, (OrderStatus.DRAFT,), _("Only a draft can be edited; this order is %(status)s.")
    )
    merged = {name: getattr(current, name) for name in allowed}
    merged.update(fields)
    errors: list[Problem] = []
    header = _order_header(errors, **merged)
    if lines is None:
        lines = [
            {
                "item": line.item,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "expected_arrival": line.expected_arrival,
            }
            for line in current.lines.select_related("item")
        ]
    parsed = _parse_order_lines(errors, lines, ordered_on=header["ordered_on"])
    if errors:
        raise ProcurementInvalid(errors)
    # The header's note is the order's: the draft edit's audit row carries none.
    header["order_note"] = header.pop("note")
    current = _transition(
        current, to_status=OrderStatus.DRAFT, by=user, at=timezone.now(), **header
    )
    # A draft's lines are not a ledger: replacing them is the edit.
    current.lines.all().delete()
    _write_lines(current, parsed)
    return current


@transaction.atomic
def order_place(*, user, order: PurchaseOrder, expected_version, note="") -> PurchaseOrder:
    """draft → placed: the order is sent to the supplier; its lines are in transit from now
    and a working-capital order commits its amount on the unit's line."""
    _require(can_edit_purchase_order(user, order), _("Only the office places purchase orders."))
    _check_version(expected_version)
    current = _locked(order, expected_version)
    _require_status(
        current, (OrderStatus.DRAFT,), _("Only a draft can be placed; this order is %(status)s.")
    )
    errors: list[Problem] = []
    note = _text(errors, "note", note, multiline=True)
    if errors:
        raise ProcurementInvalid(errors)
    now = timezone.now()
    return _transition(
        current, to_status=OrderStatus.PLACED, by=user, at=now, note=note, placed_at=now
    )


@transaction.atomic
def order_cancel(*, user, order: PurchaseOrder, expected_version, note) -> PurchaseOrder:
    """draft / placed → cancelled (never once goods arrived), with the reason as `note`."""
    _require(can_edit_purchase_order(user, order), _("Only the office cancels purchase orders."))
    _check_version(expected_version)
    current = _locked(order, expected_version)
    _require_status(
        current,
        (OrderStatus.DRAFT, OrderStatus.PLACED),
        _("Only a draft or placed order can be cancelled; this order is %(status)s."),
    )
    errors: list[Problem] = []
    note = _text(errors, "note", note, multiline=True)
    if not note and not errors:
        errors.append(Problem(None, "note", _("Give the reason for cancelling this order.")))
    if current.payments.exists():
        # A cancelled order holds nothing of a working-capital line: its payments would vanish
        # from the line's "paid". Money paid out is settled by closing the order instead.
        errors.append(
            Problem(
                None,
                "non_field_errors",
                _("Payments are recorded on this order: close it instead of cancelling it."),
            )
        )
    if errors:
        raise ProcurementInvalid(errors)
    return _transition(
        current, to_status=OrderStatus.CANCELLED, by=user, at=timezone.now(), note=note
    )


@transaction.atomic
def order_close(*, user, order: PurchaseOrder, expected_version, note="") -> PurchaseOrder:
    """arrived / partly arrived → closed. Closing a partly arrived order needs a note (what
    was settled): what did not arrive stops counting as in transit, and the unpaid part of a
    working-capital order no longer holds the unit's line."""
    _require(can_edit_purchase_order(user, order), _("Only the office closes purchase orders."))
    _check_version(expected_version)
    current = _locked(order, expected_version)
    _require_status(
        current,
        (OrderStatus.ARRIVED, OrderStatus.PARTLY_ARRIVED),
        _("Only an arrived or partly arrived order can be closed; this order is %(status)s."),
    )
    errors: list[Problem] = []
    note = _text(errors, "note", note, multiline=True)
    if current.status == OrderStatus.PARTLY_ARRIVED and not note and not errors:
        errors.append(
            Problem(None, "note", _("Say why the order is closed before everything arrived."))
        )
    if errors:
        raise ProcurementInvalid(errors)
    return _transition(current, to_status=OrderStatus.CLOSED, by=user, at=timezone.now(), note=note)


def _arrival_warehouse(errors, order, warehouse) -> Warehouse | None:
    warehouse = _reserve_warehouse(errors, warehouse)
    if warehouse is None:
        return None
    if order.buyer_unit_id is not None:
        kept = list(order.buyer_unit.warehouses.values_list("pk", flat=True))
        if kept and warehouse.pk not in kept:
            errors.append(
                Problem(
                    None,
                    "warehouse",
                    _("The goods of this order go into a warehouse of %(unit)s.")
                    % {"unit": order.buyer_unit.name},
                )
            )
            return None
    return warehouse


def _reserve_warehouse(errors, warehouse) -> Warehouse | None:
    """An active reserve warehouse (a Warehouse or its code), or None with the problem."""
    if isinstance(warehouse, str):
        code = warehouse.strip()
        warehouse = (
            Warehouse.objects.filter(code=code).first() if code and not text_error(code) else None
        )
    if not isinstance(warehouse, Warehouse) or not warehouse.active or not warehouse.is_reserve:
        errors.append(
            Problem(None, "warehouse", _("Choose an active reserve warehouse by its code."))
        )
        return None
    return warehouse


def _replayed_arrival(arrivals, owner_field: str, owner, uuid_value):
    """The arrival (of `arrivals`, a model with a `receipt_event`) that a retried submission
    already recorded for `owner` (its `owner_field`: an order, an announced allocation), or
    None; a UUID used by another document is refused."""
    event = StockEvent.objects.filter(client_uuid=uuid_value).first()
    if event is None:
        return None
    arrival = arrivals.objects.filter(receipt_event=event).first()
    if arrival is None or getattr(arrival, f"{owner_field}_id") != owner.pk:
        raise ProcurementInvalid(
            [Problem(None, "client_uuid", _("This client UUID belongs to another document."))]
        )
    arrival.replayed = True
    return arrival


@transaction.atomic
def order_arrival_record(
    *,
    user,
    order: PurchaseOrder,
    warehouse,
    lines,
    expected_version=None,
    arrived_at=None,
    note="",
    client_uuid=None,
) -> OrderArrival:
    """Goods of a placed (or partly arrived) order arriving in a reserve warehouse.

    `lines`: [{"line": PurchaseOrderLine or its id, "quantity": int ≥ 0}] (0 or absent lines
    arrive nothing). One purchase receipt is posted with every arriving item; the order
    becomes `arrived` when every line has arrived in full, else `partly arrived` (the rest is
    still in transit). More than is outstanding on a line is refused by line and field.
    `client_uuid`: a retry with the same UUID returns the first arrival (`replayed` True).
    Raises PermissionDenied, OrderConflict, OrderWrongState, ProcurementInvalid.
    """
    _require(
        can_record_order_arrival(user, order), _("Only the office records arrivals of orders.")
    )
    uuid_value = None
    if client_uuid not in (None, ""):
        uuid_value = _parse_uuid(client_uuid)
        if uuid_value is None:
            raise ProcurementInvalid([Problem(None, "client_uuid", _("Enter a valid UUID."))])
        replay = _replayed_arrival(OrderArrival, "order", order, uuid_value)
        if replay is not None:
            return replay
    if expected_version is not None:
        _check_version(expected_version)
    current = _locked(order, expected_version)
    _require_status(
        current,
        (OrderStatus.PLACED, OrderStatus.PARTLY_ARRIVED),
        _("Only a placed order can receive goods; this order is %(status)s."),
    )
    errors: list[Problem] = []
    target = _arrival_warehouse(errors, current, warehouse)
    note = _text(errors, "note", note, multiline=True)
    order_lines = {
        line.pk: line
        for line in current.lines.select_for_update().select_related("item").order_by("pk")
    }
    arriving: dict[int, tuple[int, int]] = {}  # order line id → (position, quantity)
    if not isinstance(lines, list | tuple) or not lines:
        errors.append(Problem(None, "lines", _("Enter the quantity arrived on at least one line.")))
        lines = []
    for index, entry in enumerate(lines):
        if not isinstance(entry, Mapping):
            errors.append(
                Problem(
                    index, "non_field_errors", _("Each line gives an order line and a quantity.")
                )
            )
            continue
        raw_line = entry.get("line")
        line_id = raw_line.pk if isinstance(raw_line, PurchaseOrderLine) else None
        if line_id is None and not isinstance(raw_line, bool):
            if isinstance(raw_line, int):
                line_id = raw_line
            elif isinstance(raw_line, str):
                line_id = ascii_whole_number(raw_line)
        if line_id not in order_lines:
            errors.append(Problem(index, "line", _("Choose a line of this order.")))
            continue
        if line_id in arriving:
            errors.append(Problem(index, "line", _("This order line is given twice.")))
            continue
        quantity = _whole(errors, "quantity", entry.get("quantity"), line=index)
        if quantity is None:
            continue
        order_line = order_lines[line_id]
        if quantity > order_line.outstanding:
            errors.append(
                Problem(
                    index,
                    "quantity",
                    _(
                        "More than was ordered: %(outstanding)s of %(item)s are still expected "
                        "on this line (ordered %(ordered)s, arrived %(arrived)s)."
                    )
                    % {
                        "outstanding": grouped(order_line.outstanding),
                        "item": order_line.item.name,
                        "ordered": grouped(order_line.quantity),
                        "arrived": grouped(order_line.arrived_quantity),
                    },
                )
            )
            continue
        if quantity:
            arriving[line_id] = (index, quantity)
    if not arriving and not errors:
        errors.append(Problem(None, "lines", _("Enter the quantity arrived on at least one line.")))
    if errors:
        raise ProcurementInvalid(errors)

    receipt_lines = sorted(arriving.items(), key=lambda pair: pair[1][0])
    event = _ledger_receipt(
        user=user,
        warehouse=target,
        lines=[(order_lines[pk].item, quantity) for pk, (_i, quantity) in receipt_lines],
        positions=[index for _pk, (index, _q) in receipt_lines],
        source=ReceiptSource.PURCHASE,
        source_document=current.number,
        counterparty=current.supplier.name[:128],
        occurred_at=arrived_at,
        note=note,
        client_uuid=uuid_value,
    )
    if getattr(event, "replayed", False):
        # Another transaction stored this UUID first and recorded its arrival with it.
        arrival = OrderArrival.objects.get(receipt_event=event)
        arrival.replayed = True
        return arrival

    now = timezone.now()
    arrival = OrderArrival.objects.create(
        order=current,
        warehouse=target,
        receipt_event=event,
        arrived_at=event.occurred_at,
        recorded_by=user,
        recorded_at=now,
        note=note,
    )
    OrderArrivalLine.objects.bulk_create(
        [
            OrderArrivalLine(arrival=arrival, order_line=order_lines[pk], quantity=quantity)
            for pk, (_i, quantity) in receipt_lines
        ]
    )
    for pk, (_i, quantity) in receipt_lines:
        PurchaseOrderLine.objects.filter(pk=pk).update(
            arrived_quantity=F("arrived_quantity") + quantity
        )
        order_lines[pk].arrived_quantity += quantity
    done = all(line.arrived_quantity >= line.quantity for line in order_lines.values())
    _transition(
        current,
        to_status=OrderStatus.ARRIVED if done else OrderStatus.PARTLY_ARRIVED,
        by=user,
        at=now,
        # The receipt's document number: the timeline links the step to the ledger.
        note=event.document_number,
    )
    arrival.replayed = False
    return arrival


def _ledger_receipt(*, positions, **receipt) -> StockEvent:
    """inventory.services.stock_receive with its problems as ProcurementInvalid: the ledger's
    line i is named by `positions[i]` (its place in what the caller submitted), its
    `occurred_at` as `arrived_at`. Shared by order arrivals and national allocation arrivals."""
    try:
        return stock_receive(**receipt)
    except LedgerInvalid as exc:
        raise ProcurementInvalid(
            [
                Problem(
                    None if e.line is None else positions[e.line],
                    "arrived_at" if e.field == "occurred_at" else e.field,
                    e.message,
                )
                for e in exc.errors
            ]
        ) from exc
    except LedgerError as exc:
        raise ProcurementInvalid([Problem(None, "non_field_errors", exc.message)]) from exc


def order_amount(order: PurchaseOrder) -> Decimal:
    """Σ quantity × unit price of the order's lines."""
    return sum((line.amount for line in order.lines.all()), Decimal("0.00"))


@transaction.atomic
def order_payment_record(
    *, user, order: PurchaseOrder, amount, paid_on=None, note="", client_uuid=None
) -> OrderPayment:
    """Money paid to the supplier for a placed (or later, not cancelled) order. The sum paid
    never exceeds the order's amount. Office only. `client_uuid`: the same payment sent again
    returns the first (`replayed` True) instead of paying twice."""
    _require(can_edit_purchase_order(user, order), _("Only the office records payments."))
    current = _locked(order)
    uuid_value = None
    if client_uuid not in (None, ""):
        uuid_value = _parse_uuid(client_uuid)
        if uuid_value is None:
            raise ProcurementInvalid([Problem(None, "client_uuid", _("Enter a valid UUID."))])
        # After the order's lock: a second submission waits for the first and then sees it.
        first = OrderPayment.objects.filter(client_uuid=uuid_value).first()
        if first is not None:
            if first.order_id != current.pk:
                raise ProcurementInvalid(
                    [
                        Problem(
                            None,
                            "client_uuid",
                            _("This client UUID belongs to another document."),
                        )
                    ]
                )
            first.replayed = True
            return first
    _require_status(
        current,
        (*OPEN_STATUSES, OrderStatus.CLOSED),
        _("Only a placed order can be paid; this order is %(status)s."),
    )
    errors: list[Problem] = []
    value = _money(errors, "amount", amount, maximum=MAX_AMOUNT, positive=True)
    day = _date(errors, "paid_on", paid_on or local_today(), not_future=True)
    note = _text(errors, "note", note, multiline=True)
    if value is not None:
        total = order_amount(current)
        paid = current.payments.aggregate(s=Sum("amount"))["s"] or Decimal("0.00")
        if paid + value > total:
            errors.append(
                Problem(
                    None,
                    "amount",
                    _(
                        "The order amounts to %(total)s yuan and %(paid)s are paid: at most "
                        "%(left)s yuan can still be paid."
                    )
                    % {
                        "total": grouped(total, 2),
                        "paid": grouped(paid, 2),
                        "left": grouped(total - paid, 2),
                    },
                )
            )
    if errors:
        raise ProcurementInvalid(errors)
    payment = OrderPayment.objects.create(
        order=current,
        amount=value,
        paid_on=day,
        recorded_by=user,
        recorded_at=timezone.now(),
        note=note,
        client_uuid=uuid_value,
    )
    payment.replayed = False
    return payment


# --- The Excel import of orders (procurement/imports.py reads the file) ----------------------


@dataclasses.dataclass(frozen=True)
class RowProblem:
    row: int | None  # index in the imported rows, from 0
    field: str
    message: str


class OrdersImportInvalid(ProcurementError):
    """Imported rows refused: `errors` lists every problem (RowProblem: row, field, message)."""

    def __init__(self, errors: list[RowProblem]):
        super().__init__("; ".join(str(e.message) for e in errors[:5]))
        self.errors = errors


ORDER_FIELDS = ("supplier", "buyer_unit", "funding_source", "ordered_on")


def _import_supplier(value) -> Supplier | None:
    if not isinstance(value, str) or not value.strip() or text_error(value):
        return None
    value = value.strip()
    if is_valid_credit_code(value.upper()):
        return Supplier.objects.filter(credit_code=value.upper()).first()
    return Supplier.objects.filter(name=value).first()


@transaction.atomic
def orders_import(*, user, rows: list[dict]) -> list[PurchaseOrder]:
    """Draft orders from rows of {order_ref, supplier (credit code or name), buyer_unit (unit
    name, blank: the office), funding_source, ordered_on, item, quantity, unit_price,
    expected_arrival}; rows of one order_ref make one order. Every order or none: raises
    OrdersImportInvalid with every problem by row and field."""
    _require(can_edit_purchase_order(user), _("Only the office creates purchase orders."))
    errors: list[RowProblem] = []
    groups: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        ref = row.get("order_ref")
        if not isinstance(ref, str) or not ref.strip():
            errors.append(RowProblem(index, "order_ref", _("This field is required.")))
            continue
        groups.setdefault(ref.strip(), []).append(index)
    units = {unit.name: unit for unit in ReserveUnit.objects.filter(active=True)}
    orders = []
    for indexes in groups.values():
        first = rows[indexes[0]]
        for index in indexes[1:]:
            for field in ORDER_FIELDS:
                if (rows[index].get(field) or None) != (first.get(field) or None):
                    errors.append(
                        RowProblem(
                            index,
                            field,
                            _(
                                "Rows of one order must agree; the order's first row says “%(value)s”."
                            )
                            % {"value": first.get(field) or "—"},
                        )
                    )
        supplier = _import_supplier(first.get("supplier"))
        if supplier is None:
            errors.append(
                RowProblem(
                    indexes[0],
                    "supplier",
                    _("No supplier of the directory has this credit code or name."),
                )
            )
            continue
        unit = None
        unit_name = first.get("buyer_unit")
        if isinstance(unit_name, str) and unit_name.strip():
            unit = units.get(unit_name.strip())
            if unit is None:
                errors.append(
                    RowProblem(
                        indexes[0], "buyer_unit", _("No active reserve-task unit has this name.")
                    )
                )
                continue
        try:
            # A savepoint per order: the others are still checked, and all roll back together.
            with transaction.atomic():
                orders.append(
                    order_create(
                        user=user,
                        supplier=supplier,
                        buyer_unit=unit,
                        funding_source=first.get("funding_source"),
                        ordered_on=first.get("ordered_on"),
                        lines=[
                            {
                                name: rows[index].get(name)
                                for name in ("item", "quantity", "unit_price", "expected_arrival")
                            }
                            for index in indexes
                        ],
                    )
                )
        except ProcurementInvalid as exc:
            errors.extend(
                RowProblem(indexes[0] if e.line is None else indexes[e.line], e.field, e.message)
                for e in exc.errors
                if e.field != "lines"
            )
    if errors:
        raise OrdersImportInvalid(sorted(errors, key=lambda e: (e.row is None, e.row or 0)))
    return orders


# --- National allocation (上面调) ---------------------------------------------------------------
# A request up is numbered per year (SQ-2020-001) and moves sent → partly granted → granted as
# announcements linked to it add up (granted quantity = Σ of their quantities), or sent →
# refused with a reason; every move under the request's version with an audit row. An
# announced allocation arrives as receipts (source national allocation) into its destination
# reserve warehouse, through the same ledger helper as order arrivals.
# Lock order: the request → the announcement → whatever stock_receive locks.


class RequestConflict(ProcurementError):
    """Someone changed the request since the caller read it."""

    def __init__(self):
        super().__init__(
            _("Someone else changed this request in the meantime. Reload it and try again.")
        )


def _locked_request(request, expected_version=None) -> NationalRequest:
    current = (
        NationalRequest.objects.select_for_update(of=("self",))
        .select_related("item")
        .get(pk=request.pk)
    )
    if expected_version is not None and current.version != expected_version:
        raise RequestConflict()
    return current


def _request_transition(request, *, to_status, by, at, note="", **fields) -> NationalRequest:
    """The one place a request changes: moved under its version, audited with it."""
    from_status = request.status
    updated = NationalRequest.objects.filter(pk=request.pk, version=request.version).update(
        version=F("version") + 1, status=to_status, **fields
    )
    if updated == 0:
        raise RequestConflict()
    request.refresh_from_db()
    NationalRequestTransition.objects.create(
        request=request, from_status=from_status, to_status=to_status, by=by, at=at, note=note
    )
    return request


@transaction.atomic
def national_request_create(
    *, user, item, quantity, justification, net_requirement=None, sent_on=None
) -> NationalRequest:
    """申请国家调拨: a request sent up for `quantity` of `item`, numbered SQ-<year>-NNN.

    `net_requirement`: the computed net requirement the request rests on, as the office
    entered it or a caller (the proposal side, which procurement may not import) passes it;
    stored with the request, never recomputed. `sent_on`: default today, never in the future.
    Raises PermissionDenied (office only), ProcurementInvalid (every problem by field)."""
    _require(
        can_request_national_allocation(user),
        _("Only the office requests national allocations."),
    )
    errors: list[Problem] = []
    item = _item(errors, item)
    quantity = _whole(errors, "quantity", quantity, minimum=1)
    net = _whole(errors, "net_requirement", net_requirement, required=False)
    justification = _text(errors, "justification", justification, required=True, multiline=True)
    sent = _date(errors, "sent_on", sent_on or local_today(), not_future=True)
    if errors:
        raise ProcurementInvalid(errors)
    now = timezone.now()
    year = sent.year
    request = NationalRequest.objects.create(
        number=next_year_number(NationalRequestYearSequence, "SQ", year),
        year=year,
        item=item,
        quantity=quantity,
        net_requirement=net,
        justification=justification,
        sent_on=sent,
        created_by=user,
        created_at=now,
    )
    NationalRequestTransition.objects.create(
        request=request, from_status="", to_status=NationalRequestStatus.SENT, by=user, at=now
    )
    return request


@transaction.atomic
def national_request_refuse(
    *, user, request: NationalRequest, expected_version, reason
) -> NationalRequest:
    """sent → refused: the ministry turned the request down, for `reason` (required). A
    request already (partly) granted is not refused: what was granted stands."""
    _require(
        can_request_national_allocation(user, request),
        _("Only the office records the answer to a request."),
    )
    _check_version(expected_version)
    current = _locked_request(request, expected_version)
    if current.status != NationalRequestStatus.SENT:
        raise ProcurementError(
            _("Only a request still waiting for an answer can be refused; this one is %(status)s.")
            % {"status": current.get_status_display()}
        )
    errors: list[Problem] = []
    reason = _text(errors, "reason", reason, multiline=True)
    if not reason and not errors:
        errors.append(Problem(None, "reason", _("Give the reason the request was refused.")))
    if errors:
        raise ProcurementInvalid(errors)
    return _request_transition(
        current,
        to_status=NationalRequestStatus.REFUSED,
        by=user,
        at=timezone.now(),
        note=reason,
        refusal_reason=reason,
    )


def _answered_request(errors, value, item) -> NationalRequest | None:
    """The request an announcement answers (a NationalRequest or its number), locked."""
    if value in (None, ""):
        return None
    request = value
    if isinstance(value, str):
        number = value.strip()
        request = (
            NationalRequest.objects.filter(number=number).first()
            if number and not text_error(number)
            else None
        )
    if not isinstance(request, NationalRequest):
        errors.append(Problem(None, "request", _("Choose a request by its number.")))
        return None
    request = _locked_request(request)
    if request.status == NationalRequestStatus.REFUSED:
        errors.append(Problem(None, "request", _("This request was refused.")))
        return None
    if item is not None and request.item_id != item.pk:
        errors.append(
            Problem(
                None,
                "request",
                _("Request %(number)s is for %(item)s.")
                % {"number": request.number, "item": request.item.name},
            )
        )
        return None
    return request


@transaction.atomic
def national_allocation_announce(
    *,
    user,
    item,
    quantity,
    expected_arrival,
    warehouse,
    request=None,
    reference="",
    announced_on=None,
    note="",
) -> NationalAllocation:
    """国家调拨通知: `quantity` of `item` announced for the reserve `warehouse`, expected on
    `expected_arrival`. Linked to the `request` it answers (optional), it adds to the request's
    granted quantity: the request is granted once the sum reaches what was asked, else partly
    granted (one audited transition, noted with the notice). Raises PermissionDenied (office
    only), ProcurementInvalid (every problem by field)."""
    _require(
        can_record_national_allocation(user),
        _("Only the office records announced national allocations."),
    )
    errors: list[Problem] = []
    item = _item(errors, item)
    quantity = _whole(errors, "quantity", quantity, minimum=1)
    announced = _date(errors, "announced_on", announced_on or local_today(), not_future=True)
    expected = _date(errors, "expected_arrival", expected_arrival)
    if expected and announced and expected < announced:
        errors.append(
            Problem(
                None,
                "expected_arrival",
                _("The expected arrival cannot be before the announcement."),
            )
        )
    target = _reserve_warehouse(errors, warehouse)
    reference = _text(errors, "reference", reference)
    note = _text(errors, "note", note, multiline=True)
    answered = _answered_request(errors, request, item)
    if answered is not None and quantity is not None:
        still = answered.quantity - answered.granted_quantity
        if quantity > still:
            # A second click, or a notice recorded twice, must not grant twice; an allocation
            # beyond the request is recorded without linking it.
            errors.append(
                Problem(
                    None,
                    "quantity",
                    _(
                        "Request %(number)s asked for %(asked)s and %(granted)s are already "
                        "announced: at most %(still)s can be linked to it."
                    )
                    % {
                        "number": answered.number,
                        "asked": grouped(answered.quantity),
                        "granted": grouped(answered.granted_quantity),
                        "still": grouped(max(still, 0)),
                    },
                )
            )
    if errors:
        raise ProcurementInvalid(errors)
    now = timezone.now()
    allocation = NationalAllocation.objects.create(
        item=item,
        quantity=quantity,
        expected_arrival=expected,
        warehouse=target,
        request=answered,
        reference=reference,
        announced_on=announced,
        note=note,
        created_by=user,
        created_at=now,
    )
    # Counted as inbound from the day it was announced on (procurement/inbound.py).
    inbound_changed(dates={announced})
    if answered is not None:
        granted = answered.granted_quantity + quantity
        _request_transition(
            answered,
            to_status=NationalRequestStatus.GRANTED
            if granted >= answered.quantity
            else NationalRequestStatus.PARTLY_GRANTED,
            by=user,
            at=now,
            note=reference or _("announced allocation %(id)s") % {"id": allocation.pk},
            granted_quantity=granted,
        )
    return allocation


@transaction.atomic
def national_allocation_arrival_record(
    *, user, allocation: NationalAllocation, quantity, arrived_at=None, note="", client_uuid=None
) -> NationalAllocationArrival:
    """Goods of an announced allocation arriving in its destination warehouse: one receipt
    (source national allocation) in the ledger, linked here. Partial arrivals leave the rest
    outstanding; more than is outstanding is refused by field with nothing saved.
    `client_uuid`: a retry with the same UUID returns the first arrival (`replayed` True).
    Raises PermissionDenied, ProcurementInvalid."""
    _require(
        can_record_national_allocation(user, allocation),
        _("Only the office records arrivals of national allocations."),
    )
    uuid_value = None
    if client_uuid not in (None, ""):
        uuid_value = _parse_uuid(client_uuid)
        if uuid_value is None:
            raise ProcurementInvalid([Problem(None, "client_uuid", _("Enter a valid UUID."))])
        replay = _replayed_arrival(NationalAllocationArrival, "allocation", allocation, uuid_value)
        if replay is not None:
            return replay
    current = (
        NationalAllocation.objects.select_for_update(of=("self",))
        .select_related("item", "warehouse", "request")
        .get(pk=allocation.pk)
    )
    errors: list[Problem] = []
    amount = _whole(errors, "quantity", quantity, minimum=1)
    note = _text(errors, "note", note, multiline=True)
    if amount is not None and amount > current.outstanding:
        errors.append(
            Problem(
                None,
                "quantity",
                _(
                    "More than was announced: %(outstanding)s of %(item)s are still expected "
                    "(announced %(announced)s, arrived %(arrived)s)."
                )
                % {
                    "outstanding": grouped(current.outstanding),
                    "item": current.item.name,
                    "announced": grouped(current.quantity),
                    "arrived": grouped(current.arrived_quantity),
                },
            )
        )
    if errors:
        raise ProcurementInvalid(errors)
    event = _ledger_receipt(
        user=user,
        warehouse=current.warehouse,
        lines=[(current.item, amount)],
        positions=[None],
        source=ReceiptSource.NATIONAL_ALLOCATION,
        source_document=(current.reference or (current.request.number if current.request else ""))[
            :64
        ],
        counterparty=_("National allocation"),
        occurred_at=arrived_at,
        note=note,
        client_uuid=uuid_value,
    )
    if getattr(event, "replayed", False):
        arrival = NationalAllocationArrival.objects.get(receipt_event=event)
        arrival.replayed = True
        return arrival
    arrival = NationalAllocationArrival.objects.create(
        allocation=current,
        receipt_event=event,
        quantity=amount,
        arrived_at=event.occurred_at,
        recorded_by=user,
        recorded_at=timezone.now(),
        note=note,
    )
    NationalAllocation.objects.filter(pk=current.pk).update(
        arrived_quantity=F("arrived_quantity") + amount
    )
    arrival.replayed = False
    return arrival
