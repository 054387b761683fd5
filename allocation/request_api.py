"""The API of requests from below (需求申请, issue 15): list, submit, read, triage, withdraw,
put into draft batches; the fill rates; the claimants one may request for.

Requests are named by their number (XQ-2020-001), claimants by their code
(Destination.code), items and warehouses by their codes. The services decide everything
(roles, scope, quantities); the views read the body and shape the answer: 400
`{"errors": [{"row", "field", "message"}]}` (row: the 0-based index in `lines` or
`decisions`, null for the request), 403 `{"detail"}`, 404 for a request outside the
caller's scope, 409 `{"detail"}` when the request moved since the `expected_version` read.
"""

import datetime as dt
from collections import defaultdict

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef
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

from inventory.models import Warehouse
from supplycoord.api import ApiPagination, add_date_range
from supplycoord.bulk import RowError, RowsInvalid
from supplycoord.lib.api_input import StrictJSONParser
from supplycoord.lib.dates import local_today, parse_iso_date, validate_filter_date
from supplycoord.lib.text import text_error
from supplycoord.models import Item
from supplycoord.permissions import MayRequestSupplies, scope_claimants, scope_requests

from .models import (
    BatchStatus,
    Channel,
    Destination,
    DestinationKind,
    DispatchBatchLine,
    LineDecision,
    RequestAction,
    RequestEvent,
    RequestUrgency,
    SupplyRequest,
    SupplyRequestLine,
)
from .request_selectors import (
    RequestState,
    fill_rates,
    open_request_line_ids_q,
    requests_with_progress,
)
from .requests import (
    RequestConflict,
    request_submit,
    request_triage,
    request_withdraw,
    requests_into_batches,
)
from .services import AllocationError, AllocationInvalid, BatchStockShort

# The fill-rate period when none is given: the last 30 days up to today.
FILL_RATE_DEFAULT_DAYS = 30

STATE_CHOICES = [
    (RequestState.AWAITING_TRIAGE, "awaiting_triage"),
    ("open", "open"),
    ("closed", "closed"),
]

# --- Serializers (the answer's shape; the services validate) ------------------------------


class ClaimantSerializer(serializers.Serializer):
    code = serializers.CharField(allow_null=True)
    kind = serializers.ChoiceField(choices=DestinationKind.choices)
    name_zh = serializers.CharField()
    name_en = serializers.CharField()


class LineBatchSerializer(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=BatchStatus.choices)
    quantity = serializers.IntegerField()


class RequestLineSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The line's id: triage and batches name lines by it.")
    item = serializers.CharField()
    quantity = serializers.IntegerField(help_text="Asked.")
    decision = serializers.ChoiceField(choices=LineDecision.choices)
    accepted_quantity = serializers.IntegerField()
    decision_reason = serializers.CharField()
    in_batches = serializers.IntegerField(help_text="In batches not cancelled (drafts too).")
    dispatched = serializers.IntegerField()
    received = serializers.IntegerField()
    still_open = serializers.IntegerField(
        help_text="Accepted − dispatched (asked while awaiting triage; 0 once closed)."
    )
    batches = LineBatchSerializer(many=True, required=False)


class RequestEventSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=RequestAction.choices)
    line = serializers.IntegerField(allow_null=True)
    item = serializers.CharField(allow_null=True)
    decision = serializers.CharField()
    quantity = serializers.IntegerField(allow_null=True)
    note = serializers.CharField()
    batch = serializers.CharField(allow_null=True)
    by = serializers.CharField()
    at = serializers.DateTimeField()


class RequestSerializer(serializers.Serializer):
    number = serializers.CharField()
    claimant = ClaimantSerializer()
    urgency = serializers.ChoiceField(choices=RequestUrgency.choices)
    needed_by = serializers.DateField()
    justification = serializers.CharField()
    submitted_by = serializers.CharField()
    submitted_at = serializers.DateTimeField()
    state = serializers.ChoiceField(
        choices=[
            RequestState.AWAITING_TRIAGE,
            RequestState.OPEN,
            RequestState.DISPATCHED,
            RequestState.RECEIVED,
            RequestState.REFUSED,
            RequestState.WITHDRAWN,
        ]
    )
    version = serializers.IntegerField(
        help_text="Send it back as `expected_version` with a triage or a withdrawal."
    )
    lines = RequestLineSerializer(many=True)
    events = RequestEventSerializer(many=True, required=False)


