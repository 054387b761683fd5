"""State changes of inventory. Pages, the API and imports all call these."""

import contextlib
import dataclasses
import datetime as dt
import re
import uuid
from collections.abc import Mapping

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import BigIntegerField, Case, F, Sum, Value, When
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from supplycoord.lib.dates import cutoff_for, earliest_date, parse_iso_date
from supplycoord.models import Item, Prefecture, ProtectedStaff, StaffCategory
from supplycoord.selectors import earliest_entry_date, user_can_report_for_prefecture

from .models import (
    FIGURE_FIELDS,
    AdjustmentReason,
    DailyFigure,
    DocumentSequence,
    IssueKind,
    ReceiptSource,
    StockBalance,
    StockEvent,
    StockEventKind,
    StockEventLine,
    Warehouse,
)
from .selectors import user_can_post_to_warehouse
from .signals import daily_figures_changed

# PostgreSQL bigint; anything above is a typo, not a stock figure.
MAX_FIGURE = 10**15
WHOLE_NUMBER = re.compile(r"-?[0-9]+", re.ASCII)
FULL_WIDTH = str.maketrans("０１２３４５６７８９，－　", "0123456789,- ")


@dataclasses.dataclass(frozen=True)
class RowError:
    row: int | None  # position in the submitted list, from 0; None for the submission as a whole
    field: str
    message: str

    def as_dict(self):
        return {"row": self.row, "field": self.field, "message": str(self.message)}


class DailyFiguresInvalid(Exception):
    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} invalid field(s)")
        self.errors = errors


class DailyFiguresOutOfScope(Exception):
    """The caller tried to write figures of a prefecture that is not theirs."""

    def __init__(self, rows: list[int]):
        super().__init__(f"rows outside the caller's scope: {rows}")
        self.rows = rows


@dataclasses.dataclass
class SubmitResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    dates_changed: set = dataclasses.field(default_factory=set)

    def as_dict(self):
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


def _parse_whole_number(value):
    """A whole, non-negative number: 12, "12" and 12.0 pass; 1.5, -1, "", True fail."""
    if isinstance(value, bool) or value is None:
        return None, _("This field is required.") if value is None else _("Enter a whole number.")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            return None, _("Enter a whole number.")
        number = int(value)
    elif isinstance(value, str):
        # Full-width digits and commas (１，２００, typed with a Chinese IME) become ASCII;
        # anything else that is not plain ASCII digits ("²", "٣", "--5", "1e3") is refused.
        text = value.translate(FULL_WIDTH).strip().replace(",", "")
        if text == "":
            return None, _("This field is required.")
        if not WHOLE_NUMBER.fullmatch(text):
            return None, _("Enter a whole number.")
        number = int(text)
    else:
        return None, _("Enter a whole number.")
    if number < 0:
        return None, _("Must be zero or more.")
    if number >= MAX_FIGURE:
        return None, _("This number is too large.")
    return number, None


def daily_figures_submit(
    *, user, rows: list[dict], reason: str = "", now: dt.datetime | None = None
) -> SubmitResult:
    """Save a prefecture's daily figures, all rows or none.

    Each row: prefecture (code or Prefecture), item (code or Item), date, the five figures,
    optionally its own `reason`. A row for an existing key is a correction; a correction of a
    past date must give a reason. Raises DailyFiguresOutOfScope if any row belongs to a
    prefecture the user may not report for, DailyFiguresInvalid with every problem found.

    Two first submissions of the same key at the same moment (an officer's form and a retried
    API call) collide on the unique key; the loser is rolled back and run once more, when the
    winner's rows exist and its own rows become corrections or "unchanged".
    """
    now = now or timezone.now()
    limit = settings.SUPPLYCOORD["MAX_ROWS_PER_SUBMISSION"]
    if len(rows) > limit:
        raise DailyFiguresInvalid(
            [
                RowError(
                    None,
                    "non_field_errors",
                    _("At most %(limit)d rows may be sent at once; split the submission.")
                    % {"limit": limit},
                )
            ]
        )
    try:
        return _daily_figures_submit_once(user=user, rows=rows, reason=reason, now=now)
    except IntegrityError:
        return _daily_figures_submit_once(user=user, rows=rows, reason=reason, now=now)


