"""Requests from below (需求申请, issue 15): submit, triage, withdraw, put into draft batches.

A claimant (allocation.Destination: a prefecture, a county, a provincial institution, an aid
team, a key unit) asks for items by a date, with its urgency and why. The office decides each
line: accepted in whole or in part, or refused, each with a reason (a reason is required for a
part or a refusal; an acceptance may give one). Accepted lines become lines of draft batches
(`requests_into_batches`), which then follow the batch workflow; the request is filled by the
batch lines that answer it (DispatchBatchLine.request_line). Every step writes a RequestEvent
row in the same transaction. Reads are in allocation/request_selectors.py.
"""

import datetime as dt
import uuid
from collections import Counter, defaultdict

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from inventory.models import RESERVE_KINDS, Warehouse, WarehouseKind
from supplycoord.bulk import RowError, RowsInvalid
from supplycoord.lib.dates import local_date, local_today
from supplycoord.lib.numbering import next_year_number
from supplycoord.lib.numbers import grouped
from supplycoord.lib.text import max_quantity, text_error
from supplycoord.models import Item
from supplycoord.notifications import recipients as to
from supplycoord.notifications.kinds import translated
from supplycoord.notifications.services import notify
from supplycoord.permissions import (
    can_issue_from,
    can_request_for,
    can_submit_requests,
    can_triage_request,
    can_triage_requests,
    can_withdraw_request,
)

from .models import (
    ACCEPTED_DECISIONS,
    BatchPriority,
    BatchStatus,
    Channel,
    Destination,
    DispatchBatch,
    DispatchBatchLine,
    LineDecision,
    RequestAction,
    RequestAttachment,
    RequestEvent,
    RequestUrgency,
    RequestYearSequence,
    SupplyRequest,
    SupplyRequestLine,
)
from .services import AllocationError, attachment_name, attachment_problem, batch_create

JUSTIFICATION_MAX = 2000
REASON_MAX = 500
# How far ahead a needed-by date may be: beyond it a date is a typo (2062 for 2026).
NEEDED_BY_MAX_DAYS = 366
MAX_LINES = 200

# The decisions the office gives (pending and withdrawn are not decisions).
TRIAGE_DECISIONS = (LineDecision.ACCEPTED, LineDecision.ACCEPTED_PART, LineDecision.REFUSED)


class RequestInvalid(RowsInvalid):
    """A request, a triage or a withdrawal refused; `errors`: RowError(row = the line's index
    in what was sent, None for the request as a whole; field; message)."""


class RequestConflict(AllocationError):
    def __init__(self):
        super().__init__(
            _("Someone else changed this request in the meantime. Reload it and try again.")
        )


def _text(errors, field, value, *, required, limit, multiline, row=None) -> str:
    if value is not None and not isinstance(value, str):
        errors.append(RowError(row, field, _("Enter text.")))
        return ""
    value = (value or "").strip()
    message = text_error(value, multiline=multiline)
    if message:
        errors.append(RowError(row, field, message))
    elif required and not value:
        errors.append(RowError(row, field, _("This field is required.")))
    elif len(value) > limit:
        errors.append(
            RowError(row, field, _("At most %(limit)d characters, please.") % {"limit": limit})
        )
    return value


def _whole(errors, field, value, *, row, minimum=1) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        errors.append(RowError(row, field, _("Enter a whole number.")))
        return None
    if value < minimum:
        if minimum == 1:
            errors.append(RowError(row, field, _("Enter a quantity above zero.")))
        else:
            errors.append(RowError(row, field, _("Enter a whole number, zero or more.")))
        return None
    if value > max_quantity():
        errors.append(
            RowError(
                row,
                field,
                _("Numbers larger than %(max)s are not accepted.")
                % {"max": grouped(max_quantity())},
            )
        )
        return None
    return value


def _next_request_number(year: int) -> str:
    """XQ-2026-001, numbered like orders and national requests (no gaps)."""
    return next_year_number(RequestYearSequence, "XQ", year)