class RequestLineInSerializer(serializers.Serializer):
    item = serializers.CharField(help_text="Item code, e.g. FH001.")
    quantity = serializers.IntegerField(min_value=1)


class RequestInSerializer(serializers.Serializer):
    """For the schema only: `request_submit` validates."""

    claimant = serializers.CharField(help_text="The claimant's code (GET /claimants/).")
    urgency = serializers.ChoiceField(choices=RequestUrgency.choices)
    needed_by = serializers.DateField()
    justification = serializers.CharField()
    client_uuid = serializers.UUIDField(
        required=False, help_text="Your id of this request: a resend returns it (200)."
    )
    lines = RequestLineInSerializer(many=True)


class DecisionInSerializer(serializers.Serializer):
    line = serializers.IntegerField(required=False, help_text="The line's id, or give `item`.")
    item = serializers.CharField(required=False, help_text="The line's item code.")
    decision = serializers.ChoiceField(
        choices=[
            (LineDecision.ACCEPTED.value, "accepted"),
            (LineDecision.ACCEPTED_PART.value, "accepted_part"),
            (LineDecision.REFUSED.value, "refused"),
        ]
    )
    accepted_quantity = serializers.IntegerField(
        required=False, help_text="For accepted_part: less than asked."
    )
    reason = serializers.CharField(
        required=False, help_text="Required for accepted_part and refused."
    )


class TriageInSerializer(serializers.Serializer):
    expected_version = serializers.IntegerField(help_text="The `version` you read.")
    decisions = DecisionInSerializer(many=True)


class WithdrawInSerializer(serializers.Serializer):
    expected_version = serializers.IntegerField(help_text="The `version` you read.")
    reason = serializers.CharField()


class IntoBatchesInSerializer(serializers.Serializer):
    lines = serializers.ListField(
        child=serializers.IntegerField(), help_text="Ids of accepted request lines."
    )
    warehouse = serializers.CharField(
        help_text="The code of a warehouse you issue from, e.g. SZ01 (a prefecture's officer: "
        "its own, e.g. LZ01)."
    )
    channel = serializers.ChoiceField(
        # Every channel, as the batch API declares them (one enum in the schema); the service
        # refuses the donation channel, which needs a donation per line.
        choices=Channel.choices,
        required=False,
        help_text="Default reserve.",
    )


class DraftBatchSerializer(serializers.Serializer):
    number = serializers.CharField()
    destination = serializers.CharField(source="destination.code", allow_null=True)
    version = serializers.IntegerField()


class FillRateSerializer(serializers.Serializer):
    claimant = ClaimantSerializer()
    item = serializers.CharField(source="item.code")
    lines = serializers.IntegerField()
    asked = serializers.IntegerField()
    accepted = serializers.IntegerField()
    dispatched = serializers.IntegerField(help_text="Capped at accepted, line by line.")
    received = serializers.IntegerField()
    fill_rate = serializers.DecimalField(
        max_digits=12,
        decimal_places=4,
        allow_null=True,
        help_text="dispatched ÷ accepted; null where nothing was accepted.",
    )
    median_hours_to_fill = serializers.DecimalField(
        max_digits=12,
        decimal_places=1,
        allow_null=True,
        help_text="First dispatch − submission, the median over lines dispatched at all.",
    )


ErrorsSerializer = inline_serializer(
    "RequestErrors",
    {
        "errors": inline_serializer(
            "RequestError",
            {
                "row": serializers.IntegerField(
                    allow_null=True,
                    help_text="0-based index in `lines` or `decisions`; null for the request.",
                ),
                "field": serializers.CharField(),
                "message": serializers.CharField(),
            },
            many=True,
        )
    },
)
DetailSerializer = inline_serializer("RequestDetail", {"detail": serializers.CharField()})


