"""State changes of allocation: donations, dispatch batches and their receipts.

Every batch service runs in one transaction, checks the caller's role, compares the
caller's `expected_version` with the batch's (optimistic concurrency: two people acting on
the same page, the second gets BatchConflict), moves the batch with
`filter(pk, version=expected).update(version=F("version") + 1, ...)` and writes a
BatchTransition row with the acting user.

Lock order, the same everywhere so two transactions never wait on each other in a circle:
the batch row → donation rows (by pk) → the year's batch-number sequence → whatever the
inventory services lock (document sequences, balances in (warehouse, item) order).

Restricted donations (the rule, documented once):
- named prefecture: only to prefecture or county destinations of that prefecture;
- named destination: only to that destination;
- front-line staff: only to destinations that treat patients or employ the staff who do:
  prefectures, counties, provincial medical institutions and aid teams — never to another
  province (the donor gave to this province's front line).
A line drawing on a donation also ships from the warehouse the donation was received into,
carries one of its items, and cannot exceed what is left of it: donated − Σ quantities of
the lines of non-cancelled batches (drafts included: a draft holds its share).
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from inventory.models import PAPER_LEDGER_NOTE, IssueKind, ReceiptSource, Warehouse, WarehouseKind
from inventory.services import InsufficientStock, LedgerError, stock_issue, stock_receive
from supplycoord.events import batch_moved
from supplycoord.lib.dates import local_date
from supplycoord.lib.numbering import next_number
from supplycoord.lib.numbers import grouped
from supplycoord.lib.text import text_error
from supplycoord.models import Item, Prefecture
from supplycoord.notifications import recipients as to
from supplycoord.notifications.kinds import translated
from supplycoord.notifications.services import notify
from supplycoord.permissions import (
    can_approve_batch,
    can_attach_to_batch,
    can_cancel_batch,
    can_close_batch,
    can_create_batch,
    can_dispatch_batch,
    can_edit_batch,
    can_issue_from,
    can_receive_batch,
    can_record_donation,
    is_office,
)

from .models import (
    ACCEPTED_DECISIONS,
    BatchAttachment,
    BatchPriority,
    BatchReceipt,
    BatchStatus,
    BatchTransition,
    BatchYearSequence,
    Channel,
    Destination,
    DestinationKind,
    DispatchBatch,
    DispatchBatchLine,
    Donation,
    DonationLine,
    DonationRestriction,
    DonorKind,
    PrefectureBatchSequence,
    SupplyRequestLine,
)

FRONT_LINE_KINDS = (
    DestinationKind.PREFECTURE,
    DestinationKind.COUNTY,
    DestinationKind.PROVINCIAL_INSTITUTION,
    DestinationKind.AID_TEAM,
)
TEXT_LIMITS = {"reason": 500, "carrier": 128, "vehicle": 64}
# A quantity above this is a typing error (the bound of every door, see supplycoord.lib.text).
MAX_QUANTITY = settings.SUPPLYCOORD["MAX_QUANTITY"]
# The largest number a batch series counts to (its PositiveIntegerField `last_number`).
MAX_SEQUENCE_NUMBER = 2_147_483_647


class AllocationError(Exception):
    """A change the allocation services refuse. Pages and the API show `message`."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class AllocationInvalid(AllocationError):
    """The input is invalid: `errors` lists every problem as (line index or None, message)."""

    def __init__(self, errors: list[tuple[int | None, str]]):
        super().__init__("; ".join(str(m) for _i, m in errors))
        self.errors = errors


class BatchConflict(AllocationError):
    """Someone changed the batch since the caller read it."""

    def __init__(self):
        super().__init__(
            _("Someone else changed this batch in the meantime. Reload it and try again.")
        )


class BatchWrongState(AllocationError):
    pass


class BatchStockShort(AllocationError):
    """Dispatch refused: the source warehouse lacks stock. `shortfalls`: inventory Shortfalls."""

    def __init__(self, shortfalls):
        details = "; ".join(
            _("%(item)s: %(requested)s requested, %(available)s available")
            % {
                "item": s.item.name,
                "requested": grouped(s.requested),
                "available": grouped(s.available),
            }
            for s in shortfalls
        )
        super().__init__(
            _("The batch cannot be dispatched: not enough stock. %(details)s.")
            % {"details": details}
        )
        self.shortfalls = shortfalls


class DonationRestricted(AllocationError):
    pass


class DonationOverdrawn(AllocationError):
    pass


# --- Donations ---------------------------------------------------------------------------


@transaction.atomic
def donation_receive(
    *,
    user,
    warehouse: Warehouse,
    donor_name: str,
    donor_kind: str,
    lines,
    received_on: dt.date | None = None,
    foreign: bool = False,
    declared_value=None,
    restriction: str = DonationRestriction.NONE,
    restricted_prefecture=None,
    restricted_destination=None,
    public: bool = False,
    note: str = "",
    occurred_at: dt.datetime | None = None,
) -> Donation:
    """Record a donation and receive its goods into `warehouse` (one receipt event, source
    donation) in the same transaction. `lines`: [(Item, quantity > 0), ...], each item once.

    Raises PermissionDenied (office only), AllocationInvalid, LedgerError (from the receipt).
    """
    _require(can_record_donation(user), _("Only the office records donations."))
    donor_name = (donor_name or "").strip()
    errors = _donation_errors(
        None,
        donor_name=donor_name,
        donor_kind=donor_kind,
        restriction=restriction,
        restricted_prefecture=restricted_prefecture,
        restricted_destination=restricted_destination,
    )
    if errors:
        raise AllocationInvalid(errors)
    event = stock_receive(
        user=user,
        warehouse=warehouse,
        lines=lines,
        source=ReceiptSource.DONATION,
        source_document=_("Donation"),
        counterparty=donor_name[:128],
        occurred_at=occurred_at,
        note=note,
    )
    return _donation_write(
        user=user,
        event=event,
        now=timezone.now(),
        donor_name=donor_name,
        donor_kind=donor_kind,
        foreign=foreign,
        received_on=received_on or local_date(event.occurred_at),
        declared_value=declared_value,
        restriction=restriction,
        restricted_prefecture=restricted_prefecture,
        restricted_destination=restricted_destination,
        public=public,
        note=note,
    )


def _donation_errors(
    index, *, donor_name, donor_kind, restriction, restricted_prefecture, restricted_destination
) -> list:
    """What is wrong with a donation's own fields (the page's and the migration's rule)."""
    errors = []
    if not donor_name:
        errors.append((index, _("Name the donor.")))
    if donor_kind not in DonorKind.values:
        errors.append((index, _("Choose the kind of donor.")))
    if restriction not in DonationRestriction.values:
        errors.append((index, _("Choose a restriction.")))
    if restriction == DonationRestriction.NAMED_PREFECTURE and not restricted_prefecture:
        errors.append((index, _("Name the prefecture the donation is for.")))
    if restriction == DonationRestriction.NAMED_DESTINATION and not restricted_destination:
        errors.append((index, _("Name the destination the donation is for.")))
    return errors


