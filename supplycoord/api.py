"""The API of the shared core: token login, reference data, and what every API view shares.

Reference data (prefectures, items) is not secret: any signed-in user may read it. Rows name
prefectures and items by their codes, as everywhere in the API.
"""

import json

from django.http import HttpResponse
from django.template import engines
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView
from rest_framework import generics, serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.pagination import LimitOffsetPagination

from .lib.api_input import StrictFormParser, StrictJSONParser, StrictMultiPartParser
from .lib.dates import validate_filter_date
from .models import Item, ItemCategory, Prefecture


def add_date_range(filterset, *, field_name="date", from_method=None, to_method=None):
    """Give `filterset` the list filters `from` and `to` (inclusive dates, each checked by
    validate_filter_date). `from` is a Python keyword, so the bounds are added by name, once
    here for every list. By `field_name` (a date field), or by the filterset's own methods
    where a day is a range of moments (stock events, batches)."""
    for name, lookup, method in (("from", "gte", from_method), ("to", "lte", to_method)):
        if method:
            bound = filters.DateFilter(method=method, validators=[validate_filter_date])
        else:
            bound = filters.DateFilter(
                field_name=field_name, lookup_expr=lookup, validators=[validate_filter_date]
            )
        filterset.base_filters[name] = bound
    return filterset


class ApiPagination(LimitOffsetPagination):
    """`?limit=&offset=`; the page size is REST_FRAMEWORK["PAGE_SIZE"], capped so one call stays small."""

    max_limit = 10_000


class TokenObtainView(ObtainAuthToken):
    """POST username + password, get the user's API token."""

    # ObtainAuthToken names its own parsers; these apply the input rules of every API view.
    parser_classes = (StrictFormParser, StrictMultiPartParser, StrictJSONParser)

    def get_serializer_context(self):
        # DRF's serializer would hand its own Request to `authenticate`. django-axes flags a
        # lockout on the object it is given, and its middleware only looks at Django's
        # HttpRequest, so that is what `authenticate` gets: a locked-out client then receives
        # axes' lockout answer (429) instead of an indistinct 400.
        return {**super().get_serializer_context(), "request": self.request._request}

    @extend_schema(
        operation_id="auth_token_obtain",
        description=(
            "Exchange a username and password for the user's API token; send it as "
            "`Authorization: Token <token>`. 400 for wrong credentials; 429 once the client is "
            "locked out after repeated failures."
        ),
        auth=[],
        request=inline_serializer(
            "TokenObtainRequest",
            {"username": serializers.CharField(), "password": serializers.CharField()},
        ),
        responses={
            200: inline_serializer("TokenObtainResponse", {"token": serializers.CharField()}),
            400: inline_serializer(
                "TokenObtainError",
                {"non_field_errors": serializers.ListField(child=serializers.CharField())},
            ),
        },
        tags=["auth"],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class PrefectureSerializer(serializers.ModelSerializer):
    priority_weight = serializers.DecimalField(
        max_digits=6, decimal_places=2, coerce_to_string=False
    )

    class Meta:
        model = Prefecture
        fields = ["code", "name_zh", "name_en", "is_gb_code", "active", "priority_weight"]


class ItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = Item
        fields = [
            "code",
            "name_zh",
            "name_en",
            "category",
            "unit",
            "specification",
            "pack_size",
            "is_key",
        ]


class PrefectureFilter(filters.FilterSet):
    active = filters.BooleanFilter()

    class Meta:
        model = Prefecture
        fields = ["active"]


class ItemFilter(filters.FilterSet):
    is_key = filters.BooleanFilter()
    category = filters.ChoiceFilter(choices=ItemCategory.choices)

    class Meta:
        model = Item
        fields = ["is_key", "category"]


@extend_schema(tags=["reference"])
class PrefectureListView(generics.ListAPIView):
    """Every prefecture of the province (active or not), by code."""

    serializer_class = PrefectureSerializer
    filterset_class = PrefectureFilter
    pagination_class = ApiPagination
    queryset = Prefecture.objects.order_by("code")


@extend_schema(tags=["reference"])
class ItemListView(generics.ListAPIView):
    """The active item catalogue; `?is_key=true` gives the items reported daily."""

    serializer_class = ItemSerializer
    filterset_class = ItemFilter
    pagination_class = ApiPagination

    # Inactive items left the catalogue: they can no longer be reported, so they are not listed.
    queryset = Item.objects.filter(active=True).order_by("sort_order", "code")


class OfflineSwaggerView(SpectacularSwaggerView):
    """Swagger UI from the vendored sidecar files, without the online validator badge.

    Swagger UI's default `validatorUrl` makes the browser send the schema's address to
    validator.swagger.io; the docs must work, and leak nothing, without the Internet.
    """

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        ui_settings = json.loads(response.data["settings"] or "{}")
        response.data["settings"] = json.dumps({**ui_settings, "validatorUrl": None}, indent=2)
        return response


# drf-spectacular's Redoc page links Google Fonts in its <head>; the docs must work where the
# Internet does not, so the head is replaced and Redoc falls back to system fonts.
_REDOC_OFFLINE = engines["django"].from_string(
    '{% extends "drf_spectacular/redoc.html" %}'
    "{% block head %}<title>{{ title|default:'Redoc' }}</title>"
    '<meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<style>body { margin: 0; padding: 0; }</style>{% endblock head %}"
)


class OfflineRedocView(SpectacularRedocView):
    """Redoc from the vendored sidecar bundle, with no CDN or web-font requests."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        context = super().get(request, *args, **kwargs).data
        return HttpResponse(_REDOC_OFFLINE.render(context, request))
