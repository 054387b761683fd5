"""The allocation API: dispatch batches, their list and detail, creation and transitions.

Batches are named by their number (`2020-058`, or `620100-2020-001` for a batch a prefecture
issued from its own warehouse: three-level dispatch), warehouses and items by their codes,
prefectures by their GB/T 2260 codes. Every
transition takes the `expected_version` the caller read: if someone moved the batch in the
meantime the answer is 409 with `detail` (reload and retry). The services decide everything
(roles, states, stock, donations); the views only read the body and shape the answer.
"""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory.models import Warehouse
from supplycoord.api import ApiPagination
from supplycoord.lib.api_input import StrictJSONParser
from supplycoord.lib.dates import parse_iso_date, parse_moment, validate_filter_date
from supplycoord.lib.text import ascii_whole_number
from supplycoord.permissions import can_issue_from, scope_batch_destinations

from .filters import LEVEL_PROVINCE, BatchFilter
from .models import (
    BatchPriority,
    BatchStatus,
    BatchTransition,
    Channel,
    Destination,
    DestinationKind,
    DispatchBatchLine,
)
from .selectors import batches_visible_to
from .services import (
    AllocationError,
    AllocationInvalid,
    BatchConflict,
    BatchStockShort,
    batch_approve,
    batch_cancel,
    batch_close,
    batch_create,
    batch_dispatch,
    batch_receive,
)

# --- Serializers (the answer's shape; the services validate) ------------------------------


class BatchLineSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The line's id: receipts name lines by it.")
    item = serializers.CharField(source="item.code")
    quantity = serializers.IntegerField()
    channel = serializers.ChoiceField(choices=Channel.choices)
    donation = serializers.IntegerField(source="donation_id", allow_null=True)
    received_quantity = serializers.IntegerField()
    discrepancy = serializers.IntegerField(
        help_text="Received − shipped: negative when less arrived than was sent."
    )
    discrepancy_note = serializers.CharField()


class DestinationRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=DestinationKind.choices)
    name = serializers.CharField()


class TransitionSerializer(serializers.Serializer):
    from_status = serializers.CharField(help_text="Empty for the creation.")
    to_status = serializers.CharField()
    by = serializers.CharField(source="by.username")
    at = serializers.DateTimeField()
    note = serializers.CharField()


LEVEL_CHOICES = [(LEVEL_PROVINCE, "province"), ("prefecture", "prefecture")]


class BatchSerializer(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=BatchStatus.choices)
    level = serializers.SerializerMethodField(
        help_text="`province`: the province's own batch; `prefecture`: a batch a prefecture "
        "issued from its own warehouse to its counties and units (three-level dispatch)."
    )
    issuing_prefecture = serializers.CharField(
        source="issuing_prefecture.code",
        allow_null=True,
        default=None,
        help_text="The issuing prefecture's code (e.g. 620100); null for the province's.",
    )
    version = serializers.IntegerField(
        help_text="Send it back as `expected_version` with a transition."
    )
    source_warehouse = serializers.CharField(source="source_warehouse.code")
    destination = DestinationRefSerializer()
    priority = serializers.ChoiceField(choices=BatchPriority.choices)
    reason = serializers.CharField()
    planned_dispatch_date = serializers.DateField(allow_null=True)
    expected_arrival = serializers.DateField(allow_null=True)
    carrier = serializers.CharField()
    vehicle = serializers.CharField()
    note = serializers.CharField()
    created_at = serializers.DateTimeField()
    approved_at = serializers.DateTimeField(allow_null=True)
    dispatched_at = serializers.DateTimeField(allow_null=True)
    received_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    issue_document = serializers.CharField(
        source="issue_event.document_number", allow_null=True, default=None
    )
    lines = BatchLineSerializer(many=True)
    timeline = TransitionSerializer(many=True, source="transitions.all")

    @extend_schema_field(serializers.ChoiceField(choices=LEVEL_CHOICES))
    def get_level(self, batch) -> str:
        return "prefecture" if batch.issuing_prefecture_id else LEVEL_PROVINCE


