"""Reads of allocation: which batches a user sees, in-transit figures, allocation totals."""

import datetime as dt
from collections import defaultdict

from django.db import connection
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from inventory.models import StockBalance
from supplycoord.lib.dates import local_today
from supplycoord.models import Prefecture
from supplycoord.permissions import (
    scope_batches,
    scope_batches_awaiting_my_level,
    scope_to_prefecture,
    sees_whole_province,
)

from .models import (
    PREFECTURE_KINDS,
    SHIPPED_STATUSES,
    BatchReceipt,
    BatchStatus,
    Destination,
    DispatchBatch,
    DispatchBatchLine,
)


def _local_day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def batches_visible_to(user) -> QuerySet[DispatchBatch]:
    """Office, leadership, admin: every batch. A prefecture officer or lead: batches to
    destinations of their prefecture, those their prefecture issued, or that name them as the
    confirming officer. A county officer: its county's. Anyone else: none (`scope_batches`)."""
    return scope_batches(user, DispatchBatch.objects.all())


def issuing_prefectures_visible_to(user) -> QuerySet[Prefecture]:
    """The levels the batch list may be filtered on besides the province's (three-level
    dispatch), by code: the prefectures `user` reads (every one for the province, its own
    for a prefecture's officer or lead, whose landing page filters on it before its first
    batch) and those that issued a batch `user` sees (a county officer's prefecture). One
    query."""
    issued = batches_visible_to(user).filter(issuing_prefecture=OuterRef("pk"))
    read = scope_to_prefecture(user, Prefecture.objects.all(), "pk").values("pk")
    return Prefecture.objects.filter(Q(Exists(issued)) | Q(pk__in=read)).order_by("code")


def batch_destinations_visible_to(user) -> QuerySet[Destination]:
    """The destinations the batch list may be filtered on: every one for the whole province;
    for anyone else those of the batches they see (a county officer is not shown the
    province's register). One query when listed."""
    if sees_whole_province(user):
        return Destination.objects.all()
    seen = batches_visible_to(user).filter(destination=OuterRef("pk"))
    return Destination.objects.filter(Exists(seen))


def batches_with_line_totals(batches) -> list[DispatchBatch]:
    """`batches` (one page of the list) with `line_count` and `total` (the sum of the lines'
    quantities, None without lines) set on each, from one grouped query over their lines.

    The list pages first and counts after: annotating the whole filtered queryset aggregated
    every line of every batch (1 M at national scale) before the page cut it to 50."""
    batches = list(batches)
    totals = {
        row["batch_id"]: (row["line_count"], row["total"])
        for row in DispatchBatchLine.objects.filter(batch_id__in=[b.pk for b in batches])
        .order_by()
        .values("batch_id")
        .annotate(line_count=Count("pk"), total=Sum("quantity"))
    }
    for batch in batches:
        batch.line_count, batch.total = totals.get(batch.pk, (0, None))
    return batches