@transaction.atomic
def _daily_figures_submit_once(*, user, rows, reason, now) -> SubmitResult:
    today = timezone.localdate(now)
    first_allowed = earliest_entry_date(user, today=today)

    prefectures = _by_code(Prefecture, rows, "prefecture")
    items = _by_code(Item, rows, "item")

    errors: list[RowError] = []
    out_of_scope: list[int] = []
    parsed: list[tuple[int, Prefecture, Item, dt.date, dict, str]] = []
    seen_keys: dict[tuple, int] = {}
    for index, row in enumerate(rows):
        row_errors: list[RowError] = []
        if not isinstance(row, dict):
            errors.append(RowError(index, "non_field_errors", _("Each row must be an object.")))
            continue
        prefecture = _resolve(row.get("prefecture"), Prefecture, prefectures)
        if prefecture is None:
            row_errors.append(RowError(index, "prefecture", _("Unknown prefecture code.")))
        elif not prefecture.active:
            row_errors.append(RowError(index, "prefecture", _("This prefecture is not active.")))
        elif not user_can_report_for_prefecture(user, prefecture):
            out_of_scope.append(index)
        item = _resolve(row.get("item"), Item, items)
        if item is None:
            row_errors.append(RowError(index, "item", _("Unknown item code.")))
        elif not item.active:
            row_errors.append(
                RowError(index, "item", _("This item is no longer in the catalogue."))
            )
        date = parse_iso_date(row.get("date"))
        if date is None:
            row_errors.append(RowError(index, "date", _("Enter a valid date (YYYY-MM-DD).")))
        elif date > today:
            row_errors.append(
                RowError(index, "date", _("Figures cannot be entered for a future date."))
            )
        elif date < earliest_date():
            row_errors.append(
                RowError(
                    index,
                    "date",
                    _("Dates before %(date)s are not accepted.")
                    % {"date": earliest_date().isoformat()},
                )
            )
        elif date < first_allowed:
            row_errors.append(
                RowError(
                    index,
                    "date",
                    _("Dates older than %(days)d days can only be entered by office staff.")
                    % {"days": settings.SUPPLYCOORD["OFFICER_BACKDATE_DAYS"]},
                )
            )
        figures = {}
        for field in FIGURE_FIELDS:
            number, message = _parse_whole_number(row.get(field))
            if message:
                row_errors.append(RowError(index, field, message))
            figures[field] = number
        if prefecture and item and date:
            key = (prefecture.pk, item.pk, date)
            if key in seen_keys:
                row_errors.append(
                    RowError(
                        index,
                        "item",
                        _("Duplicate row: the same prefecture, item and date as row %(row)d.")
                        % {"row": seen_keys[key]},
                    )
                )
            else:
                seen_keys[key] = index
        row_reason = str(row.get("reason") or reason or "").strip()
        errors.extend(row_errors)
        if not row_errors and index not in out_of_scope:
            parsed.append((index, prefecture, item, date, figures, row_reason))

    if out_of_scope:
        raise DailyFiguresOutOfScope(out_of_scope)

    existing = _existing_figures(parsed)
    to_create, to_update = [], []
    result = SubmitResult()
    for index, prefecture, item, date, figures, row_reason in parsed:
        current = existing.get((prefecture.pk, item.pk, date))
        if current is None:
            to_create.append(
                DailyFigure(
                    prefecture=prefecture,
                    item=item,
                    date=date,
                    submitted_by=user,
                    first_submitted_at=now,
                    submitted_at=now,
                    on_time=now <= cutoff_for(date),
                    correction_reason="",
                    **figures,
                )
            )
            continue
        if current.figures() == figures:
            result.unchanged += 1
            continue
        if date < today and not row_reason:
            errors.append(
                RowError(index, "reason", _("A correction of a past date needs a reason."))
            )
            continue
        for field, value in figures.items():
            setattr(current, field, value)
        current.submitted_by = user
        current.submitted_at = now
        current.correction_reason = row_reason[:500]
        current._change_reason = row_reason[:100]
        to_update.append(current)

    if errors:
        raise DailyFiguresInvalid(sorted(errors, key=lambda e: (e.row or 0, e.field)))

    if to_create:
        bulk_create_with_history(
            to_create, DailyFigure, batch_size=2000, default_user=user, default_date=now
        )
    if to_update:
        # Django's bulk_update builds a CASE WHEN per row and field (~1,000 rows/s); an upsert
        # on the natural key of the rows locked above writes the same values ~6x faster.
        DailyFigure.objects.bulk_create(
            to_update,
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["prefecture", "item", "date"],
            update_fields=[*FIGURE_FIELDS, "submitted_by", "submitted_at", "correction_reason"],
        )
        # No fields: only the history rows (with each row's change reason) are written.
        bulk_update_with_history(
            to_update, DailyFigure, [], batch_size=2000, default_user=user, default_date=now
        )
    result.created = len(to_create)
    result.updated = len(to_update)
    result.dates_changed = {f.date for f in to_create} | {f.date for f in to_update}
    if result.dates_changed:
        dates = set(result.dates_changed)
        transaction.on_commit(lambda: daily_figures_changed.send(sender=DailyFigure, dates=dates))
    return result


