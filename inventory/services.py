"""State changes of inventory. Pages, the API and imports all call these."""

import dataclasses
import datetime as dt
import functools
import uuid
from collections.abc import Mapping

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from supplycoord.bulk import (
    EntryKind,
    Field,
    RowsInvalid,
    RowsOutOfScope,
    SubmitResult,
    bulk_upsert,
    parse_signed_whole_number,
    parse_whole_number,
    rows_submit,
)
from supplycoord.events import daily_figures_changed, protected_staff_changed, stock_changed
from supplycoord.lib.dates import cutoff_for, local_date, local_today, parse_moment
from supplycoord.lib.numbers import grouped
from supplycoord.lib.pg import execute_prepared
from supplycoord.models import Item, Prefecture, ProtectedStaff, StaffCategory
from supplycoord.permissions import (
    can_backdate_freely,
    can_edit_protected_staff,
    can_import_stock_events,
    can_post_to_warehouse,
    can_report_for_prefecture,
)

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

# --- Daily figures: a declaration on the bulk-rows pipeline (supplycoord.bulk) ---------------


class DailyFiguresInvalid(RowsInvalid):
    """Every problem of a submission of daily figures (RowError: row, field, message)."""


class DailyFiguresOutOfScope(RowsOutOfScope):
    """The caller tried to write figures of a prefecture that is not theirs."""


def sum_of_counties_message(prefecture) -> str:
    """Why a prefecture's own figures are refused while it reports as the sum of its counties."""
    return _(
        "%(prefecture)s reports as the sum of its counties: its counties enter the figures."
    ) % {"prefecture": prefecture.name}


class DailyFiguresKind(EntryKind):
    """日报: a prefecture's five figures of an item and a day."""

    model = DailyFigure
    owner = "prefecture"
    owner_model = Prefecture
    owner_help = "Prefecture code, e.g. 620100."
    fields = (
        Field("stock", gettext_lazy("Stock")),
        Field("received", gettext_lazy("Received")),
        Field("consumption", gettext_lazy("Consumption")),
        Field("demand", gettext_lazy("Demand")),
        Field("expected_arrivals_3d", gettext_lazy("Expected arrivals within 3 days")),
    )
    invalid = DailyFiguresInvalid
    out_of_scope = DailyFiguresOutOfScope

    def messages(self):
        return {
            "unknown_owner": _("Unknown prefecture code."),
            "inactive_owner": _("This prefecture is not active."),
            "duplicate": _("Duplicate row: the same prefecture, item and date as row %(row)s."),
            "api_out_of_scope": _("You may not submit figures for the prefecture of these rows."),
        }

    def may_write(self, user, owner):
        return can_report_for_prefecture(user, owner)

    def prepare(self, owners):
        # Whether a prefecture reports as the sum of its counties is read again, under a share
        # lock held to commit: the office's switch and the counties' derivation lock the
        # prefecture's row for update (inventory.county_figures), so a switch made while this
        # submission was being read is seen here, and refused by check_row, rather than its
        # rows overwriting what the counties derive. Submissions of one prefecture share it.
        ids = sorted({owner.pk for owner in owners})
        if not ids:
            return
        table = connection.ops.quote_name(Prefecture._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, reports_as_sum_of_counties FROM {table} "
                "WHERE id = ANY(%s) ORDER BY id FOR SHARE",
                [ids],
            )
            summed = dict(cursor.fetchall())
        for owner in owners:
            owner.reports_as_sum_of_counties = summed.get(
                owner.pk, owner.reports_as_sum_of_counties
            )

    def check_row(self, *, owner, item, figures):
        # A prefecture reporting as the sum of its counties has its rows derived from theirs
        # (inventory.county_figures): nobody enters them directly, at any door. A refusal of
        # the row (400), not of the caller's scope (403): the office may otherwise write here.
        if owner is not None and owner.reports_as_sum_of_counties:
            return [("prefecture", sum_of_counties_message(owner))]
        return []

    def new_row(self, *, user, owner, item, date, figures, now):
        figure = super().new_row(
            user=user, owner=owner, item=item, date=date, figures=figures, now=now
        )
        figure.on_time = now <= cutoff_for(date)
        return figure

    def save(self, *, user, created, updated, now):
        bulk_upsert(self, user=user, created=created, updated=updated, now=now)
        dates_changed = {row.date for row in (*created, *updated)}
        if dates_changed:
            # Inside the transaction: what listeners write (the reports' outbox rows) commits or
            # rolls back with the figures.
            daily_figures_changed(dates=set(dates_changed))
        return []


DAILY_FIGURES = DailyFiguresKind()
assert DAILY_FIGURES.field_names == FIGURE_FIELDS


def daily_figures_submit(
    *, user, rows: list[dict], reason: str = "", now: dt.datetime | None = None
) -> SubmitResult:
    """Save a prefecture's daily figures, all rows or none (see `supplycoord.bulk.rows_submit`).

    Each row: prefecture (code or Prefecture), item (code or Item), date, the five figures,
    optionally its own `reason`. A row for an existing key is a correction; a correction of a
    past date must give a reason. Raises DailyFiguresOutOfScope if any row belongs to a
    prefecture the user may not report for, DailyFiguresInvalid with every problem found.
    """
    return rows_submit(DAILY_FIGURES, user=user, rows=rows, reason=reason, now=now)


def _resolve(value, model, by_code):
    if isinstance(value, model):
        return value
    if isinstance(value, str):
        return by_code.get(value.strip())
    return None


class ProtectedStaffInvalid(Exception):
    def __init__(self, errors: dict):
        super().__init__("invalid protected staff counts")
        self.errors = errors  # (prefecture_code, category_code) -> message


@transaction.atomic
def protected_staff_set(*, user, counts: dict) -> int:
    """Set 保障人员数: `counts` maps (prefecture code, staff category code) to a whole number.

    Office staff only. All or nothing; history (who, when, old value) is kept per row. A
    change rebuilds the recent dates already built (`protected_staff_changed`): their stored
    spot checks rest on the counts.
    An empty cell (None or blank text) means "no change": the saved count, or its absence,
    stays; it is neither 0 nor an error, so one untouched cell never refuses the table.
    Returns the number of rows that changed.
    """
    if not can_edit_protected_staff(user):
        raise PermissionError("only office staff edit protected staff")
    counts = {
        key: raw
        for key, raw in counts.items()
        if raw is not None and not (isinstance(raw, str) and not raw.strip())
    }
    prefectures = {p.code: p for p in Prefecture.objects.filter(code__in={p for p, _c in counts})}
    categories = {c.code: c for c in StaffCategory.objects.filter(code__in={c for _p, c in counts})}
    errors, parsed = {}, {}
    for (p_code, c_code), raw in counts.items():
        if p_code not in prefectures or c_code not in categories:
            errors[(p_code, c_code)] = _("Unknown prefecture or staff category.")
            continue
        number, message = parse_whole_number(raw)
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
    if changed:
        # In the transaction: the reports' rebuild requests commit with the new counts.
        protected_staff_changed(dates={local_today()})
    return changed