def _donation_write(*, user, event, now, restriction, **fields) -> Donation:
    """The donation of the receipt `event`, with its lines as received. A restriction's
    prefecture or destination is kept only where the restriction names one."""
    if restriction != DonationRestriction.NAMED_PREFECTURE:
        fields["restricted_prefecture"] = None
    if restriction != DonationRestriction.NAMED_DESTINATION:
        fields["restricted_destination"] = None
    donation = Donation.objects.create(
        restriction=restriction,
        warehouse=event.warehouse,
        receipt_event=event,
        created_by=user,
        created_at=now,
        **fields,
    )
    DonationLine.objects.bulk_create(
        [
            DonationLine(donation=donation, item_id=line.item_id, quantity=line.quantity)
            for line in event.lines.order_by("id")
        ]
    )
    return donation


def donation_remaining(donation: Donation, *, exclude_batch=None) -> dict[int, int]:
    """{item_id: donated − allocated in non-cancelled batches} of one donation."""
    donated = dict(donation.lines.values_list("item_id", "quantity"))
    allocated = DispatchBatchLine.objects.filter(donation=donation).exclude(
        batch__status=BatchStatus.CANCELLED
    )
    if exclude_batch is not None:
        allocated = allocated.exclude(batch=exclude_batch)
    used = dict(
        allocated.values("item_id").annotate(total=Sum("quantity")).values_list("item_id", "total")
    )
    return {item_id: qty - (used.get(item_id) or 0) for item_id, qty in donated.items()}


def donation_allows(donation: Donation, destination: Destination) -> bool:
    """May goods of `donation` go to `destination`? (The rule in this module's docstring.)"""
    if donation.restriction == DonationRestriction.NAMED_PREFECTURE:
        return (
            destination.kind in (DestinationKind.PREFECTURE, DestinationKind.COUNTY)
            and destination.prefecture_id == donation.restricted_prefecture_id
        )
    if donation.restriction == DonationRestriction.NAMED_DESTINATION:
        return destination.pk == donation.restricted_destination_id
    if donation.restriction == DonationRestriction.FRONT_LINE_STAFF:
        return destination.kind in FRONT_LINE_KINDS
    return True


# --- Dispatch batches --------------------------------------------------------------------


def _parse_batch_lines(lines) -> list[dict]:
    """[{item, quantity, channel, donation}] with every problem raised at once."""
    errors: list[tuple[int | None, str]] = []
    if not isinstance(lines, list | tuple) or not lines:
        raise AllocationInvalid([(None, _("Add at least one line."))])
    parsed = []
    for index, line in enumerate(lines):
        if not isinstance(line, Mapping):
            errors.append((index, _("Each line must give an item, a quantity and a channel.")))
            continue
        item = line.get("item")
        if isinstance(item, str):
            item = Item.objects.filter(code=item.strip()).first()
        if not isinstance(item, Item) or not item.active:
            errors.append((index, _("Choose an item of the catalogue.")))
        quantity = line.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            errors.append((index, _("Enter a quantity above zero.")))
        elif quantity > MAX_QUANTITY:
            errors.append((index, _("This number is too large.")))
        channel = line.get("channel")
        if channel not in Channel.values:
            errors.append((index, _("Choose a channel.")))
        donation = line.get("donation")
        if isinstance(donation, int):
            donation = Donation.objects.filter(pk=donation).first()
        if channel == Channel.DONATION and not isinstance(donation, Donation):
            errors.append((index, _("Choose the donation this line draws on.")))
        if channel != Channel.DONATION and donation is not None:
            errors.append((index, _("Only a line of the donation channel names a donation.")))
        request_line = line.get("request_line")
        if isinstance(request_line, int) and not isinstance(request_line, bool):
            request_line = SupplyRequestLine.objects.filter(pk=request_line).first()
            if request_line is None:
                errors.append((index, _("This request line does not exist.")))
        elif request_line is not None and not isinstance(request_line, SupplyRequestLine):
            errors.append((index, _("This request line does not exist.")))
            request_line = None
        parsed.append(
            {
                "item": item,
                "quantity": quantity,
                "channel": channel,
                "donation": donation,
                "request_line": request_line,
            }
        )
    if errors:
        raise AllocationInvalid(errors)
    return parsed


def _check_request_lines(lines: list[dict], *, destination, batch=None) -> None:
    """Lines answering request lines (issue 15): each request line is the destination's, of
    the same item, accepted, and no line is put into batches beyond what was accepted (batches
    not cancelled, this batch's old lines apart). The request lines are locked in id order."""
    ids = sorted({line["request_line"].pk for line in lines if line.get("request_line")})
    if not ids:
        return
    request_lines = {
        x.pk: x
        for x in SupplyRequestLine.objects.select_for_update()
        .filter(pk__in=ids)
        .select_related("request")
        .order_by("pk")
    }
    in_batches = dict(
        DispatchBatchLine.objects.filter(request_line_id__in=ids)
        .exclude(batch__status=BatchStatus.CANCELLED)
        .exclude(batch=batch)
        .values_list("request_line_id")
        .annotate(total=Sum("quantity"))
        .order_by()
    )
    wanted: dict[int, int] = defaultdict(int)
    errors = []
    for index, line in enumerate(lines):
        request_line = line.get("request_line")
        if request_line is None:
            continue
        current = request_lines[request_line.pk]
        number = current.request.number
        if current.request.claimant_id != destination.pk:
            errors.append(
                (index, _("Request %(number)s is another claimant's.") % {"number": number})
            )
        elif current.item_id != line["item"].pk:
            errors.append(
                (index, _("Request %(number)s asked for another item.") % {"number": number})
            )
        elif current.decision not in ACCEPTED_DECISIONS:
            errors.append(
                (index, _("Request %(number)s: this line is not accepted.") % {"number": number})
            )
        wanted[current.pk] += line["quantity"]
    for pk, quantity in wanted.items():
        current = request_lines[pk]
        remaining = current.accepted_quantity - in_batches.get(pk, 0)
        if quantity > remaining:
            errors.append(
                (
                    None,
                    _(
                        "Request %(number)s, %(item)s: %(wanted)s put into batches, but only "
                        "%(remaining)s of the accepted quantity is left."
                    )
                    % {
                        "number": current.request.number,
                        "item": current.item,
                        "wanted": grouped(quantity),
                        "remaining": grouped(max(0, remaining)),
                    },
                )
            )
    if errors:
        raise AllocationInvalid(errors)