def _by_code(model, rows, field):
    codes = {
        row.get(field).strip()
        for row in rows
        if isinstance(row, dict) and isinstance(row.get(field), str)
    }
    return {obj.code: obj for obj in model.objects.filter(code__in=codes)} if codes else {}


def _resolve(value, model, by_code):
    if isinstance(value, model):
        return value
    if isinstance(value, str):
        return by_code.get(value.strip())
    return None


def _existing_figures(parsed):
    if not parsed:
        return {}
    prefecture_ids = {p.pk for _, p, _, _, _, _ in parsed}
    item_ids = {i.pk for _, _, i, _, _, _ in parsed}
    dates = {d for _, _, _, d, _, _ in parsed}
    wanted = {(p.pk, i.pk, d) for _, p, i, d, _, _ in parsed}
    found = {}
    # Lock the rows we may correct so two simultaneous corrections serialise.
    queryset = DailyFigure.objects.select_for_update().filter(
        prefecture_id__in=prefecture_ids, item_id__in=item_ids, date__in=dates
    )
    for figure in queryset.order_by("pk"):
        key = (figure.prefecture_id, figure.item_id, figure.date)
        if key in wanted:
            found[key] = figure
    return found


class ProtectedStaffInvalid(Exception):
    def __init__(self, errors: dict):
        super().__init__("invalid protected staff counts")
        self.errors = errors  # (prefecture_code, category_code) -> message


@transaction.atomic
def protected_staff_set(*, user, counts: dict) -> int:
    """Set 保障人员数: `counts` maps (prefecture code, staff category code) to a whole number.

    Office staff only. All or nothing; history (who, when, old value) is kept per row.
    Returns the number of rows that changed.
    """
    if not user.is_office:
        raise PermissionError("only office staff edit protected staff")
    prefectures = {p.code: p for p in Prefecture.objects.filter(code__in={p for p, _c in counts})}
    categories = {c.code: c for c in StaffCategory.objects.filter(code__in={c for _p, c in counts})}
    errors, parsed = {}, {}
    for (p_code, c_code), raw in counts.items():
        if p_code not in prefectures or c_code not in categories:
            errors[(p_code, c_code)] = _("Unknown prefecture or staff category.")
            continue
        number, message = _parse_whole_number(raw)
        if message:
            errors[(p_code, c_code)] = message
        else:
            parsed[(prefectures[p_code], categories[c_code])] = number
    if errors:
        raise ProtectedStaffInvalid(errors)
    existing = {
        (row.prefecture_id, row.category_id): row
        for row in ProtectedStaff.objects.select_for_update().filter(
            prefecture__in=prefectures.values(), category__in=categories.values()
        )
    }
    changed = 0
    for (prefecture, category), number in parsed.items():
        row = existing.get((prefecture.pk, category.pk))
        if row is None:
            row = ProtectedStaff(prefecture=prefecture, category=category, count=number)
        elif row.count == number:
            continue
        row.count = number
        row._history_user = user
        row.save()
        changed += 1
    return changed