def request_check(*, claimant, urgency, needed_by, justification, lines, today=None) -> tuple:
    """The request's fields checked, every problem at once: (values, parsed lines, errors).

    `lines`: [{"item": Item or code, "quantity": int > 0}], each item once. Shared by the
    service and the Excel import (which checks a whole file before writing any of it)."""
    errors: list[RowError] = []
    today = today or local_today()
    if not isinstance(claimant, Destination) or not claimant.active:
        errors.append(RowError(None, "claimant", _("Choose an active claimant.")))
    if urgency not in RequestUrgency.values:
        errors.append(RowError(None, "urgency", _("Choose routine, urgent or emergency.")))
    if not isinstance(needed_by, dt.date) or isinstance(needed_by, dt.datetime):
        errors.append(RowError(None, "needed_by", _("Enter the date the goods are needed by.")))
    elif needed_by < today:
        errors.append(RowError(None, "needed_by", _("The needed-by date is in the past.")))
    elif needed_by > today + dt.timedelta(days=NEEDED_BY_MAX_DAYS):
        errors.append(
            RowError(
                None,
                "needed_by",
                _("The needed-by date is more than a year ahead; check the year."),
            )
        )
    justification = _text(
        errors,
        "justification",
        justification,
        required=True,
        limit=JUSTIFICATION_MAX,
        multiline=True,
    )
    parsed = []
    if not isinstance(lines, list | tuple) or not lines:
        errors.append(RowError(None, "lines", _("Add at least one line.")))
        lines = []
    elif len(lines) > MAX_LINES:
        errors.append(
            RowError(None, "lines", _("At most %(max)d lines in one request.") % {"max": MAX_LINES})
        )
        lines = []
    codes = {line.get("item") for line in lines if isinstance(line, dict)}
    codes = {code.strip() for code in codes if isinstance(code, str)}
    catalogue = {item.code: item for item in Item.objects.filter(code__in=codes, active=True)}
    seen = set()
    for index, line in enumerate(lines):
        if not isinstance(line, dict):
            errors.append(RowError(index, "item", _("Each line gives an item and a quantity.")))
            continue
        item = line.get("item")
        if isinstance(item, str):
            item = catalogue.get(item.strip())
        if not isinstance(item, Item) or not item.active:
            errors.append(RowError(index, "item", _("Choose an item of the catalogue.")))
            item = None
        elif item.pk in seen:
            errors.append(
                RowError(index, "item", _("%(item)s is already on this request.") % {"item": item})
            )
        else:
            seen.add(item.pk)
        quantity = _whole(errors, "quantity", line.get("quantity"), row=index)
        parsed.append({"item": item, "quantity": quantity})
    values = {
        "claimant": claimant,
        "urgency": urgency,
        "needed_by": needed_by,
        "justification": justification,
    }
    return values, parsed, errors


def _event(request, *, action, by, at, line=None, decision="", quantity=None, note="", batch=None):
    return RequestEvent(
        request=request,
        line=line,
        action=action,
        decision=decision,
        quantity=quantity,
        note=note,
        batch=batch,
        by=by,
        at=at,
    )


@transaction.atomic
def request_submit(
    *,
    user,
    claimant: Destination,
    urgency: str,
    needed_by: dt.date,
    justification: str,
    lines,
    client_uuid: uuid.UUID | str | None = None,
    now: dt.datetime | None = None,
) -> tuple[SupplyRequest, bool]:
    """Submit a request for `claimant`; (the request, whether it was created).

    `client_uuid` makes a resend harmless: a request with that id already submitted by the
    same user comes back as it is (created False). Raises PermissionDenied (the user may not
    request for the claimant), RequestInvalid (every problem, by line and field)."""
    if not can_submit_requests(user):
        raise PermissionDenied(_("Your role may not submit supply requests."))
    if client_uuid is not None:
        try:
            client_uuid = uuid.UUID(str(client_uuid))
        except ValueError:
            raise RequestInvalid(
                [RowError(None, "client_uuid", _("Enter a valid UUID."))]
            ) from None
        existing = SupplyRequest.objects.filter(client_uuid=client_uuid).first()
        if existing is not None:
            if existing.submitted_by_id != user.pk:
                raise RequestInvalid(
                    [RowError(None, "client_uuid", _("This request id was already used."))]
                )
            return existing, False
    if isinstance(claimant, Destination) and not can_request_for(user, claimant):
        raise PermissionDenied(_("You may not submit requests for this claimant."))
    values, parsed, errors = request_check(
        claimant=claimant,
        urgency=urgency,
        needed_by=needed_by,
        justification=justification,
        lines=lines,
        # A request recorded as of `now` (history) is checked against that day.
        today=local_date(now) if now is not None else None,
    )
    if errors:
        raise RequestInvalid(errors)
    now = now or timezone.now()
    request = SupplyRequest.objects.create(
        number=_next_request_number(local_date(now).year),
        submitted_by=user,
        submitted_at=now,
        client_uuid=client_uuid,
        **values,
    )
    SupplyRequestLine.objects.bulk_create(
        SupplyRequestLine(request=request, item=line["item"], quantity=line["quantity"])
        for line in parsed
    )
    _event(request, action=RequestAction.SUBMITTED, by=user, at=now).save()
    if request.urgency == RequestUrgency.EMERGENCY:
        # Who triages it (the office; a county's, also its prefecture's officers) hears of it.
        claimant = request.claimant
        notify(
            event="request_emergency",
            recipients=[to.office(), to.prefecture_officers(claimant.prefecture_id)],
            params={
                "request": request.number,
                "claimant": translated(claimant),
                "needed_by": request.needed_by.isoformat(),
                "items": [_line_words(line["item"], line["quantity"]) for line in parsed],
            },
            url=reverse("allocation:request_detail", args=[request.number]),
            prefecture_id=claimant.prefecture_id,
            county_id=claimant.county_id,
            rule=lambda person: can_triage_request(person, request),
        )
    return request, True