def _check_donations(lines: list[dict], *, destination, source_warehouse, batch=None) -> None:
    """Restriction and remaining quantity of every donation drawn on; donations locked."""
    donation_ids = sorted({line["donation"].pk for line in lines if line["donation"] is not None})
    if not donation_ids:
        return
    # Locked (in pk order): two batches drawing on one donation at once serialise here.
    donations = {
        d.pk: d
        for d in Donation.objects.select_for_update().filter(pk__in=donation_ids).order_by("pk")
    }
    wanted: dict[tuple[int, int], int] = defaultdict(int)
    for index, line in enumerate(lines):
        donation = donations[line["donation"].pk] if line["donation"] is not None else None
        if donation is None:
            continue
        # The warehouse first: a donation held elsewhere is not the caller's to draw on, nor
        # to learn the donor of (a prefecture's officer issues from its own warehouse only).
        if donation.warehouse_id != source_warehouse.pk:
            raise AllocationInvalid(
                [
                    (
                        index,
                        _("The donated goods are in another warehouse: dispatch them from there."),
                    )
                ]
            )
        if not donation_allows(donation, destination):
            raise DonationRestricted(
                _(
                    "Line %(line)s: the donation of %(donor)s is restricted (%(restriction)s) "
                    "and cannot go to %(destination)s."
                )
                % {
                    "line": grouped(index + 1),
                    "donor": donation.donor_name,
                    "restriction": donation.get_restriction_display(),
                    "destination": destination.name,
                }
            )
        wanted[(donation.pk, line["item"].pk)] += line["quantity"]
    for donation_id in donation_ids:
        donation = donations[donation_id]
        remaining = donation_remaining(donation, exclude_batch=batch)
        for (wanted_donation, item_id), quantity in sorted(wanted.items()):
            if wanted_donation != donation_id:
                continue
            left = remaining.get(item_id)
            if left is None:
                raise DonationOverdrawn(
                    _("The donation of %(donor)s holds no such item.")
                    % {"donor": donation.donor_name}
                )
            if quantity > left:
                raise DonationOverdrawn(
                    _(
                        "The donation of %(donor)s has %(left)s left of this item; "
                        "%(wanted)s requested."
                    )
                    % {
                        "donor": donation.donor_name,
                        "left": grouped(left),
                        "wanted": grouped(quantity),
                    }
                )


def _batch_fields(errors, **fields) -> dict:
    values = {}
    for name, value in fields.items():
        if name in TEXT_LIMITS or name == "note":
            if value is not None and not isinstance(value, str):
                errors.append((None, _("Enter text.")))
                value = ""
            value = (value or "").strip()
            limit = TEXT_LIMITS.get(name)
            if limit and len(value) > limit:
                errors.append((None, _("At most %(limit)d characters, please.") % {"limit": limit}))
        values[name] = value
    if values.get("priority") not in BatchPriority.values:
        errors.append((None, _("Choose a priority.")))
    planned, expected = values.get("planned_dispatch_date"), values.get("expected_arrival")
    if planned and expected and expected < planned:
        errors.append((None, _("The expected arrival cannot be before the planned dispatch.")))
    return values


def _next_batch_number(year: int, issuing_prefecture=None) -> str:
    """The province's series (2020-058), or an issuing prefecture's own (620100-2020-001)."""
    if issuing_prefecture is None:
        return f"{year}-{next_number(BatchYearSequence, year=year):03d}"
    number = next_number(PrefectureBatchSequence, prefecture_id=issuing_prefecture.pk, year=year)
    return f"{issuing_prefecture.code}-{year}-{number:03d}"


def _require(allowed: bool, message: str):
    """Raise the refusal of a permission rule (supplycoord.permissions) that said no."""
    if not allowed:
        raise PermissionDenied(message)


def _check_places(source_warehouse, destination, errors):
    if not isinstance(source_warehouse, Warehouse) or not source_warehouse.active:
        errors.append((None, _("Choose an active source warehouse.")))
    if not isinstance(destination, Destination) or not destination.active:
        errors.append((None, _("Choose an active destination.")))


def _check_level(
    user, source_warehouse, destination, errors, *, index=None, batch=None, migrating=False
):
    """Three-level dispatch (issue 15): who may issue from `source_warehouse`, and where a
    prefecture's batch may go. A prefecture's warehouse ships to that prefecture's counties
    and units (never to the prefecture itself: that is a move inside its own stock); a draft
    stays with its issuer. Raises PermissionDenied for a warehouse the user does not issue
    from (unless `migrating`: the office migrates the paper ledgers of every level); appends
    the other problems to `errors`."""
    if not isinstance(source_warehouse, Warehouse) or not isinstance(destination, Destination):
        return
    if not migrating and not can_issue_from(user, source_warehouse):
        raise PermissionDenied(_("You may not issue batches from this warehouse."))
    issuer = _issuing_prefecture(source_warehouse)
    if batch is not None and (issuer.pk if issuer else None) != batch.issuing_prefecture_id:
        errors.append(
            (
                index,
                _("A draft stays with whoever issues it: choose a warehouse of the same issuer."),
            )
        )
    if issuer is not None and (
        destination.prefecture_id != issuer.pk or destination.kind == DestinationKind.PREFECTURE
    ):
        errors.append(
            (
                index,
                _(
                    "A batch from a prefecture's warehouse goes to that prefecture's counties and units."
                ),
            )
        )


def _issuing_prefecture(source_warehouse):
    if source_warehouse.kind == WarehouseKind.PREFECTURE:
        return source_warehouse.prefecture
    return None


def _write_lines(batch, lines):
    DispatchBatchLine.objects.bulk_create(
        [
            DispatchBatchLine(
                batch=batch,
                item=line["item"],
                quantity=line["quantity"],
                channel=line["channel"],
                donation=line["donation"],
                request_line=line.get("request_line"),
            )
            for line in lines
        ]
    )


def _audit(batch, *, user, from_status, to_status, now, note=""):
    BatchTransition.objects.create(
        batch=batch, from_status=from_status, to_status=to_status, by=user, at=now, note=note
    )


# --- Transitions: the one place a batch changes state ---------------------------------------
#
# A batch is written as a draft by `_draft_write` and changes state only through
# `_transition` (the row moves under its version, the audit row is written with it), each
# state by the one function that sets the fields that go with it. The services below check who
# may act, lock the batch and validate what was entered, then call these; the history import
# (the office's paper ledger) calls the same ones with the ledger's people and times.


def _draft_write(
    *, number, year, source_warehouse, destination, parsed, by, at, audit_note="", **values
):
    batch = DispatchBatch.objects.create(
        number=number,
        year=year,
        source_warehouse=source_warehouse,
        destination=destination,
        created_by=by,
        created_at=at,
        **values,
    )
    _write_lines(batch, parsed)
    _audit(batch, user=by, from_status="", to_status=BatchStatus.DRAFT, now=at, note=audit_note)
    return batch