# --- The provincial reserve ledger (台账) ---------------------------------------------------
#
# Every change of stock in a warehouse is a StockEvent with lines, written by one of the
# services below (allocation, production, the pages and the API all call them). They share
# `_post_stock_event`: validate everything at once, check the caller may post there, hand out
# the next document number, lock the balances in a fixed order, refuse to go negative, write
# the lines and move the balances with F() in the same transaction.
#
# Lock order, the same in every service, so two transactions never wait on each other in a
# circle: the reversed event (reversals only) → the document sequence of (warehouse, month)
# → the event's client UUID (a unique insert) → balance rows, created in item order and
# locked in primary-key order.


@dataclasses.dataclass(frozen=True)
class LineError:
    line: int | None  # position in the event's lines, from 0; None for the event as a whole
    field: str
    message: str

    def as_dict(self):
        return {"line": self.line, "field": self.field, "message": str(self.message)}


class LedgerError(Exception):
    """A stock event the ledger refuses. Pages and the API show `message` to the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class LedgerInvalid(LedgerError):
    """The event as submitted is invalid: `errors` lists every problem found (LineError)."""

    def __init__(self, errors: list[LineError]):
        super().__init__(_("The stock event has %(count)d error(s).") % {"count": len(errors)})
        self.errors = errors


@dataclasses.dataclass(frozen=True)
class Shortfall:
    item: Item
    requested: int  # units the event would take out of the warehouse
    available: int  # the balance before the event

    def as_dict(self):
        return {"item": self.item.code, "requested": self.requested, "available": self.available}


class InsufficientStock(LedgerError):
    """An event would drive one or more balances below zero; nothing was written."""

    def __init__(self, shortfalls: list[Shortfall]):
        details = "; ".join(
            _("%(item)s: %(requested)d requested, %(available)d available")
            % {"item": s.item.code, "requested": s.requested, "available": s.available}
            for s in shortfalls
        )
        super().__init__(_("Not enough stock. %(details)s.") % {"details": details})
        self.shortfalls = shortfalls


class ReversalRefused(LedgerError):
    """The event cannot be reversed: it is a reversal itself, or it was reversed already."""


# What each kind of event asks for; `sign` turns the submitted figure into the line quantity.
_KIND_RULES = {
    StockEventKind.RECEIPT: {"field": "quantity", "sign": 1},
    StockEventKind.ISSUE: {"field": "quantity", "sign": -1},
    StockEventKind.ADJUSTMENT: {"field": "quantity", "sign": 1},
    StockEventKind.COUNT: {"field": "counted", "sign": None},
    StockEventKind.REVERSAL: {"field": "quantity", "sign": 1},
}
TEXT_LIMITS = {"source_document": 128, "counterparty": 128}


@transaction.atomic
def stock_receive(
    *,
    user,
    warehouse,
    lines,
    source,
    source_document="",
    counterparty="",
    occurred_at=None,
    note="",
    client_uuid=None,
) -> StockEvent:
    """Record a receipt (入库) into `warehouse` and raise its balances.

    `lines`: [(Item or item code, quantity > 0), ...] (or {"item", "quantity"} dicts), each
    item once. `source`: a ReceiptSource. `occurred_at`: when the goods arrived (default now;
    back-dating up to SUPPLYCOORD["LEDGER_BACKDATE_DAYS"], never in the future).
    `client_uuid`: a retried call with the same UUID returns the first event unchanged.

    Raises PermissionDenied (user may not post to the warehouse), LedgerInvalid (every
    problem, by line and field). Returns the event; `event.replayed` is True for a retry.
    """
    return _post_stock_event(
        user=user,
        warehouse=warehouse,
        kind=StockEventKind.RECEIPT,
        lines=lines,
        choices={"source": (source, ReceiptSource)},
        source_document=source_document,
        counterparty=counterparty,
        occurred_at=occurred_at,
        note=note,
        client_uuid=client_uuid,
    )


@transaction.atomic
def stock_issue(
    *,
    user,
    warehouse,
    lines,
    issue_kind,
    source_document="",
    counterparty="",
    occurred_at=None,
    note="",
    client_uuid=None,
) -> StockEvent:
    """Record an issue (出库) from `warehouse`: a dispatch or a transfer out.

    `lines`: [(Item or item code, quantity > 0), ...], the quantities taken out (stored as
    negative line quantities). `issue_kind`: an IssueKind. Other arguments as stock_receive.

    Raises InsufficientStock, listing every short item with what was requested and what was
    available, if any line exceeds its balance (nothing is written then); PermissionDenied;
    LedgerInvalid.
    """
    return _post_stock_event(
        user=user,
        warehouse=warehouse,
        kind=StockEventKind.ISSUE,
        lines=lines,
        choices={"issue_kind": (issue_kind, IssueKind)},
        source_document=source_document,
        counterparty=counterparty,
        occurred_at=occurred_at,
        note=note,
        client_uuid=client_uuid,
    )


@transaction.atomic
def stock_adjust(
    *, user, warehouse, lines, reason, note="", occurred_at=None, client_uuid=None
) -> StockEvent:
    """Record an adjustment (damaged, expired, count difference, other) in `warehouse`.

    `lines`: [(Item or item code, signed non-zero delta), ...]. `reason`: an
    AdjustmentReason; OTHER needs a `note`. Raises InsufficientStock if a negative delta
    exceeds the balance, PermissionDenied, LedgerInvalid.
    """
    return _post_stock_event(
        user=user,
        warehouse=warehouse,
        kind=StockEventKind.ADJUSTMENT,
        lines=lines,
        choices={"reason": (reason, AdjustmentReason)},
        occurred_at=occurred_at,
        note=note,
        client_uuid=client_uuid,
    )


@transaction.atomic
def stock_count(*, user, warehouse, counts, note="", occurred_at=None, client_uuid=None):
    """Record a physical count (盘点) in `warehouse`: each balance becomes the counted figure.

    `counts`: [(Item or item code, counted >= 0), ...] (or {"item", "counted"} dicts). Each
    line keeps `counted` and, as `quantity`, the difference from the balance just before
    the count (counted − balance), so the ledger still sums to the balance. An item counted
    as expected gets a line with quantity 0: the count shows on its stock card.

    A back-dated count compares with the balance at `occurred_at` (the ledger up to then),
    so on the stock card the balance after the count is the counted figure and the events
    recorded since still apply on top of it; the current balance is then counted + those.
    Without later events, as usual, the balance simply becomes the counted figure.

    Raises PermissionDenied, LedgerInvalid, InsufficientStock (a back-dated count below what
    was issued since).

    Raises PermissionDenied, LedgerInvalid.
    """
    return _post_stock_event(
        user=user,
        warehouse=warehouse,
        kind=StockEventKind.COUNT,
        lines=counts,
        occurred_at=occurred_at,
        note=note,
        client_uuid=client_uuid,
    )


@transaction.atomic
def stock_reverse(*, user, event: StockEvent, reason: str) -> StockEvent:
    """Reverse a mistaken event: a new REVERSAL event with every line negated.

    Nothing is edited or deleted: the reversal points at `event` (`reverses`) and happens now.
    `reason` is required and kept as the reversal's note.

    Raises PermissionDenied (user may not post to the event's warehouse), ReversalRefused
    (`event` is a reversal itself, or was reversed already), LedgerInvalid (no reason,
    inactive warehouse), InsufficientStock (the reversal would drive a balance negative,
    e.g. a receipt whose stock was issued since).
    """
    # Locked first: two reversals of one event at once serialise here, and the second
    # then finds the first.
    original = StockEvent.objects.select_for_update().get(pk=event.pk)
    warehouse = Warehouse.objects.get(pk=original.warehouse_id)
    if not user_can_post_to_warehouse(user, warehouse):
        raise PermissionDenied(_("You may not post stock events to this warehouse."))
    if original.kind == StockEventKind.REVERSAL:
        raise ReversalRefused(
            _("A reversal cannot be reversed; record a new event for what happened instead.")
        )
    reversal = StockEvent.objects.filter(reverses=original).only("document_number").first()
    if reversal is not None:
        raise ReversalRefused(
            _("This event was already reversed by %(document)s.")
            % {"document": reversal.document_number}
        )
    reason_text = reason.strip() if isinstance(reason, str) else ""
    if not reason_text:
        raise LedgerInvalid([LineError(None, "reason", _("Give the reason for the reversal."))])
    lines = [
        (line.item, -line.quantity) for line in original.lines.select_related("item").order_by("id")
    ]
    return _post_stock_event(
        user=user,
        warehouse=warehouse,
        kind=StockEventKind.REVERSAL,
        lines=lines,
        note=reason_text,
        reverses=original,
    )


def _post_stock_event(
    *,
    user,
    warehouse,
    kind,
    lines,
    choices=None,
    source_document="",
    counterparty="",
    occurred_at=None,
    note="",
    client_uuid=None,
    reverses=None,
) -> StockEvent:
    """Validate, number and write one event and move its balances. Callers hold a transaction.

    `choices` maps the public name of the kind's one choice field ("source", "issue_kind",
    "reason") to (submitted value, TextChoices).
    """
    now = timezone.now()
    errors: list[LineError] = []
    if isinstance(warehouse, str):
        code = warehouse.strip()
        warehouse = Warehouse.objects.filter(code=code).first() if code else None
    if not isinstance(warehouse, Warehouse):
        errors.append(LineError(None, "warehouse", _("Unknown warehouse code.")))
        warehouse = None
    elif not user_can_post_to_warehouse(user, warehouse):
        raise PermissionDenied(_("You may not post stock events to this warehouse."))

    uuid_value = None
    if client_uuid not in (None, ""):
        uuid_value = _parse_uuid(client_uuid)
        if uuid_value is None:
            errors.append(LineError(None, "client_uuid", _("Enter a valid UUID.")))
        elif warehouse is not None:
            # A retry must not be refused because the first attempt already took the stock.
            existing = StockEvent.objects.filter(client_uuid=uuid_value).first()
            if existing is not None:
                return _replayed(existing, user=user, warehouse=warehouse, kind=kind)

    if warehouse is not None and not warehouse.active:
        errors.append(LineError(None, "warehouse", _("This warehouse is not active.")))

    values = {"receipt_source": "", "issue_kind": "", "adjustment_reason": ""}
    model_field = {
        "source": "receipt_source",
        "issue_kind": "issue_kind",
        "reason": "adjustment_reason",
    }
    for name, (value, choice_class) in (choices or {}).items():
        if value not in choice_class.values:
            errors.append(
                LineError(
                    None,
                    name,
                    _("Choose one of: %(values)s.") % {"values": ", ".join(choice_class.values)},
                )
            )
        else:
            values[model_field[name]] = str(value)

    texts = {}
    for name, value in (
        ("source_document", source_document),
        ("counterparty", counterparty),
        ("note", note),
    ):
        if value is None:
            value = ""
        if not isinstance(value, str):
            errors.append(LineError(None, name, _("Enter text.")))
            value = ""
        value = value.strip()
        limit = TEXT_LIMITS.get(name)
        if limit and len(value) > limit:
            errors.append(
                LineError(
                    None,
                    name,
                    _("At most %(limit)d characters, please.") % {"limit": limit},
                )
            )
        texts[name] = value
    if values["adjustment_reason"] == AdjustmentReason.OTHER and not texts["note"]:
        errors.append(LineError(None, "note", _("Explain an adjustment of reason “other”.")))

    when, message = _occurred_at(occurred_at, now=now)
    if message:
        errors.append(LineError(None, "occurred_at", message))

    parsed = _parse_lines(lines, kind=kind, errors=errors, reversal=reverses is not None)
    if errors:
        raise LedgerInvalid(sorted(errors, key=lambda e: -1 if e.line is None else e.line))

    try:
        # With a client UUID, a savepoint: if another transaction wins the same UUID, all this
        # one did (its document number, the balance rows) rolls back and the winner is returned.
        with transaction.atomic() if uuid_value else contextlib.nullcontext():
            event = _write_event(
                user=user,
                warehouse=warehouse,
                kind=kind,
                parsed=parsed,
                occurred_at=when,
                now=now,
                client_uuid=uuid_value,
                reverses=reverses,
                **values,
                **texts,
            )
    except IntegrityError:
        winner = StockEvent.objects.filter(client_uuid=uuid_value).first() if uuid_value else None
        if winner is None:
            raise
        return _replayed(winner, user=user, warehouse=warehouse, kind=kind)
    event.replayed = False
    return event


def _replayed(event: StockEvent, *, user, warehouse, kind) -> StockEvent:
    """The event a retried client UUID names, if it is the same caller's same kind of event."""
    if event.recorded_by_id != user.pk or event.warehouse_id != warehouse.pk or event.kind != kind:
        raise LedgerInvalid(
            [
                LineError(
                    None,
                    "client_uuid",
                    _("This client UUID was already used for another stock event."),
                )
            ]
        )
    event.replayed = True
    return event