def _line_words(item, quantity) -> dict:
    return translated(lambda: f"{item.name} {grouped(quantity)} {item.get_unit_display()}")


def _locked(request: SupplyRequest, expected_version: int | None) -> SupplyRequest:
    current = SupplyRequest.objects.select_for_update().get(pk=request.pk)
    if expected_version is not None and current.version != expected_version:
        raise RequestConflict()
    return current


def in_batches(line_ids) -> dict[int, int]:
    """{request line id: Σ quantity of the batch lines answering it in batches not cancelled}."""
    return dict(
        DispatchBatchLine.objects.filter(request_line_id__in=list(line_ids))
        .exclude(batch__status=BatchStatus.CANCELLED)
        .values_list("request_line_id")
        .annotate(total=Sum("quantity"))
        .order_by()
    )


@transaction.atomic
def request_triage(
    *,
    user,
    request: SupplyRequest,
    expected_version: int,
    decisions,
    now: dt.datetime | None = None,
) -> SupplyRequest:
    """The office's decision on lines of a request.

    `decisions`: [{"line": line id, "decision": accepted | accepted_part | refused,
    "accepted_quantity": int (accepted_part only), "reason": str}]. A part (0 < accepted <
    asked) and a refusal need a reason. A line may be decided again (a correction, kept in the
    request's events) unless it was withdrawn, and never below what is already in batches.
    `now`: when it was decided (history, e.g. the demo); default the present.
    Raises PermissionDenied, RequestConflict, RequestInvalid."""
    if not can_triage_request(user, request):
        raise PermissionDenied(
            _("Only the office triages requests, and a prefecture's officers its counties'.")
        )
    current = _locked(request, expected_version)
    lines = {line.pk: line for line in current.lines.select_related("item").order_by("pk")}
    errors: list[RowError] = []
    if not isinstance(decisions, list | tuple) or not decisions:
        raise RequestInvalid([RowError(None, "decisions", _("Decide at least one line."))])
    batched = in_batches(lines)
    changes = []
    seen = set()
    for index, entry in enumerate(decisions):
        if not isinstance(entry, dict):
            errors.append(RowError(index, "line", _("Each decision names a line.")))
            continue
        line = lines.get(entry.get("line")) if isinstance(entry.get("line"), int) else None
        if line is None:
            errors.append(RowError(index, "line", _("This line is not on the request.")))
            continue
        if line.pk in seen:
            errors.append(RowError(index, "line", _("This line is decided twice.")))
            continue
        seen.add(line.pk)
        decision = entry.get("decision")
        reason = _text(
            errors,
            "reason",
            entry.get("reason"),
            required=decision in (LineDecision.ACCEPTED_PART, LineDecision.REFUSED),
            limit=REASON_MAX,
            multiline=True,
            row=index,
        )
        if decision not in TRIAGE_DECISIONS:
            errors.append(
                RowError(index, "decision", _("Choose accept, accept in part or refuse."))
            )
            continue
        if line.decision == LineDecision.WITHDRAWN:
            errors.append(
                RowError(index, "decision", _("%(item)s was withdrawn.") % {"item": line.item})
            )
            continue
        if decision == LineDecision.ACCEPTED:
            accepted = line.quantity
        elif decision == LineDecision.REFUSED:
            accepted = 0
        else:
            accepted = _whole(
                errors, "accepted_quantity", entry.get("accepted_quantity"), row=index
            )
            if accepted is None:
                continue
            if accepted >= line.quantity:
                errors.append(
                    RowError(
                        index,
                        "accepted_quantity",
                        _("A part is less than the %(asked)s asked; accept the line instead.")
                        % {"asked": grouped(line.quantity)},
                    )
                )
                continue
        if accepted < batched.get(line.pk, 0):
            errors.append(
                RowError(
                    index,
                    "accepted_quantity",
                    _(
                        "%(item)s: %(batched)s are already in batches; accept at least that "
                        "much (cancel or edit the batch first)."
                    )
                    % {"item": line.item, "batched": grouped(batched[line.pk])},
                )
            )
            continue
        changes.append((line, decision, accepted, reason))
    if errors:
        raise RequestInvalid(errors)
    now = now or timezone.now()
    events = []
    for line, decision, accepted, reason in changes:
        line.decision = decision
        line.accepted_quantity = accepted
        line.decision_reason = reason
        line.decided_by = user
        line.decided_at = now
        events.append(
            _event(
                current,
                action=RequestAction.TRIAGED,
                by=user,
                at=now,
                line=line,
                decision=decision,
                quantity=accepted,
                note=reason,
            )
        )
    SupplyRequestLine.objects.bulk_update(
        [change[0] for change in changes],
        ["decision", "accepted_quantity", "decision_reason", "decided_by", "decided_at"],
    )
    RequestEvent.objects.bulk_create(events)
    current.version += 1
    current.save(update_fields=["version"])
    # Its submitter and the claimant's requesters hear of the decisions (not the decider).
    claimant = request.claimant  # the caller's row: no query when the rule above read it
    decided = Counter(line.decision for line in lines.values())
    notify(
        event="request_triaged",
        recipients=[to.users([current.submitted_by_id]), Q(requester_units=claimant.pk)],
        params={
            "request": current.number,
            "claimant": translated(claimant),
            "accepted": decided[LineDecision.ACCEPTED],
            "part": decided[LineDecision.ACCEPTED_PART],
            "refused": decided[LineDecision.REFUSED],
            "pending": decided[LineDecision.PENDING],
        },
        url=reverse("allocation:request_detail", args=[current.number]),
        prefecture_id=claimant.prefecture_id,
        county_id=claimant.county_id,
        rule=lambda person: person.pk != user.pk,
    )
    return current


