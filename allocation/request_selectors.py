"""Reads of requests from below (issue 15; reports.md "Requests and the rate a proposal uses").

A request line is *open* from submission until fully dispatched, refused or withdrawn: a line
awaiting triage is open; an accepted line is open while the batch lines answering it that were
dispatched (dispatched, partly received, received or closed after dispatch) sum to less than
its accepted quantity. `fill_rate` = dispatched ÷ accepted; `time_to_fill` = first dispatch −
submission (the median over lines).
"""

import dataclasses
import datetime as dt
import statistics
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.db.models import Case, F, IntegerField, Min, Q, Sum, When
from django.db.models.functions import Coalesce

from supplycoord.permissions import scope_requests

from .models import (
    ACCEPTED_DECISIONS,
    BatchStatus,
    DispatchBatchLine,
    LineDecision,
    RequestUrgency,
    SupplyRequest,
    SupplyRequestLine,
)

# A batch in one of these states has left the warehouse: its lines count as dispatched.
DISPATCHED_STATES = (
    BatchStatus.DISPATCHED,
    BatchStatus.PARTLY_RECEIVED,
    BatchStatus.RECEIVED,
    BatchStatus.CLOSED,
)


class RequestState:
    """A request's state for its requester, from its lines (see `request_state`)."""

    AWAITING_TRIAGE = "awaiting_triage"
    OPEN = "open"
    DISPATCHED = "dispatched"
    RECEIVED = "received"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


@dataclasses.dataclass
class LineProgress:
    in_batches: int = 0  # batches not cancelled (drafts included)
    dispatched: int = 0
    received: int = 0
    first_dispatch: dt.datetime | None = None


def line_progress(line_ids) -> dict[int, LineProgress]:
    """{request line id: LineProgress}, in one query whatever the number of lines."""
    ids = list(line_ids)
    if not ids:
        return {}
    dispatched = Q(batch__status__in=DISPATCHED_STATES) & Q(batch__dispatched_at__isnull=False)
    rows = (
        DispatchBatchLine.objects.filter(request_line_id__in=ids)
        .exclude(batch__status=BatchStatus.CANCELLED)
        .values("request_line_id")
        .annotate(
            in_batches=Sum("quantity"),
            dispatched=Coalesce(
                Sum(Case(When(dispatched, then="quantity"), output_field=IntegerField())), 0
            ),
            received=Coalesce(
                Sum(Case(When(dispatched, then="received_quantity"), output_field=IntegerField())),
                0,
            ),
            first_dispatch=Min(Case(When(dispatched, then="batch__dispatched_at"))),
        )
        .order_by()
    )
    progress = {pk: LineProgress() for pk in ids}
    for row in rows:
        progress[row["request_line_id"]] = LineProgress(
            in_batches=row["in_batches"] or 0,
            dispatched=row["dispatched"],
            received=row["received"],
            first_dispatch=row["first_dispatch"],
        )
    return progress


def line_is_open(line: SupplyRequestLine, progress: LineProgress) -> bool:
    if line.decision == LineDecision.PENDING:
        return True
    if line.decision in ACCEPTED_DECISIONS:
        return progress.dispatched < line.accepted_quantity
    return False


def request_state(lines: list[SupplyRequestLine], progress: dict[int, LineProgress]) -> str:
    decisions = {line.decision for line in lines}
    if LineDecision.PENDING in decisions:
        return RequestState.AWAITING_TRIAGE
    accepted = [line for line in lines if line.decision in ACCEPTED_DECISIONS]
    if not accepted:
        if decisions == {LineDecision.REFUSED}:
            return RequestState.REFUSED
        return RequestState.WITHDRAWN
    if any(progress[line.pk].dispatched < line.accepted_quantity for line in accepted):
        return RequestState.OPEN
    if all(progress[line.pk].received >= line.accepted_quantity for line in accepted):
        return RequestState.RECEIVED
    return RequestState.DISPATCHED