def _write_event(
    *, user, warehouse, kind, parsed, occurred_at, now, client_uuid, reverses, **fields
) -> StockEvent:
    event = StockEvent.objects.create(
        warehouse=warehouse,
        kind=kind,
        document_number=_next_document_number(warehouse, occurred_at),
        occurred_at=occurred_at,
        recorded_at=now,
        recorded_by=user,
        client_uuid=client_uuid,
        reverses=reverses,
        **fields,
    )
    item_ids = [item.pk for item, _value in parsed]
    balances = _locked_balances(warehouse, item_ids)
    sign = _KIND_RULES[kind]["sign"]
    counted_against = {}
    if sign is None:
        counted_against = {item_id: balance for item_id, (_pk, balance) in balances.items()}
        if occurred_at < now:
            # Back-dated: compare with the ledger as it stood then (the rows are locked, so
            # no line of these items can arrive meanwhile).
            counted_against = dict.fromkeys(item_ids, 0) | dict(
                StockEventLine.objects.filter(
                    warehouse=warehouse, item_id__in=item_ids, occurred_at__lte=occurred_at
                )
                .values("item_id")
                .annotate(total=Sum("quantity"))
                .order_by()
                .values_list("item_id", "total")
            )
    new_lines, deltas, shortfalls = [], {}, []
    for item, value in parsed:
        pk, balance = balances[item.pk]
        if sign is None:  # a count: the line carries the difference from the balance then
            delta, counted = value - counted_against[item.pk], value
        else:
            delta, counted = sign * value, None
        if balance + delta < 0:
            shortfalls.append(Shortfall(item=item, requested=-delta, available=balance))
        new_lines.append(
            StockEventLine(
                event=event,
                item=item,
                quantity=delta,
                counted=counted,
                warehouse=warehouse,
                occurred_at=occurred_at,
            )
        )
        if delta:
            deltas[pk] = delta
    if shortfalls:
        raise InsufficientStock(shortfalls)
    StockEventLine.objects.bulk_create(new_lines)
    if deltas:
        StockBalance.objects.filter(pk__in=list(deltas)).update(
            quantity=F("quantity")
            + Case(
                *(When(pk=pk, then=Value(delta)) for pk, delta in deltas.items()),
                default=Value(0),
                output_field=BigIntegerField(),
            ),
            updated_at=now,
        )
    return event