def _transition(batch, *, to_status, by, at, audit_note="", **fields) -> DispatchBatch:
    """Move `batch` (as read, under its lock) to `to_status` with `fields` (the batch's own
    `note` among them, for a draft's edit), and audit it with `audit_note`."""
    from_status = batch.status
    batch = _move(batch, expected_version=batch.version, status=to_status, **fields)
    _audit(batch, user=by, from_status=from_status, to_status=to_status, now=at, note=audit_note)
    return batch


def _approved(batch, *, by, at, note="") -> DispatchBatch:
    return _transition(
        batch,
        to_status=BatchStatus.APPROVED,
        by=by,
        at=at,
        audit_note=note,
        approved_by=by,
        approved_at=at,
    )


def _dispatched(batch, *, by, event, at, note="") -> DispatchBatch:
    """The goods left with `event`, the issue posted at the source warehouse."""
    return _transition(
        batch,
        to_status=BatchStatus.DISPATCHED,
        by=by,
        at=at,
        audit_note=note,
        dispatched_by=by,
        dispatched_at=event.occurred_at,
        issue_event=event,
    )


def _receipt_discrepant(lines: dict, quantities: dict, *, complete: bool) -> list[int]:
    """The lines a receipt of `quantities` {line id: quantity} leaves different from what was
    shipped and that need its note: those it takes above what was shipped (earlier receipts
    were explained then) and, when it completes the receipt, those still short."""
    totals = {pk: line.received_quantity + quantities.get(pk, 0) for pk, line in lines.items()}
    discrepant = [pk for pk in quantities if totals[pk] > lines[pk].quantity]
    if complete:
        discrepant += [pk for pk, line in lines.items() if totals[pk] < line.quantity]
    return discrepant


def _receipt_note_missing() -> str:
    return _("Explain in a note why the received quantities differ from those shipped.")


def _received(
    batch, *, lines: dict, quantities: dict, by, received_at, recorded_at, at, note, complete
) -> DispatchBatch:
    """One receipt of `quantities` {line id: quantity > 0} on `lines` {id: line, as locked}.

    Partial receipts add up; the batch is received when every line has what was shipped or
    the receipt is `complete`, else partly received. A line left different keeps `note` as its
    discrepancy note (`_receipt_discrepant`; the caller has checked a note was given).
    """
    discrepant = _receipt_discrepant(lines, quantities, complete=complete)
    BatchReceipt.objects.bulk_create(
        [
            BatchReceipt(
                batch=batch,
                line=lines[pk],
                quantity=quantity,
                received_at=received_at,
                received_by=by,
                recorded_at=recorded_at,
                note=note,
            )
            for pk, quantity in sorted(quantities.items())
        ]
    )
    for pk, line in lines.items():
        changes = {}
        if pk in quantities:
            changes["received_quantity"] = F("received_quantity") + quantities[pk]
            line.received_quantity += quantities[pk]
        if pk in discrepant:
            line.discrepancy_note = (
                f"{line.discrepancy_note}\n{note}".strip() if line.discrepancy_note else note
            )
            changes["discrepancy_note"] = line.discrepancy_note
        if changes:
            DispatchBatchLine.objects.filter(pk=pk).update(**changes)
    done = complete or all(line.received_quantity >= line.quantity for line in lines.values())
    if done:
        return _transition(
            batch,
            to_status=BatchStatus.RECEIVED,
            by=by,
            at=at,
            audit_note=note,
            received_by=by,
            received_at=received_at,
        )
    return _transition(batch, to_status=BatchStatus.PARTLY_RECEIVED, by=by, at=at, audit_note=note)


def _closed(batch, *, by, at, note) -> DispatchBatch:
    return _transition(
        batch,
        to_status=BatchStatus.CLOSED,
        by=by,
        at=at,
        audit_note=note,
        closed_by=by,
        closed_at=at,
    )


@transaction.atomic
def batch_create(
    *,
    user,
    source_warehouse: Warehouse,
    destination: Destination,
    lines,
    priority: str = BatchPriority.OTHER,
    reason: str = "",
    planned_dispatch_date: dt.date | None = None,
    expected_arrival: dt.date | None = None,
    carrier: str = "",
    vehicle: str = "",
    note: str = "",
) -> DispatchBatch:
    """A draft batch with the next number of its issuer's year: the province's (`2020-058`)
    from a provincial, producer-held or other warehouse, the office's to create; a
    prefecture's (`620100-2020-001`) from that prefecture's own warehouse, its officers' to
    create, to its counties and units (three-level dispatch).

    `lines`: [{"item": Item or code, "quantity": int > 0, "channel": Channel,
    "donation": Donation or id (channel donation only)}]; an item may appear on several
    lines (different channels or donations). Raises PermissionDenied, AllocationInvalid,
    DonationRestricted, DonationOverdrawn.
    """
    _require(can_create_batch(user), _("You may not create dispatch batches."))
    errors: list = []
    _check_places(source_warehouse, destination, errors)
    _check_level(user, source_warehouse, destination, errors)
    values = _batch_fields(
        errors,
        priority=priority,
        reason=reason,
        planned_dispatch_date=planned_dispatch_date,
        expected_arrival=expected_arrival,
        carrier=carrier,
        vehicle=vehicle,
        note=note,
    )
    if errors:
        raise AllocationInvalid(errors)
    parsed = _parse_batch_lines(lines)
    _check_donations(parsed, destination=destination, source_warehouse=source_warehouse)
    _check_request_lines(parsed, destination=destination)
    now = timezone.now()
    year = local_date(now).year
    issuer = _issuing_prefecture(source_warehouse)
    batch = _draft_write(
        number=_next_batch_number(year, issuer),
        year=year,
        issuing_prefecture=issuer,
        source_warehouse=source_warehouse,
        destination=destination,
        parsed=parsed,
        by=user,
        at=now,
        **values,
    )
    # Who approves it (leadership, or the issuing prefecture's lead) hears of it after commit.
    notify(
        event="batch_awaiting_approval",
        recipients=[to.prefecture_leads(issuer.pk) if issuer else to.leadership()],
        params={
            "batch": batch.number,
            "source": translated(source_warehouse),
            "destination": translated(destination),
            "lines": len(parsed),
        },
        url=reverse("allocation:batch_detail", args=[batch.number]),
        prefecture_id=batch.issuing_prefecture_id,
        rule=lambda user: can_approve_batch(user, batch),
    )
    return batch


def _locked(batch, expected_version) -> DispatchBatch:
    """The batch re-read under a row lock; BatchConflict if it moved since the caller read it."""
    current = (
        DispatchBatch.objects.select_for_update()
        .select_related("destination", "source_warehouse")
        .get(pk=batch.pk)
    )
    if current.version != expected_version:
        raise BatchConflict()
    return current


