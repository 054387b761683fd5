"""The inventory API: daily figures, and the reserve ledger (stock events and balances).

Validation lives in the bulk-rows pipeline (supplycoord.bulk), which checks all rows in bulk (a few queries for
any number of rows); the view only checks that the body is a list and shapes the answer.
Per-row DRF serializers would cost a query or two per row and miss the 2,000 rows/s target.
Stock events likewise go straight to the stock services, which report every problem at once.
"""

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import APIView

from supplycoord.api import ApiPagination, add_date_range
from supplycoord.bulk import (
    API_RESPONSES,
    BulkRowsView,
    api_row_serializer,
    indexed_errors_serializer,
    stored_row_serializer,
    stored_row_values,
)
from supplycoord.lib.api_input import StrictJSONParser
from supplycoord.models import County
from supplycoord.permissions import MaySubmitCountyFigures, MaySubmitDailyFigures, scope_counties
from supplycoord.selectors import prefecture_ids_visible_to

from .county_figures import COUNTY_FIGURES
from .models import (
    AdjustmentReason,
    CountyDailyFigure,
    DailyFigure,
    IssueKind,
    ReceiptSource,
    StockBalance,
    StockEvent,
    StockEventKind,
    StockEventLine,
)
from .selectors import balances_visible_to, warehouses_visible_to
from .services import (
    DAILY_FIGURES,
    InsufficientStock,
    LedgerInvalid,
    ReversalRefused,
    stock_adjust,
    stock_count,
    stock_issue,
    stock_receive,
    stock_reverse,
)

# The row and the answers are the bulk pipeline's, documented from the kind's declaration.
DailyFigureRowSerializer = api_row_serializer(DAILY_FIGURES, "DailyFigureRow", many=True)


DailyFigureSerializer = stored_row_serializer(
    DAILY_FIGURES,
    "DailyFigure",
    doc="A stored figure, read from `.values()` rows (codes, not ids).",
    extra={"on_time": serializers.BooleanField()},
)


class DailyFigureFilter(filters.FilterSet):
    date = filters.DateFilter()
    prefecture = filters.CharFilter(field_name="prefecture__code")
    item = filters.CharFilter(field_name="item__code")

    class Meta:
        model = DailyFigure
        fields = ["date", "prefecture", "item"]


add_date_range(DailyFigureFilter)