def _next_document_number(warehouse: Warehouse, occurred_at: dt.datetime) -> str:
    """`<warehouse code>-<YYYYMM>-<NNNN>`, the month local to the office, from a locked counter.

    The counter row is locked until the transaction ends, so numbers are unique, and a
    rolled-back event gives its number back: no gaps.
    """
    period = timezone.localtime(occurred_at).strftime("%Y%m")
    sequences = DocumentSequence.objects.select_for_update().filter(
        warehouse=warehouse, period=period
    )
    sequence = sequences.first()
    if sequence is None:
        DocumentSequence.objects.bulk_create(
            [DocumentSequence(warehouse=warehouse, period=period)], ignore_conflicts=True
        )
        sequence = sequences.get()
    DocumentSequence.objects.filter(pk=sequence.pk).update(last_number=F("last_number") + 1)
    return f"{warehouse.code}-{period}-{sequence.last_number + 1:04d}"


def _locked_balances(warehouse: Warehouse, item_ids: list[int]) -> dict[int, tuple[int, int]]:
    """{item_id: (balance pk, quantity)}, the rows created if missing and locked in pk order."""
    StockBalance.objects.bulk_create(
        [StockBalance(warehouse=warehouse, item_id=item_id) for item_id in sorted(item_ids)],
        ignore_conflicts=True,
    )
    rows = (
        StockBalance.objects.select_for_update()
        .filter(warehouse=warehouse, item_id__in=item_ids)
        .order_by("pk")
        .values_list("item_id", "pk", "quantity")
    )
    return {item_id: (pk, quantity) for item_id, pk, quantity in rows}