def _require_status(batch, allowed, message):
    if batch.status not in allowed:
        raise BatchWrongState(message % {"status": batch.get_status_display()})


def _move(batch, *, expected_version, **changes) -> DispatchBatch:
    updated = DispatchBatch.objects.filter(pk=batch.pk, version=expected_version).update(
        version=F("version") + 1, **changes
    )
    if updated == 0:
        raise BatchConflict()
    batch.refresh_from_db()
    return batch


@transaction.atomic
def batch_update_draft(
    *, user, batch: DispatchBatch, expected_version: int, lines=None, **fields
) -> DispatchBatch:
    """Change a draft: any of source_warehouse, destination, priority, reason,
    planned_dispatch_date, expected_arrival, carrier, vehicle, note; `lines` (as
    batch_create) replaces every line. Raises PermissionDenied, BatchConflict,
    BatchWrongState, AllocationInvalid, DonationRestricted, DonationOverdrawn.
    """
    _require(can_edit_batch(user, batch), _("Only whoever issues this batch edits it."))
    allowed = {
        "source_warehouse",
        "destination",
        "priority",
        "reason",
        "planned_dispatch_date",
        "expected_arrival",
        "carrier",
        "vehicle",
        "note",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"batch_update_draft() got unexpected fields: {sorted(unknown)}")
    current = _locked(batch, expected_version)
    _require_status(
        current, (BatchStatus.DRAFT,), _("Only a draft can be edited; this batch is %(status)s.")
    )
    merged = {name: getattr(current, name) for name in allowed}
    merged.update(fields)
    errors: list = []
    source_warehouse, destination = merged.pop("source_warehouse"), merged.pop("destination")
    _check_places(source_warehouse, destination, errors)
    _check_level(user, source_warehouse, destination, errors, batch=current)
    values = _batch_fields(errors, **merged)
    if errors:
        raise AllocationInvalid(errors)
    old_lines = list(current.lines.select_related("item", "donation", "request_line"))
    if lines is not None:
        parsed = _parse_batch_lines(lines)
        # A line edited on the page does not name its request line: it keeps the one the
        # batch's line of that item answered, where exactly one did (issue 15).
        answered = defaultdict(set)
        for old in old_lines:
            if old.request_line_id:
                answered[old.item_id].add(old.request_line)
        for index, line in enumerate(parsed):
            keeps = answered.get(line["item"].pk) if line["item"] else None
            if "request_line" not in lines[index] and keeps and len(keeps) == 1:
                line["request_line"] = next(iter(keeps))
    else:
        parsed = [
            {
                "item": x.item,
                "quantity": x.quantity,
                "channel": x.channel,
                "donation": x.donation,
                "request_line": x.request_line,
            }
            for x in old_lines
        ]
    # Destination or warehouse may have changed: the donations and the requests answered are
    # checked again either way.
    _check_donations(
        parsed, destination=destination, source_warehouse=source_warehouse, batch=current
    )
    _check_request_lines(parsed, destination=destination, batch=current)
    current = _transition(
        current,
        to_status=BatchStatus.DRAFT,
        by=user,
        at=timezone.now(),
        # No note: the timeline words a draft → draft step ("Draft edited.") when it shows
        # it, in the reader's language (allocation.views._timeline).
        source_warehouse=source_warehouse,
        destination=destination,
        **values,
    )
    if lines is not None:
        # A draft's lines are not a ledger: replacing them is the edit.
        current.lines.all().delete()
        _write_lines(current, parsed)
    return current


@transaction.atomic
def batch_approve(*, user, batch: DispatchBatch, expected_version: int, note: str = ""):
    """draft → approved. Leadership or an admin. Raises PermissionDenied, BatchConflict,
    BatchWrongState."""
    _require(
        can_approve_batch(user, batch),
        _("Only leadership approves the province's batches, and a prefecture's lead its own."),
    )
    current = _locked(batch, expected_version)
    _require_status(
        current, (BatchStatus.DRAFT,), _("Only a draft can be approved; this batch is %(status)s.")
    )
    return _approved(current, by=user, at=timezone.now(), note=note)


@transaction.atomic
def batch_dispatch(
    *,
    user,
    batch: DispatchBatch,
    expected_version: int,
    dispatched_at: dt.datetime | None = None,
    note: str = "",
) -> DispatchBatch:
    """approved → dispatched: ONE issue event at the source warehouse with every line (lines
    of one item summed), source document the batch number, counterparty the destination.

    `dispatched_at`: when the goods left (default now; back-dated as far as the ledger
    allows). Raises PermissionDenied (office only), BatchConflict, BatchWrongState,
    BatchStockShort (every short item; nothing changes), AllocationInvalid (the ledger
    refused the date or the warehouse).
    """
    _require(can_dispatch_batch(user, batch), _("Only whoever issues this batch dispatches it."))
    current = _locked(batch, expected_version)
    _require_status(
        current,
        (BatchStatus.APPROVED,),
        _("Only an approved batch can be dispatched; this batch is %(status)s."),
    )
    per_item: dict[int, int] = defaultdict(int)
    items = {}
    for line in current.lines.select_related("item"):
        per_item[line.item_id] += line.quantity
        items[line.item_id] = line.item
    try:
        event = stock_issue(
            user=user,
            warehouse=current.source_warehouse,
            lines=[(items[item_id], quantity) for item_id, quantity in sorted(per_item.items())],
            issue_kind=IssueKind.DISPATCH,
            source_document=current.number,
            counterparty=current.destination.name_zh[:128],
            occurred_at=dispatched_at,
            note=note,
        )
    except InsufficientStock as exc:
        raise BatchStockShort(exc.shortfalls) from exc
    except LedgerError as exc:
        raise AllocationInvalid([(None, exc.message)]) from exc
    current = _dispatched(current, by=user, event=event, at=timezone.now(), note=note)
    _announce(event.occurred_at)
    return current


@transaction.atomic
def batch_receive(
    *,
    user,
    batch: DispatchBatch,
    expected_version: int,
    received: dict,
    note: str = "",
    received_at: dt.datetime | None = None,
    complete: bool = False,
) -> DispatchBatch:
    """Record goods arriving: `received` {line id: quantity ≥ 0 received now}.

    Partial receipts add up. A line may end up with more or less than was shipped: the
    difference stays on the line as its discrepancy, with `note` (required when a line ends
    above what was shipped, or when `complete` closes the receipt with lines short). Status
    becomes `received` when every line has received ≥ shipped, or when `complete`;
    otherwise `partly_received`. Raises PermissionDenied, BatchConflict, BatchWrongState,
    AllocationInvalid.
    """
    if not can_receive_batch(user, batch):
        raise PermissionDenied(_("You may not confirm receipt of this batch."))
    current = _locked(batch, expected_version)
    if not can_receive_batch(user, current):
        raise PermissionDenied(_("You may not confirm receipt of this batch."))
    _require_status(
        current,
        (BatchStatus.DISPATCHED, BatchStatus.PARTLY_RECEIVED),
        _("Only a dispatched batch can be received; this batch is %(status)s."),
    )
    now = timezone.now()
    note = (note or "").strip()
    when = _aware(received_at or now)
    lines = {line.pk: line for line in current.lines.select_for_update().order_by("pk")}
    quantities = _receipt_quantities(
        current, lines=lines, received=received, when=when, now=now, note=note, complete=complete
    )
    current = _received(
        current,
        lines=lines,
        quantities=quantities,
        by=user,
        received_at=when,
        recorded_at=now,
        at=now,
        note=note,
        complete=complete,
    )
    _announce(when)
    return current