@transaction.atomic
def request_withdraw(
    *, user, request: SupplyRequest, expected_version: int, reason: str
) -> SupplyRequest:
    """The requester (or the office) withdraws what is not yet in a batch: every line pending
    or accepted with nothing in batches becomes withdrawn; a line already partly in batches
    stays as it is. Raises PermissionDenied, RequestConflict, RequestInvalid."""
    if not can_withdraw_request(user, request):
        raise PermissionDenied(_("You may not withdraw this request."))
    current = _locked(request, expected_version)
    errors: list[RowError] = []
    reason = _text(errors, "reason", reason, required=True, limit=REASON_MAX, multiline=True)
    if errors:
        raise RequestInvalid(errors)
    lines = list(current.lines.order_by("pk"))
    batched = in_batches(line.pk for line in lines)
    withdrawn = [
        line
        for line in lines
        if line.decision in (LineDecision.PENDING, *ACCEPTED_DECISIONS) and not batched.get(line.pk)
    ]
    if not withdrawn:
        raise RequestInvalid(
            [RowError(None, "lines", _("Nothing on this request can be withdrawn any more."))]
        )
    now = timezone.now()
    for line in withdrawn:
        line.decision = LineDecision.WITHDRAWN
    SupplyRequestLine.objects.bulk_update(withdrawn, ["decision"])
    RequestEvent.objects.bulk_create(
        _event(
            current,
            action=RequestAction.WITHDRAWN,
            by=user,
            at=now,
            line=line,
            decision=LineDecision.WITHDRAWN,
            note=reason,
        )
        for line in withdrawn
    )
    current.version += 1
    current.save(update_fields=["version"])
    return current


def _batch_priority(claimant) -> str:
    return BatchPriority.KEY_UNIT if claimant.kind == "key_unit" else BatchPriority.OTHER