# --- Answers ----------------------------------------------------------------------------


def _errors(errors: list[RowError], code=status.HTTP_400_BAD_REQUEST) -> Response:
    return Response({"errors": [error.as_dict() for error in errors]}, status=code)


def _error(field, message, row=None) -> Response:
    return _errors([RowError(row, field, message)])


def _refusal(exc: Exception) -> Response:
    if isinstance(exc, PermissionDenied):
        return Response(
            {"detail": str(exc) or _("You may not do this.")}, status=status.HTTP_403_FORBIDDEN
        )
    if isinstance(exc, RequestConflict | BatchStockShort):
        return Response({"detail": exc.message}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, RowsInvalid):
        return _errors(exc.errors)
    if isinstance(exc, AllocationInvalid):
        return _errors(
            [
                RowError(index, "lines" if index is not None else "non_field_errors", m)
                for index, m in exc.errors
            ]
        )
    return _error("non_field_errors", exc.message)


def _json_object(request):
    """The body as a dict, or an error Response."""
    try:
        body = request.data
    except ParseError as exc:
        return None, _error(
            "non_field_errors",
            _("The body is not valid JSON: %(detail)s") % {"detail": str(exc.detail)[:200]},
        )
    if not isinstance(body, dict):
        return None, _error("non_field_errors", _("The body must be a JSON object."))
    return body, None


def _expected_version(body):
    value = body.get("expected_version")
    if isinstance(value, bool) or not isinstance(value, int):
        return None, _error(
            "expected_version", _("Send the version you read as `expected_version`.")
        )
    return value, None


def _by_code(model, value, **extra):
    """The row of `model` whose code is `value` (a text), or None."""
    if not isinstance(value, str) or not value.strip() or text_error(value):
        return None
    return model.objects.filter(code=value.strip(), **extra).first()


def _claimant(claimant: Destination) -> dict:
    return {
        "code": claimant.code,
        "kind": claimant.kind,
        "name_zh": claimant.name_zh,
        "name_en": claimant.name_en,
    }


def _line(line, progress, batches=None) -> dict:
    if line.decision == LineDecision.PENDING:
        still_open = line.quantity
    elif line.decision in (LineDecision.ACCEPTED, LineDecision.ACCEPTED_PART):
        still_open = max(0, line.accepted_quantity - progress.dispatched)
    else:
        still_open = 0
    answer = {
        "id": line.pk,
        "item": line.item.code,
        "quantity": line.quantity,
        "decision": line.decision,
        "accepted_quantity": line.accepted_quantity,
        "decision_reason": line.decision_reason,
        "in_batches": progress.in_batches,
        "dispatched": progress.dispatched,
        "received": progress.received,
        "still_open": still_open,
    }
    if batches is not None:
        answer["batches"] = batches.get(line.pk, [])
    return answer


def request_payload(row, *, detail=False) -> dict:
    """A RequestRow (request_selectors.requests_with_progress) as the API gives it; with
    `detail`, each line's batches and the request's events (two more queries)."""
    request = row.request
    batches = events = None
    if detail:
        batches = defaultdict(list)
        for line_id, number, batch_status, quantity in (
            DispatchBatchLine.objects.filter(request_line__request=request)
            .values_list("request_line_id", "batch__number", "batch__status", "quantity")
            .order_by("batch__year", "batch__number", "pk")
        ):
            batches[line_id].append(
                {"number": number, "status": batch_status, "quantity": quantity}
            )
        events = [
            {
                "action": event.action,
                "line": event.line_id,
                "item": event.line.item.code if event.line_id else None,
                "decision": event.decision,
                "quantity": event.quantity,
                "note": event.note,
                "batch": event.batch.number if event.batch_id else None,
                "by": event.by.username,
                "at": event.at,
            }
            for event in RequestEvent.objects.filter(request=request)
            .select_related("line__item", "batch", "by")
            .order_by("at", "pk")
        ]
    answer = {
        "number": request.number,
        "claimant": _claimant(request.claimant),
        "urgency": request.urgency,
        "needed_by": request.needed_by,
        "justification": request.justification,
        "submitted_by": request.submitted_by.username,
        "submitted_at": request.submitted_at,
        "state": row.state,
        "version": request.version,
        "lines": [_line(line, row.progress[line.pk], batches) for line in row.lines],
    }
    if detail:
        answer["events"] = events
    return answer


