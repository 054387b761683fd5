"""The daily-figures API: submit a list of figures, list the figures one may see.

Validation lives in `daily_figures_submit`, which checks all rows in bulk (a few queries for
any number of rows); the view only checks that the body is a list and shapes the answer.
Per-row DRF serializers would cost a query or two per row and miss the 2,000 rows/s target.
"""

from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from supplycoord.api import ApiPagination, MaySubmitDailyFigures
from supplycoord.selectors import prefecture_ids_visible_to

from .models import DailyFigure
from .services import DailyFiguresInvalid, DailyFiguresOutOfScope, daily_figures_submit


class DailyFigureRowSerializer(serializers.Serializer):
    """One submitted row. For the schema only: `daily_figures_submit` does the validation."""

    prefecture = serializers.CharField(help_text="Prefecture code, e.g. 620100.")
    item = serializers.CharField(help_text="Item code, e.g. FH001.")
    date = serializers.DateField()
    stock = serializers.IntegerField(min_value=0)
    received = serializers.IntegerField(min_value=0)
    consumption = serializers.IntegerField(min_value=0)
    demand = serializers.IntegerField(min_value=0)
    expected_arrivals_3d = serializers.IntegerField(min_value=0)
    reason = serializers.CharField(
        required=False,
        help_text="Why a past date is corrected; required when a row changes a past figure.",
    )


class DailyFigureSerializer(serializers.Serializer):
    """A stored figure, read from `.values()` rows (codes, not ids)."""

    prefecture = serializers.CharField(source="prefecture__code")
    item = serializers.CharField(source="item__code")
    date = serializers.DateField()
    stock = serializers.IntegerField()
    received = serializers.IntegerField()
    consumption = serializers.IntegerField()
    demand = serializers.IntegerField()
    expected_arrivals_3d = serializers.IntegerField()
    on_time = serializers.BooleanField()
    first_submitted_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField()
    submitted_by = serializers.CharField(source="submitted_by__username")
    correction_reason = serializers.CharField()


SubmitResultSerializer = inline_serializer(
    "DailyFiguresSubmitResult",
    {
        "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "unchanged": serializers.IntegerField(),
    },
)
RowErrorsSerializer = inline_serializer(
    "DailyFiguresErrors",
    {
        "errors": inline_serializer(
            "DailyFiguresRowError",
            {
                "row": serializers.IntegerField(
                    allow_null=True, help_text="0-based index in the list; null for the body."
                ),
                "field": serializers.CharField(),
                "message": serializers.CharField(),
            },
            many=True,
        )
    },
)
OutOfScopeSerializer = inline_serializer(
    "DailyFiguresOutOfScope",
    {
        "detail": serializers.CharField(),
        "rows": serializers.ListField(
            child=serializers.IntegerField(), required=False, help_text="0-based row indexes."
        ),
    },
)


class DailyFigureFilter(filters.FilterSet):
    date = filters.DateFilter()
    prefecture = filters.CharFilter(field_name="prefecture__code")
    item = filters.CharFilter(field_name="item__code")

    class Meta:
        model = DailyFigure
        fields = ["date", "prefecture", "item"]


# `from` is a Python keyword, so the range bounds are added by name.
DailyFigureFilter.base_filters["from"] = filters.DateFilter(field_name="date", lookup_expr="gte")
DailyFigureFilter.base_filters["to"] = filters.DateFilter(field_name="date", lookup_expr="lte")


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
class DailyFigureListView(generics.ListAPIView):
    """GET: the figures of the prefectures the caller may see. POST: submit figures."""

    serializer_class = DailyFigureSerializer
    filterset_class = DailyFigureFilter
    pagination_class = ApiPagination
    permission_classes = [MaySubmitDailyFigures]
    # The body is a JSON list; a form post could not carry one.
    parser_classes = [JSONParser]

    def get_queryset(self):
        queryset = DailyFigure.objects.all()
        visible = prefecture_ids_visible_to(self.request.user)
        if visible is not None:
            queryset = queryset.filter(prefecture_id__in=visible)
        return queryset.order_by(
            "date", "prefecture__code", "item__sort_order", "item__code"
        ).values(
            "prefecture__code",
            "item__code",
            "date",
            "stock",
            "received",
            "consumption",
            "demand",
            "expected_arrivals_3d",
            "on_time",
            "first_submitted_at",
            "submitted_at",
            "submitted_by__username",
            "correction_reason",
        )

    @extend_schema(
        operation_id="daily_figures_submit",
        request=DailyFigureRowSerializer(many=True),
        responses={
            200: SubmitResultSerializer,
            400: RowErrorsSerializer,
            403: OutOfScopeSerializer,
        },
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
            "and counts them as `unchanged`. Always 200 on success, whether or not anything was "
            "created. 400 lists every problem by row (0-based) and field; 403 when any row is "
            "for a prefecture the caller may not report for (nothing is saved), or the caller's "
            "role may not submit figures at all (leadership, producer reporters)."
        ),
    )
    def post(self, request, *args, **kwargs):
        try:
            rows = request.data
        except ParseError as exc:
            # DRF's parser message is English and technical; keep it as a hint after ours.
            return _body_error(
                _("The body is not valid JSON: %(detail)s") % {"detail": str(exc.detail)[:200]}
            )
        if not isinstance(rows, list):
            return _body_error(_("The body must be a JSON list of rows."))
        try:
            result = daily_figures_submit(user=request.user, rows=rows)
        except DailyFiguresOutOfScope as exc:
            return Response(
                {
                    "detail": _("You may not submit figures for the prefecture of these rows."),
                    "rows": exc.rows,
                },
                status=status.HTTP_403_FORBIDDEN,
            )
        except DailyFiguresInvalid as exc:
            return Response(
                {"errors": [error.as_dict() for error in exc.errors]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(result.as_dict(), status=status.HTTP_200_OK)


def _body_error(message):
    return Response(
        {"errors": [{"row": None, "field": "non_field_errors", "message": message}]},
        status=status.HTTP_400_BAD_REQUEST,
    )