def _receipt_quantities(batch, *, lines, received, when, now, note, complete) -> dict[int, int]:
    """The checks of one receipt, the page's and the paper ledger's alike: `received` {line id:
    quantity ≥ 0} on `lines` {id: line} of `batch`, at `when`. Returns {line id: quantity > 0};
    raises AllocationInvalid with every problem."""
    errors: list = []
    if when > now:
        errors.append((None, _("A receipt cannot happen in the future.")))
    elif when < batch.dispatched_at:
        errors.append((None, _("A receipt cannot happen before the batch was dispatched.")))
    quantities = {}
    for raw_id, raw_quantity in (received or {}).items():
        try:
            line_id = int(raw_id)
        except (TypeError, ValueError):
            line_id = None
        if line_id not in lines:
            errors.append((None, _("A line of another batch was given.")))
            continue
        if isinstance(raw_quantity, bool) or not isinstance(raw_quantity, int) or raw_quantity < 0:
            errors.append((None, _("Enter whole quantities of zero or more.")))
            continue
        if raw_quantity > MAX_QUANTITY:
            errors.append((None, _("This number is too large.")))
            continue
        if raw_quantity:
            quantities[line_id] = raw_quantity
    if not quantities and not complete and not errors:
        errors.append((None, _("Enter the quantity received on at least one line.")))
    if _receipt_discrepant(lines, quantities, complete=complete) and not note:
        errors.append((None, _receipt_note_missing()))
    if errors:
        raise AllocationInvalid(errors)
    return quantities


@transaction.atomic
def batch_close(*, user, batch: DispatchBatch, expected_version: int, note: str) -> DispatchBatch:
    """received / partly received → closed, with a note (what was settled). Office only.
    What was not received by then stops counting as in transit."""
    _require(can_close_batch(user, batch), _("Only whoever issues this batch closes it."))
    current = _locked(batch, expected_version)
    _require_status(
        current,
        (BatchStatus.RECEIVED, BatchStatus.PARTLY_RECEIVED),
        _("Only a received or partly received batch can be closed; this batch is %(status)s."),
    )
    note = (note or "").strip()
    if not note:
        raise AllocationInvalid([(None, _("Give a note when closing a batch."))])
    now = timezone.now()
    from_status = current.status
    current = _closed(current, by=user, at=now, note=note)
    if from_status == BatchStatus.PARTLY_RECEIVED:
        _announce(now)
    return current


@transaction.atomic
def batch_cancel(*, user, batch: DispatchBatch, expected_version: int, note: str):
    """draft / approved → cancelled (never after dispatch). Office only, with the reason as
    `note` (kept on the audit transition: a cancelled batch must say why). Its donation lines
    no longer hold their share of the donations."""
    _require(can_cancel_batch(user, batch), _("Only whoever issues this batch cancels it."))
    current = _locked(batch, expected_version)
    _require_status(
        current,
        (BatchStatus.DRAFT, BatchStatus.APPROVED),
        _("Only a batch not yet dispatched can be cancelled; this batch is %(status)s."),
    )
    note = (note or "").strip()
    if not note:
        raise AllocationInvalid([(None, _("Give the reason for cancelling this batch."))])
    return _transition(
        current,
        to_status=BatchStatus.CANCELLED,
        by=user,
        at=timezone.now(),
        audit_note=note,
    )


def _announce(when: dt.datetime) -> None:
    """Tell the apps that read batches (the snapshots' in-transit) which day the batch moved.
    Inside the transaction: what they write (the reports' outbox rows) commits or rolls back
    with the batch; they defer their side effects to the commit."""
    batch_moved(dates={local_date(when)})


# --- History: the office's paper ledger, migrated ----------------------------------------
#
# The services above act "now": batch_dispatch posts its issue through `stock_issue`, which
# refuses dates older than SUPPLYCOORD["LEDGER_BACKDATE_DAYS"]. The office's existing paper
# ledger (调拨台账) of earlier months is migrated instead through the two services below,
# which mirror `inventory.services.stock_events_import`: office or admin only, every stock
# event through `stock_events_import` (no back-dating limit, stock never negative at any
# point of a stock card, client UUIDs for idempotency), everything else as recorded.

# The marker stored as the note of what the migration records, worded where it is shown
# (StockEvent.note_shown, the batch page's timeline) in the reader's language.
HISTORY_NOTE = PAPER_LEDGER_NOTE


def _history_uuid(kind: str, key: str) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"supplycoord-allocation-history:{kind}:{key}"))


def _aware(value: dt.datetime) -> dt.datetime:
    return timezone.make_aware(value) if timezone.is_naive(value) else value