def _request_response(user, request, code=status.HTTP_200_OK) -> Response:
    request = (
        scope_requests(user, SupplyRequest.objects.all())
        .select_related("claimant", "submitted_by")
        .filter(pk=request.pk)
        .first()
    )
    if request is None:  # out of the caller's sight (cannot happen for a submitter)
        return Response(status=status.HTTP_204_NO_CONTENT)
    (row,) = requests_with_progress([request])
    return Response(RequestSerializer(request_payload(row, detail=True)).data, status=code)


# --- Filters ------------------------------------------------------------------------------


def _local_day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class RequestFilter(filters.FilterSet):
    state = filters.ChoiceFilter(choices=STATE_CHOICES, method="filter_state")
    urgency = filters.ChoiceFilter(choices=RequestUrgency.choices)
    claimant = filters.CharFilter(field_name="claimant__code")
    item = filters.CharFilter(method="filter_item")

    class Meta:
        model = SupplyRequest
        fields = ["state", "urgency", "claimant", "item"]

    def filter_state(self, queryset, name, value):
        open_lines = open_request_line_ids_q()
        if value == RequestState.AWAITING_TRIAGE:
            lines = SupplyRequestLine.objects.filter(decision=LineDecision.PENDING)
        else:
            lines = SupplyRequestLine.objects.filter(pk__in=open_lines)
        has = Exists(lines.filter(request=OuterRef("pk")))
        return queryset.exclude(has) if value == "closed" else queryset.filter(has)

    def filter_item(self, queryset, name, value):
        return queryset.filter(
            Exists(SupplyRequestLine.objects.filter(request=OuterRef("pk"), item__code=value))
        )

    def filter_from(self, queryset, name, value):
        return queryset.filter(submitted_at__gte=_local_day_start(value))

    def filter_to(self, queryset, name, value):
        return queryset.filter(submitted_at__lt=_local_day_start(value + dt.timedelta(days=1)))


add_date_range(RequestFilter, from_method="filter_from", to_method="filter_to")


