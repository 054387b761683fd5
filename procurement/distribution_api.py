"""The distribution enterprises' API: their register (read) and their daily reports (read and
submit). Reports go through the bulk-rows pipeline (supplycoord.bulk) the form and the Excel
import call too: all rows or none, idempotent on (enterprise, item, date), errors by row and
field. Rows are scoped: a reporter sees their enterprises, an officer those located in their
prefecture (read-only), the office and leadership every one."""

from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, serializers

from supplycoord.api import ApiPagination, add_date_range
from supplycoord.bulk import (
    API_RESPONSES,
    BulkRowsView,
    api_body_serializer,
    stored_row_serializer,
    stored_row_values,
)
from supplycoord.lib.dates import validate_filter_date
from supplycoord.permissions import MayReportDistribution

from .distribution_selectors import enterprises_visible_to, reports_visible_to
from .distribution_services import DISTRIBUTION_REPORTS
from .models import DistributionReport


class DistributionEnterpriseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    credit_code = serializers.CharField()
    prefecture = serializers.CharField(source="prefecture.code")
    contact = serializers.CharField()
    phone = serializers.CharField()
    active = serializers.BooleanField()


@extend_schema_view(
    get=extend_schema(
        operation_id="distribution_enterprises_list",
        description="The distribution enterprises the caller may see, by name.",
    )
)
@extend_schema(tags=["procurement"])
class DistributionEnterpriseListView(generics.ListAPIView):
    serializer_class = DistributionEnterpriseSerializer
    pagination_class = ApiPagination
    permission_classes = [MayReportDistribution]

    def get_queryset(self):
        return (
            enterprises_visible_to(self.request.user)
            .select_related("prefecture")
            .order_by("name", "pk")
        )


DistributionReportsSubmitSerializer = api_body_serializer(
    DISTRIBUTION_REPORTS, "DistributionReportsSubmit", "DistributionReportRow"
)
DistributionReportSerializer = stored_row_serializer(
    DISTRIBUTION_REPORTS,
    "DistributionReport",
    doc="A stored distribution report, read from `.values()` rows (codes, not ids).",
)


class DistributionReportFilter(filters.FilterSet):
    enterprise = filters.CharFilter(field_name="enterprise__credit_code", lookup_expr="iexact")
    item = filters.CharFilter(field_name="item__code")
    date = filters.DateFilter(validators=[validate_filter_date])

    class Meta:
        model = DistributionReport
        fields = ["enterprise", "item", "date"]


add_date_range(DistributionReportFilter)


@extend_schema_view(
    get=extend_schema(
        operation_id="distribution_reports_list",
        description=(
            "The daily reports of the distribution enterprises the caller may see, oldest "
            "first. `enterprise` is a unified social credit code; `from`/`to` are dates "
            "(inclusive). A filter naming an enterprise the caller cannot see gives an empty "
            "list."
        ),
        parameters=[
            OpenApiParameter("from", str, description="First date (inclusive), YYYY-MM-DD."),
            OpenApiParameter("to", str, description="Last date (inclusive), YYYY-MM-DD."),
        ],
    )
)
@extend_schema(tags=["procurement"])
class DistributionReportListView(BulkRowsView):
    """GET: the reports one may see. POST: submit reports, all or none."""

    kind = DISTRIBUTION_REPORTS
    serializer_class = DistributionReportSerializer
    filterset_class = DistributionReportFilter
    permission_classes = [MayReportDistribution]

    def get_queryset(self):
        return (
            reports_visible_to(self.request.user)
            .order_by("date", "enterprise__credit_code", "item__sort_order", "item__code")
            .values(*stored_row_values(DistributionReportSerializer))
        )

    @extend_schema(
        operation_id="distribution_reports_submit",
        request=DistributionReportsSubmitSerializer,
        responses=API_RESPONSES,
        examples=[
            OpenApiExample(
                "One item of one day",
                request_only=True,
                value={
                    "rows": [
                        {
                            "enterprise": "91620100MA7000501X",
                            "item": "FH001",
                            "date": "2020-02-20",
                            "purchased": 1000,
                            "shipped": 400,
                            "purchase_in_transit": 2000,
                            "stock": 600,
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
        ],
        description=(
            "Save distribution enterprises' daily reports, all or none. A row for an existing "
            "(enterprise, item, date) with other figures is a correction and needs a `reason` "
            "(the body's, or the row's own), today's as well as a past day's; resending "
            "identical rows changes nothing and counts them as `unchanged`. 400 lists every "
            "problem by row (0-based) and field; 403 when any row is for an enterprise the "
            "caller does not report for, or the caller's role may not report (nothing is "
            "saved)."
        ),
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