STATE_LABELS = {
    # Words for the pages; translated where shown (gettext_lazy in the view's table).
    RequestState.AWAITING_TRIAGE: "awaiting triage",
    RequestState.OPEN: "open",
    RequestState.DISPATCHED: "dispatched",
    RequestState.RECEIVED: "received",
    RequestState.REFUSED: "refused",
    RequestState.WITHDRAWN: "withdrawn",
}


def visible_requests(
    user,
    *,
    state: str | None = None,
    urgency: str | None = None,
    claimant=None,
    item=None,
    submitted_from: dt.date | None = None,
    submitted_to: dt.date | None = None,
):
    """The requests `user` may see, newest first, filtered. `state`: "open" (a line open),
    "awaiting_triage" (a line undecided) or "closed" (no line open). A queryset: the page
    slices it and reads each page's lines with `requests_with_progress`."""
    requests = scope_requests(user, SupplyRequest.objects.all()).select_related(
        "claimant", "submitted_by"
    )
    if urgency:
        requests = requests.filter(urgency=urgency)
    if claimant is not None:
        requests = requests.filter(claimant=claimant)
    if item is not None:
        requests = requests.filter(lines__item=item).distinct()
    if submitted_from:
        requests = requests.filter(submitted_at__date__gte=submitted_from)
    if submitted_to:
        requests = requests.filter(submitted_at__date__lte=submitted_to)
    if state in ("open", "awaiting_triage", "closed"):
        open_ids = open_request_line_ids_q()
        if state == "awaiting_triage":
            requests = requests.filter(lines__decision=LineDecision.PENDING).distinct()
        elif state == "open":
            requests = requests.filter(lines__in=open_ids).distinct()
        else:
            requests = requests.exclude(lines__in=open_ids)
    return requests.order_by("-submitted_at", "-id")


def open_request_line_ids_q():
    """A subquery of the ids of open request lines."""
    lines = SupplyRequestLine.objects.annotate(
        dispatched=Coalesce(
            Sum(
                "batch_lines__quantity",
                filter=Q(batch_lines__batch__status__in=DISPATCHED_STATES),
            ),
            0,
        )
    ).filter(
        Q(decision=LineDecision.PENDING)
        | Q(decision__in=ACCEPTED_DECISIONS, dispatched__lt=F("accepted_quantity"))
    )
    return lines.values("pk")


@dataclasses.dataclass
class RequestRow:
    request: SupplyRequest
    lines: list
    progress: dict
    state: str

    @property
    def asked(self):
        return len(self.lines)


def requests_with_progress(requests) -> list[RequestRow]:
    """Each request of `requests` (a page: already sliced) with its lines and their progress,
    in three queries whatever the page's length."""
    requests = list(requests)
    lines_by_request = defaultdict(list)
    for line in (
        SupplyRequestLine.objects.filter(request__in=requests)
        .select_related("item")
        .order_by("request_id", "id")
    ):
        lines_by_request[line.request_id].append(line)
    progress = line_progress(line.pk for lines in lines_by_request.values() for line in lines)
    rows = []
    for request in requests:
        lines = lines_by_request.get(request.pk, [])
        rows.append(
            RequestRow(
                request=request,
                lines=lines,
                progress={line.pk: progress[line.pk] for line in lines},
                state=request_state(lines, progress) if lines else RequestState.WITHDRAWN,
            )
        )
    return rows


# --- What the proposal reads (reports.md "Requests and the rate a proposal uses") -----------


def open_accepted_requests(*, items, claimants=None) -> dict[tuple[int, int], list]:
    """{(claimant id, item id): [(left to dispatch, needed_by), ...]} over the accepted request
    lines that are open now: accepted − dispatched > 0. Two queries."""
    lines = SupplyRequestLine.objects.filter(
        decision__in=ACCEPTED_DECISIONS, item__in=list(items)
    ).values_list(
        "pk", "request__claimant_id", "item_id", "accepted_quantity", "request__needed_by"
    )
    if claimants is not None:
        lines = lines.filter(request__claimant__in=list(claimants))
    lines = list(lines)
    progress = line_progress(pk for pk, *_rest in lines)
    result = defaultdict(list)
    for pk, claimant_id, item_id, accepted, needed_by in lines:
        left = accepted - progress[pk].dispatched
        if left > 0:
            result[(claimant_id, item_id)].append((left, needed_by))
    return dict(result)


