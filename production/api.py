"""The production API: producers, daily production reports and producers' problems.

Like the daily figures, reports are validated in bulk by the bulk-rows pipeline
(supplycoord.bulk), which the entry form and the Excel import call too; the views only check the body's shape
and turn the service's refusals into answers. Producers and reports are scoped by the
selectors: a reporter sees their producers, an officer their prefecture's (read-only), the
office and leadership the whole province.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
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

from supplycoord.api import ApiPagination, add_date_range
from supplycoord.bulk import (
    API_RESPONSES,
    BulkRowsView,
    api_body_serializer,
    stored_row_serializer,
    stored_row_values,
)
from supplycoord.lib.api_input import StrictJSONParser
from supplycoord.lib.dates import local_today, validate_filter_date
from supplycoord.permissions import MayReportProduction

from .models import (
    LineStatus,
    Problem,
    ProblemCategory,
    ProblemStatus,
    Producer,
    ProducerStatus,
    ProductionLine,
    ProductionReport,
)
from .selectors import problems_visible_to, producers_visible_to, reports_visible_to
from .services import (
    PRODUCTION_REPORTS,
    problem_report,
    problem_resolve,
    problem_take,
)

# --- Answers ----------------------------------------------------------------------------


FieldErrorsSerializer = inline_serializer(
    "ProblemErrors",
    {
        "errors": inline_serializer(
            "ProblemFieldError",
            {"field": serializers.CharField(), "message": serializers.CharField()},
            many=True,
        )
    },
)
DetailSerializer = inline_serializer("ProductionDetail", {"detail": serializers.CharField()})


def _field_errors(error: ValidationError) -> Response:
    """A service's ValidationError as 400 naming each field."""
    if hasattr(error, "error_dict"):
        entries = [
            {"field": field, "message": str(message)}
            for field, messages in error.message_dict.items()
            for message in messages
        ]
    else:
        entries = [{"field": "non_field_errors", "message": str(m)} for m in error.messages]
    return Response({"errors": entries}, status=status.HTTP_400_BAD_REQUEST)


def _forbidden(error: PermissionDenied) -> Response:
    return Response(
        {"detail": str(error) or _("You may not do this.")}, status=status.HTTP_403_FORBIDDEN
    )


def _json_body(request):
    """The parsed body, or None and a 400 answer in the API's error shape."""
    try:
        return request.data, None
    except ParseError as exc:
        # DRF's parser message is English and technical; keep it as a hint after ours.
        message = _("The body is not valid JSON: %(detail)s") % {"detail": str(exc.detail)[:200]}
        return None, message


# --- Producers ----------------------------------------------------------------------------


class CapacitySerializer(serializers.Serializer):
    item = serializers.CharField(help_text="Item code.")
    commissioned = serializers.IntegerField(help_text="Daily capacity of commissioned lines.")
    when_all_built = serializers.IntegerField(
        help_text="Daily capacity of every line not stopped (planned, building, commissioned)."
    )


class ProducerSerializer(serializers.Serializer):
    credit_code = serializers.CharField(help_text="Unified social credit code (18 characters).")
    name = serializers.CharField()
    prefecture = serializers.CharField(source="prefecture.code")
    county = serializers.CharField(source="county.code", allow_null=True, default=None)
    status = serializers.CharField()
    resumption_date = serializers.DateField(allow_null=True)
    active = serializers.BooleanField()
    held_reserve_warehouse = serializers.CharField(
        source="held_reserve_warehouse.code", allow_null=True, default=None
    )
    capacity = serializers.SerializerMethodField()

    @extend_schema_field(CapacitySerializer(many=True))
    def get_capacity(self, producer) -> list[dict]:
        # From the prefetched lines: no query per producer.
        by_item: dict[str, dict] = {}
        order = {}
        for line in producer.lines.all():
            if line.status == LineStatus.STOPPED:
                continue
            code = line.item.code
            order[code] = (line.item.sort_order, code)
            entry = by_item.setdefault(code, {"item": code, "commissioned": 0, "when_all_built": 0})
            entry["when_all_built"] += line.daily_capacity
            if line.status == LineStatus.COMMISSIONED:
                entry["commissioned"] += line.daily_capacity
        return [by_item[code] for code in sorted(by_item, key=order.__getitem__)]


class ProducerFilter(filters.FilterSet):
    prefecture = filters.CharFilter(field_name="prefecture__code")
    status = filters.ChoiceFilter(choices=ProducerStatus.choices)
    active = filters.BooleanFilter()

    class Meta:
        model = Producer
        fields = ["prefecture", "status", "active"]


@extend_schema_view(
    get=extend_schema(
        operation_id="producers_list",
        description=(
            "The producers the caller may see, by prefecture and name: a reporter's own, an "
            "officer's prefecture's, every producer for the office and leadership. `capacity` "
            "gives, per item, the daily capacity of the commissioned lines and of every line "
            "not stopped (`when_all_built`)."
        ),
    )
)
@extend_schema(tags=["production"])
class ProducerListView(generics.ListAPIView):
    serializer_class = ProducerSerializer
    filterset_class = ProducerFilter
    pagination_class = ApiPagination

    def get_queryset(self):
        return (
            producers_visible_to(self.request.user)
            .select_related("held_reserve_warehouse")
            .prefetch_related(
                Prefetch("lines", queryset=ProductionLine.objects.select_related("item"))
            )
            .order_by("prefecture__code", "name", "pk")
        )