class BatchLineInSerializer(serializers.Serializer):
    """For the schema only: `batch_create` validates."""

    item = serializers.CharField(help_text="Item code, e.g. FH001.")
    quantity = serializers.IntegerField(min_value=1)
    channel = serializers.ChoiceField(choices=Channel.choices)
    donation = serializers.IntegerField(
        required=False, allow_null=True, help_text="Donation id; channel `donation` only."
    )


class BatchInSerializer(serializers.Serializer):
    """For the schema only: `batch_create` validates."""

    source_warehouse = serializers.CharField(help_text="Warehouse code, e.g. SZ01.")
    destination = serializers.CharField(
        help_text="Destination id, or its exact Chinese name (e.g. 兰州市)."
    )
    priority = serializers.ChoiceField(choices=BatchPriority.choices, required=False)
    reason = serializers.CharField(required=False)
    planned_dispatch_date = serializers.DateField(required=False)
    expected_arrival = serializers.DateField(required=False)
    carrier = serializers.CharField(required=False)
    vehicle = serializers.CharField(required=False)
    note = serializers.CharField(required=False)
    lines = BatchLineInSerializer(many=True)


ErrorsSerializer = inline_serializer(
    "BatchErrors",
    {
        "errors": inline_serializer(
            "BatchError",
            {
                "line": serializers.IntegerField(
                    allow_null=True,
                    help_text="0-based index in `lines` (or the line id of a receipt); "
                    "null for the batch.",
                ),
                "field": serializers.CharField(),
                "message": serializers.CharField(),
            },
            many=True,
        )
    },
)
DetailSerializer = inline_serializer("BatchDetail", {"detail": serializers.CharField()})
ConflictSerializer = inline_serializer(
    "BatchConflict",
    {
        "detail": serializers.CharField(),
        "shortfalls": inline_serializer(
            "BatchShortfall",
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


def batches_for_display(user):
    """The batches `user` may see, with everything the serializer reads (fixed query count)."""
    return (
        batches_visible_to(user)
        .select_related("source_warehouse", "destination", "issuing_prefecture", "issue_event")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=DispatchBatchLine.objects.select_related("item").order_by("id"),
            ),
            Prefetch(
                "transitions",
                queryset=BatchTransition.objects.select_related("by").order_by("at", "id"),
            ),
        )
    )


# --- Answers ----------------------------------------------------------------------------


def _errors(entries, code=status.HTTP_400_BAD_REQUEST):
    return Response(
        {
            "errors": [
                {"line": line, "field": field, "message": str(message)}
                for line, field, message in entries
            ]
        },
        status=code,
    )


def _body_error(message, field="non_field_errors"):
    return _errors([(None, field, message)])


def _refusal(exc: Exception) -> Response:
    """409 conflict / short stock, 403 role, 400 everything else the services refuse."""
    if isinstance(exc, PermissionDenied):
        return Response(
            {"detail": str(exc) or _("You may not do this.")}, status=status.HTTP_403_FORBIDDEN
        )
    if isinstance(exc, BatchStockShort):
        return Response(
            {"detail": exc.message, "shortfalls": [s.as_dict() for s in exc.shortfalls]},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, BatchConflict):
        return Response({"detail": exc.message}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, AllocationInvalid):
        return _errors(
            [
                (index, "lines" if index is not None else "non_field_errors", m)
                for index, m in exc.errors
            ]
        )
    return _body_error(exc.message)


def _batch_response(user, batch, code=status.HTTP_200_OK):
    batch = batches_for_display(user).filter(pk=batch.pk).first()
    if batch is None:  # moved out of the caller's sight: say what happened without the data
        return Response(status=status.HTTP_204_NO_CONTENT)
    return Response(BatchSerializer(batch).data, status=code)


def _json_object(request):
    """The body as a dict, or an error Response."""
    try:
        body = request.data
    except ParseError as exc:
        return None, _body_error(
            _("The body is not valid JSON: %(detail)s") % {"detail": str(exc.detail)[:200]}
        )
    if not isinstance(body, dict):
        return None, _body_error(_("The body must be a JSON object."))
    return body, None


def _resolve_destination(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Destination.objects.filter(pk=value).first()
    if isinstance(value, str) and value.strip().isdigit():
        pk = ascii_whole_number(value)
        return Destination.objects.filter(pk=pk).first() if pk is not None else None
    if isinstance(value, str) and value.strip():
        return Destination.objects.filter(name_zh=value.strip()).first()
    return None


def _transition_body_problems(body) -> list:
    """What is wrong with the optional fields of a transition's body: (None, field, message).

    Checked before the service runs, so a mistyped moment (12:99) or a `complete` that is not
    true/false is refused by name instead of being read as something else."""
    problems = []
    note = body.get("note")
    if note is not None and not isinstance(note, str):
        problems.append((None, "note", _("The note must be text.")))
    complete = body.get("complete")
    if complete is not None and not isinstance(complete, bool):
        problems.append((None, "complete", _("Give true or false.")))
    for field in ("dispatched_at", "received_at"):
        if body.get(field) not in (None, ""):
            _moment, message = parse_moment(body[field])
            if message:
                problems.append((None, field, message))
    return problems


def _parse_moment(value):
    """An ISO 8601 moment (without an offset: the office's time zone), or None when absent."""
    if value in (None, ""):
        return None
    parsed, message = parse_moment(value)
    if message:
        raise AllocationInvalid([(None, message)])
    return parsed


# --- Views ------------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(
        operation_id="batches_list",
        description=(
            "The dispatch batches the caller may see (the office and leadership: all; a "
            "prefecture's officers and lead: the batches to their prefecture and those it "
            "issued; a county officer: its county's), newest first, each with its lines and "
            "timeline. `from`/`to` are local dates (inclusive): the dispatch date, or the "
            "planned dispatch date of a batch not dispatched yet. `item` and `channel` keep "
            "the batches with such a line; `destination` is a destination id; `level` is "
            "`province` (the province's own batches) or a prefecture's code (the batches it "
            "issued from its own warehouse)."
        ),
        parameters=[
            OpenApiParameter("from", dt.date, description="First local date (inclusive)."),
            OpenApiParameter("to", dt.date, description="Last local date (inclusive)."),
        ],
    )
)
@extend_schema(tags=["dispatch batches"])
class BatchListView(generics.ListAPIView):
    """GET: the batches one may see. POST: create a draft (the office from the province's
    warehouses, a prefecture's officer from its own)."""

    serializer_class = BatchSerializer
    filterset_class = BatchFilter
    pagination_class = ApiPagination
    parser_classes = [StrictJSONParser]
    input_error_index = "line"

    def get_queryset(self):
        return batches_for_display(self.request.user).order_by("-year", "-number")

    @extend_schema(
        operation_id="batches_create",
        request=BatchInSerializer,
        responses={201: BatchSerializer, 400: ErrorsSerializer, 403: DetailSerializer},
        examples=[
            OpenApiExample(
                "A draft",
                request_only=True,
                value={
                    "source_warehouse": "SZ01",
                    "destination": 3,
                    "priority": "hard_hit_area",
                    "expected_arrival": "2020-02-22",
                    "lines": [
                        {"item": "FH001", "quantity": 2000, "channel": "reserve"},
                        {"item": "FH002", "quantity": 500, "channel": "donation", "donation": 7},
                    ],
                },
            )
        ],
        description=(
            "Create a draft batch with the next number of its issuer's year: the office from "
            "a provincial or producer-held warehouse (2020-058), a prefecture's officer from "
            "its prefecture's own warehouse (620100-2020-001), to that prefecture's counties "
            "and units only. 403 for a warehouse the caller does not issue from; 400 lists "
            "every problem (a line's index is 0-based; `destination` when the batch may not "
            "go there), including a restricted or overdrawn donation."
        ),
    )
    def post(self, request, *args, **kwargs):
        body, error = _json_object(request)
        if error:
            return error
        problems = []
        warehouse = None
        code = body.get("source_warehouse")
        if isinstance(code, str) and code.strip():
            warehouse = Warehouse.objects.filter(code=code.strip()).first()
        if warehouse is None:
            problems.append((None, "source_warehouse", _("Choose a warehouse by its code.")))
        destination = _resolve_destination(body.get("destination"))
        if destination is None:
            problems.append((None, "destination", _("Choose a destination by its id.")))
        elif (
            warehouse is not None
            and can_issue_from(request.user, warehouse)
            and not scope_batch_destinations(request.user, Destination.objects)
            .filter(pk=destination.pk)
            .exists()
        ):
            # Three-level dispatch: a prefecture's batch goes to its counties and units. (A
            # warehouse the caller does not issue from is the service's 403.)
            problems.append(
                (
                    None,
                    "destination",
                    _(
                        "A batch from a prefecture's warehouse goes to that prefecture's "
                        "counties and units."
                    ),
                )
            )
        dates = {}
        for field in ("planned_dispatch_date", "expected_arrival"):
            raw = body.get(field)
            if raw in (None, ""):
                continue
            dates[field] = parse_iso_date(raw)
            if dates[field] is None:
                problems.append((None, field, _("Enter a date as YYYY-MM-DD.")))
                continue
            try:
                validate_filter_date(dates[field])  # no date before SUPPLYCOORD_EARLIEST_DATE
            except ValidationError as exc:
                problems.append((None, field, exc.messages[0]))
        if problems:
            return _errors(problems)
        lines = body.get("lines")
        if isinstance(lines, list):
            lines = [
                {**line, "donation": line.get("donation")} if isinstance(line, dict) else line
                for line in lines
            ]
        texts = {
            field: body[field]
            for field in ("priority", "reason", "carrier", "vehicle", "note")
            if field in body
        }
        try:
            batch = batch_create(
                user=request.user,
                source_warehouse=warehouse,
                destination=destination,
                lines=lines,
                **texts,
                **dates,
            )
        except (AllocationError, PermissionDenied) as exc:
            return _refusal(exc)
        return _batch_response(request.user, batch, status.HTTP_201_CREATED)