@transaction.atomic
def donations_import_history(*, user, donations: list[dict]) -> list[Donation]:
    """Record past donations with their receipt events, as the paper ledger has them.

    Each dict: `warehouse` (code), `donor_name`, `donor_kind`, `received_at` (datetime),
    `lines` [{"item": code, "quantity": n}], optional `client_uuid` (of the receipt event;
    default derived from donor and date), `foreign`, `declared_value`, `restriction`,
    `restricted_prefecture`, `restricted_destination`, `public`, `note`, `source_document`.
    Idempotent: a donation whose receipt event is already stored is returned, not recorded
    again. Raises PermissionDenied, AllocationInvalid, inventory's StockImportInvalid.
    """
    from inventory.services import stock_events_import

    _require(can_record_donation(user), _("Only the office records donations."))
    errors: list = []
    events = []
    for index, raw in enumerate(donations):
        errors += _donation_errors(
            index,
            donor_name=(raw.get("donor_name") or "").strip(),
            donor_kind=raw.get("donor_kind"),
            restriction=raw.get("restriction", DonationRestriction.NONE),
            restricted_prefecture=raw.get("restricted_prefecture"),
            restricted_destination=raw.get("restricted_destination"),
        )
        received_at = raw.get("received_at")
        if not isinstance(received_at, dt.datetime):
            errors.append((index, _("Give the date and time the donation was received.")))
            continue
        events.append(
            {
                "warehouse": raw.get("warehouse"),
                "kind": "receipt",
                "source": ReceiptSource.DONATION,
                "occurred_at": _aware(received_at),
                "lines": raw.get("lines"),
                "counterparty": (raw.get("donor_name") or "")[:128],
                "source_document": raw.get("source_document", ""),
                "note": raw.get("note", ""),
                "client_uuid": raw.get("client_uuid")
                or _history_uuid("donation", f"{raw.get('donor_name')}:{received_at.isoformat()}"),
            }
        )
    if errors:
        raise AllocationInvalid(errors)
    posted = stock_events_import(user=user, events=events)
    existing = {
        d.receipt_event_id: d
        for d in Donation.objects.filter(receipt_event__in=[e.pk for e in posted])
    }
    now = timezone.now()
    result = []
    for raw, event in zip(donations, posted, strict=True):
        donation = existing.get(event.pk)
        if donation is None:
            donation = _donation_write(
                user=user,
                event=event,
                now=now,
                donor_name=raw["donor_name"].strip(),
                donor_kind=raw["donor_kind"],
                foreign=bool(raw.get("foreign")),
                received_on=local_date(event.occurred_at),
                declared_value=raw.get("declared_value"),
                restriction=raw.get("restriction", DonationRestriction.NONE),
                restricted_prefecture=raw.get("restricted_prefecture"),
                restricted_destination=raw.get("restricted_destination"),
                public=bool(raw.get("public")),
                note=raw.get("note", ""),
            )
            donation.replayed = False
        else:
            donation.replayed = True
        result.append(donation)
    return result