# --- The provincial reserve ledger (台账) ---------------------------------------------------
#
# Every change of stock in a warehouse is a StockEvent with lines, written by one of the
# services below (allocation, production, the pages and the API all call them). They share
# `_post_stock_event`: validate everything at once, check the caller may post there, hand out
# the next document number, lock the balances in a fixed order, refuse to go negative (at any
# later point of the stock card, for a back-dated event), write the lines and move the
# balances in the same transaction. `stock_events_import` posts a whole batch of past events
# with the same invariants, set-based.
#
# Lock order, the same in every service, so two transactions never wait on each other in a
# circle: the reversed event (reversals only) → the document sequences of (warehouse, month),
# in that order → the event's client UUID (a unique insert) → balance rows, created and
# locked in (warehouse, item) order. The batch import takes the same locks in the same order.


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
        super().__init__(
            ngettext(
                "The stock event has %(count)s error.",
                "The stock event has %(count)s errors.",
                len(errors),
            )
            % {"count": grouped(len(errors))}
        )
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
            _("%(item)s: %(requested)s requested, %(available)s available")
            % {
                "item": s.item.name,
                "requested": grouped(s.requested),
                "available": grouped(s.available),
            }
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
# The public name of each kind's choice (the API's) and the model field that keeps it.
_CHOICE_FIELDS = {
    "source": "receipt_source",
    "issue_kind": "issue_kind",
    "reason": "adjustment_reason",
}


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
    history=False,
    for_production_report=False,
) -> StockEvent:
    """Record a receipt (入库) into `warehouse` and raise its balances.

    `lines`: [(Item or item code, quantity > 0), ...] (or {"item", "quantity"} dicts), each
    item once. `source`: a ReceiptSource. `occurred_at`: when the goods arrived (default now;
    back-dating up to SUPPLYCOORD["LEDGER_BACKDATE_DAYS"], never in the future).
    `client_uuid`: a retried call with the same UUID returns the first event unchanged.
    `history`: office staff booking history (a production report they may enter for any past
    day): any past date, as the ledger import allows. `for_production_report`: booked by
    `production_reports_submit`, the only way a producer reporter may post a receipt.

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
        history=history,
        for_production_report=for_production_report,
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
    LedgerInvalid. A back-dated issue must also leave every later balance of the stock card
    at zero or more: `available` is then the lowest balance from `occurred_at` on.
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
    exceeds the balance (back-dated: the lowest balance from `occurred_at` on, as for an
    issue), PermissionDenied, LedgerInvalid.
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
    was issued since: the ledger would go negative after it).
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
def stock_reverse(
    *, user, event: StockEvent, reason: str, for_production_report: bool = False
) -> StockEvent:
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
    if not can_post_to_warehouse(
        user,
        warehouse,
        kind=StockEventKind.REVERSAL,
        reverses_kind=original.kind,
        for_production_report=for_production_report,
    ):
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
        for_production_report=for_production_report,
    )


@dataclasses.dataclass(frozen=True)
class EventLineError:
    event: int | None  # position in the imported list, from 0; None for the batch as a whole
    line: int | None  # position in that event's lines, from 0; None for the event as a whole
    field: str
    message: str

    def as_dict(self):
        return {
            "event": self.event,
            "line": self.line,
            "field": self.field,
            "message": str(self.message),
        }


class StockImportInvalid(LedgerError):
    """An import refused as a whole; `errors` lists every problem found (EventLineError)."""

    def __init__(self, errors: list[EventLineError]):
        super().__init__(
            ngettext(
                "The import has %(count)s error; nothing was saved.",
                "The import has %(count)s errors; nothing was saved.",
                len(errors),
            )
            % {"count": grouped(len(errors))}
        )
        self.errors = errors


# The kinds an import may hold, each with its one choice (public name, choices) if any.
_IMPORT_KINDS = {
    StockEventKind.RECEIPT: ("source", ReceiptSource),
    StockEventKind.ISSUE: ("issue_kind", IssueKind),
    StockEventKind.ADJUSTMENT: ("reason", AdjustmentReason),
    StockEventKind.COUNT: None,
    StockEventKind.REVERSAL: None,
}


def stock_events_import(*, user, events: list[dict]) -> list[StockEvent]:
    """Post a batch of past stock events at once: a paper or Excel ledger being migrated, or
    history being loaded. Office staff and admins only (PermissionDenied otherwise).

    Each event is a dict like the API's: `warehouse` (code), `kind` (receipt, issue,
    adjustment, count or reversal), its choice (`source`, `issue_kind` or `reason`),
    `occurred_at` (any past date: unlike the other services there is no back-dating limit,
    which is the point of an import), `lines`, `note`, `source_document`, `counterparty`,
    `client_uuid`. A reversal names the event it reverses in `reverses` (the client UUID of
    an event earlier in the batch, or the document number or client UUID of a stored event),
    gives its reason as `note`, and takes that event's lines, negated.

    The events are posted in `occurred_at` order (ties in list order), in one transaction,
    with the invariants of the single-event services: no balance is negative at any point of
    any stock card, document numbers stay gap-free per warehouse and month (numbered in date
    order), balances stay Σ of their lines, and an event whose `client_uuid` is already
    stored is not posted again (its stored event is returned, `replayed` True). The work is
    set-based: a few reads for the whole batch, the running balances per (warehouse, item)
    computed in memory, bulk inserts, and one update of the balances.

    All or nothing: StockImportInvalid lists every problem, each with the event's index in
    `events`, the line and the field. Returns the events in the order given. Send a large
    ledger in chunks (a month at a time, say): each call is one transaction.
    """
    if not can_import_stock_events(user):
        raise PermissionDenied(_("Only office staff may import stock events."))
    try:
        posted = _stock_events_import_once(user=user, events=events)
    except IntegrityError:
        # A concurrent call stored one of these client UUIDs first: once more, they are
        # replays now. Anything else fails again and is raised.
        posted = _stock_events_import_once(user=user, events=events)
    return posted


@dataclasses.dataclass
class _ImportedEvent:
    """One event of an import, validated, on its way to the database."""

    index: int
    kind: str
    warehouse: Warehouse
    occurred_at: dt.datetime
    fields: dict  # the choice and texts, as model fields
    client_uuid: uuid.UUID | None
    parsed: list  # [(Item, submitted number)], in line order; a reversal: [(item id, quantity)]
    reverses: "StockEvent | _ImportedEvent | None" = None
    lines: list = dataclasses.field(default_factory=list)  # [(item id, quantity, counted)]
    event: StockEvent | None = None


@transaction.atomic
def _stock_events_import_once(*, user, events) -> list[StockEvent]:
    now = timezone.now()
    if not isinstance(events, list | tuple):
        raise StockImportInvalid(
            [EventLineError(None, None, "events", _("Send a list of events."))]
        )
    errors: list[EventLineError] = []
    results: list[StockEvent | None] = [None] * len(events)
    planned = _import_validate(user, events, now=now, errors=errors, results=results)
    if errors:
        raise StockImportInvalid(sorted(errors, key=_error_order))
    if not planned:
        return results
    planned.sort(key=lambda e: (e.occurred_at, e.index))

    # Locks in the services' order: stored originals were locked while reading them; then
    # the document counters, then the balances (missing rows inserted, then all locked, each
    # in (warehouse, item) order: `_locked_balances`).
    periods: dict[tuple[int, str], int] = {}
    for imported in planned:
        key = (imported.warehouse.pk, _period(imported.occurred_at))
        periods[key] = periods.get(key, 0) + 1
    next_number = _take_document_numbers(periods)
    pairs = {
        (imported.warehouse.pk, item_id)
        for imported in planned
        for item_id in _imported_item_ids(imported)
    }
    balances = _locked_balances(list(pairs), now=now)

    _import_run_balances(planned, balances, errors=errors)
    if errors:
        raise StockImportInvalid(sorted(errors, key=_error_order))

    for imported in planned:
        key = (imported.warehouse.pk, _period(imported.occurred_at))
        imported.event = StockEvent(
            warehouse=imported.warehouse,
            kind=imported.kind,
            document_number=_document_number(imported.warehouse.code, key[1], next_number[key]),
            occurred_at=imported.occurred_at,
            recorded_at=now,
            recorded_by=user,
            client_uuid=imported.client_uuid,
            **imported.fields,
        )
        next_number[key] += 1
    _import_insert_events(planned)
    StockEventLine.objects.bulk_create(
        (
            StockEventLine(
                event=imported.event,
                item_id=item_id,
                quantity=quantity,
                counted=counted,
                warehouse=imported.warehouse,
                occurred_at=imported.occurred_at,
                kind=imported.kind,
            )
            for imported in planned
            for item_id, quantity, counted in imported.lines
        ),
        batch_size=2000,
    )
    moves: dict[int, int] = {}
    for imported in planned:
        for item_id, quantity, _counted in imported.lines:
            pk = balances[(imported.warehouse.pk, item_id)][0]
            moves[pk] = moves.get(pk, 0) + quantity
    _balances_move({pk: delta for pk, delta in moves.items() if delta}, now=now)

    for imported in planned:
        imported.event.replayed = False
        results[imported.index] = imported.event
    _announce_stock_changed({local_date(imported.occurred_at) for imported in planned})
    return results


def _error_order(error: EventLineError):
    return (
        -1 if error.event is None else error.event,
        -1 if error.line is None else error.line,
        error.field,
    )


def _import_validate(user, events, *, now, errors, results) -> list[_ImportedEvent]:
    """Check every event at once; [_ImportedEvent] of those to post. Replays go to `results`.

    A handful of reads for the whole batch: warehouses, items, stored client UUIDs, and the
    stored events reversals name (locked, with their lines).
    """
    dicts = [event for event in events if isinstance(event, Mapping)]
    warehouses = {
        w.code: w
        for w in Warehouse.objects.filter(
            code__in={d["warehouse"].strip() for d in dicts if isinstance(d.get("warehouse"), str)}
        )
    }
    items = _items_by_code(
        {
            code
            for d in dicts
            if isinstance(d.get("kind"), str) and d["kind"] in _KIND_RULES
            for code in _line_item_codes(d.get("lines"))
        }
    )
    # Each event's client UUID by position: None if not given, False if not a UUID.
    uuids = [
        None
        if not isinstance(raw, Mapping) or raw.get("client_uuid") in (None, "")
        else _parse_uuid(raw["client_uuid"]) or False
        for raw in events
    ]
    given = {value for value in uuids if value}
    stored = {
        event.client_uuid: event
        for event in StockEvent.objects.filter(client_uuid__in=given).select_related("warehouse")
    }
    originals = _import_stored_originals(dicts, batch_uuids=given - set(stored))

    planned: list[_ImportedEvent] = []
    batch_by_uuid: dict[uuid.UUID, _ImportedEvent] = {}
    first_use: dict[uuid.UUID, int] = {}
    reversed_in_batch: dict[int, int] = {}
    for index, raw in enumerate(events):

        def error(field, message, line=None, index=index):
            errors.append(EventLineError(index, line, field, message))

        if not isinstance(raw, Mapping):
            error("non_field_errors", _("Each event must be an object."))
            continue
        kind = raw.get("kind")
        if not isinstance(kind, str) or kind not in _IMPORT_KINDS:
            error("kind", _("Choose one of: %(values)s.") % {"values": ", ".join(_IMPORT_KINDS)})
            continue

        client_uuid = uuids[index]
        if client_uuid is False:
            error("client_uuid", _("Enter a valid UUID."))
            client_uuid = None
        elif client_uuid is not None:
            if client_uuid in first_use:
                error(
                    "client_uuid",
                    _("The same client UUID as event %(event)s.")
                    % {"event": grouped(first_use[client_uuid])},
                )
                client_uuid = None
            else:
                first_use[client_uuid] = index
        if client_uuid in stored:
            # Posted before (a rerun of the same import): returned, not posted again.
            event = stored[client_uuid]
            code = raw.get("warehouse")
            if (
                event.recorded_by_id != user.pk
                or event.kind != kind
                or (isinstance(code, str) and code.strip() != event.warehouse.code)
            ):
                error(
                    "client_uuid", _("This client UUID was already used for another stock event.")
                )
            else:
                event.replayed = True
                results[index] = event
            continue

        problems: list[LineError] = []
        reverses = None
        if kind == StockEventKind.REVERSAL:
            reverses, warehouse = _import_reversal_target(
                raw, originals=originals, batch_by_uuid=batch_by_uuid, problems=problems
            )
            if reverses is not None:
                key = id(reverses)
                if key in reversed_in_batch:
                    problems.append(
                        LineError(
                            None,
                            "reverses",
                            _("Event %(event)s already reverses this event.")
                            % {"event": grouped(reversed_in_batch[key])},
                        )
                    )
                reversed_in_batch[key] = index
            if raw.get("lines") not in (None, [], ()):
                problems.append(
                    LineError(
                        None,
                        "lines",
                        _("A reversal takes the lines of the event it reverses; send none."),
                    )
                )
        else:
            code = raw.get("warehouse")
            warehouse = warehouses.get(code.strip()) if isinstance(code, str) else None
            if warehouse is None:
                problems.append(LineError(None, "warehouse", _("Unknown warehouse code.")))
        if warehouse is not None and not warehouse.active:
            problems.append(LineError(None, "warehouse", _("This warehouse is not active.")))

        choice = _IMPORT_KINDS[kind]
        values, texts = _event_fields(
            {choice[0]: (raw.get(choice[0]), choice[1])} if choice else None,
            source_document=raw.get("source_document", ""),
            counterparty=raw.get("counterparty", ""),
            note=raw.get("note", ""),
            errors=problems,
        )
        if kind == StockEventKind.REVERSAL and not texts["note"]:
            problems.append(LineError(None, "note", _("Give the reason for the reversal.")))
        when, message = _occurred_at(raw.get("occurred_at"), now=now, backdate_days=None)
        if message:
            problems.append(LineError(None, "occurred_at", message))
        elif reverses is not None and when < reverses.occurred_at:
            problems.append(
                LineError(
                    None, "occurred_at", _("A reversal cannot happen before the event it reverses.")
                )
            )
        if kind == StockEventKind.REVERSAL:
            parsed = _reversed_lines(reverses) if reverses is not None else []
        else:
            parsed = _parse_lines(
                raw.get("lines"), kind=kind, errors=problems, reversal=False, by_code=items
            )

        errors.extend(EventLineError(index, p.line, p.field, p.message) for p in problems)
        if problems:
            continue
        imported = _ImportedEvent(
            index=index,
            kind=kind,
            warehouse=warehouse,
            occurred_at=when,
            fields={**values, **texts},
            client_uuid=client_uuid,
            parsed=parsed,
            reverses=reverses,
        )
        planned.append(imported)
        if client_uuid is not None:
            batch_by_uuid[client_uuid] = imported
    return planned


def _import_stored_originals(dicts, *, batch_uuids) -> dict:
    """{document number or UUID: stored event} of what the batch's reversals name, locked.

    Lines are fetched with them; `already_reversed` holds the document number of a stored
    reversal of each, if any.
    """
    names = {
        d["reverses"].strip()
        for d in dicts
        if d.get("kind") == StockEventKind.REVERSAL and isinstance(d.get("reverses"), str)
    }
    keys = {name: _parse_uuid(name) for name in names}
    uuids = {value for value in keys.values() if value and value not in batch_uuids}
    numbers = {name for name, value in keys.items() if value is None}
    if not uuids and not numbers:
        return {}
    found = list(
        StockEvent.objects.select_for_update(of=("self",))
        .filter(Q(client_uuid__in=uuids) | Q(document_number__in=numbers))
        .select_related("warehouse")
        .order_by("pk")
    )
    lines: dict[int, list] = {}
    for event_id, item_id, quantity in (
        StockEventLine.objects.filter(event__in=found)
        .order_by("id")
        .values_list("event_id", "item_id", "quantity")
    ):
        lines.setdefault(event_id, []).append((item_id, quantity))
    reversed_by = dict(
        StockEvent.objects.filter(reverses__in=found).values_list("reverses_id", "document_number")
    )
    by_name = {}
    for event in found:
        event.stored_lines = lines.get(event.pk, [])
        event.already_reversed = reversed_by.get(event.pk)
        by_name[event.document_number] = event
        if event.client_uuid:
            by_name[str(event.client_uuid)] = event
    return {name: by_name.get(str(value) if value else name) for name, value in keys.items()}


def _import_reversal_target(raw, *, originals, batch_by_uuid, problems):
    """(the event a reversal names, its warehouse), or (None, None) with a problem noted."""
    name = raw.get("reverses")
    name = name.strip() if isinstance(name, str) else ""
    value = _parse_uuid(name) if name else None
    target = batch_by_uuid.get(value) if value else None
    if target is None:
        target = originals.get(name)
    if target is None:
        problems.append(
            LineError(
                None,
                "reverses",
                _("Name an earlier event of the import (its client UUID) or a stored one."),
            )
        )
        return None, None
    if target.kind == StockEventKind.REVERSAL:
        problems.append(
            LineError(
                None,
                "reverses",
                _("A reversal cannot be reversed; record a new event for what happened instead."),
            )
        )
        return None, None
    if isinstance(target, StockEvent) and target.already_reversed:
        problems.append(
            LineError(
                None,
                "reverses",
                _("This event was already reversed by %(document)s.")
                % {"document": target.already_reversed},
            )
        )
        return None, None
    code = raw.get("warehouse")
    if isinstance(code, str) and code.strip() and code.strip() != target.warehouse.code:
        problems.append(
            LineError(None, "warehouse", _("A reversal happens in the warehouse of its event."))
        )
    return target, target.warehouse


def _reversed_lines(target) -> list:
    """A stored event's lines negated; an imported one's are known once it has run."""
    if isinstance(target, StockEvent):
        return [(item_id, -quantity) for item_id, quantity in target.stored_lines]
    return []


def _imported_item_ids(imported: _ImportedEvent) -> list[int]:
    if imported.kind != StockEventKind.REVERSAL:
        return [item.pk for item, _number in imported.parsed]
    if isinstance(imported.reverses, StockEvent):
        return [item_id for item_id, _quantity in imported.parsed]
    return _imported_item_ids(imported.reverses)


def _import_run_balances(planned, balances, *, errors) -> None:
    """Walk every touched stock card in date order, the imported events among the stored
    lines, and work out each imported line's quantity (`imported.lines`); a problem for each
    point where a balance would go below zero.

    Stored lines at the same moment as an imported event come first (they have lower event
    ids). Each card starts from its balance before the first stored line read: the locked
    balance minus those lines.
    """
    earliest: dict[int, dt.datetime] = {}
    item_ids: dict[int, set] = {}
    for imported in planned:
        w = imported.warehouse.pk
        earliest[w] = min(earliest.get(w, imported.occurred_at), imported.occurred_at)
        item_ids.setdefault(w, set()).update(_imported_item_ids(imported))
    wanted = Q()
    for w, since in earliest.items():
        wanted |= Q(warehouse_id=w, item_id__in=item_ids[w], occurred_at__gte=since)
    stored: dict[tuple, list] = {}
    rows = (
        StockEventLine.objects.filter(wanted)
        .order_by("warehouse_id", "item_id", "occurred_at", "event_id")
        .values_list("warehouse_id", "item_id", "occurred_at", "quantity", "event_id")
    )
    for w, item_id, occurred_at, quantity, event_id in rows.iterator(chunk_size=10_000):
        stored.setdefault((w, item_id), []).append((occurred_at, quantity, event_id))
    running = {
        pair: quantity - sum(line[1] for line in stored.get(pair, ()))
        for pair, (_pk, quantity) in balances.items()
    }
    position = dict.fromkeys(balances, 0)
    taker: dict[tuple, tuple] = {}  # the last imported line that took stock out, per card
    broken: set[tuple] = set()
    items = Item.objects.in_bulk({item_id for _w, item_id in balances})

    def advance(pair, until):
        """Apply the stored lines of `pair` up to `until` (all of them if None)."""
        lines = stored.get(pair, ())
        while position[pair] < len(lines) and (until is None or lines[position[pair]][0] <= until):
            occurred_at, quantity, event_id = lines[position[pair]]
            position[pair] += 1
            running[pair] += quantity
            if running[pair] < 0 and pair not in broken:
                broken.add(pair)
                index, line, field = taker.get(pair, (None, None, "lines"))
                errors.append(
                    EventLineError(
                        index,
                        line,
                        field,
                        _(
                            "This would leave %(item)s at %(balance)s after %(document)s "
                            "of %(date)s, already in the ledger."
                        )
                        % {
                            "item": items[pair[1]].name,
                            "balance": grouped(running[pair]),
                            "document": StockEvent.objects.get(pk=event_id).document_number,
                            "date": local_date(occurred_at).isoformat(),
                        },
                    )
                )

    for imported in planned:
        w = imported.warehouse.pk
        if imported.kind == StockEventKind.REVERSAL:
            source = imported.reverses
            submitted = (
                [(item_id, -quantity) for item_id, quantity, _c in source.lines]
                if isinstance(source, _ImportedEvent)
                else imported.parsed
            )
            field = "reverses"
        else:
            submitted = [(item.pk, number) for item, number in imported.parsed]
            field = _KIND_RULES[imported.kind]["field"]
        sign = _KIND_RULES[imported.kind]["sign"]
        for line, (item_id, number) in enumerate(submitted):
            pair = (w, item_id)
            advance(pair, imported.occurred_at)
            if sign is None:
                quantity, counted = number - running[pair], number
            else:
                quantity, counted = sign * number, None
            if quantity < 0 and running[pair] + quantity < 0:
                errors.append(
                    EventLineError(
                        imported.index,
                        line,
                        field,
                        _(
                            "Not enough stock of %(item)s on %(date)s: %(requested)s "
                            "requested, %(available)s available."
                        )
                        % {
                            "item": items[item_id].name,
                            "date": local_date(imported.occurred_at).isoformat(),
                            "requested": grouped(-quantity),
                            "available": grouped(running[pair]),
                        },
                    )
                )
                continue
            running[pair] += quantity
            if quantity < 0:
                taker[pair] = (imported.index, line, field)
            imported.lines.append((item_id, quantity, counted))
    for pair in stored:
        advance(pair, None)


def _import_insert_events(planned) -> None:
    """Insert the events in date order, in as few statements as their links allow.

    A reversal of an event of the same import needs that event's id: the batch is cut
    before it whenever its original is still unsaved. Ids then follow date order, which is
    the stock card's order among events of the same moment.
    """
    chunk: list[_ImportedEvent] = []

    def flush():
        StockEvent.objects.bulk_create([imported.event for imported in chunk], batch_size=2000)
        chunk.clear()

    for imported in planned:
        original = imported.reverses
        if original is not None:
            if isinstance(original, _ImportedEvent):
                if original.event.pk is None:
                    flush()
                original = original.event
            imported.event.reverses = original
        chunk.append(imported)
    if chunk:
        flush()


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
    history=False,
    for_production_report=False,
) -> StockEvent:
    """Validate, number and write one event and move its balances. Callers hold a transaction.

    `choices` maps the public name of the kind's one choice field ("source", "issue_kind",
    "reason") to (submitted value, TextChoices).
    """
    now = timezone.now()
    errors: list[LineError] = []
    items_by_code = None
    if isinstance(warehouse, str):
        warehouse, items_by_code = _warehouse_and_items(warehouse.strip(), _line_item_codes(lines))
    if not isinstance(warehouse, Warehouse):
        errors.append(LineError(None, "warehouse", _("Unknown warehouse code.")))
        warehouse = None
    elif not can_post_to_warehouse(
        user,
        warehouse,
        kind=kind,
        reverses_kind=reverses.kind if reverses else None,
        for_production_report=for_production_report,
    ):
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
    values, texts = _event_fields(
        choices,
        source_document=source_document,
        counterparty=counterparty,
        note=note,
        errors=errors,
    )
    backdate_days = settings.SUPPLYCOORD["LEDGER_BACKDATE_DAYS"]
    if history and can_backdate_freely(user):
        backdate_days = None
    when, message = _occurred_at(occurred_at, now=now, backdate_days=backdate_days)
    if message:
        errors.append(LineError(None, "occurred_at", message))

    parsed = _parse_lines(
        lines, kind=kind, errors=errors, reversal=reverses is not None, by_code=items_by_code
    )
    if errors:
        raise LedgerInvalid(sorted(errors, key=lambda e: -1 if e.line is None else e.line))

    day = local_date(when)  # the office's day: the document number's month, the announced date
    event = _write_event(
        user=user,
        warehouse=warehouse,
        kind=kind,
        parsed=parsed,
        occurred_at=when,
        period=f"{day.year:04d}{day.month:02d}",
        now=now,
        client_uuid=uuid_value,
        reverses=reverses,
        **values,
        **texts,
    )
    if event is None:
        # Another transaction stored this client UUID first (after the check above): nothing
        # was written but the document number, given back; the winner is the answer.
        winner = StockEvent.objects.get(client_uuid=uuid_value)
        return _replayed(winner, user=user, warehouse=warehouse, kind=kind)
    event.replayed = False
    _announce_stock_changed({day})
    return event


def _announce_stock_changed(dates: set) -> None:
    """Tell the apps that read the ledger (the snapshot rollups' reserve column) which days
    moved. Inside the transaction: what they write (the reports' outbox rows) commits or rolls
    back with the events; they defer their side effects to the commit."""
    stock_changed(dates=dates)


@functools.cache
def _choice_values(choice_class) -> frozenset:
    """A TextChoices' values (its `.values` builds a new list on every read)."""
    return frozenset(choice_class.values)


def _event_fields(choices, *, source_document, counterparty, note, errors) -> tuple[dict, dict]:
    """The event's choice field and texts as model fields, with errors appended."""
    values = {"receipt_source": "", "issue_kind": "", "adjustment_reason": ""}
    for name, (value, choice_class) in (choices or {}).items():
        if not isinstance(value, str) or value not in _choice_values(choice_class):
            errors.append(
                LineError(
                    None,
                    name,
                    _("Choose one of: %(values)s.") % {"values": ", ".join(choice_class.values)},
                )
            )
        else:
            values[_CHOICE_FIELDS[name]] = str(value)

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
    return values, texts


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
    *, user, warehouse, kind, parsed, occurred_at, period, now, client_uuid, reverses, **fields
) -> StockEvent | None:
    """Number and insert the event, write its lines and move its balances, never below zero.

    Returns the event, or None when another transaction stored `client_uuid` first: then
    nothing is written (the document number is given back). Raises InsufficientStock.

    Most events take one statement (`_event_post`; two when a balance row of its items is
    new). A count (its lines are the differences from the balances it finds) takes three, and
    a back-dated event that takes stock out (it is checked against the ledger after it as
    well) four (`_event_post_reading_first`; one more when a balance row is new).
    """
    event = StockEvent(
        warehouse=warehouse,
        kind=kind,
        occurred_at=occurred_at,
        recorded_at=now,
        recorded_by=user,
        client_uuid=client_uuid,
        reverses=reverses,
        **fields,
    )
    sign = _KIND_RULES[kind]["sign"]
    if sign is not None:
        deltas = [(item, sign * value) for item, value in parsed]
        if occurred_at >= now or all(delta >= 0 for _item, delta in deltas):
            return _event_post(event, period, deltas, now=now)
    return _event_post_reading_first(event, period, parsed, now=now)


# --- The statements of the ledger's hot path -------------------------------------------------
#
# On PostgreSQL an event dated now, or one that only adds stock, is ONE statement between
# BEGIN and COMMIT (`_event_post`): the document number, the event, the balances (locked,
# checked and moved, all or none) and the lines. The reports' outbox row for the snapshots
# (`stock_changed`) is one more, so a posted event costs four round trips (it was seven).
# The first event to bring an item into a warehouse takes one statement more (below).
# Warehouse and items given as codes add one read; a client UUID one more (the replay check).
# A count or a back-dated event that takes stock out first reads the locked balances and the
# ledger after it, then writes (`_event_post_reading_first`). The SQL is hand-written:
# compiling the ORM's queries cost more than running them.
#
# Lock order, the same in every path (one statement, read-first, the import), so that no two
# postings wait on each other in a cycle: the document counter(s) of (warehouse, month), then
# the event's client UUID (a unique insert), then the balance rows in two phases:
#   1. every missing balance row of the event's (warehouse, item) pairs is inserted, in
#      (warehouse, item) order, ON CONFLICT DO NOTHING: no existing row is locked, and a row
#      another transaction is inserting is waited for;
#   2. then all the rows are locked FOR UPDATE in (warehouse, item) order, by a statement that
#      began after phase 1 ended, so its snapshot holds every row (FOR UPDATE then returns the
#      newest committed version of each). Only then are balances moved.
# When every row is already in the statement's snapshot, phase 1 has nothing to do and is
# skipped: the rows are locked in the same statement (`_post_sql`, `_locked_balances`);
# otherwise the lock is a second statement (`_post_locked_sql`, or `_locked_balances`' second).
# Inside a statement each step reads the one before it (`ev` reads `seq`; `made` and `cur` run
# only once `ev` has a row), so the order is the data's, not the planner's.


def _period(occurred_at: dt.datetime) -> str:
    """The month of the document number: the event's month in the office's time zone
    (`_post_stock_event` formats it from the event's local date the same way)."""
    return timezone.localtime(occurred_at).strftime("%Y%m")


def _document_number(code: str, period: str, number: int) -> str:
    # `_event_ctes` formats the number the same way in SQL.
    return f"{_document_prefix(code, period)}{number:04d}"


def _document_prefix(code: str, period: str) -> str:
    return f"{code}-{period}-"


@functools.cache
def _event_fields_in_order() -> tuple:
    """The event's columns the statements insert as given (the document number is computed)."""
    return tuple(
        f
        for f in StockEvent._meta.concrete_fields
        if not f.primary_key and f.name != "document_number"
    )


@functools.cache
def _event_ctes() -> str:
    """`seq` and `ev`, the head of both posting statements.

    `seq` bumps the counter of the event's (warehouse, month) and keeps its row locked until
    the transaction ends, so numbers are unique, and an event rolled back gives its number
    back: no gaps. `ev` inserts the event with the next number (formatted as
    `_document_number` does). It is empty when another transaction stored the event's client
    UUID first: ON CONFLICT DO NOTHING waits for that one to commit or roll back, and raises
    nothing, so no savepoint is needed around the attempt.
    """
    quote = connection.ops.quote_name
    sequences = quote(DocumentSequence._meta.db_table)
    fields = _event_fields_in_order()
    columns = ", ".join(quote(f.column) for f in fields)
    values = ", ".join(f"%({f.attname})s" for f in fields)
    return (
        f"seq AS (INSERT INTO {sequences} (warehouse_id, period, last_number) "
        "VALUES (%(warehouse_id)s, %(period)s, 1) "
        f"ON CONFLICT (warehouse_id, period) DO UPDATE SET last_number = {sequences}.last_number + 1 "
        "RETURNING last_number), "
        f"ev AS (INSERT INTO {quote(StockEvent._meta.db_table)} ({columns}, document_number) "
        f"VALUES ({values}, (SELECT %(number_prefix)s "
        "|| lpad(last_number::text, greatest(4, length(last_number::text)), '0') FROM seq)) "
        "ON CONFLICT (client_uuid) DO NOTHING RETURNING id, document_number)"
    )


def _event_params(event: StockEvent, period: str, db=None) -> dict:
    """The event's columns as parameters. `db`: the connection's wrapper itself (a cursor's
    `.db`), so that the dozen fields do not each go through Django's `connection` proxy."""
    db = db or connection
    params = {
        f.attname: f.get_db_prep_save(getattr(event, f.attname), db)
        for f in _event_fields_in_order()
    }
    params["period"] = period
    params["number_prefix"] = _document_prefix(event.warehouse.code, period)
    return params


def _event_saved(event: StockEvent, pk: int, document_number: str, alias=None) -> None:
    """Mark the instance as the row just inserted: Model.save() without its bookkeeping.

    Ledger rows are written once and never saved again, and no signals listen to them.
    """
    event.pk = pk
    event.document_number = document_number
    event._state.adding = False
    event._state.db = alias or connection.alias


def _document_number_give_back(warehouse_id: int, period: str) -> None:
    """Undo the counter's step of an event that was not written (its client UUID lost).

    This transaction still holds the counter's row, so nobody took a number since: no gap.
    """
    table = connection.ops.quote_name(DocumentSequence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_number = last_number - 1 "
            "WHERE warehouse_id = %s AND period = %s",
            [warehouse_id, period],
        )


@functools.cache
def _post_sql() -> str:
    """The whole event in one statement; one row per line, in line order: (event id, document
    number, balance before, ok, locked). Nothing but the number and the event is written
    unless `ok`: every balance stays at zero or more.

    When every balance row of the line items is in the statement's snapshot (the usual case:
    the items were in this warehouse before), `cur` locks them in item order and reads each as
    the last transaction to hold it committed it (READ COMMITTED: FOR UPDATE waits, then
    returns the row's newest version); `checked` decides for all lines at once; `moved` adds
    each delta, still locked, and `new_lines` writes the lines. `locked` is then true.

    Otherwise `made` only inserts the missing rows (quantity 0, in item order, ON CONFLICT DO
    NOTHING: it locks no existing row, and waits for a transaction inserting the same row),
    nothing is locked or moved, and `locked` is false: `_post_locked_sql` then locks and
    moves in a statement of its own, whose snapshot holds every row. One statement cannot do
    both: it sees neither the rows it inserts itself nor those a transaction it waited for
    (the first receipt of the item, holding the document counter) committed after it began.
    """
    quote = connection.ops.quote_name
    balances = quote(StockBalance._meta.db_table)
    return (
        f"WITH {_event_ctes()}, {_lines_cte()}, "
        "present AS MATERIALIZED (SELECT count(*) = cardinality(%(items)s::bigint[]) AS every "
        f"FROM {_line_items('TRUE')} CROSS JOIN LATERAL ({_balance_row('o.item_id', 'b.item_id')}) b), "
        f"made AS (INSERT INTO {balances} (warehouse_id, item_id, quantity, updated_at) "
        "SELECT %(warehouse_id)s, item_id, 0, %(now)s FROM m "
        "WHERE NOT (SELECT every FROM present) AND EXISTS (SELECT 1 FROM ev) ORDER BY item_id "
        "ON CONFLICT (warehouse_id, item_id) DO NOTHING), "
        + _move_ctes(
            columns="ev.id AS event_id, ev.document_number",
            source="ev CROSS JOIN m",
            lock_when="(SELECT every FROM present) AND EXISTS (SELECT 1 FROM ev)",
            ready="(SELECT every FROM present)",
        )
        + " SELECT event_id, document_number, before, ok, (SELECT every FROM present) "
        "FROM checked ORDER BY position"
    )


@functools.cache
def _post_locked_sql() -> str:
    """The second statement of an event whose balance rows were not all there (`_post_sql`
    inserted the missing ones): lock them all in item order, check, move, write the lines of
    the event `%(event_id)s`. One row per line, in line order: (balance before, ok)."""
    return (
        f"WITH {_lines_cte()}, "
        + _move_ctes(
            columns="%(event_id)s::bigint AS event_id",
            source="m",
            lock_when="TRUE",
            ready="TRUE",
        )
        + " SELECT before, ok FROM checked ORDER BY position"
    )


def _balance_row(item_id: str, columns: str) -> str:
    """The balance row of (the event's warehouse, `item_id`), found by its unique key.

    Used as a LATERAL subquery per line item, so each is one probe of `stock_balance_key`:
    with `item_id = ANY(...)` the planner preferred the warehouse's own index and walked
    every balance of the warehouse (60 items, and their dead versions) twice per event.
    In `cur` the outer rows come in item order, so the rows are locked in item order (a
    subquery with LIMIT or FOR UPDATE is never flattened: a nested loop, in the outer order).
    """
    balances = connection.ops.quote_name(StockBalance._meta.db_table)
    return (
        f"SELECT {columns} FROM {balances} b WHERE b.warehouse_id = %(warehouse_id)s "
        f"AND b.item_id = {item_id} LIMIT 1"
    )


def _line_items(when: str) -> str:
    """`o`: the event's line items in item order (none unless `when`), the outer side of the
    `_balance_row` probes.

    LIMIT cardinality(...) cuts nothing (one line per item); it is there for the plan cache.
    In the generic plan of the prepared statement the array is a parameter, so PostgreSQL
    guesses 10 items (and 10 probes), against the 2 of a custom plan that sees the array:
    the generic plan always looked dearer, and every execution was planned afresh. A LIMIT
    that is not a constant is guessed at a tenth of the rows: the generic plan now costs one
    probe, no more than a custom one, and is kept (pg_prepared_statements.generic_plans).
    """
    return (
        f"(SELECT item_id FROM m WHERE {when} ORDER BY item_id "
        "LIMIT cardinality(%(items)s::bigint[])) o"
    )


def _lines_cte() -> str:
    """`m`: the event's lines, (item id, signed delta, position in the event)."""
    return (
        "m AS (SELECT * FROM unnest(%(items)s::bigint[], %(deltas)s::bigint[]) "
        "WITH ORDINALITY AS m (item_id, delta, position))"
    )


def _move_ctes(*, columns: str, source: str, lock_when: str, ready: str) -> str:
    """`cur`, `checked`, `moved` and `new_lines`, the tail of both posting statements.

    `cur` locks the line items' balance rows in item order (when `lock_when`); `checked`
    gives each line its balance before (a row not there counts as 0) and `ok`: `ready` and
    every balance stays at zero or more. Only then `moved` adds each delta to its row, still
    locked (an upsert: a proposed row must pass the table's `quantity >= 0` check before its
    conflict is found, hence max(delta, 0); the delta itself is taken from `checked` on
    conflict), and `new_lines` inserts the lines with the event's `kind`.
    """
    quote = connection.ops.quote_name
    balances = quote(StockBalance._meta.db_table)
    lines = quote(StockEventLine._meta.db_table)
    return (
        "cur AS MATERIALIZED (SELECT b.item_id, b.quantity "
        f"FROM {_line_items(lock_when)} "
        f"CROSS JOIN LATERAL ({_balance_row('o.item_id', 'b.item_id, b.quantity')} FOR UPDATE) b), "
        f"checked AS MATERIALIZED (SELECT {columns}, m.item_id, m.delta, m.position, "
        "COALESCE(cur.quantity, 0) AS before, "
        f"{ready} AND bool_and(COALESCE(cur.quantity, 0) + m.delta >= 0) OVER () AS ok "
        f"FROM {source} LEFT JOIN cur ON cur.item_id = m.item_id), "
        f"moved AS (INSERT INTO {balances} (warehouse_id, item_id, quantity, updated_at) "
        "SELECT %(warehouse_id)s, item_id, greatest(delta, 0), %(now)s FROM checked WHERE ok "
        "ORDER BY item_id "
        f"ON CONFLICT (warehouse_id, item_id) DO UPDATE SET quantity = {balances}.quantity "
        "+ (SELECT c.delta FROM checked c WHERE c.item_id = EXCLUDED.item_id), "
        "updated_at = EXCLUDED.updated_at), "
        f"new_lines AS (INSERT INTO {lines} "
        "(event_id, warehouse_id, occurred_at, kind, item_id, quantity, counted) "
        "SELECT event_id, %(warehouse_id)s, %(occurred_at)s, %(kind)s, item_id, delta, NULL "
        "FROM checked WHERE ok ORDER BY position)"
    )


def _event_post(event: StockEvent, period: str, deltas: list[tuple], *, now) -> StockEvent | None:
    """Post an event whose line quantities are known, [(Item, signed delta)], in one
    statement (`_post_sql`), or two when a balance row of its items was missing (the first
    receipt of an item into the warehouse, or one committed while this statement waited).
    None: its client UUID was stored by another transaction."""
    with connection.cursor() as cursor:
        params = _event_params(event, period, cursor.db)
        params["items"] = [item.pk for item, _delta in deltas]
        params["deltas"] = [d for _i, d in deltas]
        params["now"] = now
        execute_prepared(cursor, _post_sql(), params, prefix="inventory")
        rows = cursor.fetchall()
        if not rows:
            _document_number_give_back(event.warehouse_id, period)
            return None
        _event_saved(event, rows[0][0], rows[0][1], cursor.db.alias)
        results = [(before, ok) for _pk, _number, before, ok, _locked in rows]
        if not rows[0][4]:
            # The missing rows are there now (inserted above, or by the transaction waited
            # for); this statement's snapshot holds them all: lock, check, move.
            execute_prepared(
                cursor,
                _post_locked_sql(),
                {
                    "event_id": event.pk,
                    "warehouse_id": params["warehouse_id"],
                    "occurred_at": params["occurred_at"],
                    "kind": params["kind"],
                    "items": params["items"],
                    "deltas": params["deltas"],
                    "now": now,
                },
                prefix="inventory",
            )
            results = cursor.fetchall()
    if not results[0][1]:
        # Nothing moved; the event and its number roll back with the caller's transaction.
        raise InsufficientStock(
            [
                Shortfall(item=item, requested=-delta, available=before)
                for (item, delta), (before, _ok) in zip(deltas, results, strict=True)
                if before + delta < 0
            ]
        )
    return event


def _event_post_reading_first(
    event: StockEvent, period: str, parsed: list[tuple], *, now
) -> StockEvent | None:
    """Post a count, or a back-dated event that takes stock out: number and insert the event,
    lock the balances (missing rows created first: `_locked_balances`), read the ledger after
    the event if it is back-dated, then write the lines and move the balances (three or four
    statements, one more when a balance row is new). None as for `_event_post`."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH {_event_ctes()} SELECT id, document_number FROM ev", _event_params(event, period)
        )
        row = cursor.fetchone()
    if row is None:
        _document_number_give_back(event.warehouse_id, period)
        return None
    _event_saved(event, *row)
    warehouse_id, occurred_at = event.warehouse_id, event.occurred_at
    item_ids = sorted(item.pk for item, _value in parsed)
    balances = _locked_balances([(warehouse_id, item_id) for item_id in item_ids], now=now)
    sign = _KIND_RULES[event.kind]["sign"]
    # A count's differences need the balance at occurred_at first.
    deltas = {} if sign is None else {item.pk: sign * value for item, value in parsed}
    # Back-dated, the event lands before lines already in the ledger: it is checked against
    # (and a count compared with) the ledger from its place on, not only today's balance.
    # Rows are locked, so no line of these items can arrive meanwhile; this statement, unlike
    # the locking one, sees every line committed before the locks were granted.
    later = {}
    if occurred_at < now:
        later = _ledger_after(warehouse_id, item_ids, occurred_at=occurred_at, event_id=event.pk)

    new_lines, moves, shortfalls = [], {}, []
    for item, value in parsed:
        pk, current = balances[(warehouse_id, item.pk)]
        total_after, lowest_after = later.get(item.pk, (0, 0))
        # The balance just before the event, and the lowest it reaches from there on.
        before = current - total_after
        available = before + min(0, lowest_after)
        if sign is None:  # a count: the line carries the difference from the balance then
            delta, counted = value - before, value
        else:
            delta, counted = deltas[item.pk], None
        if delta < 0 and -delta > available:
            shortfalls.append(Shortfall(item=item, requested=-delta, available=available))
        new_lines.append((item.pk, delta, counted))
        if delta:
            moves[pk] = delta
    if shortfalls:
        raise InsufficientStock(shortfalls)
    _lines_insert_and_balances_move(event, new_lines, moves, now=now)
    return event


def _take_document_numbers(counts: dict[tuple[int, str], int]) -> dict[tuple[int, str], int]:
    """Reserve `n` numbers per (warehouse id, YYYYMM); {key: first number reserved}.

    One upsert bumps every counter and locks its row until the transaction ends, so numbers
    are unique, and a rolled-back event gives its numbers back: no gaps. Keys are taken in
    sorted order (the lock order). The batch import's counterpart of `seq` in `_event_ctes`.
    """
    keys = sorted(counts)
    table = connection.ops.quote_name(DocumentSequence._meta.db_table)
    rows = ", ".join(["(%s, %s, %s)"] * len(keys))
    params = [value for key in keys for value in (*key, counts[key])]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (warehouse_id, period, last_number) VALUES {rows} "
            "ON CONFLICT (warehouse_id, period) DO UPDATE "
            f"SET last_number = {table}.last_number + EXCLUDED.last_number "
            "RETURNING warehouse_id, period, last_number",
            params,
        )
        last = {(warehouse_id, period): n for warehouse_id, period, n in cursor.fetchall()}
    return {key: last[key] - counts[key] + 1 for key in keys}


def _locked_balances(pairs: list[tuple[int, int]], *, now) -> dict[tuple, tuple[int, int]]:
    """{(warehouse id, item id): (balance pk, quantity)}: rows created if missing, locked.

    The services' one order for balance rows (see "Lock order" above `_period`): first the
    missing rows are inserted, in (warehouse, item) order, ON CONFLICT DO NOTHING (which locks
    no existing row and waits for a transaction inserting the same one); then all of them are
    locked FOR UPDATE in (warehouse, item) order by a statement begun after that insert, so
    its snapshot holds every row, and FOR UPDATE returns each as last committed. When every
    row is already there (the usual case) one statement locks them; otherwise two.
    """
    pairs = sorted(set(pairs))
    table = connection.ops.quote_name(StockBalance._meta.db_table)
    lock = (
        f"SELECT b.warehouse_id, b.item_id, b.id, b.quantity FROM {table} b JOIN p "
        "ON b.warehouse_id = p.w AND b.item_id = p.i {where}"
        "ORDER BY b.warehouse_id, b.item_id FOR UPDATE OF b"
    )
    params = {"w": [w for w, _i in pairs], "i": [i for _w, i in pairs], "now": now}
    pairs_cte = "p AS (SELECT * FROM unnest(%(w)s::bigint[], %(i)s::bigint[]) AS p (w, i))"
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH {pairs_cte}, "
            "present AS MATERIALIZED (SELECT count(*) = cardinality(%(w)s::bigint[]) AS every "
            f"FROM {table} b JOIN p ON b.warehouse_id = p.w AND b.item_id = p.i), "
            f"made AS (INSERT INTO {table} (warehouse_id, item_id, quantity, updated_at) "
            "SELECT w, i, 0, %(now)s FROM p WHERE NOT (SELECT every FROM present) "
            "ORDER BY w, i ON CONFLICT (warehouse_id, item_id) DO NOTHING) "
            + lock.format(where="WHERE (SELECT every FROM present) "),
            params,
        )
        rows = cursor.fetchall()
        if len(rows) < len(pairs):
            cursor.execute(f"WITH {pairs_cte} " + lock.format(where=""), params)
            rows = cursor.fetchall()
        return {(w, i): (pk, quantity) for w, i, pk, quantity in rows}


def _lines_insert_and_balances_move(event, lines: list[tuple], moves: dict, *, now) -> None:
    """Write the event's lines [(item id, quantity, counted)] and add `moves` to the balances.

    One statement does both (the insert as a CTE of the update).
    """
    quote = connection.ops.quote_name
    lines_table = quote(StockEventLine._meta.db_table)
    balances = quote(StockBalance._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH new_lines AS (INSERT INTO {lines_table} "
            "(event_id, warehouse_id, occurred_at, kind, item_id, quantity, counted) "
            "SELECT %s, %s, %s, %s, * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[])) "
            f"UPDATE {balances} SET quantity = {balances}.quantity + m.delta, updated_at = %s "
            "FROM unnest(%s::bigint[], %s::bigint[]) AS m (id, delta) "
            f"WHERE {balances}.id = m.id",
            [
                event.pk,
                event.warehouse_id,
                event.occurred_at,
                event.kind,
                [item_id for item_id, _q, _c in lines],
                [quantity for _i, quantity, _c in lines],
                [counted for _i, _q, counted in lines],
                now,
                list(moves),
                list(moves.values()),
            ],
        )


def _balances_move(moves: dict[int, int], *, now) -> None:
    """Add each delta to its (locked) balance row, {balance pk: delta}, in one statement."""
    if not moves:
        return
    table = connection.ops.quote_name(StockBalance._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET quantity = {table}.quantity + m.delta, updated_at = %s "
            "FROM unnest(%s::bigint[], %s::bigint[]) AS m (id, delta) "
            f"WHERE {table}.id = m.id",
            [now, list(moves), list(moves.values())],
        )


def _ledger_after(warehouse_id, item_ids, *, occurred_at, event_id) -> dict[int, tuple[int, int]]:
    """{item id: (Σ of the later lines, lowest running Σ of them)} for a back-dated event.

    "Later" is the stock card's order, (occurred_at, event): lines after `occurred_at`, and
    lines at that very moment of events recorded after `event_id`. With the balance `B` now,
    the balance just before the event is B − Σ, and the lowest the ledger goes from the event
    on is that plus the lowest running Σ (when it is below 0): an event may take no more.
    One query over the later lines only (a window sum per item), not the whole history.
    Items without later lines are absent.
    """
    table = connection.ops.quote_name(StockEventLine._meta.db_table)
    when = connection.ops.adapt_datetimefield_value(occurred_at)
    placeholders = ", ".join(["%s"] * len(item_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT item_id, MAX(total), MIN(running) FROM ("
            " SELECT item_id,"
            "  SUM(quantity) OVER (PARTITION BY item_id) AS total,"
            "  SUM(quantity) OVER (PARTITION BY item_id ORDER BY occurred_at, event_id"
            "   ROWS UNBOUNDED PRECEDING) AS running"
            f" FROM {table}"
            f" WHERE warehouse_id = %s AND item_id IN ({placeholders})"
            "  AND (occurred_at > %s OR (occurred_at = %s AND event_id > %s))"
            ") later GROUP BY item_id",
            [warehouse_id, *item_ids, when, when, event_id],
        )
        return {item_id: (total, lowest) for item_id, total, lowest in cursor.fetchall()}


def _warehouse_and_items(code: str, item_codes: set[str]) -> tuple[Warehouse | None, dict]:
    """The warehouse of `code` and {code: Item} of the lines' item codes.

    One hand-written query (the warehouse joined to the items): the ORM's compiling alone
    would cost more than the event's writes.
    """
    if not code:
        return None, _items_by_code(item_codes)
    w_fields, w_columns = _select_list(Warehouse, "w")
    i_fields, i_columns = _select_list(Item, "i")
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {w_columns}, {i_columns} FROM {quote(Warehouse._meta.db_table)} w "
            f"LEFT JOIN {quote(Item._meta.db_table)} i ON i.code = ANY(%s) WHERE w.code = %s",
            [list(item_codes), code],
        )
        rows = cursor.fetchall()
    if not rows:  # no such warehouse: the items still get their own errors
        return None, _items_by_code(item_codes)
    split = len(w_fields)
    warehouse = Warehouse.from_db(connection.alias, w_fields, rows[0][:split])
    items = [Item.from_db(connection.alias, i_fields, row[split:]) for row in rows if row[split]]
    return warehouse, {item.code: item for item in items}


def _items_by_code(codes) -> dict:
    """{code: Item} of `codes`; hand-written, as above."""
    if not codes:
        return {}
    fields, columns = _select_list(Item, "i")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {connection.ops.quote_name(Item._meta.db_table)} i "
            "WHERE i.code = ANY(%s)",
            [list(codes)],
        )
        items = [Item.from_db(connection.alias, fields, row) for row in cursor.fetchall()]
    return {item.code: item for item in items}


@functools.cache
def _select_list(model, alias) -> tuple[list[str], str]:
    """The model's field names and its columns as `alias.column, ...`, in the same order.

    PostgreSQL returns these fields' Python values as they are (no converters needed).
    """
    fields = model._meta.concrete_fields
    columns = ", ".join(f"{alias}.{connection.ops.quote_name(f.column)}" for f in fields)
    return [f.attname for f in fields], columns


def _line_item_codes(lines) -> set[str]:
    """The item codes the submitted lines name (the ones that are strings)."""
    if not isinstance(lines, list | tuple):
        return set()
    codes = set()
    for line in lines:
        if isinstance(line, Mapping):
            item = line.get("item")
        elif isinstance(line, list | tuple) and len(line) == 2:
            item = line[0]
        else:
            continue
        if isinstance(item, str):
            codes.add(item.strip())
    return codes


def _occurred_at(value, *, now: dt.datetime, backdate_days: int | None):
    """(aware datetime, None) or (None, message): not in the future, not too far back.

    `backdate_days` None: any past date (the import of a ledger's history).
    """
    if value in (None, ""):
        return now, None
    # 12:99 or 30 February is a message, not a crash; so is a moment before the earliest date.
    value, message = parse_moment(value)
    if message:
        return None, message
    if value > now:
        return None, _("A stock event cannot happen in the future.")
    if backdate_days is not None and value < now - dt.timedelta(days=backdate_days):
        return None, _(
            "A stock event can be dated at most %(days)d days back; record it today with a note."
        ) % {"days": backdate_days}
    return value, None


def _parse_uuid(value):
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value).strip())
    except ValueError:
        return None


def _parse_lines(
    lines, *, kind, errors: list[LineError], reversal: bool, by_code: dict | None = None
) -> list[tuple]:
    """[(Item, whole number)] with errors appended for every bad line; items resolved at once.

    `by_code`: {code: Item} already fetched for the lines' codes (else one query here).
    """
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
                _("At most %(limit)s lines may be sent at once; split the event.")
                % {"limit": grouped(limit)},
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
    if by_code is None:
        by_code = _items_by_code({item.strip() for _i, item, _v in pairs if isinstance(item, str)})

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
                    _("This item is already on line %(line)s; one line per item.")
                    % {"line": grouped(seen[item.pk] + 1)},
                )
            )
            item = None
        else:
            seen[item.pk] = index
        number, message = parse_signed_whole_number(raw_value)
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