@extend_schema(tags=["dispatch batches"])
class BatchDetailView(generics.RetrieveAPIView):
    serializer_class = BatchSerializer
    lookup_field = "number"

    def get_queryset(self):
        return batches_for_display(self.request.user)

    @extend_schema(
        operation_id="batches_detail",
        description="One batch by its number (404 when the caller may not see it).",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


def _transition_request(name, extra_fields=None, description=""):
    fields = {
        "expected_version": serializers.IntegerField(help_text="The `version` you read."),
        "note": serializers.CharField(required=False),
    }
    fields.update(extra_fields or {})
    return extend_schema(
        operation_id=f"batches_{name}",
        request=inline_serializer(f"Batch{name.title()}Request", fields),
        responses={
            200: BatchSerializer,
            400: ErrorsSerializer,
            403: DetailSerializer,
            404: DetailSerializer,
            409: ConflictSerializer,
        },
        description=description
        + " 409 when the batch changed since `expected_version` (reload it); 400 when it "
        "is in the wrong state; 403 when the caller's role may not do this.",
    )


class _TransitionView(APIView):
    """POST /batches/<number>/<transition>/ with `expected_version`."""

    parser_classes = [StrictJSONParser]
    input_error_index = "line"

    # The transition service; a view whose body carries more than a note overrides `act`.
    service = None

    def act(self, request, batch, body, expected_version):
        return self.service(
            user=request.user,
            batch=batch,
            expected_version=expected_version,
            note=str(body.get("note") or ""),
        )

    def post(self, request, number):
        batch = get_object_or_404(batches_visible_to(request.user), number=number)
        body, error = _json_object(request)
        if error:
            return error
        expected_version = body.get("expected_version")
        if isinstance(expected_version, bool) or not isinstance(expected_version, int):
            return _body_error(
                _("Send the version you read as `expected_version`."), "expected_version"
            )
        problems = _transition_body_problems(body)
        if problems:
            return _errors(problems)
        try:
            batch = self.act(request, batch, body, expected_version)
        except (AllocationError, PermissionDenied) as exc:
            return _refusal(exc)
        return _batch_response(request.user, batch)


@extend_schema(tags=["dispatch batches"])
class BatchApproveView(_TransitionView):
    service = staticmethod(batch_approve)

    @_transition_request(
        "approve",
        description="draft → approved. The province's batches: leadership; a prefecture's: "
        "its lead (an admin may stand in).",
    )
    def post(self, request, number):
        return super().post(request, number)


@extend_schema(tags=["dispatch batches"])
class BatchDispatchView(_TransitionView):
    @_transition_request(
        "dispatch",
        {
            "dispatched_at": serializers.DateTimeField(
                required=False, help_text="When the goods left (default now)."
            )
        },
        description=(
            "approved → dispatched: one issue event at the source warehouse with every line. "
            "Whoever issues the batch (the office, or the prefecture's officers for its own). "
            "409 with `shortfalls` when the warehouse lacks stock (nothing changes)."
        ),
    )
    def post(self, request, number):
        return super().post(request, number)

    def act(self, request, batch, body, expected_version):
        return batch_dispatch(
            user=request.user,
            batch=batch,
            expected_version=expected_version,
            dispatched_at=_parse_moment(body.get("dispatched_at")),
            note=str(body.get("note") or ""),
        )


@extend_schema(tags=["dispatch batches"])
class BatchReceiveView(_TransitionView):
    @_transition_request(
        "receive",
        {
            "received": inline_serializer(
                "BatchReceivedLine",
                {
                    "line": serializers.IntegerField(help_text="The line's id."),
                    "quantity": serializers.IntegerField(min_value=0),
                },
                many=True,
            ),
            "received_at": serializers.DateTimeField(required=False),
            "complete": serializers.BooleanField(
                required=False, help_text="Close the receipt even with lines short."
            ),
        },
        description=(
            "Confirm goods arriving (receipt confirmation): quantities received now per line "
            "id; partial receipts add up, a difference stays as the line's discrepancy (with "
            "`note`). Whoever issued the batch, the destination's officer, or the county "
            "officer of the destination's county."
        ),
    )
    def post(self, request, number):
        return super().post(request, number)

    def act(self, request, batch, body, expected_version):
        raw = body.get("received")
        if isinstance(raw, list):
            received = {}
            for entry in raw:
                # A line id is a number (or its digits); a list or an object is no key.
                if not isinstance(entry, dict) or not isinstance(entry.get("line"), int | str):
                    raise AllocationInvalid(
                        [(None, _("Each received entry gives a line id and a quantity."))]
                    )
                received[entry.get("line")] = entry.get("quantity")
        elif isinstance(raw, dict):
            received = raw
        else:
            raise AllocationInvalid([(None, _("Give the quantities received as a list of lines."))])
        return batch_receive(
            user=request.user,
            batch=batch,
            expected_version=expected_version,
            received=received,
            note=str(body.get("note") or ""),
            received_at=_parse_moment(body.get("received_at")),
            complete=bool(body.get("complete", False)),
        )


@extend_schema(tags=["dispatch batches"])
class BatchCloseView(_TransitionView):
    service = staticmethod(batch_close)

    @_transition_request(
        "close",
        description="received / partly received → closed, with a note. Whoever issues the batch.",
    )
    def post(self, request, number):
        return super().post(request, number)


@extend_schema(tags=["dispatch batches"])
class BatchCancelView(_TransitionView):
    service = staticmethod(batch_cancel)

    @_transition_request(
        "cancel",
        description="draft / approved → cancelled (never after dispatch), with the reason as "
        "`note` (required). Whoever issues the batch.",
    )
    def post(self, request, number):
        return super().post(request, number)