def requested_rate(entries, date: dt.date) -> Decimal | None:
    """Σ open accepted quantity ÷ max(1, days from `date` until needed-by), line by line (a
    line needed sooner weighs more); None without an open accepted line."""
    if not entries:
        return None
    total = Decimal(0)
    for left, needed_by in entries:
        total += Decimal(left) / Decimal(max(1, (needed_by - date).days))
    return total


# --- Fill rate and time to fill -------------------------------------------------------------


@dataclasses.dataclass
class FillRow:
    claimant: object
    item: object
    lines: int
    asked: int
    accepted: int
    dispatched: int
    received: int
    median_hours_to_fill: Decimal | None

    @property
    def fill_rate(self) -> Decimal | None:
        """dispatched ÷ accepted; None where nothing was accepted."""
        if not self.accepted:
            return None
        return Decimal(self.dispatched) / Decimal(self.accepted)


def fill_rates(user, *, start: dt.date, end: dt.date, claimant=None, item=None) -> list[FillRow]:
    """Per claimant and item, over the request lines submitted in [start, end] that the user
    may see: asked, accepted, dispatched (capped at accepted per line), received, fill_rate and
    the median time to fill (first dispatch − submission, over lines dispatched at all).
    Three queries."""
    lines = (
        SupplyRequestLine.objects.filter(
            request__in=scope_requests(user, SupplyRequest.objects.all()),
            request__submitted_at__date__gte=start,
            request__submitted_at__date__lte=end,
        )
        .exclude(decision=LineDecision.WITHDRAWN)
        .select_related("request__claimant", "item")
    )
    if claimant is not None:
        lines = lines.filter(request__claimant=claimant)
    if item is not None:
        lines = lines.filter(item=item)
    lines = list(
        lines.order_by(
            "request__claimant__kind",
            "request__claimant__name_zh",
            "item__sort_order",
            "item__code",
            "pk",
        )[:50000]
    )
    progress = line_progress(line.pk for line in lines)
    groups: dict = {}
    hours = defaultdict(list)
    for line in lines:
        key = (line.request.claimant_id, line.item_id)
        row = groups.get(key)
        if row is None:
            row = groups[key] = FillRow(
                claimant=line.request.claimant,
                item=line.item,
                lines=0,
                asked=0,
                accepted=0,
                dispatched=0,
                received=0,
                median_hours_to_fill=None,
            )
        done = progress[line.pk]
        row.lines += 1
        row.asked += line.quantity
        row.accepted += line.accepted_quantity
        row.dispatched += min(done.dispatched, line.accepted_quantity)
        row.received += min(done.received, line.accepted_quantity)
        if done.first_dispatch is not None:
            seconds = (done.first_dispatch - line.request.submitted_at).total_seconds()
            hours[key].append(Decimal(max(0, seconds)) / Decimal(3600))
    for key, values in hours.items():
        groups[key].median_hours_to_fill = statistics.median(values).quantize(Decimal("0.1"))
    return list(groups.values())


# --- Emergency requests open too long (an alert) --------------------------------------------


def emergency_requests_open_since(moment: dt.datetime) -> list[SupplyRequest]:
    """Emergency requests submitted before `moment` with a line still open: each raises an
    alert (SUPPLYCOORD["EMERGENCY_REQUEST_ALERT_HOURS"] after submission). Two queries."""
    requests = list(
        SupplyRequest.objects.filter(
            urgency=RequestUrgency.EMERGENCY,
            submitted_at__lt=moment,
            lines__in=open_request_line_ids_q(),
        )
        .distinct()
        .select_related("claimant")
        .order_by("submitted_at", "pk")
    )
    return requests


def emergency_alert_hours() -> int:
    return settings.SUPPLYCOORD["EMERGENCY_REQUEST_ALERT_HOURS"]