@transaction.atomic
def batches_import_history(*, user, batches: list[dict]) -> list[DispatchBatch]:
    """Migrate past dispatch batches from a paper ledger, as recorded: the province's, or a
    prefecture's own (three-level dispatch: the office types in what a prefecture kept on paper).

    Each dict: `number` ("2020-001" for the province's, "620100-2020-001" for a batch its
    prefecture issued from its own warehouse: its year and number are kept, and that series
    moves past it), `source_warehouse` (Warehouse or code), `destination`, `lines` (as
    batch_create; donations are checked: restriction, warehouse, what is left), `priority`,
    `reason`, `planned_dispatch_date`, `expected_arrival`, `carrier`, `vehicle`, `note`,
    `created_at` and `created_by`, `approved_by` and `approved_at`, `dispatched_at` and
    `dispatched_by` (each checked against the rules of the batch's level; default the
    importing user; `dispatched_at` required: only batches
    that left are migrated), `receipts` [{"at", "by", "quantities": [per line, in order],
    "note"}], `complete` (receipt completed even if lines are short: the difference stays as
    a discrepancy), `closed_at`, `closed_by` (checked as the others) and `close_note`,
    optional `issue_client_uuid`.

    The issue events of every batch are posted in one `stock_events_import` call (stock
    never negative at any point; a shortage refuses the whole import). A batch whose number
    is already stored is returned as it is (`replayed` True): a second run adds nothing.
    Raises PermissionDenied, AllocationInvalid, DonationRestricted, DonationOverdrawn, and
    inventory's StockImportInvalid (with the shortfall) when a source warehouse lacked stock.
    """
    import re

    from inventory.services import stock_events_import

    _require(is_office(user), _("Only the office imports dispatch batches."))
    numbers = [raw.get("number") for raw in batches]
    stored = {b.number: b for b in DispatchBatch.objects.filter(number__in=numbers)}
    warehouses = {w.code: w for w in Warehouse.objects.all()}
    created: list[tuple[DispatchBatch, dict, list]] = []
    results: list[DispatchBatch | None] = [None] * len(batches)
    top: dict[tuple, int] = {}
    now = timezone.now()
    for index, raw in enumerate(batches):
        number = raw.get("number") or ""
        match = (
            re.fullmatch(r"(?:(\w{1,8})-)?(\d{4})-(\d{3,})", number, re.ASCII)
            if isinstance(number, str)
            else None
        )
        # A number the batch's column or its series' counter cannot hold is refused here, not
        # by the database half-way through the migration.
        if (
            match is None
            or len(number) > DispatchBatch._meta.get_field("number").max_length
            or int(match.group(3)) > MAX_SEQUENCE_NUMBER
        ):
            raise AllocationInvalid([(index, _("A batch number looks like 2020-058."))])
        prefix, year, sequence = match.group(1), int(match.group(2)), int(match.group(3))
        top[(prefix, year)] = max(top.get((prefix, year), 0), sequence)
        if number in stored:
            stored[number].replayed = True
            results[index] = stored[number]
            continue
        source = raw.get("source_warehouse")
        if isinstance(source, str):
            source = warehouses.get(source)
        destination = raw.get("destination")
        errors: list = []
        _check_places(source, destination, errors)
        _check_level(user, source, destination, errors, index=index, migrating=True)
        issuer = _issuing_prefecture(source) if isinstance(source, Warehouse) else None
        if (issuer.code if issuer else None) != prefix:
            errors.append(
                (
                    index,
                    _(
                        "A batch from a prefecture's warehouse is numbered in its prefecture's "
                        "series (620100-2020-001); the province's batches like 2020-058."
                    ),
                )
            )
        values = _batch_fields(
            errors,
            priority=raw.get("priority", BatchPriority.OTHER),
            reason=raw.get("reason", ""),
            planned_dispatch_date=raw.get("planned_dispatch_date"),
            expected_arrival=raw.get("expected_arrival"),
            carrier=raw.get("carrier", ""),
            vehicle=raw.get("vehicle", ""),
            note=raw.get("note", ""),
        )
        dispatched_at = raw.get("dispatched_at")
        if not isinstance(dispatched_at, dt.datetime):
            errors.append((index, _("Give the date and time the batch was dispatched.")))
        elif _aware(dispatched_at) > now:
            errors.append((index, _("A migrated batch cannot be dispatched in the future.")))
        if errors:
            raise AllocationInvalid(errors)
        dispatched_at = _aware(dispatched_at)
        parsed = _parse_batch_lines(raw.get("lines"))
        _check_donations(parsed, destination=destination, source_warehouse=source)
        _check_request_lines(parsed, destination=destination)
        batch = _draft_write(
            number=number,
            year=year,
            issuing_prefecture=issuer,
            source_warehouse=source,
            destination=destination,
            parsed=parsed,
            by=raw.get("created_by") or user,
            at=_aware(raw.get("created_at") or dispatched_at),
            audit_note=HISTORY_NOTE,
            **values,
        )
        # Whoever the paper names, or the importing office when it names nobody, must be
        # someone the batch's level lets act: a prefecture's batch names its own officers.
        for who, rule in (("created_by", can_edit_batch), ("dispatched_by", can_dispatch_batch)):
            person = raw.get(who) or user
            if not rule(person, batch):
                message = _("%(user)s may not act on batch %(number)s.")
                raise AllocationInvalid([(index, message % {"user": person, "number": number})])
        approved_by = raw.get("approved_by") or user
        if not can_approve_batch(approved_by, batch):
            message = _("%(user)s may not approve batch %(number)s.")
            raise AllocationInvalid([(index, message % {"user": approved_by, "number": number})])
        batch = _approved(
            batch,
            by=approved_by,
            at=_aware(raw.get("approved_at") or dispatched_at),
            note=HISTORY_NOTE,
        )
        created.append((batch, raw, parsed))
        results[index] = batch

    # Each series moves past the migrated numbers (never back).
    prefectures = {p.code: p for p in Prefecture.objects.filter(code__in={k[0] for k in top})}
    for (prefix, year), last in sorted(top.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
        if prefix is None:
            sequence, _new = BatchYearSequence.objects.select_for_update().get_or_create(year=year)
        elif prefix in prefectures:
            sequence, _new = PrefectureBatchSequence.objects.select_for_update().get_or_create(
                prefecture=prefectures[prefix], year=year
            )
        else:
            continue
        if sequence.last_number < last:
            sequence.last_number = last
            sequence.save(update_fields=["last_number"])
    if not created:
        return results

    events = []
    for batch, raw, parsed in created:
        per_item: dict[str, int] = defaultdict(int)
        for line in parsed:
            per_item[line["item"].code] += line["quantity"]
        events.append(
            {
                "warehouse": batch.source_warehouse.code,
                "kind": "issue",
                "issue_kind": IssueKind.DISPATCH,
                "occurred_at": _aware(raw["dispatched_at"]),
                "lines": [{"item": code, "quantity": q} for code, q in sorted(per_item.items())],
                "source_document": batch.number,
                "counterparty": batch.destination.name_zh[:128],
                "note": HISTORY_NOTE,
                "client_uuid": raw.get("issue_client_uuid")
                or _history_uuid("batch-issue", batch.number),
            }
        )
    posted = stock_events_import(user=user, events=events)

    dates = set()
    for (batch, raw, _parsed), event in zip(created, posted, strict=True):
        batch = _dispatched(
            batch,
            by=raw.get("dispatched_by") or user,
            event=event,
            at=event.occurred_at,
            note=HISTORY_NOTE,
        )
        dates.add(local_date(event.occurred_at))
        lines = {line.pk: line for line in batch.lines.order_by("pk")}
        receipts = raw.get("receipts") or ()
        for number, receipt in enumerate(receipts, start=1):
            at, by = receipt.get("at"), receipt.get("by") or user
            if not isinstance(at, dt.datetime):
                raise AllocationInvalid([(None, _("Give the date and time of each receipt."))])
            if not can_receive_batch(by, batch):
                message = _("%(user)s may not confirm receipt of batch %(number)s.")
                raise AllocationInvalid([(None, message % {"user": by, "number": batch.number})])
            _require_status(
                batch,
                (BatchStatus.DISPATCHED, BatchStatus.PARTLY_RECEIVED),
                _("Only a dispatched batch can be received; this batch is %(status)s."),
            )
            quantities = receipt.get("quantities")
            if not isinstance(quantities, list | tuple) or len(quantities) != len(lines):
                raise AllocationInvalid([(None, _("A line of another batch was given."))])
            at, note = _aware(at), (receipt.get("note") or "").strip()
            complete = bool(raw.get("complete")) and number == len(receipts)
            quantities = _receipt_quantities(
                batch,
                lines=lines,
                received=dict(zip(lines, quantities, strict=True)),
                when=at,
                now=now,
                note=note,
                complete=complete,
            )
            batch = _received(
                batch,
                lines=lines,
                quantities=quantities,
                by=by,
                received_at=at,
                recorded_at=now,
                at=at,
                note=note,
                complete=complete,
            )
            dates.add(local_date(at))
        closed_at = raw.get("closed_at")
        if closed_at and batch.status in (BatchStatus.RECEIVED, BatchStatus.PARTLY_RECEIVED):
            if not isinstance(closed_at, dt.datetime) or not (
                batch.dispatched_at <= _aware(closed_at) <= now
            ):
                raise AllocationInvalid(
                    [(None, _("A batch is closed after it was dispatched and not in the future."))]
                )
            closed_by = raw.get("closed_by") or user
            if not can_close_batch(closed_by, batch):
                message = _("%(user)s may not act on batch %(number)s.")
                raise AllocationInvalid(
                    [(None, message % {"user": closed_by, "number": batch.number})]
                )
            batch = _closed(
                batch,
                by=closed_by,
                at=_aware(closed_at),
                note=raw.get("close_note") or HISTORY_NOTE,
            )
        batch.replayed = False
    batch_moved(dates=dates)
    return results


ATTACHMENT_EXTENSIONS = (".pdf", ".ofd", ".jpg", ".jpeg", ".png", ".docx", ".xlsx")


def attachment_name(file) -> str:
    """The uploaded file's own name, without any folder the browser sent."""
    return (getattr(file, "name", "") or "").rsplit("/", 1)[-1]


def attachment_problem(file) -> str | None:
    """Why an uploaded paper (of a batch or a request) is refused, translated, or None: a PDF,
    OFD, image or Office document no larger than SUPPLYCOORD["ATTACHMENT_MAX_BYTES"]."""
    limit = settings.SUPPLYCOORD["ATTACHMENT_MAX_BYTES"]
    if not attachment_name(file).lower().endswith(ATTACHMENT_EXTENSIONS):
        return _("Attach a PDF, OFD, JPEG, PNG, Word or Excel file.")
    if file.size > limit:
        return _("The file is larger than %(mb)d MB.") % {"mb": limit // (1024 * 1024)}
    return None


@transaction.atomic
def batch_attach(*, user, batch, file, description=""):
    """File a document with a batch (e.g. the leadership's approval). Office staff only.

    The file must be a PDF/OFD, an image or an Office document, no larger than
    SUPPLYCOORD["ATTACHMENT_MAX_BYTES"]. Raises AllocationInvalid with field "file".
    """

    if not can_attach_to_batch(user, batch):
        raise PermissionDenied
    name = attachment_name(file)
    problem = attachment_problem(file)
    if problem:
        raise AllocationInvalid([(None, problem)])
    # A file upload's fields pass no middleware check: the text rule is applied here.
    message = text_error(description or "", multiline=True)
    if message:
        raise AllocationInvalid([(None, message)])
    return BatchAttachment.objects.create(
        batch=batch,
        file=file,
        original_name=name[:255],
        description=description.strip()[:200],
        uploaded_by=user,
        uploaded_at=timezone.now(),
    )
