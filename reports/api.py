"""The snapshot API: read the daily snapshot rows of reports.md, queue a rebuild of a date.

Rows are scoped like every other read: an officer sees their own prefecture only, and a
filter naming another prefecture simply matches nothing (an empty list, never a 403 that
would confirm what exists elsewhere).
"""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from supplycoord.api import ApiPagination
from supplycoord.lib.dates import local_today
from supplycoord.permissions import IsOfficeStaff

from .models import SnapshotRow, Status
from .selectors import (
    latest_built_date,
    rollups_visible_to,
    snapshot_build_for,
    snapshot_rows_visible_to,
)
from .services import SnapshotDateOutOfRange, snapshot_build_request


def _quantity(**kwargs):
    return serializers.IntegerField(allow_null=True, **kwargs)


def _days(places, **kwargs):
    # JSON numbers, not strings: clients compute with them.
    return serializers.DecimalField(
        max_digits=20, decimal_places=places, coerce_to_string=False, allow_null=True, **kwargs
    )


class SnapshotRowSerializer(serializers.Serializer):
    """One snapshot row with the reports.md names; a missing figure is null."""

    date = serializers.DateField()
    prefecture = serializers.CharField(source="prefecture__code")
    item = serializers.CharField(source="item__code")
    stock = _quantity()
    stock_is_stale = serializers.BooleanField(
        help_text="The stock is the latest report of the previous days, not of `date`."
    )
    consumption = _quantity()
    avg_consumption_7d = _days(4)
    demand = _quantity()
    in_transit = serializers.IntegerField()
    arriving_3d = _quantity()
    days_of_cover = _days(2)
    projected_days_of_cover = _days(2)
    shortfall_3d = _quantity()
    reconciliation_gap = _quantity()
    status = serializers.ChoiceField(choices=Status.choices)


SNAPSHOT_VALUES = [
    "date",
    "prefecture__code",
    "item__code",
    "stock",
    "stock_is_stale",
    "consumption",
    "avg_consumption_7d",
    "demand",
    "in_transit",
    "arriving_3d",
    "days_of_cover",
    "projected_days_of_cover",
    "shortfall_3d",
    "reconciliation_gap",
    "status",
]


class SnapshotQuerySerializer(serializers.Serializer):
    date = serializers.DateField(
        required=False, help_text="YYYY-MM-DD; defaults to the latest date with a built snapshot."
    )
    prefecture = serializers.CharField(required=False, help_text="Prefecture code.")
    item = serializers.CharField(required=False, help_text="Item code.")


class SnapshotPagination(ApiPagination):
    """The usual page, plus the date the rows are for and when that snapshot was built."""

    def get_paginated_response(self, data, *, date=None, built_at=None):
        response = super().get_paginated_response(data)
        response.data = {"date": date, "built_at": built_at, **response.data}
        return response

    def get_paginated_response_schema(self, schema):
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"] = {
            "date": {"type": "string", "format": "date", "nullable": True},
            "built_at": {"type": "string", "format": "date-time", "nullable": True},
            **paginated["properties"],
        }
        paginated["required"] = ["date", "built_at", *paginated.get("required", [])]
        return paginated


@extend_schema(
    tags=["snapshots"],
    parameters=[SnapshotQuerySerializer],
    description=(
        "The daily snapshot rows of the prefectures the caller may see, ordered by prefecture "
        "and item. Without `date`, the latest built date. Filters naming a prefecture or item "
        "the caller cannot see (or that does not exist) give an empty list. `date` and "
        "`built_at` are null when nothing has been built."
    ),
)
class SnapshotListView(generics.ListAPIView):
    serializer_class = SnapshotRowSerializer
    pagination_class = SnapshotPagination
    filter_backends: list = []

    def list(self, request, *args, **kwargs):
        query = SnapshotQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data

        date = params.get("date") or latest_built_date(on_or_before=local_today())
        build = snapshot_build_for(date) if date else None
        rows = SnapshotRow.objects.none()
        if date is not None:
            rows = snapshot_rows_visible_to(request.user, date=date)
            # Codes, as everywhere in the API; an unknown or invisible code matches nothing.
            if "prefecture" in params:
                rows = rows.filter(prefecture__code=params["prefecture"])
            if "item" in params:
                rows = rows.filter(item__code=params["item"])
            rows = rows.values(*SNAPSHOT_VALUES)

        page = self.paginate_queryset(rows)
        serializer = self.get_serializer(page, many=True)
        return self.paginator.get_paginated_response(
            serializer.data, date=date, built_at=build.built_at if build else None
        )