@extend_schema_view(
    get=extend_schema(
        operation_id="daily_figures_list",
        description=(
            "The daily figures of the prefectures the caller may see, oldest first. A filter "
            "naming a prefecture the caller cannot see gives an empty list."
        ),
    )
)
@extend_schema(tags=["daily figures"])
class DailyFigureListView(BulkRowsView):
    """GET: the figures of the prefectures the caller may see. POST: submit figures."""

    kind = DAILY_FIGURES
    serializer_class = DailyFigureSerializer
    filterset_class = DailyFigureFilter
    permission_classes = [MaySubmitDailyFigures]

    def get_queryset(self):
        queryset = DailyFigure.objects.all()
        visible = prefecture_ids_visible_to(self.request.user)
        if visible is not None:
            queryset = queryset.filter(prefecture_id__in=visible)
        return queryset.order_by(
            "date", "prefecture__code", "item__sort_order", "item__code"
        ).values(*stored_row_values(DailyFigureSerializer))

    @extend_schema(
        operation_id="daily_figures_submit",
        request=DailyFigureRowSerializer,
        responses=API_RESPONSES,
        examples=[
            OpenApiExample(
                "One row",
                request_only=True,
                # drf-spectacular wraps the example of a `many` body in a list itself.
                value={
                    "prefecture": "620100",
                    "item": "FH001",
                    "date": "2020-03-10",
                    "stock": 12000,
                    "received": 3000,
                    "consumption": 1500,
                    "demand": 1800,
                    "expected_arrivals_3d": 2000,
                },
            ),
            OpenApiExample(
                "Resent unchanged",
                response_only=True,
                status_codes=["200"],
                value={"created": 0, "updated": 0, "unchanged": 1},
            ),
            OpenApiExample(
                "Invalid row",
                response_only=True,
                status_codes=["400"],
                value={
                    "errors": [{"row": 0, "field": "stock", "message": "Must be zero or more."}]
                },
            ),
        ],
        description=(
            "Save a list of daily figures, all or none. A row for an existing "
            "(prefecture, item, date) is a correction; resending identical rows changes nothing "
            "and counts them as `unchanged`. The body is the list of rows, or an object with "
            "`rows` and a `reason` for every row (as for production reports). Always 200 on "
            "success, whether or not anything was created. 400 lists every problem by row (0-based) and field; 403 when any row is "
            "for a prefecture the caller may not report for (nothing is saved), or the caller's "
            "role may not submit figures at all (leadership, producer reporters)."
        ),
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


# --- Counties' daily figures (three-level dispatch, issue 15) -------------------------------

CountyFigureRowSerializer = api_row_serializer(COUNTY_FIGURES, "CountyFigureRow", many=True)

CountyFigureSerializer = stored_row_serializer(
    COUNTY_FIGURES,
    "CountyFigure",
    doc="A stored county figure, read from `.values()` rows (codes, not ids).",
    extra={"on_time": serializers.BooleanField()},
)


class CountyFigureFilter(filters.FilterSet):
    date = filters.DateFilter()
    county = filters.CharFilter(field_name="county__code")
    prefecture = filters.CharFilter(field_name="county__prefecture__code")
    item = filters.CharFilter(field_name="item__code")

    class Meta:
        model = CountyDailyFigure
        fields = ["date", "county", "prefecture", "item"]


add_date_range(CountyFigureFilter)


@extend_schema_view(
    get=extend_schema(
        operation_id="county_figures_list",
        description=(
            "The daily figures of the counties the caller may see (the whole province; a "
            "prefecture's officers and lead: its counties; a county officer: its county), "
            "oldest first. A filter naming a county the caller cannot see gives an empty list."
        ),
    )
)
@extend_schema(tags=["daily figures"])
class CountyFigureListView(BulkRowsView):
    """GET: the county figures the caller may see. POST: submit county figures."""

    kind = COUNTY_FIGURES
    serializer_class = CountyFigureSerializer
    filterset_class = CountyFigureFilter
    permission_classes = [MaySubmitCountyFigures]

    def get_queryset(self):
        counties = scope_counties(self.request.user, County.objects.all())
        return (
            CountyDailyFigure.objects.filter(county__in=counties)
            .order_by("date", "county__code", "item__sort_order", "item__code")
            .values(*stored_row_values(CountyFigureSerializer))
        )

    @extend_schema(
        operation_id="county_figures_submit",
        request=CountyFigureRowSerializer,
        responses=API_RESPONSES,
        examples=[
            OpenApiExample(
                "One row",
                request_only=True,
                value={
                    "county": "620123",
                    "item": "FH001",
                    "date": "2020-03-10",
                    "stock": 1200,
                    "received": 300,
                    "consumption": 150,
                    "demand": 180,
                    "expected_arrivals_3d": 200,
                },
            ),
            OpenApiExample(
                "A county of a prefecture that enters its own figures",
                response_only=True,
                status_codes=["400"],
                value={
                    "errors": [
                        {
                            "row": 0,
                            "field": "county",
                            "message": "Tianshui does not report as the sum of its counties: "
                            "its officers enter its figures.",
                        }
                    ]
                },
            ),
        ],
        description=(
            "Save a list of county daily figures, all or none, for counties of prefectures "
            "that report as the sum of their counties. A row for an existing (county, item, "
            "date) is a correction; resending identical rows changes nothing and counts them "
            "as `unchanged`. In the same transaction, the prefecture's daily figure of each "
            "item and date touched is derived (the sums of the five figures) once every active "
            "county of the prefecture has reported it. 400 lists every problem by row (0-based) "
            "and field, including a county whose prefecture enters its own figures; 403 when "
            "any row is for a county the caller may not report for (nothing is saved), or the "
            "caller's role may not submit county figures."
        ),
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


# --- The reserve ledger: stock events and balances -----------------------------------------

POSTABLE_KINDS = (
    StockEventKind.RECEIPT,
    StockEventKind.ISSUE,
    StockEventKind.ADJUSTMENT,
    StockEventKind.COUNT,
)


class StockEventLineInSerializer(serializers.Serializer):
    """One submitted line. For the schema only: the stock services validate."""

    item = serializers.CharField(help_text="Item code, e.g. FH001.")
    quantity = serializers.IntegerField(
        required=False,
        help_text="receipt/issue: above zero (an issue's quantity goes out); "
        "adjustment: signed, not zero. Not for a count.",
    )
    counted = serializers.IntegerField(
        required=False, min_value=0, help_text="count only: the figure found."
    )


class StockEventInSerializer(serializers.Serializer):
    """A submitted stock event. For the schema only: the stock services validate."""

    warehouse = serializers.CharField(help_text="Warehouse code, e.g. SZ01.")
    kind = serializers.ChoiceField(choices=[(k.value, k.label) for k in POSTABLE_KINDS])
    source = serializers.ChoiceField(
        choices=ReceiptSource.choices, required=False, help_text="receipt only."
    )
    issue_kind = serializers.ChoiceField(
        choices=IssueKind.choices, required=False, help_text="issue only."
    )
    reason = serializers.ChoiceField(
        choices=AdjustmentReason.choices,
        required=False,
        help_text="adjustment only; `other` needs a note.",
    )
    occurred_at = serializers.DateTimeField(
        required=False,
        help_text="When it happened (ISO 8601; without an offset: Asia/Shanghai). Default now; "
        "at most SUPPLYCOORD_LEDGER_BACKDATE_DAYS back, never in the future.",
    )
    source_document = serializers.CharField(required=False, max_length=128)
    counterparty = serializers.CharField(required=False, max_length=128)
    note = serializers.CharField(required=False)
    client_uuid = serializers.UUIDField(
        required=False,
        help_text="Makes a retry safe: the same UUID again returns the first event (200).",
    )
    lines = StockEventLineInSerializer(many=True)


class StockEventLineSerializer(serializers.Serializer):
    item = serializers.CharField(source="item.code")
    quantity = serializers.IntegerField(help_text="Signed: + into the warehouse, − out of it.")
    counted = serializers.IntegerField(allow_null=True, help_text="Counts only.")


class StockEventSerializer(serializers.Serializer):
    """A stored event, with codes instead of ids."""

    document_number = serializers.CharField()
    warehouse = serializers.CharField(source="warehouse.code")
    kind = serializers.CharField()
    source = serializers.CharField(source="receipt_source")
    issue_kind = serializers.CharField()
    reason = serializers.CharField(source="adjustment_reason")
    source_document = serializers.CharField()
    counterparty = serializers.CharField()
    note = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    recorded_at = serializers.DateTimeField()
    recorded_by = serializers.CharField(source="recorded_by.username")
    client_uuid = serializers.UUIDField(allow_null=True)
    reverses = serializers.CharField(
        source="reverses.document_number", allow_null=True, help_text="The event this reverses."
    )
    reversed_by = serializers.CharField(
        source="reversed_by.document_number",
        allow_null=True,
        help_text="The reversal of this event, if any.",
    )
    lines = StockEventLineSerializer(many=True)


class StockBalanceSerializer(serializers.Serializer):
    """A balance, read from `.values()` rows (codes, not ids)."""

    warehouse = serializers.CharField(source="warehouse__code")
    item = serializers.CharField(source="item__code")
    quantity = serializers.IntegerField()
    updated_at = serializers.DateTimeField()


LedgerErrorsSerializer = indexed_errors_serializer(
    "StockEventErrors",
    "StockEventError",
    index="line",
    help_text="0-based index in `lines`; null for the event.",
)
ConflictSerializer = inline_serializer(
    "StockEventConflict",
    {
        "detail": serializers.CharField(),
        "shortfalls": inline_serializer(
            "StockShortfall",
            {
                "item": serializers.CharField(),
                "requested": serializers.IntegerField(),
                "available": serializers.IntegerField(),
            },
            many=True,
            required=False,
        ),
    },
)
DetailSerializer = inline_serializer("StockEventDetail", {"detail": serializers.CharField()})


def _local_day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class StockEventFilter(filters.FilterSet):
    warehouse = filters.CharFilter(field_name="warehouse__code")
    # An event holds an item at most once, so this join never repeats an event.
    item = filters.CharFilter(field_name="lines__item__code")
    kind = filters.ChoiceFilter(choices=StockEventKind.choices)

    class Meta:
        model = StockEvent
        fields = ["warehouse", "item", "kind"]

    # Local dates, compared as ranges of occurred_at so the (warehouse, occurred_at) index works.
    def filter_from(self, queryset, name, value):
        return queryset.filter(occurred_at__gte=_local_day_start(value))

    def filter_to(self, queryset, name, value):
        return queryset.filter(occurred_at__lt=_local_day_start(value + dt.timedelta(days=1)))


add_date_range(StockEventFilter, from_method="filter_from", to_method="filter_to")


class StockBalanceFilter(filters.FilterSet):
    warehouse = filters.CharFilter(field_name="warehouse__code")
    item = filters.CharFilter(field_name="item__code")

    class Meta:
        model = StockBalance
        fields = ["warehouse", "item"]


def stock_events_for_display():
    """Events with everything the serializer reads, in a fixed number of queries."""
    return StockEvent.objects.select_related(
        "warehouse", "recorded_by", "reverses", "reversed_by"
    ).prefetch_related(
        Prefetch(
            "lines",
            queryset=StockEventLine.objects.select_related("item").order_by(
                "item__sort_order", "item__code"
            ),
        )
    )


def _ledger_refusal(exc: Exception) -> Response:
    """The answer for a refused event: 400 invalid, 403 out of scope, 409 against the stock."""
    if isinstance(exc, LedgerInvalid):
        return Response(
            {"errors": [error.as_dict() for error in exc.errors]},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, InsufficientStock):
        return Response(
            {"detail": exc.message, "shortfalls": [s.as_dict() for s in exc.shortfalls]},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, ReversalRefused):
        return Response({"detail": exc.message}, status=status.HTTP_409_CONFLICT)
    return Response(
        {"detail": _("You may not post stock events to this warehouse.")},
        status=status.HTTP_403_FORBIDDEN,
    )


def _event_response(event: StockEvent, *, created: bool) -> Response:
    event = stock_events_for_display().get(pk=event.pk)
    return Response(
        StockEventSerializer(event).data,
        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
    )


def _ledger_body_error(message):
    return Response(
        {"errors": [{"line": None, "field": "non_field_errors", "message": message}]},
        status=status.HTTP_400_BAD_REQUEST,
    )


@extend_schema_view(
    get=extend_schema(
        operation_id="stock_events_list",
        description=(
            "The stock events of the warehouses the caller may see, in the order they happened "
            "(occurred_at, then recording order), each with its lines. `from`/`to` are local "
            "dates (inclusive); `item` keeps the events with a line of that item."
        ),
        parameters=[
            OpenApiParameter("from", dt.date, description="First local date (inclusive)."),
            OpenApiParameter("to", dt.date, description="Last local date (inclusive)."),
        ],
    )
)
@extend_schema(tags=["reserve ledger"])
class StockEventListView(generics.ListAPIView):
    """GET: the ledger one may see. POST: record one event (receipt, issue, adjustment, count)."""

    serializer_class = StockEventSerializer
    filterset_class = StockEventFilter
    pagination_class = ApiPagination
    parser_classes = [StrictJSONParser]
    # Up to SUPPLYCOORD["MAX_ROWS_PER_SUBMISSION"] lines; refusals name the line.
    bulk_rows = True
    input_error_index = "line"

    def get_queryset(self):
        return (
            stock_events_for_display()
            .filter(warehouse__in=warehouses_visible_to(self.request.user))
            .order_by("occurred_at", "id")
        )

    @extend_schema(
        operation_id="stock_events_create",
        request=StockEventInSerializer,
        responses={
            201: StockEventSerializer,
            200: StockEventSerializer,
            400: LedgerErrorsSerializer,
            403: DetailSerializer,
            409: ConflictSerializer,
        },
        examples=[
            OpenApiExample(
                "A receipt",
                request_only=True,
                value={
                    "warehouse": "SZ01",
                    "kind": "receipt",
                    "source": "donation",
                    "source_document": "JZ-2020-0131",
                    "counterparty": "Red Cross Society of Gansu",
                    "occurred_at": "2020-02-10T09:30:00+08:00",
                    "client_uuid": "6f1c2f8e-4a4e-4c59-9f5e-1d8d1f0c2a11",
                    "lines": [{"item": "FH001", "quantity": 10000}],
                },
            ),
            OpenApiExample(
                "A physical count",
                request_only=True,
                value={
                    "warehouse": "SZ01",
                    "kind": "count",
                    "lines": [{"item": "FH001", "counted": 9800}],
                },
            ),
            OpenApiExample(
                "Not enough stock",
                response_only=True,
                status_codes=["409"],
                value={
                    "detail": "Not enough stock. FH001: 500 requested, 120 available.",
                    "shortfalls": [{"item": "FH001", "requested": 500, "available": 120}],
                },
            ),
        ],
        description=(
            "Record one stock event with its lines, all or nothing; the balances move in the "
            "same transaction and the event gets the next document number of its warehouse "
            "and month (e.g. SZ01-202002-0007). 201 with the event. A retry carrying the same "
            "`client_uuid` changes nothing and answers 200 with the first event. 400 lists "
            "every problem by line (0-based) and field; 403 when the caller may not post to "
            "the warehouse (leadership, producer reporters, officers outside their "
            "prefecture's own warehouses); 409 when an issue or adjustment exceeds the "
            "stock, with every short item. A count line gives `counted` instead of `quantity`."
        ),
    )
    def post(self, request, *args, **kwargs):
        try:
            body = request.data
        except ParseError as exc:
            return _ledger_body_error(
                _("The body is not valid JSON: %(detail)s") % {"detail": str(exc.detail)[:200]}
            )
        if not isinstance(body, dict):
            return _ledger_body_error(_("The body must be a JSON object."))
        kind = body.get("kind")
        common = {
            "user": request.user,
            "warehouse": body.get("warehouse"),
            "occurred_at": body.get("occurred_at"),
            "note": body.get("note", ""),
            "client_uuid": body.get("client_uuid"),
        }
        documents = {
            "source_document": body.get("source_document", ""),
            "counterparty": body.get("counterparty", ""),
        }
        lines = body.get("lines")
        try:
            if kind == StockEventKind.RECEIPT:
                event = stock_receive(**common, **documents, lines=lines, source=body.get("source"))
            elif kind == StockEventKind.ISSUE:
                event = stock_issue(
                    **common, **documents, lines=lines, issue_kind=body.get("issue_kind")
                )
            elif kind == StockEventKind.ADJUSTMENT:
                event = stock_adjust(**common, lines=lines, reason=body.get("reason"))
            elif kind == StockEventKind.COUNT:
                event = stock_count(**common, counts=lines)
            else:
                return Response(
                    {
                        "errors": [
                            {
                                "line": None,
                                "field": "kind",
                                "message": _("Choose one of: %(values)s.")
                                % {"values": ", ".join(POSTABLE_KINDS)},
                            }
                        ]
                    },
                    status=status.HTTP_400_BAD_REQUEST,
                )
        except (LedgerInvalid, InsufficientStock, PermissionDenied) as exc:
            return _ledger_refusal(exc)
        return _event_response(event, created=not event.replayed)


@extend_schema(tags=["reserve ledger"])
class StockEventReverseView(APIView):
    """Reverse one event by a new, linked reversal event."""

    parser_classes = [StrictJSONParser]
    input_error_index = "line"

    @extend_schema(
        operation_id="stock_events_reverse",
        request=inline_serializer("StockEventReverseRequest", {"reason": serializers.CharField()}),
        responses={
            201: StockEventSerializer,
            400: LedgerErrorsSerializer,
            403: DetailSerializer,
            404: DetailSerializer,
            409: ConflictSerializer,
        },
        description=(
            "Reverse the event with this document number: a new `reversal` event, happening "
            "now, with every line negated and `reverses` pointing at the original. `reason` "
            "is required. 404 for an event the caller cannot see; 403 when they may not post "
            "to its warehouse; 409 when it was reversed already, is itself a reversal, or the "
            "reversal would drive stock negative (`shortfalls`, e.g. a receipt already issued)."
        ),
    )
    def post(self, request, document_number):
        event = get_object_or_404(
            StockEvent.objects.filter(warehouse__in=warehouses_visible_to(request.user)),
            document_number=document_number,
        )
        try:
            body = request.data
        except ParseError as exc:
            return _ledger_body_error(
                _("The body is not valid JSON: %(detail)s") % {"detail": str(exc.detail)[:200]}
            )
        reason = body.get("reason") if isinstance(body, dict) else None
        try:
            reversal = stock_reverse(user=request.user, event=event, reason=reason)
        except (LedgerInvalid, InsufficientStock, ReversalRefused, PermissionDenied) as exc:
            return _ledger_refusal(exc)
        return _event_response(reversal, created=True)


@extend_schema_view(
    get=extend_schema(
        operation_id="stock_balances_list",
        description=(
            "Current balances of the warehouses the caller may see, by warehouse and item "
            "code. A balance is the sum of its ledger lines (kept in step by every event)."
        ),
    )
)
@extend_schema(tags=["reserve ledger"])
class StockBalanceListView(generics.ListAPIView):
    serializer_class = StockBalanceSerializer
    filterset_class = StockBalanceFilter
    pagination_class = ApiPagination

    def get_queryset(self):
        return balances_visible_to(self.request.user).values(
            "warehouse__code", "item__code", "quantity", "updated_at"
        )