def in_transit_by_key(date: dt.date) -> dict[tuple[int, int], tuple[int, int]]:
    """{(prefecture_id, item_id): (in_transit, part expected by date+3)} at the end of `date`.

    reports.md: Σ over lines of batches to prefecture and county destinations, shipped −
    received, as of the end of local `date`: a batch dispatched on `date` counts, a part
    received on `date` no longer does. A batch stops being in transit when its receipt was
    completed or it was closed (what never arrived is then a discrepancy, not in transit);
    a line received above what was shipped counts 0, not less. The part whose batch's
    expected arrival is on or before `date + 3` is the second figure (a batch without an
    expected arrival is in transit but not expected within 3 days).
    One query, summed in PostgreSQL per prefecture and item (a national province has
    thousands of lines on the road): each line in transit then, less its receipts up to then.
    """
    end = _local_day_start(date + dt.timedelta(days=1))
    lines = DispatchBatchLine._meta.db_table
    batches = DispatchBatch._meta.db_table
    destinations = DispatchBatch._meta.get_field("destination").related_model._meta.db_table
    receipts = BatchReceipt._meta.db_table
    sql = f"""
        SELECT d.prefecture_id, l.item_id, sum(r.remaining),
               COALESCE(sum(r.remaining) FILTER (WHERE b.expected_arrival <= %(by_three)s), 0)
        FROM {lines} l
        JOIN {batches} b ON b.id = l.batch_id
        JOIN {destinations} d ON d.id = b.destination_id
        CROSS JOIN LATERAL (
            SELECT greatest(0, l.quantity - COALESCE((
                SELECT sum(x.quantity) FROM {receipts} x
                WHERE x.line_id = l.id AND x.received_at < %(end)s
            ), 0)) AS remaining
        ) r
        WHERE b.status = ANY(%(statuses)s) AND b.dispatched_at < %(end)s
          AND d.kind = ANY(%(kinds)s)
          AND (b.received_at IS NULL OR b.received_at >= %(end)s)
          AND (b.closed_at IS NULL OR b.closed_at >= %(end)s)
          AND r.remaining > 0
        GROUP BY d.prefecture_id, l.item_id
    """
    params = {
        "end": end,
        "by_three": date + dt.timedelta(days=3),
        "statuses": [str(status) for status in SHIPPED_STATUSES],
        "kinds": [str(kind) for kind in PREFECTURE_KINDS],
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {
            (prefecture_id, item_id): (int(total), int(arriving))
            for prefecture_id, item_id, total, arriving in cursor.fetchall()
        }


def allocation_totals(date_from: dt.date, date_to: dt.date, *, lines=None) -> dict:
    """reports.md "Allocation totals": Σ line quantities of batches dispatched (dispatched,
    partly received, received, closed) on local dates in [date_from, date_to].

    {"total", "batches", "by_destination_kind": [{destination_kind, quantity}],
    "by_destination": [{destination_id, destination_kind, name_zh, name_en, quantity}],
    "by_item": [{item_id, item_code, quantity}], "by_channel": [{channel, quantity}]}.
    Five grouped queries. `lines`: a queryset of batch lines to keep to (a caller's scope
    and filters, e.g. the ledger export's); default every line.
    """
    scope = lines
    lines = DispatchBatchLine.objects.filter(
        batch__status__in=SHIPPED_STATUSES,
        batch__dispatched_at__gte=_local_day_start(date_from),
        batch__dispatched_at__lt=_local_day_start(date_to + dt.timedelta(days=1)),
    ).order_by()
    if scope is not None:
        lines = lines.filter(pk__in=scope.order_by().values("pk"))

    def grouped(*fields, order):
        return list(lines.values(*fields).annotate(quantity=Sum("quantity")).order_by(*order))

    summary = lines.aggregate(total=Sum("quantity"))
    batches = DispatchBatch.objects.filter(
        status__in=SHIPPED_STATUSES,
        dispatched_at__gte=_local_day_start(date_from),
        dispatched_at__lt=_local_day_start(date_to + dt.timedelta(days=1)),
    )
    if scope is not None:
        batches = batches.filter(pk__in=lines.values("batch_id"))
    batches = batches.count()
    by_kind = grouped("batch__destination__kind", order=["batch__destination__kind"])
    by_destination = grouped(
        "batch__destination_id",
        "batch__destination__kind",
        "batch__destination__name_zh",
        "batch__destination__name_en",
        order=["batch__destination__kind", "batch__destination__name_zh"],
    )
    by_item = grouped("item_id", "item__code", order=["item__sort_order", "item__code"])
    by_channel = grouped("channel", order=["channel"])
    return {
        "total": summary["total"] or 0,
        "batches": batches,
        "by_destination_kind": [
            {"destination_kind": r["batch__destination__kind"], "quantity": r["quantity"]}
            for r in by_kind
        ],
        "by_destination": [
            {
                "destination_id": r["batch__destination_id"],
                "destination_kind": r["batch__destination__kind"],
                "name_zh": r["batch__destination__name_zh"],
                "name_en": r["batch__destination__name_en"],
                "quantity": r["quantity"],
            }
            for r in by_destination
        ],
        "by_item": [
            {"item_id": r["item_id"], "item_code": r["item__code"], "quantity": r["quantity"]}
            for r in by_item
        ],
        "by_channel": [{"channel": r["channel"], "quantity": r["quantity"]} for r in by_channel],
    }


# Still on the road: what overdue_batches lists and the batch pages mark.
ON_THE_ROAD = (BatchStatus.DISPATCHED, BatchStatus.PARTLY_RECEIVED)


def overdue_batches(user, *, date: dt.date, limit: int | None = None) -> list[DispatchBatch]:
    """Batches the user sees that are on the road past their expected arrival on `date`.

    Dispatched or partly received (not received, closed or cancelled) with an expected
    arrival before `date`; oldest expected arrival (most overdue) first, the first `limit`
    only when given. Each carries `days_overdue` (date − expected arrival) and `in_transit`
    (Σ over its lines of shipped − received, a line received above what was shipped counting
    0). One query, destination joined.
    """
    # A correlated subquery, not a join and GROUP BY: PostgreSQL sums the lines of the
    # `limit` batches it returns only, not of every overdue batch (6,796 at national scale).
    remaining = (
        DispatchBatchLine.objects.filter(batch=OuterRef("pk"))
        .order_by()
        .values("batch")
        .annotate(
            total=Sum(
                Case(
                    When(
                        quantity__gt=F("received_quantity"),
                        then=F("quantity") - F("received_quantity"),
                    ),
                    default=Value(0),
                    output_field=BigIntegerField(),
                )
            )
        )
        .values("total")
    )
    batches = (
        overdue_batches_filter(batches_visible_to(user), date=date)
        .select_related("destination")
        .annotate(
            in_transit=Coalesce(
                Subquery(remaining, output_field=BigIntegerField()),
                Value(0),
                output_field=BigIntegerField(),
            )
        )
        .order_by("expected_arrival", "number")
    )
    result = list(batches if limit is None else batches[:limit])
    for batch in result:
        batch.days_overdue = days_overdue(batch, date=date)
    return result


def overdue_batches_filter(batches: QuerySet[DispatchBatch], *, date: dt.date):
    """Narrow `batches` to those overdue_batches lists on `date` (the batch list's
    ?overdue=1, the overview's "all" link)."""
    return batches.filter(status__in=ON_THE_ROAD, expected_arrival__lt=date)


def overdue_on_param(raw: str) -> dt.date | None:
    """The batch list's (and its export's) ?overdue=: "1" is today in the office, an ISO date
    that date; anything else is no filter (left out rather than guessed, as the other filters
    are)."""
    raw = (raw or "").strip()
    if raw == "1":
        return local_today()
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def overdue_batch_count(user, *, date: dt.date) -> int:
    """How many batches overdue_batches(user, date=date) lists, without reading them."""
    return overdue_batches_filter(batches_visible_to(user), date=date).count()


def days_overdue(batch: DispatchBatch, *, date: dt.date) -> int | None:
    """Whole days a batch still on the road is past its expected arrival on `date` (a page's
    date, or local_today() on a page without one): `date` − expected arrival, from 1 on the
    day after. None when it is not on the road, has no expected arrival, or is not late."""
    if batch.status not in ON_THE_ROAD or batch.expected_arrival is None:
        return None
    late = (date - batch.expected_arrival).days
    return late if late > 0 else None


# --- Donation traceability ------------------------------------------------------------------


def _donation_lines_of(donation_ids) -> tuple[dict, dict]:
    """({donation_id: [DonationLine with item]}, {donation_id: [DispatchBatchLine]}).
    Two queries for any number of donations; batch lines come with their batch, destination
    and receipts (one more query)."""
    from django.db.models import Prefetch

    from .models import BatchStatus, DonationLine

    donated = defaultdict(list)
    for line in (
        DonationLine.objects.filter(donation_id__in=donation_ids)
        .select_related("item")
        .order_by("item__sort_order", "item__code")
    ):
        donated[line.donation_id].append(line)
    carried = defaultdict(list)
    batch_lines = (
        DispatchBatchLine.objects.filter(donation_id__in=donation_ids)
        .exclude(batch__status=BatchStatus.CANCELLED)
        .select_related("batch", "batch__destination")
        .prefetch_related(
            Prefetch("receipts", queryset=BatchReceipt.objects.order_by("received_at"))
        )
        .order_by("batch__year", "batch__number", "pk")
    )
    for line in batch_lines:
        carried[line.donation_id].append(line)
    return donated, carried


def _trace_rows(donated_lines, batch_lines) -> list[dict]:
    """One row per donated item: received, allocated (every non-cancelled batch), shipped
    (batches that left), reserved (drafts and approved not yet shipped), received at the
    destinations, remaining in the warehouse (received − shipped), and the batches."""
    by_item = defaultdict(list)
    for line in batch_lines:
        by_item[line.item_id].append(line)
    rows = []
    for donated in donated_lines:
        batches = []
        shipped = reserved = arrived = 0
        for line in by_item.get(donated.item_id, []):
            batch = line.batch
            left = batch.status in SHIPPED_STATUSES
            receipts = list(line.receipts.all())
            received_quantity = sum(r.quantity for r in receipts)
            if left:
                shipped += line.quantity
                arrived += received_quantity
            else:
                reserved += line.quantity
            batches.append(
                {
                    "batch": batch,
                    "number": batch.number,
                    "destination": batch.destination,
                    "status": batch.status,
                    "status_display": batch.get_status_display(),
                    "dispatched_at": batch.dispatched_at if left else None,
                    "quantity": line.quantity,
                    "shipped": line.quantity if left else 0,
                    "reserved": 0 if left else line.quantity,
                    "received": received_quantity,
                    "received_at": receipts[-1].received_at if receipts else None,
                }
            )
        rows.append(
            {
                "item": donated.item,
                "received": donated.quantity,
                "allocated": shipped + reserved,
                "shipped": shipped,
                "reserved": reserved,
                "arrived": arrived,
                "remaining": donated.quantity - shipped,
                "batches": batches,
            }
        )
    return rows


def donation_trace(donation) -> dict:
    """The trace of one donation: {"donation", "lines": [row per item], totals}.

    Per line: received, allocated (non-cancelled batches), shipped (batches that left the
    warehouse), reserved (drafts and approved batches not yet dispatched), arrived (received
    at the destinations) and remaining in the warehouse = received − shipped; and each batch:
    number, destination, dispatched at, shipped, received, last received at.
    Three queries, whatever the number of lines and batches.
    """
    donated, carried = _donation_lines_of([donation.pk])
    rows = _trace_rows(donated.get(donation.pk, []), carried.get(donation.pk, []))
    return {"donation": donation, "lines": rows, **_trace_totals(rows)}


def _trace_totals(rows) -> dict:
    keys = ("received", "allocated", "shipped", "reserved", "arrived", "remaining")
    return {key: sum(row[key] for row in rows) for key in keys}


def donation_traces(donations) -> list[dict]:
    """donation_trace for each of `donations` (a list or queryset), in its order. Three
    queries for the lines of all of them, plus the donations' own query."""
    donations = list(donations)
    donated, carried = _donation_lines_of([d.pk for d in donations])
    traces = []
    for donation in donations:
        rows = _trace_rows(donated.get(donation.pk, []), carried.get(donation.pk, []))
        traces.append({"donation": donation, "lines": rows, **_trace_totals(rows)})
    return traces


AWAITING_APPROVAL_SHOWN = 10


def batches_awaiting_approval(user, *, limit: int = AWAITING_APPROVAL_SHOWN):
    """Drafts awaiting the approval of the user's level, oldest first, at most `limit`, each
    with `total` (Σ line quantities) and `line_count`; and whether more are waiting. The
    province's users see the province's drafts (leadership approves them); a prefecture's
    officers and lead their prefecture's own (its lead approves them): never a draft of a level
    whose approval is someone else's. One query (limit + 1 rows)."""
    batches = list(
        scope_batches_awaiting_my_level(user, batches_visible_to(user))
        .filter(status=BatchStatus.DRAFT)
        .select_related("destination", "source_warehouse")
        .annotate(
            total=Coalesce(Sum("lines__quantity"), Value(0), output_field=BigIntegerField()),
            line_count=Count("lines"),
        )
        .order_by("created_at", "number")[: limit + 1]
    )
    return batches[:limit], len(batches) > limit


def draft_shortfalls(batch) -> list[dict]:
    """A draft's lines asking more than its source warehouse can give: on hand less what other
    approved, not yet dispatched batches from it will take. Flagged on the page, not refused
    (stock may arrive before dispatch, which refuses for real). Two queries; [] unless draft.

    [{"item", "asked", "on_hand", "committed", "available"}], by item code."""
    if batch.status != BatchStatus.DRAFT:
        return []
    asked: dict = {}
    for line in batch.lines.select_related("item"):
        asked[line.item] = asked.get(line.item, 0) + line.quantity
    if not asked:
        return []
    on_hand = dict(
        StockBalance.objects.filter(
            warehouse_id=batch.source_warehouse_id, item__in=list(asked)
        ).values_list("item_id", "quantity")
    )
    committed = dict(
        DispatchBatchLine.objects.filter(
            batch__source_warehouse_id=batch.source_warehouse_id,
            batch__status=BatchStatus.APPROVED,
            item__in=list(asked),
        )
        .exclude(batch=batch)
        .values_list("item_id")
        .annotate(total=Sum("quantity"))
        .values_list("item_id", "total")
    )
    shortfalls = []
    for item, quantity in sorted(asked.items(), key=lambda pair: pair[0].code):
        held, taken = on_hand.get(item.pk, 0), committed.get(item.pk, 0)
        available = max(0, held - taken)
        if quantity > available:
            shortfalls.append(
                {
                    "item": item,
                    "asked": quantity,
                    "on_hand": held,
                    "committed": taken,
                    "available": available,
                }
            )
    return shortfalls