def _occurred_at(value, *, now: dt.datetime):
    """(aware datetime, None) or (None, message): not in the future, not too far back."""
    if value in (None, ""):
        return now, None
    if isinstance(value, str):
        parsed = parse_datetime(value.strip())
        if parsed is None:
            return None, _("Enter a valid date and time.")
        value = parsed
    if not isinstance(value, dt.datetime):
        return None, _("Enter a valid date and time.")
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value > now:
        return None, _("A stock event cannot happen in the future.")
    days = settings.SUPPLYCOORD["LEDGER_BACKDATE_DAYS"]
    if value < now - dt.timedelta(days=days):
        return None, _(
            "A stock event can be dated at most %(days)d days back; record it today with a note."
        ) % {"days": days}
    return value, None


def _parse_uuid(value):
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value).strip())
    except ValueError:
        return None


def _parse_lines(lines, *, kind, errors: list[LineError], reversal: bool) -> list[tuple]:
    """[(Item, whole number)] with errors appended for every bad line; items resolved at once."""
    field = _KIND_RULES[kind]["field"]
    if not isinstance(lines, list | tuple) or not lines:
        errors.append(LineError(None, "lines", _("Add at least one line.")))
        return []
    limit = settings.SUPPLYCOORD["MAX_ROWS_PER_SUBMISSION"]
    if len(lines) > limit:
        errors.append(
            LineError(
                None,
                "lines",
                _("At most %(limit)d lines may be sent at once; split the event.")
                % {"limit": limit},
            )
        )
        return []
    pairs = []
    for index, line in enumerate(lines):
        if isinstance(line, Mapping):
            pairs.append((index, line.get("item"), line.get(field)))
        elif isinstance(line, list | tuple) and len(line) == 2:
            pairs.append((index, line[0], line[1]))
        else:
            errors.append(
                LineError(index, "non_field_errors", _("Each line must give an item and a number."))
            )
    codes = {item.strip() for _i, item, _v in pairs if isinstance(item, str)}
    by_code = {item.code: item for item in Item.objects.filter(code__in=codes)} if codes else {}

    parsed, seen = [], {}
    for index, raw_item, raw_value in pairs:
        item = _resolve(raw_item, Item, by_code)
        if item is None:
            errors.append(LineError(index, "item", _("Unknown item code.")))
        elif not item.active and not reversal:
            errors.append(LineError(index, "item", _("This item is no longer in the catalogue.")))
            item = None
        elif item.pk in seen:
            errors.append(
                LineError(
                    index,
                    "item",
                    _("This item is already on line %(line)d; one line per item.")
                    % {"line": seen[item.pk] + 1},
                )
            )
            item = None
        else:
            seen[item.pk] = index
        number, message = _parse_signed_whole_number(raw_value)
        if message is None:
            message = _check_sign(number, kind)
        if message:
            errors.append(LineError(index, field, message))
        elif item is not None:
            parsed.append((item, number))
    return parsed


def _check_sign(number: int, kind) -> str | None:
    if kind in (StockEventKind.RECEIPT, StockEventKind.ISSUE) and number <= 0:
        return _("Enter a quantity above zero.")
    if kind == StockEventKind.ADJUSTMENT and number == 0:
        return _("An adjustment cannot be zero.")
    if kind == StockEventKind.COUNT and number < 0:
        return _("Must be zero or more.")
    return None


def _parse_signed_whole_number(value):
    """A whole number, possibly negative: 12, "-12", "１，２００" and 12.0 pass; 1.5, "" fail."""
    if isinstance(value, bool) or value is None:
        return None, _("This field is required.") if value is None else _("Enter a whole number.")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            return None, _("Enter a whole number.")
        number = int(value)
    elif isinstance(value, str):
        text = value.translate(FULL_WIDTH).strip().replace(",", "")
        if text == "":
            return None, _("This field is required.")
        if not WHOLE_NUMBER.fullmatch(text):
            return None, _("Enter a whole number.")
        number = int(text)
    else:
        return None, _("Enter a whole number.")
    if abs(number) >= MAX_FIGURE:
        return None, _("This number is too large.")
    return number, None