# --- Views ------------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(
        operation_id="requests_list",
        description=(
            "The requests the caller may see (the office and leadership: all; a prefecture's "
            "officers and lead: its prefecture's and counties'; a county officer: its "
            "county's; a unit requester: its units'), newest "
            "first, each with its lines and their progress. `state`: awaiting_triage (a line "
            "undecided), open (a line not yet fully dispatched), closed. `claimant` and `item` "
            "are codes; `from`/`to` local dates of submission (inclusive)."
        ),
        parameters=[
            OpenApiParameter("from", dt.date, description="First local date (inclusive)."),
            OpenApiParameter("to", dt.date, description="Last local date (inclusive)."),
        ],
        responses={200: RequestSerializer(many=True)},
    )
)
@extend_schema(tags=["requests"])
class RequestListView(generics.ListAPIView):
    """GET: the requests one may see. POST: submit a request."""

    serializer_class = RequestSerializer
    filterset_class = RequestFilter
    pagination_class = ApiPagination
    permission_classes = [MayRequestSupplies]
    parser_classes = [StrictJSONParser]
    input_error_index = "row"

    def get_queryset(self):
        return (
            scope_requests(self.request.user, SupplyRequest.objects.all())
            .select_related("claimant", "submitted_by")
            .order_by("-submitted_at", "-id")
        )

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = requests_with_progress(page)
        data = RequestSerializer([request_payload(row) for row in rows], many=True).data
        return self.get_paginated_response(data)

    @extend_schema(
        operation_id="requests_create",
        request=RequestInSerializer,
        responses={
            200: RequestSerializer,
            201: RequestSerializer,
            400: ErrorsSerializer,
            403: DetailSerializer,
        },
        examples=[
            OpenApiExample(
                "An emergency request",
                request_only=True,
                value={
                    "claimant": "SRMYY",
                    "urgency": "emergency",
                    "needed_by": "2020-02-22",
                    "justification": "ICU expansion: 40 beds",
                    "client_uuid": "0b5c3f9e-7f43-4b8e-9d7e-3b1f7d1b2a10",
                    "lines": [
                        {"item": "FH001", "quantity": 2000},
                        {"item": "FH003", "quantity": 300},
                    ],
                },
            )
        ],
        description=(
            "Submit a request for a claimant the caller may request for (GET /claimants/): "
            "201 with the request. With `client_uuid`, a resend returns the request already "
            "made (200). 400 lists every problem by line (`row`, 0-based in `lines`) and "
            "field; 403 when the caller may not request for the claimant."
        ),
    )
    def post(self, request, *args, **kwargs):
        body, error = _json_object(request)
        if error:
            return error
        problems = []
        claimant = _by_code(Destination, body.get("claimant"))
        if claimant is None:
            problems.append(RowError(None, "claimant", _("Choose a claimant by its code.")))
        raw = body.get("needed_by")
        needed_by = parse_iso_date(raw) if isinstance(raw, str) else None
        if needed_by is None:
            problems.append(RowError(None, "needed_by", _("Enter a date as YYYY-MM-DD.")))
        else:
            try:
                validate_filter_date(needed_by)
            except ValidationError as exc:
                problems.append(RowError(None, "needed_by", exc.messages[0]))
        if problems:
            return _errors(problems)
        lines = body.get("lines")
        if isinstance(lines, list):
            # An item is named by its code: anything else is refused by the service.
            lines = [
                {**line, "item": line.get("item") if isinstance(line.get("item"), str) else None}
                if isinstance(line, dict)
                else line
                for line in lines
            ]
        try:
            made, created = request_submit(
                user=request.user,
                claimant=claimant,
                urgency=body.get("urgency"),
                needed_by=needed_by,
                justification=body.get("justification"),
                lines=lines,
                client_uuid=body.get("client_uuid"),
            )
        except (AllocationError, RowsInvalid, PermissionDenied) as exc:
            return _refusal(exc)
        return _request_response(
            request.user, made, status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


@extend_schema(tags=["requests"])
class RequestDetailView(APIView):
    permission_classes = [MayRequestSupplies]

    @extend_schema(
        operation_id="requests_detail",
        responses={200: RequestSerializer, 404: DetailSerializer},
        description=(
            "One request by its number: its lines with their progress and the batches that "
            "answer them, and its events. 404 outside the caller's scope."
        ),
    )
    def get(self, request, number):
        made = get_object_or_404(scope_requests(request.user, SupplyRequest.objects), number=number)
        return _request_response(request.user, made)


def _decisions(body, request):
    """The body's decisions with each line named by its id (`line`, or `item`: a code), or
    (None, error Response)."""
    decisions = body.get("decisions")
    if not isinstance(decisions, list) or not decisions:
        return None, _error("decisions", _("Decide at least one line."))
    lines_by_item = dict(request.lines.values_list("item__code", "pk"))
    problems, parsed = [], []
    for index, entry in enumerate(decisions):
        if not isinstance(entry, dict):
            problems.append(RowError(index, "line", _("Each decision names a line.")))
            continue
        entry = dict(entry)
        if "line" in entry and entry["line"] is not None:
            if isinstance(entry["line"], bool) or not isinstance(entry["line"], int):
                problems.append(RowError(index, "line", _("Name the line by its id.")))
                continue
        elif "item" in entry:
            code = entry.pop("item")
            line = lines_by_item.get(code) if isinstance(code, str) else None
            if line is None:
                problems.append(RowError(index, "item", _("This item is not on the request.")))
                continue
            entry["line"] = line
        else:
            problems.append(RowError(index, "line", _("Name the line by its id or its item.")))
            continue
        parsed.append(entry)
    if problems:
        return None, _errors(problems)
    return parsed, None


def _visible_request(request, number):
    return get_object_or_404(scope_requests(request.user, SupplyRequest.objects), number=number)


@extend_schema(tags=["requests"])
class RequestTriageView(APIView):
    permission_classes = [MayRequestSupplies]
    parser_classes = [StrictJSONParser]
    input_error_index = "row"

    @extend_schema(
        operation_id="requests_triage",
        request=TriageInSerializer,
        responses={
            200: RequestSerializer,
            400: ErrorsSerializer,
            403: DetailSerializer,
            404: DetailSerializer,
            409: DetailSerializer,
        },
        examples=[
            OpenApiExample(
                "Accept one line, part of another",
                request_only=True,
                value={
                    "expected_version": 1,
                    "decisions": [
                        {"item": "FH001", "decision": "accepted"},
                        {
                            "item": "FH003",
                            "decision": "accepted_part",
                            "accepted_quantity": 200,
                            "reason": "Stock is short; the rest next week.",
                        },
                    ],
                },
            )
        ],
        description=(
            "The decision on lines of a request, each named by its id (`line`) or its item "
            "code (`item`): accepted, accepted_part (with `accepted_quantity` below what was "
            "asked) or refused; a part or a refusal needs a `reason`. The office decides on "
            "every request, a prefecture's officers on its counties' (403 otherwise). 400 by "
            "decision (`row`) and field; 409 when the request changed since "
            "`expected_version`."
        ),
    )
    def post(self, request, number):
        made = _visible_request(request, number)
        body, error = _json_object(request)
        if error:
            return error
        expected_version, error = _expected_version(body)
        if error:
            return error
        decisions, error = _decisions(body, made)
        if error:
            return error
        try:
            made = request_triage(
                user=request.user,
                request=made,
                expected_version=expected_version,
                decisions=decisions,
            )
        except (AllocationError, RowsInvalid, PermissionDenied) as exc:
            return _refusal(exc)
        return _request_response(request.user, made)


@extend_schema(tags=["requests"])
class RequestWithdrawView(APIView):
    permission_classes = [MayRequestSupplies]
    parser_classes = [StrictJSONParser]
    input_error_index = "row"

    @extend_schema(
        operation_id="requests_withdraw",
        request=WithdrawInSerializer,
        responses={
            200: RequestSerializer,
            400: ErrorsSerializer,
            403: DetailSerializer,
            404: DetailSerializer,
            409: DetailSerializer,
        },
        description=(
            "Withdraw what is not yet in a batch (lines awaiting triage or accepted with "
            "nothing in batches), with a `reason`. Whoever may request for the claimant, or "
            "the office. 409 when the request changed since `expected_version`."
        ),
    )
    def post(self, request, number):
        made = _visible_request(request, number)
        body, error = _json_object(request)
        if error:
            return error
        expected_version, error = _expected_version(body)
        if error:
            return error
        try:
            made = request_withdraw(
                user=request.user,
                request=made,
                expected_version=expected_version,
                reason=body.get("reason"),
            )
        except (AllocationError, RowsInvalid, PermissionDenied) as exc:
            return _refusal(exc)
        return _request_response(request.user, made)


@extend_schema(tags=["requests"])
class RequestsIntoBatchesView(APIView):
    permission_classes = [MayRequestSupplies]
    parser_classes = [StrictJSONParser]
    input_error_index = "row"

    @extend_schema(
        operation_id="requests_into_batches",
        request=IntoBatchesInSerializer,
        responses={
            201: DraftBatchSerializer(many=True),
            400: ErrorsSerializer,
            403: DetailSerializer,
            409: DetailSerializer,
        },
        description=(
            "Put what is left of accepted request lines (accepted − already in batches) into "
            "draft batches from a warehouse the caller issues from: the office from a reserve "
            "warehouse, a prefecture's officer (for its counties' requests) from its own "
            "prefecture warehouse; one draft per claimant. 403 for a request the caller does "
            "not triage. 400 names the line (`row`: its index in `lines`) with nothing "
            "accepted left, or the `warehouse`; 409 when the warehouse is short."
        ),
    )
    def post(self, request):
        body, error = _json_object(request)
        if error:
            return error
        line_ids = body.get("lines")
        if not isinstance(line_ids, list):
            return _error("lines", _("Choose the accepted lines to put into batches."))
        warehouse = _by_code(Warehouse, body.get("warehouse"))
        if warehouse is None:
            return _error("warehouse", _("Choose a warehouse by its code."))
        channel = body.get("channel", Channel.RESERVE)
        try:
            batches = requests_into_batches(
                user=request.user,
                line_ids=line_ids,
                source_warehouse=warehouse,
                channel=channel if isinstance(channel, str) else "",
            )
        except (AllocationError, RowsInvalid, PermissionDenied) as exc:
            if isinstance(exc, RowsInvalid):
                # The service names the warehouse by its model field.
                exc.errors = [
                    RowError(e.row, "warehouse", e.message) if e.field == "source_warehouse" else e
                    for e in exc.errors
                ]
            return _refusal(exc)
        return Response(
            DraftBatchSerializer(batches, many=True).data, status=status.HTTP_201_CREATED
        )


def _period(request):
    """(start, end) of ?from=&to= (default: the last 30 days up to today), or an error."""
    end = local_today()
    start = end - dt.timedelta(days=FILL_RATE_DEFAULT_DAYS - 1)
    dates = {"from": start, "to": end}
    for name in dates:
        raw = (request.query_params.get(name) or "").strip()
        if not raw:
            continue
        value = parse_iso_date(raw)
        if value is None:
            return None, _error(name, _("Enter a date as YYYY-MM-DD."))
        try:
            validate_filter_date(value)
        except ValidationError as exc:
            return None, _error(name, exc.messages[0])
        dates[name] = value
    if dates["from"] > dates["to"]:
        return None, _error("from", _("The first date is after the last."))
    return (dates["from"], dates["to"]), None


@extend_schema(tags=["requests"])
class FillRateListView(APIView):
    permission_classes = [MayRequestSupplies]

    @extend_schema(
        operation_id="request_fill_rates",
        parameters=[
            OpenApiParameter(
                "from", dt.date, description="First local date (default: 29 days ago)."
            ),
            OpenApiParameter("to", dt.date, description="Last local date (default: today)."),
            OpenApiParameter("claimant", str, description="A claimant's code."),
            OpenApiParameter("item", str, description="An item's code."),
        ],
        responses={200: FillRateSerializer(many=True), 400: ErrorsSerializer},
        description=(
            "Per claimant and item, over the request lines submitted in the period that the "
            "caller may see (withdrawn lines left out): lines, asked, accepted, dispatched, "
            "received, fill rate (dispatched ÷ accepted) and the median hours to fill."
        ),
    )
    def get(self, request):
        period, error = _period(request)
        if error:
            return error
        filters_given = {}
        for name, model in (("claimant", Destination), ("item", Item)):
            raw = (request.query_params.get(name) or "").strip()
            if raw:
                found = _by_code(model, raw)
                if found is None:
                    return _error(name, _("Unknown code."))
                filters_given[name] = found
        rows = fill_rates(request.user, start=period[0], end=period[1], **filters_given)
        data = FillRateSerializer(
            [
                {
                    "claimant": _claimant(row.claimant),
                    "item": row.item,
                    "lines": row.lines,
                    "asked": row.asked,
                    "accepted": row.accepted,
                    "dispatched": row.dispatched,
                    "received": row.received,
                    "fill_rate": row.fill_rate,
                    "median_hours_to_fill": row.median_hours_to_fill,
                }
                for row in rows
            ],
            many=True,
        ).data
        return Response(data)


@extend_schema(tags=["requests"])
class ClaimantListView(generics.ListAPIView):
    serializer_class = ClaimantSerializer
    pagination_class = ApiPagination
    permission_classes = [MayRequestSupplies]

    def get_queryset(self):
        return scope_claimants(
            self.request.user, Destination.objects.filter(active=True, code__isnull=False)
        ).order_by("kind", "code", "pk")

    @extend_schema(
        operation_id="claimants_list",
        description=(
            "The active claimants the caller may submit requests for, with their codes "
            "(leadership, which only reads, gets none)."
        ),
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