# --- Daily production reports -------------------------------------------------------------


# The body and the answers are the bulk pipeline's, documented from the kind's declaration.
ProductionReportsSubmitSerializer = api_body_serializer(
    PRODUCTION_REPORTS, "ProductionReportsSubmit", "ProductionReportRow"
)


ProductionReportSerializer = stored_row_serializer(
    PRODUCTION_REPORTS,
    "ProductionReport",
    doc="A stored report, read from `.values()` rows (codes, not ids).",
)


class ProductionReportFilter(filters.FilterSet):
    producer = filters.CharFilter(field_name="producer__credit_code", lookup_expr="iexact")
    item = filters.CharFilter(field_name="item__code")
    date = filters.DateFilter(validators=[validate_filter_date])

    class Meta:
        model = ProductionReport
        fields = ["producer", "item", "date"]


add_date_range(ProductionReportFilter)


@extend_schema_view(
    get=extend_schema(
        operation_id="production_reports_list",
        description=(
            "The daily production reports of the producers the caller may see, oldest first. "
            "`producer` is a unified social credit code; `from`/`to` are dates (inclusive). "
            "A filter naming a producer the caller cannot see gives an empty list."
        ),
        parameters=[
            OpenApiParameter("from", str, description="First date (inclusive), YYYY-MM-DD."),
            OpenApiParameter("to", str, description="Last date (inclusive), YYYY-MM-DD."),
        ],
    )
)
@extend_schema(tags=["production"])
class ProductionReportListView(BulkRowsView):
    """GET: the reports one may see. POST: submit reports, all or none."""

    kind = PRODUCTION_REPORTS
    serializer_class = ProductionReportSerializer
    filterset_class = ProductionReportFilter
    permission_classes = [MayReportProduction]

    def get_queryset(self):
        return (
            reports_visible_to(self.request.user)
            .order_by("date", "producer__credit_code", "item__sort_order", "item__code")
            .values(*stored_row_values(ProductionReportSerializer))
        )

    @extend_schema(
        operation_id="production_reports_submit",
        request=ProductionReportsSubmitSerializer,
        responses=API_RESPONSES,
        examples=[
            OpenApiExample(
                "One day of one line",
                request_only=True,
                value={
                    "rows": [
                        {
                            "producer": "91350100M000100Y43",
                            "item": "FH001",
                            "date": "2020-03-10",
                            "output": 80000,
                            "to_reserve": 30000,
                            "to_prefectures": 40000,
                            "to_market": 0,
                            "factory_stock": 25000,
                            "held_for_province": 10000,
                            "raw_material_days": 6,
                        }
                    ],
                    "reason": "",
                },
            ),
            OpenApiExample(
                "Resent unchanged",
                response_only=True,
                status_codes=["200"],
                value={"created": 0, "updated": 0, "unchanged": 1},
            ),
            OpenApiExample(
                "Correction without a reason",
                response_only=True,
                status_codes=["400"],
                value={
                    "errors": [
                        {
                            "row": 0,
                            "field": "reason",
                            "message": "A correction of a past date needs a reason.",
                        }
                    ]
                },
            ),
        ],
        description=(
            "Save daily production reports, all or none. A row for an existing (producer, item, "
            "date) is a correction; resending identical rows changes nothing and counts them "
            "as `unchanged`. Correcting a past date needs a `reason` (the body's, or the row's "
            "own). `to_reserve` is booked into the producer's held-reserve warehouse. Always "
            "200 on success, as for the daily figures. 400 lists every problem by row (0-based) "
            "and field; 403 when any row is for a producer the caller does not report for "
            "(nothing is saved), or the caller's role may not report (officers, leadership)."
        ),
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


# --- Problems -----------------------------------------------------------------------------


class ProblemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    producer = serializers.CharField(source="producer.credit_code")
    producer_name = serializers.CharField(source="producer.name")
    category = serializers.CharField()
    description = serializers.CharField()
    status = serializers.CharField()
    reported_by = serializers.CharField(source="reported_by.username")
    reported_at = serializers.DateTimeField()
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)
    resolution = serializers.CharField()
    resolved_by = serializers.CharField(
        source="resolved_by.username", allow_null=True, default=None
    )
    resolved_at = serializers.DateTimeField(allow_null=True)
    age_days = serializers.SerializerMethodField(
        help_text="Whole days from the report to its resolution, or to today while open."
    )

    def get_age_days(self, problem) -> int:
        return problem.age_days(local_today())


class ProblemInSerializer(serializers.Serializer):
    """A reported problem. For the schema only: `problem_report` validates."""

    producer = serializers.CharField(help_text="Unified social credit code of the producer.")
    category = serializers.ChoiceField(choices=ProblemCategory.choices)
    description = serializers.CharField()


class ProblemFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=ProblemStatus.choices)
    category = filters.ChoiceFilter(choices=ProblemCategory.choices)
    producer = filters.CharFilter(field_name="producer__credit_code", lookup_expr="iexact")

    class Meta:
        model = Problem
        fields = ["status", "category", "producer"]


def _problem_response(user, problem: Problem, code=status.HTTP_200_OK) -> Response:
    problem = problems_visible_to(user).get(pk=problem.pk)
    return Response(ProblemSerializer(problem).data, status=code)


@extend_schema_view(
    get=extend_schema(
        operation_id="production_problems_list",
        description=(
            "The problems of the producers the caller may see, oldest first, with their age "
            "in days. Filter by `status`, `category` or `producer` (credit code)."
        ),
    )
)
@extend_schema(tags=["production"])
class ProblemListView(generics.ListAPIView):
    """GET: the problems one may see. POST: report a producer's problem."""

    serializer_class = ProblemSerializer
    filterset_class = ProblemFilter
    pagination_class = ApiPagination
    parser_classes = [StrictJSONParser]

    def get_queryset(self):
        return problems_visible_to(self.request.user).order_by("reported_at", "pk")

    @extend_schema(
        operation_id="production_problems_report",
        request=ProblemInSerializer,
        responses={201: ProblemSerializer, 400: FieldErrorsSerializer, 403: DetailSerializer},
        description=(
            "Report a problem of a producer; it starts `open`. Office staff, or a reporter or "
            "commissioner of that producer. 400 names the fields at fault (a producer the "
            "caller cannot see is unknown); 403 when the caller may see the producer but not "
            "handle its problems (officers, leadership)."
        ),
    )
    def post(self, request, *args, **kwargs):
        body, error = _json_body(request)
        if error is None and not isinstance(body, dict):
            error = _("The body must be a JSON object.")
        if error:
            return _field_errors(ValidationError({"non_field_errors": error}))
        code = body.get("producer")
        producer = None
        if isinstance(code, str) and code.strip() and "\x00" not in code:
            producer = (
                producers_visible_to(request.user).filter(credit_code=code.strip().upper()).first()
            )
        if producer is None:
            return _field_errors(
                ValidationError({"producer": _("Unknown producer (unified social credit code).")})
            )
        description = body.get("description")
        if description is not None and not isinstance(description, str):
            return _field_errors(ValidationError({"description": _("Describe the problem.")}))
        try:
            problem = problem_report(
                user=request.user,
                producer=producer,
                category=body.get("category"),
                description=description or "",
            )
        except PermissionDenied as exc:
            return _forbidden(exc)
        except ValidationError as exc:
            return _field_errors(exc)
        return _problem_response(request.user, problem, status.HTTP_201_CREATED)


class _ProblemActionView(APIView):
    """POST /production-problems/<pk>/<action>/ on a problem the caller may see."""

    parser_classes = [StrictJSONParser]

    def act(self, request, problem, body):
        raise NotImplementedError

    def post(self, request, pk):
        problem = get_object_or_404(problems_visible_to(request.user), pk=pk)
        body, error = _json_body(request)
        if error is None and body is not None and not isinstance(body, dict):
            error = _("The body must be a JSON object.")
        if error:
            return _field_errors(ValidationError({"non_field_errors": error}))
        try:
            problem = self.act(request, problem, body or {})
        except PermissionDenied as exc:
            return _forbidden(exc)
        except ValidationError as exc:
            return _field_errors(exc)
        return _problem_response(request.user, problem)


def _action_schema(name, request, description):
    return extend_schema(
        operation_id=f"production_problems_{name}",
        request=request,
        responses={
            200: ProblemSerializer,
            400: FieldErrorsSerializer,
            403: DetailSerializer,
            404: DetailSerializer,
        },
        description=description
        + " 404 for a problem the caller cannot see; 403 when they may see it but not handle "
        "it (officers, leadership); 400 naming the field at fault (`status` for the wrong "
        "state).",
    )


@extend_schema(tags=["production"])
class ProblemTakeView(_ProblemActionView):
    def act(self, request, problem, body):
        return problem_take(user=request.user, problem=problem)

    @_action_schema("take", None, "open → in progress, owned by the caller. The body may be empty.")
    def post(self, request, pk):
        return super().post(request, pk)


@extend_schema(tags=["production"])
class ProblemResolveView(_ProblemActionView):
    def act(self, request, problem, body):
        resolution = body.get("resolution")
        return problem_resolve(
            user=request.user,
            problem=problem,
            resolution=resolution if isinstance(resolution, str) else "",
        )

    @_action_schema(
        "resolve",
        inline_serializer(
            "ProblemResolveRequest",
            {"resolution": serializers.CharField(help_text="How it was resolved.")},
        ),
        "open or in progress → resolved, with how it was resolved.",
    )
    def post(self, request, pk):
        return super().post(request, pk)