@transaction.atomic
def requests_into_batches(
    *,
    user,
    line_ids: list[int],
    source_warehouse: Warehouse,
    channel: str = Channel.RESERVE,
) -> list[DispatchBatch]:
    """Put what is left of accepted request lines (accepted − already in batches) into draft
    batches from `source_warehouse`: one draft per claimant, one line per request line, the
    expected arrival the earliest needed-by date. The drafts then follow the batch workflow
    (edited, approved, dispatched). Raises PermissionDenied, RequestInvalid, and the batch
    services' errors (AllocationInvalid, ...)."""
    if not can_triage_requests(user):
        raise PermissionDenied(_("Only the office puts requests into batches."))
    errors: list[RowError] = []
    if not isinstance(source_warehouse, Warehouse) or not (
        source_warehouse.kind in RESERVE_KINDS or source_warehouse.kind == WarehouseKind.PREFECTURE
    ):
        errors.append(
            RowError(None, "source_warehouse", _("Choose a reserve warehouse to ship from."))
        )
    elif not can_issue_from(user, source_warehouse):
        errors.append(
            RowError(None, "source_warehouse", _("You may not issue batches from this warehouse."))
        )
    if channel not in Channel.values or channel == Channel.DONATION:
        errors.append(RowError(None, "channel", _("Choose a channel (not a donation).")))
    ids = sorted({pk for pk in line_ids if isinstance(pk, int) and not isinstance(pk, bool)})
    if not ids or len(ids) != len(line_ids):
        errors.append(RowError(None, "lines", _("Choose the accepted lines to put into batches.")))
    if errors:
        raise RequestInvalid(errors)
    lines = list(
        SupplyRequestLine.objects.select_for_update()
        .filter(pk__in=ids)
        .select_related("request__claimant", "item")
        .order_by("pk")
    )
    if len(lines) != len(ids):
        raise RequestInvalid([RowError(None, "lines", _("A chosen line does not exist."))])
    batched = in_batches(ids)
    per_claimant = defaultdict(list)
    for line in lines:
        # Whoever may not triage a request does not batch it either (a prefecture's officers
        # batch their counties' requests only).
        if not can_triage_request(user, line.request):
            raise PermissionDenied(_("You may not put this request into a batch."))
    for index, line in enumerate(lines):
        left = line.accepted_quantity - batched.get(line.pk, 0)
        if line.decision not in ACCEPTED_DECISIONS or left <= 0:
            errors.append(
                RowError(
                    index,
                    "lines",
                    _("%(number)s, %(item)s: nothing accepted is left to put into a batch.")
                    % {"number": line.request.number, "item": line.item},
                )
            )
            continue
        per_claimant[line.request.claimant].append((line, left))
    if errors:
        raise RequestInvalid(errors)
    now = timezone.now()
    batches, events = [], []
    for claimant, entries in sorted(per_claimant.items(), key=lambda kv: kv[0].pk):
        numbers = sorted({line.request.number for line, _left in entries})
        urgent = any(line.request.urgency == RequestUrgency.EMERGENCY for line, _ in entries)
        batch = batch_create(
            user=user,
            source_warehouse=source_warehouse,
            destination=claimant,
            lines=[
                {"item": line.item, "quantity": left, "channel": channel, "request_line": line}
                for line, left in entries
            ],
            priority=_batch_priority(claimant),
            reason=(
                (_("Emergency request %(numbers)s") if urgent else _("Request %(numbers)s"))
                % {"numbers": ", ".join(numbers)}
            )[:500],
            expected_arrival=min(line.request.needed_by for line, _left in entries),
        )
        batches.append(batch)
        for line, left in entries:
            events.append(
                _event(
                    line.request,
                    action=RequestAction.BATCHED,
                    by=user,
                    at=now,
                    line=line,
                    quantity=left,
                    batch=batch,
                )
            )
    RequestEvent.objects.bulk_create(events)
    SupplyRequest.objects.filter(pk__in={line.request_id for line in lines}).update(
        version=F("version") + 1
    )
    return batches


@transaction.atomic
def request_attach(*, user, request: SupplyRequest, file, description: str = ""):
    """File a document with a request (a signed list, a letter). Whoever may request for the
    claimant, or the office. Raises PermissionDenied, RequestInvalid (field "file")."""
    if not can_request_for(user, request.claimant):
        raise PermissionDenied(_("You may not attach files to this request."))
    name = attachment_name(file)
    errors: list[RowError] = []
    problem = attachment_problem(file)
    if problem:
        errors.append(RowError(None, "file", problem))
    description = _text(
        errors, "description", description, required=False, limit=200, multiline=True
    )
    message = text_error(name)
    if message:
        errors.append(RowError(None, "file", message))
    if errors:
        raise RequestInvalid(errors)
    return RequestAttachment.objects.create(
        request=request,
        file=file,
        original_name=name[:255],
        description=description,
        uploaded_by=user,
        uploaded_at=timezone.now(),
    )