class ProvinceRollupSerializer(serializers.Serializer):
    """One province figure of an item and date, with what it rests on (reports.md
    "Province rollups" and "Coverage")."""

    date = serializers.DateField()
    item = serializers.CharField(source="item.code")
    stock = serializers.IntegerField(help_text="Σ prefecture stock (reported or stale).")
    consumption = serializers.IntegerField()
    demand = serializers.IntegerField()
    in_transit = serializers.IntegerField()
    arriving_3d = serializers.IntegerField()
    shortfall_3d = serializers.IntegerField()
    avg_consumption_7d = _days(4, help_text="Σ of every prefecture's 7-day average.")
    reserve_stock = serializers.IntegerField()
    inbound_3d = serializers.IntegerField(
        help_text='reports.md "Inbound": open purchase-order lines and announced national '
        "allocations expected in [date, date+3], plus distribution enterprises' purchase in "
        "transit reported for `date`; as of the end of `date`. Overdue inbound is not in it."
    )
    inbound_14d = serializers.IntegerField(help_text="As inbound_3d, expected in [date, date+14].")
    days_of_cover = _days(
        2,
        help_text="(Σ stock + reserve stock) / Σ avg_consumption_7d over the prefectures "
        "that have both a stock and a rate; null without any.",
    )
    projected_province_days_of_cover = _days(
        2,
        help_text="(Σ stock + reserve stock + inbound_3d + Σ arriving_3d) / Σ avg_consumption_7d "
        "over the same prefectures as days_of_cover; null without any.",
    )
    status = serializers.ChoiceField(
        choices=Status.choices, help_text="Always `grey` when the figure is partial."
    )
    prefectures_red = serializers.IntegerField()
    prefectures_reported = serializers.IntegerField(
        help_text="Active prefectures with a report for `date`."
    )
    prefectures_stale = serializers.IntegerField(
        help_text="Active prefectures whose stock comes from the 3 previous days."
    )
    prefectures_missing = serializers.IntegerField(help_text="The other active prefectures.")
    coverage_share = _days(
        4,
        help_text="Σ avg_consumption_7d of prefectures with a stock ÷ Σ of all active "
        "prefectures that have one (by count when none has a rate), 0..1.",
    )
    partial = serializers.BooleanField(
        help_text="coverage_share below the threshold (setting, default 0.8): not coloured, "
        "no province alert."
    )


class RollupQuerySerializer(serializers.Serializer):
    date = serializers.DateField(
        required=False, help_text="YYYY-MM-DD; defaults to the latest date with a built snapshot."
    )


@extend_schema(
    tags=["snapshots"],
    parameters=[RollupQuerySerializer],
    responses=inline_serializer(
        "ProvinceRollupList",
        {
            "date": serializers.DateField(allow_null=True),
            "built_at": serializers.DateTimeField(allow_null=True),
            "results": ProvinceRollupSerializer(many=True),
        },
    ),
    description=(
        "The province figures of one date, one per key item, each with its coverage. Only "
        "for roles that see the whole province: others get an empty list."
    ),
)
class RollupListView(APIView):
    def get(self, request, *args, **kwargs):
        query = RollupQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        date = query.validated_data.get("date") or latest_built_date(on_or_before=local_today())
        build = snapshot_build_for(date) if date else None
        rollups = rollups_visible_to(request.user, date=date) if date else []
        return Response(
            {
                "date": date,
                "built_at": build.built_at if build else None,
                "results": ProvinceRollupSerializer(rollups, many=True).data,
            }
        )


class SnapshotBuildRequestSerializer(serializers.Serializer):
    date = serializers.DateField()


class SnapshotBuildView(APIView):
    permission_classes = [IsOfficeStaff]

    @extend_schema(
        tags=["snapshots"],
        operation_id="snapshots_build",
        request=SnapshotBuildRequestSerializer,
        responses={
            202: inline_serializer(
                "SnapshotBuildQueued",
                {"queued": serializers.BooleanField(), "date": serializers.DateField()},
            ),
            400: inline_serializer(
                "SnapshotBuildInvalid",
                {"date": serializers.ListField(child=serializers.CharField())},
            ),
            403: inline_serializer("SnapshotBuildForbidden", {"detail": serializers.CharField()}),
        },
        description="Office staff: queue a rebuild of one date's snapshot (after commit).",
    )
    def post(self, request, *args, **kwargs):
        serializer = SnapshotBuildRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        day = serializer.validated_data["date"]
        try:
            snapshot_build_request(user=request.user, date=day)
        except SnapshotDateOutOfRange as exc:
            return Response({"date": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"queued": True, "date": day.isoformat()}, status=status.HTTP_202_ACCEPTED)
