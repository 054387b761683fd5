"""The procurement API: the supplier directory and its item search, purchase orders with
their transitions and arrivals.

Suppliers are named by their id, orders by their number (CG-2020-001), items and warehouses by
their codes. Office staff and admins write; leadership reads; everyone else gets 403. The
services decide everything (roles, states, quantities); the views read the body and shape the
answer: 400 `{"errors": [{"line", "field", "message"}]}` (line: the 0-based index in `lines`,
null for the record), 403 `{"detail"}`, 409 `{"detail"}` when the order moved since the
`expected_version` the caller read.
"""

from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory.models import Warehouse
from supplycoord.api import ApiPagination
from supplycoord.lib.api_input import StrictJSONParser
from supplycoord.lib.dates import local_today, parse_moment
from supplycoord.lib.text import ascii_whole_number, text_error
from supplycoord.models import Item
from supplycoord.permissions import MayChangeProcurement

from . import selectors
from .models import (
    FundingSource,
    NationalAllocationArrival,
    NationalRequestStatus,
    NationalRequestTransition,
    OrderArrival,
    OrderArrivalLine,
    OrderPayment,
    OrderStatus,
    OrderTransition,
    PurchaseOrderLine,
    ReserveUnit,
    Supplier,
    SupplierCapability,
    SupplierOrigin,
)
from .services import (
    MAX_LEAD_TIME_DAYS,
    OrderConflict,
    ProcurementError,
    ProcurementInvalid,
    RequestConflict,
    national_allocation_announce,
    national_allocation_arrival_record,
    national_request_create,
    national_request_refuse,
    order_arrival_record,
    order_cancel,
    order_close,
    order_create,
    order_payment_record,
    order_place,
    order_update_draft,
    reserve_unit_create,
    reserve_unit_update,
    supplier_capability_remove,
    supplier_capability_set,
    supplier_create,
    supplier_update,
)

# --- Serializers (the answer's shape; the services validate) -----------------------------------


def _money(**kwargs):
    return serializers.DecimalField(max_digits=32, decimal_places=2, **kwargs)


class CapabilitySerializer(serializers.Serializer):
    item = serializers.CharField(source="item.code")
    daily_capacity = serializers.IntegerField()
    lead_time_days = serializers.IntegerField()
    minimum_order = serializers.IntegerField()
    last_unit_price = _money(allow_null=True)


class SupplierSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    credit_code = serializers.CharField(allow_null=True)
    origin = serializers.ChoiceField(choices=SupplierOrigin.choices)
    contact = serializers.CharField()
    phone = serializers.CharField()
    note = serializers.CharField(help_text="Reliability notes.")
    active = serializers.BooleanField()
    capabilities = CapabilitySerializer(many=True, source="capabilities.all")


class CapabilityInSerializer(serializers.Serializer):
    """For the schema only: `supplier_capability_set` validates."""

    daily_capacity = serializers.IntegerField(min_value=1)
    lead_time_days = serializers.IntegerField(min_value=0)
    minimum_order = serializers.IntegerField(min_value=0, required=False)
    last_unit_price = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True
    )


class ReserveUnitSerializer(serializers.Serializer):
    """A reserve-task unit with its working-capital line (procurement.selectors.CapitalLine)."""

    id = serializers.IntegerField(source="unit.pk")
    name = serializers.CharField(source="unit.name")
    warehouses = serializers.SerializerMethodField()
    contact = serializers.CharField(source="unit.contact")
    phone = serializers.CharField(source="unit.phone")
    note = serializers.CharField(source="unit.note")
    active = serializers.BooleanField(source="unit.active")
    capital_granted = _money(source="granted")
    capital_committed = _money(source="committed", help_text="Σ (amount − paid) of open orders.")
    capital_paid = _money(source="paid")
    capital_remaining = _money(source="remaining", help_text="granted − committed − paid.")
    over = serializers.BooleanField(help_text="Commitments exceed the line granted.")

    def get_warehouses(self, line) -> list[str]:
        return [w.code for w in line.unit.warehouses.all()]


class ReserveUnitInSerializer(serializers.Serializer):
    """For the schema only: `reserve_unit_create` / `reserve_unit_update` validate."""

    name = serializers.CharField()
    capital_granted = serializers.DecimalField(max_digits=18, decimal_places=2)
    warehouses = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Reserve warehouse codes."
    )
    contact = serializers.CharField(required=False)
    phone = serializers.CharField(required=False)
    note = serializers.CharField(required=False)


class ReserveUnitUpdateSerializer(ReserveUnitInSerializer):
    """For the schema only: any of the fields, and `active`."""

    name = serializers.CharField(required=False)
    capital_granted = serializers.DecimalField(max_digits=18, decimal_places=2, required=False)
    active = serializers.BooleanField(required=False)


class SupplierRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CapabilityMatchSerializer(CapabilitySerializer):
    supplier = SupplierRefSerializer()
    origin = serializers.CharField(source="supplier.origin")


class SupplierInSerializer(serializers.Serializer):
    """For the schema only: `supplier_create` validates."""

    name = serializers.CharField()
    credit_code = serializers.CharField(
        required=False, help_text="18 characters; blank only for an enterprise abroad."
    )
    origin = serializers.ChoiceField(choices=SupplierOrigin.choices)
    contact = serializers.CharField(required=False)
    phone = serializers.CharField(required=False)
    note = serializers.CharField(required=False, help_text="Reliability notes.")


class OrderLineSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The line's id: arrivals name lines by it.")
    item = serializers.CharField(source="item.code")
    quantity = serializers.IntegerField()
    unit_price = _money()
    amount = _money(help_text="quantity × unit_price.")
    expected_arrival = serializers.DateField()
    arrived_quantity = serializers.IntegerField()
    outstanding = serializers.IntegerField(help_text="Ordered − arrived.")


class ArrivalLineSerializer(serializers.Serializer):
    line = serializers.IntegerField(source="order_line_id")
    item = serializers.CharField(source="order_line.item.code")
    quantity = serializers.IntegerField()


class ArrivalSerializer(serializers.Serializer):
    document_number = serializers.CharField(source="receipt_event.document_number")
    warehouse = serializers.CharField(source="warehouse.code")
    arrived_at = serializers.DateTimeField()
    note = serializers.CharField()
    lines = ArrivalLineSerializer(many=True, source="lines.all")


class OrderTransitionSerializer(serializers.Serializer):
    from_status = serializers.CharField(help_text="Empty for the creation.")
    to_status = serializers.CharField()
    by = serializers.CharField(source="by.username")
    at = serializers.DateTimeField()
    note = serializers.CharField()


class OrderPaymentSerializer(serializers.Serializer):
    amount = _money()
    paid_on = serializers.DateField()
    note = serializers.CharField()
    recorded_by = serializers.CharField(source="recorded_by.username")
    recorded_at = serializers.DateTimeField()


class OrderSerializer(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    version = serializers.IntegerField(
        help_text="Send it back as `expected_version` with a transition."
    )
    buyer_unit = SupplierRefSerializer(allow_null=True, help_text="null: the office itself.")
    supplier = SupplierRefSerializer()
    funding_source = serializers.ChoiceField(choices=FundingSource.choices)
    ordered_on = serializers.DateField()
    note = serializers.CharField()
    created_at = serializers.DateTimeField()
    placed_at = serializers.DateTimeField(allow_null=True)
    amount = serializers.SerializerMethodField()
    lines = OrderLineSerializer(many=True, source="lines.all")
    arrivals = ArrivalSerializer(many=True, source="arrivals.all")
    payments = OrderPaymentSerializer(many=True, source="payments.all")
    timeline = OrderTransitionSerializer(many=True, source="transitions.all")

    def get_amount(self, order) -> Decimal:
        return str(sum((line.amount for line in order.lines.all()), Decimal("0.00")))


class OrderLineInSerializer(serializers.Serializer):
    item = serializers.CharField(help_text="Item code, e.g. FH001.")
    quantity = serializers.IntegerField(min_value=1)
    unit_price = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text='Yuan, e.g. "3.50".'
    )
    expected_arrival = serializers.DateField()


class OrderInSerializer(serializers.Serializer):
    """For the schema only: `order_create` validates."""

    supplier = serializers.IntegerField(help_text="Supplier id.")
    buyer_unit = serializers.IntegerField(
        required=False, allow_null=True, help_text="Reserve-task unit id; null: the office."
    )
    funding_source = serializers.ChoiceField(choices=FundingSource.choices)
    ordered_on = serializers.DateField(required=False, help_text="Default today.")
    note = serializers.CharField(required=False)
    lines = OrderLineInSerializer(many=True)


ErrorsSerializer = inline_serializer(
    "ProcurementErrors",
    {
        "errors": inline_serializer(
            "ProcurementError",
            {
                "line": serializers.IntegerField(allow_null=True),
                "field": serializers.CharField(),
                "message": serializers.CharField(),
            },
            many=True,
        )
    },
)
DetailSerializer = inline_serializer("ProcurementDetail", {"detail": serializers.CharField()})


# --- Answers -----------------------------------------------------------------------------------


def _errors(entries):
    return Response(
        {
            "errors": [
                {"line": line, "field": field, "message": str(message)}
                for line, field, message in entries
            ]
        },
        status=status.HTTP_400_BAD_REQUEST,
    )


def _refusal(exc: Exception) -> Response:
    if isinstance(exc, PermissionDenied):
        return Response(
            {"detail": str(exc) or _("You may not do this.")}, status=status.HTTP_403_FORBIDDEN
        )
    if isinstance(exc, OrderConflict):
        return Response({"detail": exc.message}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, ProcurementInvalid):
        return _errors([(e.line, e.field, e.message) for e in exc.errors])
    return _errors([(None, "non_field_errors", exc.message)])


def _json_object(request):
    try:
        body = request.data
    except ParseError as exc:
        return None, _errors(
            [
                (
                    None,
                    "non_field_errors",
                    _("The body is not valid JSON: %(detail)s") % {"detail": str(exc.detail)[:200]},
                )
            ]
        )
    if not isinstance(body, dict):
        return None, _errors([(None, "non_field_errors", _("The body must be a JSON object."))])
    return body, None


def _pk(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return ascii_whole_number(value, max_digits=12)
    return None


def _param(request, name) -> str:
    return (request.query_params.get(name) or "").strip()


class _Refused(Exception):
    def __init__(self, field, message):
        self.field, self.message = field, message


def _item_param(request) -> Item | None:
    code = _param(request, "item")
    if not code:
        return None
    item = Item.objects.filter(code=code).first() if not text_error(code) else None
    if item is None:
        raise _Refused("item", _("Unknown item code."))
    return item


def suppliers_for_display(user):
    return selectors.suppliers_visible_to(user).prefetch_related(
        Prefetch(
            "capabilities",
            queryset=SupplierCapability.objects.select_related("item").order_by(
                "item__sort_order", "item__code"
            ),
        )
    )


def orders_for_display(user):
    """The orders `user` may see, with everything the serializer reads (fixed query count)."""
    return (
        selectors.orders_visible_to(user)
        .select_related("supplier", "buyer_unit")
        .prefetch_related(
            Prefetch(
                "lines", queryset=PurchaseOrderLine.objects.select_related("item").order_by("id")
            ),
            Prefetch(
                "arrivals",
                queryset=OrderArrival.objects.select_related("receipt_event", "warehouse")
                .prefetch_related(
                    Prefetch(
                        "lines",
                        queryset=OrderArrivalLine.objects.select_related(
                            "order_line__item"
                        ).order_by("id"),
                    )
                )
                .order_by("arrived_at", "id"),
            ),
            Prefetch(
                "transitions",
                queryset=OrderTransition.objects.select_related("by").order_by("at", "id"),
            ),
            Prefetch(
                "payments",
                queryset=OrderPayment.objects.select_related("recorded_by").order_by(
                    "paid_on", "id"
                ),
            ),
        )
    )


def _order_refs(body, *, partial=False):
    """The supplier and buyer unit a body names by id: ({"supplier": …, "buyer_unit": …},
    problems). With `partial` (a draft's edit) a key left out is left out of the answer."""
    refs, problems = {}, []
    if not partial or "supplier" in body:
        pk = _pk(body.get("supplier"))
        supplier = Supplier.objects.filter(pk=pk).first() if pk is not None else None
        if supplier is None:
            problems.append((None, "supplier", _("Choose a supplier by its id.")))
        refs["supplier"] = supplier
    if not partial or "buyer_unit" in body:
        unit = None
        if body.get("buyer_unit") is not None:
            pk = _pk(body.get("buyer_unit"))
            unit = ReserveUnit.objects.filter(pk=pk).first() if pk is not None else None
            if unit is None:
                problems.append(
                    (None, "buyer_unit", _("Choose a reserve-task unit by its id, or null."))
                )
        refs["buyer_unit"] = unit
    return refs, problems


def _order_response(user, order, code=status.HTTP_200_OK):
    order = orders_for_display(user).filter(pk=order.pk).first()
    return Response(OrderSerializer(order).data, status=code)


# --- Suppliers ---------------------------------------------------------------------------------


@extend_schema(tags=["procurement"])
class SupplierListView(generics.ListAPIView):
    """GET: the supplier directory. POST: a new supplier (office)."""

    serializer_class = SupplierSerializer
    pagination_class = ApiPagination
    permission_classes = [MayChangeProcurement]
    parser_classes = [StrictJSONParser]
    input_error_index = "line"

    def get_queryset(self):
        suppliers = suppliers_for_display(self.request.user)
        origin = _param(self.request, "origin")
        if origin:
            suppliers = suppliers.filter(origin=origin)
        return suppliers.order_by("name", "pk")

    @extend_schema(
        operation_id="suppliers_list",
        parameters=[OpenApiParameter("origin", str, enum=SupplierOrigin.values)],
        description="The supplier directory with the items each can supply. Office, leadership.",
    )
    def get(self, request, *args, **kwargs):
        origin = _param(request, "origin")
        if origin and origin not in SupplierOrigin.values:
            return _errors([(None, "origin", _("Choose an origin."))])
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="suppliers_create",
        request=SupplierInSerializer,
        responses={201: SupplierSerializer, 400: ErrorsSerializer, 403: DetailSerializer},
        description="A new supplier of the directory. Office only. The credit code is checked "
        "(GB 32100 check character).",
    )
    def post(self, request, *args, **kwargs):
        body, error = _json_object(request)
        if error:
            return error
        try:
            supplier = supplier_create(
                user=request.user,
                **{
                    field: body.get(field, "")
                    for field in ("name", "credit_code", "origin", "contact", "phone", "note")
                },
            )
        except (ProcurementError, PermissionDenied) as exc:
            return _refusal(exc)
        supplier = suppliers_for_display(request.user).get(pk=supplier.pk)
        return Response(SupplierSerializer(supplier).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["procurement"])
class SupplierDetailView(generics.RetrieveAPIView):
    serializer_class = SupplierSerializer
    permission_classes = [MayChangeProcurement]

    def get_queryset(self):
        return suppliers_for_display(self.request.user)

    parser_classes = [StrictJSONParser]
    input_error_index = "line"

    @extend_schema(operation_id="suppliers_detail", description="One supplier by its id.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="suppliers_update",
        request=inline_serializer(
            "SupplierUpdate",
            {
                "name": serializers.CharField(required=False),
                "credit_code": serializers.CharField(required=False),
                "origin": serializers.ChoiceField(choices=SupplierOrigin.choices, required=False),
                "contact": serializers.CharField(required=False),
                "phone": serializers.CharField(required=False),
                "note": serializers.CharField(required=False),
                "active": serializers.BooleanField(required=False),
            },
        ),
        responses={200: SupplierSerializer, 400: ErrorsSerializer, 403: DetailSerializer},
        description="Change any of the supplier's fields. Office only. 400 by field.",
    )
    def patch(self, request, pk):
        supplier = get_object_or_404(selectors.suppliers_visible_to(request.user), pk=pk)
        body, error = _json_object(request)
        if error:
            return error
        problems = []
        fields = {
            name: body[name]
            for name in ("name", "credit_code", "origin", "contact", "phone", "note")
            if name in body
        }
        fields.update(_active_flag(body, problems))
        if problems:
            return _errors(problems)
        try:
            supplier_update(user=request.user, supplier=supplier, **fields)
        except (ProcurementError, PermissionDenied) as exc:
            return _refusal(exc)
        return _supplier_response(request.user, supplier)


def _supplier_response(user, supplier, code=status.HTTP_200_OK):
    supplier = suppliers_for_display(user).get(pk=supplier.pk)
    return Response(SupplierSerializer(supplier).data, status=code)


def _active_flag(body, problems):
    """`active` as JSON true/false only: "false" as text is not false."""
    if "active" not in body:
        return {}
    if not isinstance(body["active"], bool):
        problems.append((None, "active", _("Give true or false.")))
        return {}
    return {"active": body["active"]}


@extend_schema(tags=["procurement"])
class SupplierItemView(APIView):
    """PUT: what a supplier can deliver of one item (set again to change it). DELETE: it no
    longer offers the item (the history keeps what it offered)."""

    permission_classes = [MayChangeProcurement]
    parser_classes = [StrictJSONParser]
    input_error_index = "line"

    def _capability(self, request, pk, code):
        supplier = get_object_or_404(selectors.suppliers_visible_to(request.user), pk=pk)
        item = None if text_error(code) else Item.objects.filter(code=code).first()
        return supplier, item

    @extend_schema(
        operation_id="suppliers_items_set",
        request=CapabilityInSerializer,
        responses={200: SupplierSerializer, 400: ErrorsSerializer, 403: DetailSerializer},
        description="Capacity a day (≥ 1), lead time (0–365 days), minimum order and last unit "
        "price of one item of the catalogue. Office only. 400 by field.",
    )
    def put(self, request, pk, code):
        supplier, item = self._capability(request, pk, code)
        body, error = _json_object(request)
        if error:
            return error
        if item is None:
            return _errors([(None, "item", _("Choose an item of the catalogue."))])
        try:
            supplier_capability_set(
                user=request.user,
                supplier=supplier,
                item=item,
                daily_capacity=body.get("daily_capacity"),
                lead_time_days=body.get("lead_time_days"),
                minimum_order=body.get("minimum_order", 0),
                last_unit_price=body.get("last_unit_price"),
            )
        except (ProcurementError, PermissionDenied) as exc:
            return _refusal(exc)
        return _supplier_response(request.user, supplier)

    @extend_schema(
        operation_id="suppliers_items_remove",
        responses={200: SupplierSerializer, 403: DetailSerializer, 404: DetailSerializer},
        description="The supplier no longer offers the item. Office only; 404 when it did not.",
    )
    def delete(self, request, pk, code):
        supplier, item = self._capability(request, pk, code)
        capability = supplier.capabilities.filter(item=item).first() if item else None
        if capability is None:
            return Response({"detail": _("Not found.")}, status=status.HTTP_404_NOT_FOUND)
        try:
            supplier_capability_remove(user=request.user, capability=capability)
        except PermissionDenied as exc:
            return _refusal(exc)
        return _supplier_response(request.user, supplier)


def _unit_warehouses(body, problems):
    """The reserve warehouses a body names by code: {"warehouses": [...]} or {}."""
    if "warehouses" not in body:
        return {}
    codes = body["warehouses"]
    if not isinstance(codes, list) or any(not isinstance(c, str) or text_error(c) for c in codes):
        problems.append((None, "warehouses", _("Give a list of warehouse codes.")))
        return {}
    found = {w.code: w for w in Warehouse.objects.filter(code__in=codes)}
    unknown = [c for c in codes if c not in found]
    if unknown:
        problems.append(
            (
                None,
                "warehouses",
                _("Unknown warehouse code: %(codes)s.") % {"codes": ", ".join(unknown[:5])[:200]},
            )
        )
        return {}
    return {"warehouses": [found[c] for c in codes]}


_UNIT_WAREHOUSES = Prefetch("warehouses", queryset=Warehouse.objects.order_by("code"))


def _unit_response(unit, code=status.HTTP_200_OK):
    unit = ReserveUnit.objects.prefetch_related(_UNIT_WAREHOUSES).get(pk=unit.pk)
    return Response(ReserveUnitSerializer(selectors.capital_line(unit)).data, status=code)


@extend_schema(tags=["procurement"])
class ReserveUnitListView(APIView):
    """GET: the reserve-task units with their working-capital lines. POST: a new unit."""

    permission_classes = [MayChangeProcurement]
    parser_classes = [StrictJSONParser]
    input_error_index = "line"

    @extend_schema(
        operation_id="reserve_units_list",
        responses={200: ReserveUnitSerializer(many=True)},
        description="Every reserve-task unit (承储单位), its reserve warehouses and its "
        "working-capital line (周转金): granted, committed, paid, remaining. Office, leadership.",
    )
    def get(self, request):
        units = ReserveUnit.objects.prefetch_related(_UNIT_WAREHOUSES).order_by("name", "pk")
        lines = selectors.capital_lines(units)
        return Response(ReserveUnitSerializer(lines, many=True).data)

    @extend_schema(
        operation_id="reserve_units_create",
        request=ReserveUnitInSerializer,
        responses={201: ReserveUnitSerializer, 400: ErrorsSerializer, 403: DetailSerializer},
        description="A new reserve-task unit with its working-capital line. Office only.",
    )
    def post(self, request):
        body, error = _json_object(request)
        if error:
            return error
        problems = []
        warehouses = _unit_warehouses(body, problems)
        if problems:
            return _errors(problems)
        try:
            unit = reserve_unit_create(
                user=request.user,
                name=body.get("name", ""),
                capital_granted=body.get("capital_granted"),
                contact=body.get("contact", ""),
                phone=body.get("phone", ""),
                note=body.get("note", ""),
                **warehouses,
            )
        except (ProcurementError, PermissionDenied) as exc:
            return _refusal(exc)
        return _unit_response(unit, status.HTTP_201_CREATED)


@extend_schema(tags=["procurement"])
class ReserveUnitDetailView(APIView):
    permission_classes = [MayChangeProcurement]
    parser_classes = [StrictJSONParser]
    input_error_index = "line"

    @extend_schema(
        operation_id="reserve_units_detail",
        responses={200: ReserveUnitSerializer, 404: DetailSerializer},
        description="One reserve-task unit with its working-capital line.",
    )
    def get(self, request, pk):
        return _unit_response(get_object_or_404(ReserveUnit, pk=pk))

    @extend_schema(
        operation_id="reserve_units_update",
        request=ReserveUnitUpdateSerializer,
        responses={200: ReserveUnitSerializer, 400: ErrorsSerializer, 403: DetailSerializer},
        description="Change any of name, capital_granted, warehouses (all of them), contact, "
        "phone, note, active. Office only.",
    )
    def patch(self, request, pk):
        unit = get_object_or_404(ReserveUnit, pk=pk)
        body, error = _json_object(request)
        if error:
            return error
        problems = []
        fields = {
            name: body[name]
            for name in ("name", "capital_granted", "contact", "phone", "note")
            if name in body
        }
        fields.update(_unit_warehouses(body, problems))
        fields.update(_active_flag(body, problems))
        if problems:
            return _errors(problems)
        try:
            reserve_unit_update(user=request.user, unit=unit, **fields)
        except (ProcurementError, PermissionDenied) as exc:
            return _refusal(exc)
        return _unit_response(unit)


@extend_schema(tags=["procurement"])
class SupplierSearchView(generics.ListAPIView):
    """Who can supply an item within N days, shortest lead time first, then capacity."""

    serializer_class = CapabilityMatchSerializer
    pagination_class = ApiPagination
    permission_classes = [MayChangeProcurement]

    def get_queryset(self):
        # Set by `get` once the parameters are checked (none for the schema generator).
        return getattr(self, "_rows", SupplierCapability.objects.none())

    @extend_schema(
        operation_id="supplier_capabilities_search",
        parameters=[
            OpenApiParameter("item", str, required=True, description="Item code, e.g. FH001."),
            OpenApiParameter(
                "within_days", int, description=f"Lead time at most (0–{MAX_LEAD_TIME_DAYS})."
            ),
        ],
        responses={200: CapabilityMatchSerializer(many=True), 400: ErrorsSerializer},
        description="Who can supply `item` within `within_days` days: active suppliers, "
        "shortest lead time first, then the largest capacity per day.",
    )
    def get(self, request, *args, **kwargs):
        try:
            item = _item_param(request)
            if item is None:
                raise _Refused("item", _("Give an item code."))
            within = None
            raw = _param(request, "within_days")
            if raw:
                within = ascii_whole_number(raw, max_digits=4)
                if within is None or within > MAX_LEAD_TIME_DAYS:
                    raise _Refused(
                        "within_days",
                        _("Enter a whole number of days from 0 to %(max)d.")
                        % {"max": MAX_LEAD_TIME_DAYS},
                    )
        except _Refused as exc:
            return _errors([(None, exc.field, exc.message)])
        self._rows = selectors.capabilities_for_item(request.user, item=item, within_days=within)
        return super().get(request, *args, **kwargs)


# --- Purchase orders -----------------------------------------------------------------------------


@extend_schema(tags=["procurement"])
class OrderListView(generics.ListAPIView):
    """GET: the purchase orders. POST: a new draft (office)."""

    serializer_class = OrderSerializer
    pagination_class = ApiPagination
    permission_classes = [MayChangeProcurement]
    parser_classes = [StrictJSONParser]
    input_error_index = "line"

    def get_queryset(self):
        # Set by `get` once the filters are checked (none for the schema generator).
        return getattr(self, "_orders", selectors.orders_visible_to(None))

    @extend_schema(
        operation_id="purchase_orders_list",
        parameters=[
            OpenApiParameter("status", str, enum=OrderStatus.values),
            OpenApiParameter("supplier", int, description="Supplier id."),
            OpenApiParameter("item", str, description="Orders with a line of this item code."),
            OpenApiParameter(
                "overdue",
                bool,
                description="true: only orders with a line past its expected arrival "
                "(today in the office) and goods outstanding.",
            ),
        ],
        responses={200: OrderSerializer(many=True), 400: ErrorsSerializer},
        description="Purchase orders, newest first, with lines, arrivals and timeline. Office, "
        "leadership.",
    )
    def get(self, request, *args, **kwargs):
        try:
            order_status = _param(request, "status")
            if order_status and order_status not in OrderStatus.values:
                raise _Refused("status", _("Choose a status."))
            supplier = None
            if _param(request, "supplier"):
                pk = _pk(_param(request, "supplier"))
                supplier = Supplier.objects.filter(pk=pk).first() if pk is not None else None
                if supplier is None:
                    raise _Refused("supplier", _("Unknown supplier id."))
            item = _item_param(request)
            overdue = _param(request, "overdue").lower()
            if overdue not in ("", "true", "false", "1", "0"):
                raise _Refused("overdue", _("Give true or false."))
        except _Refused as exc:
            return _errors([(None, exc.field, exc.message)])
        self._orders = selectors.filter_orders(
            orders_for_display(request.user),
            status=order_status,
            supplier=supplier,
            item=item,
            overdue_on=local_today() if overdue in ("true", "1") else None,
        ).order_by("-year", "-pk")
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="purchase_orders_create",
        request=OrderInSerializer,
        responses={201: OrderSerializer, 400: ErrorsSerializer, 403: DetailSerializer},
        description="A draft order with the next number of the year (CG-2020-001). Office only. "
        "400 lists every problem by line (0-based) and field.",
    )
    def post(self, request, *args, **kwargs):
        body, error = _json_object(request)
        if error:
            return error
        refs, problems = _order_refs(body)
        if problems:
            return _errors(problems)
        try:
            order = order_create(
                user=request.user,
                supplier=refs["supplier"],
                buyer_unit=refs["buyer_unit"],
                funding_source=body.get("funding_source"),
                ordered_on=body.get("ordered_on"),
                note=body.get("note", ""),
                lines=body.get("lines"),
            )
        except (ProcurementError, PermissionDenied) as exc:
            return _refusal(exc)
        return _order_response(request.user, order, status.HTTP_201_CREATED)


@extend_schema(tags=["procurement"])
class OrderDetailView(generics.RetrieveAPIView):
    serializer_class = OrderSerializer
    permission_classes = [MayChangeProcurement]
    lookup_field = "number"

    def get_queryset(self):
        return orders_for_display(self.request.user)

    parser_classes = [StrictJSONParser]
    input_error_index = "line"

    @extend_schema(operation_id="purchase_orders_detail", description="One order by its number.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="purchase_orders_update_draft",
        request=inline_serializer(
            "OrderDraftUpdate",
            {
                "expected_version": serializers.IntegerField(help_text="The `version` you read."),
                "supplier": serializers.IntegerField(required=False),
                "buyer_unit": serializers.IntegerField(required=False, allow_null=True),
                "funding_source": serializers.ChoiceField(
                    choices=FundingSource.choices, required=False
                ),
                "ordered_on": serializers.DateField(required=False),
                "note": serializers.CharField(required=False),
                "lines": OrderLineInSerializer(
                    many=True, required=False, help_text="Given: replaces every line."
                ),
            },
        ),
        responses={
            200: OrderSerializer,
            400: ErrorsSerializer,
            403: DetailSerializer,
            404: DetailSerializer,
            409: DetailSerializer,
        },
        description="Change a draft: the fields given, and `lines` (all of them) when given. "
        "Office only. 409 when the order changed since `expected_version`; 400 once it is "
        "placed, or by line (0-based) and field.",
    )
    def patch(self, request, number):
        order = get_object_or_404(selectors.orders_visible_to(request.user), number=number)
        body, error = _json_object(request)
        if error:
            return error
        refs, problems = _order_refs(body, partial=True)
        if problems:
            return _errors(problems)
        fields = {
            name: body[name] for name in ("funding_source", "ordered_on", "note") if name in body
        }
        try:
            order_update_draft(
                user=request.user,
                order=order,
                expected_version=body.get("expected_version"),
                lines=body.get("lines"),
                **refs,
                **fields,
            )
        except (ProcurementError, PermissionDenied) as exc:
            return _refusal(exc)
        return _order_response(request.user, order)


def _transition_schema(name, extra=None, description="", code=200):
    fields = {
        "expected_version": serializers.IntegerField(help_text="The `version` you read."),
        "note": serializers.CharField(required=False),
    }
    fields.update(extra or {})
    return extend_schema(
        operation_id=f"purchase_orders_{name}",
        request=inline_serializer(f"Order{name.title()}Request", fields),
        responses={
            code: OrderSerializer,
            400: ErrorsSerializer,
            403: DetailSerializer,
            404: DetailSerializer,
            409: DetailSerializer,
        },
        description=description
        + " 409 when the order changed since `expected_version`; 400 when it is in the wrong "
        "state; 403 when the caller's role may not do this.",
    )


class _OrderPostView(APIView):
    permission_classes = [MayChangeProcurement]
    parser_classes = [StrictJSONParser]
    input_error_index = "line"
    service = None

    def act(self, request, order, body):
        return self.service(
            user=request.user,
            order=order,
            expected_version=body.get("expected_version"),
            note=body.get("note", ""),
        )

    def post(self, request, number):
        order = get_object_or_404(selectors.orders_visible_to(request.user), number=number)
        body, error = _json_object(request)
        if error:
            return error
        try:
            self.act(request, order, body)
        except (ProcurementError, PermissionDenied) as exc:
            return _refusal(exc)
        return _order_response(request.user, order)


@extend_schema(tags=["procurement"])
class OrderPlaceView(_OrderPostView):
    service = staticmethod(order_place)

    @_transition_schema("place", description="draft → placed. Office only.")
    def post(self, request, number):
        return super().post(request, number)


@extend_schema(tags=["procurement"])
class OrderCancelView(_OrderPostView):
    service = staticmethod(order_cancel)

    @_transition_schema(
        "cancel",
        description="draft / placed → cancelled, with the reason as `note` (required). Office "
        "only.",
    )
    def post(self, request, number):
        return super().post(request, number)


@extend_schema(tags=["procurement"])
class OrderCloseView(_OrderPostView):
    service = staticmethod(order_close)

    @_transition_schema(
        "close",
        description="arrived / partly arrived → closed (a note is required when goods are "
        "outstanding). Office only.",
    )
    def post(self, request, number):
        return super().post(request, number)


@extend_schema(tags=["procurement"])
class OrderArrivalView(_OrderPostView):
    @_transition_schema(
        "arrivals",
        {
            "expected_version": serializers.IntegerField(
                required=False, help_text="The `version` you read (checked when given)."
            ),
            "warehouse": serializers.CharField(help_text="Reserve warehouse code, e.g. SZ01."),
            "lines": inline_serializer(
                "OrderArrivalLineIn",
                {
                    "line": serializers.IntegerField(help_text="The order line's id."),
                    "quantity": serializers.IntegerField(min_value=0),
                },
                many=True,
            ),
            "arrived_at": serializers.DateTimeField(
                required=False, help_text="When the goods arrived (default now; ≤ 7 days back)."
            ),
            "client_uuid": serializers.UUIDField(
                required=False, help_text="A retry with the same UUID records nothing twice."
            ),
        },
        description="Goods of a placed or partly arrived order arriving in a reserve "
        "warehouse: one purchase receipt in its ledger. More than is still expected on a line "
        "is refused (400 by line and field). Office only. 201; 200 for a retried client UUID.",
        code=201,
    )
    def post(self, request, number):
        order = get_object_or_404(selectors.orders_visible_to(request.user), number=number)
        body, error = _json_object(request)
        if error:
            return error
        problems = []
        version = body.get("expected_version")
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            problems.append((None, "expected_version", _("Send the version you read.")))
        arrived_at = body.get("arrived_at")
        if arrived_at not in (None, ""):
            arrived_at, message = parse_moment(arrived_at)
            if message:
                problems.append((None, "arrived_at", message))
        if problems:
            return _errors(problems)
        try:
            arrival = order_arrival_record(
                user=request.user,
                order=order,
                warehouse=body.get("warehouse") if isinstance(body.get("warehouse"), str) else None,
                lines=body.get("lines"),
                expected_version=version,
                arrived_at=arrived_at or None,
                note=body.get("note", ""),
                client_uuid=body.get("client_uuid"),
            )
        except (ProcurementError, PermissionDenied) as exc:
            return _refusal(exc)
        code = status.HTTP_200_OK if arrival.replayed else status.HTTP_201_CREATED
        return _order_response(request.user, order, code)


@extend_schema(tags=["procurement"])
class OrderPaymentView(_OrderPostView):
    @extend_schema(
        operation_id="purchase_orders_payments",
        request=inline_serializer(
            "OrderPaymentIn",
            {
                "amount": serializers.DecimalField(
                    max_digits=18, decimal_places=2, help_text='Yuan, e.g. "35000.00".'
                ),
                "paid_on": serializers.DateField(required=False, help_text="Default today."),
                "note": serializers.CharField(required=False),
                "client_uuid": serializers.UUIDField(
                    required=False, help_text="A retry with the same UUID pays nothing twice."
                ),
            },
        ),
        responses={
            201: OrderSerializer,
            200: OrderSerializer,
            400: ErrorsSerializer,
            403: DetailSerializer,
            404: DetailSerializer,
        },
        description="Money paid to the supplier for a placed, arrived or closed order; the sum "
        "paid never exceeds the order's amount (400 on `amount`). Office only. 201; 200 for a "
        "retried client UUID.",
    )
    def post(self, request, number):
        order = get_object_or_404(selectors.orders_visible_to(request.user), number=number)
        body, error = _json_object(request)
        if error:
            return error
        try:
            payment = order_payment_record(
                user=request.user,
                order=order,
                amount=body.get("amount"),
                paid_on=body.get("paid_on"),
                note=body.get("note", ""),
                client_uuid=body.get("client_uuid"),
            )
        except (ProcurementError, PermissionDenied) as exc:
            return _refusal(exc)
        code = status.HTTP_200_OK if payment.replayed else status.HTTP_201_CREATED
        return _order_response(request.user, order, code)


# --- National allocation (上面调) ---------------------------------------------------------------
# Requests are named by their number (SQ-2020-001), announced allocations by their id. The
# office writes; leadership reads; everyone else gets 403.


class NationalRequestTransitionSerializer(OrderTransitionSerializer):
    pass


class NationalRequestSerializer(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=NationalRequestStatus.choices)
    version = serializers.IntegerField(
        help_text="Send it back as `expected_version` with a transition."
    )
    item = serializers.CharField(source="item.code")
    quantity = serializers.IntegerField()
    net_requirement = serializers.IntegerField(
        allow_null=True, help_text="The computed net requirement attached when it was made."
    )
    justification = serializers.CharField()
    sent_on = serializers.DateField()
    granted_quantity = serializers.IntegerField(
        help_text="Σ of the announced allocations linked to it."
    )
    refusal_reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    timeline = NationalRequestTransitionSerializer(many=True, source="transitions.all")


class NationalRequestInSerializer(serializers.Serializer):
    """For the schema only: `national_request_create` validates."""

    item = serializers.CharField(help_text="Item code, e.g. FH001.")
    quantity = serializers.IntegerField(min_value=1)
    net_requirement = serializers.IntegerField(
        required=False, allow_null=True, help_text="The computed net requirement it rests on."
    )
    justification = serializers.CharField()
    sent_on = serializers.DateField(required=False, help_text="Default today.")


class NationalArrivalSerializer(serializers.Serializer):
    document_number = serializers.CharField(source="receipt_event.document_number")
    quantity = serializers.IntegerField()
    arrived_at = serializers.DateTimeField()
    note = serializers.CharField()


class NationalAllocationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    item = serializers.CharField(source="item.code")
    quantity = serializers.IntegerField()
    expected_arrival = serializers.DateField()
    warehouse = serializers.CharField(source="warehouse.code")
    request = serializers.CharField(source="request.number", allow_null=True, default=None)
    reference = serializers.CharField()
    announced_on = serializers.DateField()
    note = serializers.CharField()
    arrived_quantity = serializers.IntegerField()
    outstanding = serializers.IntegerField(help_text="Announced − arrived.")
    arrivals = NationalArrivalSerializer(many=True, source="arrivals.all")


class NationalAllocationInSerializer(serializers.Serializer):
    """For the schema only: `national_allocation_announce` validates."""

    item = serializers.CharField(help_text="Item code, e.g. FH001.")
    quantity = serializers.IntegerField(min_value=1)
    expected_arrival = serializers.DateField()
    warehouse = serializers.CharField(help_text="Reserve warehouse code, e.g. SZ01.")
    request = serializers.CharField(
        required=False, allow_null=True, help_text="The request it answers, e.g. SQ-2020-001."
    )
    reference = serializers.CharField(required=False, help_text="The notice's reference.")
    announced_on = serializers.DateField(required=False, help_text="Default today.")
    note = serializers.CharField(required=False)


def national_requests_for_display(user):
    return selectors.national_requests_visible_to(user).prefetch_related(
        Prefetch(
            "transitions",
            queryset=NationalRequestTransition.objects.select_related("by").order_by("at", "id"),
        )
    )


def national_allocations_for_display(user):
    return selectors.national_allocations_visible_to(user).prefetch_related(
        Prefetch(
            "arrivals",
            queryset=NationalAllocationArrival.objects.select_related("receipt_event").order_by(
                "arrived_at", "id"
            ),
        )
    )


def _text_or_none(value):
    return value if isinstance(value, str) else None


@extend_schema(tags=["procurement"])
class NationalRequestListView(generics.ListAPIView):
    """GET: the requests for national allocation. POST: a new one (office)."""

    serializer_class = NationalRequestSerializer
    pagination_class = ApiPagination
    permission_classes = [MayChangeProcurement]
    parser_classes = [StrictJSONParser]

    def get_queryset(self):
        return national_requests_for_display(self.request.user)

    @extend_schema(
        operation_id="national_requests_list",
        description="Requests for national allocation, newest first. Office, leadership.",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="national_requests_create",
        request=NationalRequestInSerializer,
        responses={201: NationalRequestSerializer, 400: ErrorsSerializer, 403: DetailSerializer},
        description="A request sent up (status sent), numbered SQ-<year>-NNN. Office only.",
    )
    def post(self, request, *args, **kwargs):
        body, error = _json_object(request)
        if error:
            return error
        try:
            made = national_request_create(
                user=request.user,
                item=_text_or_none(body.get("item")),
                quantity=body.get("quantity"),
                net_requirement=body.get("net_requirement"),
                justification=body.get("justification"),
                sent_on=body.get("sent_on"),
            )
        except (ProcurementError, PermissionDenied) as exc:
            return _refusal(exc)
        made = national_requests_for_display(request.user).get(pk=made.pk)
        return Response(NationalRequestSerializer(made).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["procurement"])
class NationalRequestDetailView(generics.RetrieveAPIView):
    serializer_class = NationalRequestSerializer
    permission_classes = [MayChangeProcurement]
    lookup_field = "number"

    def get_queryset(self):
        return national_requests_for_display(self.request.user)

    @extend_schema(operation_id="national_requests_detail", description="One request.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["procurement"])
class NationalRequestRefuseView(APIView):
    permission_classes = [MayChangeProcurement]
    parser_classes = [StrictJSONParser]

    @extend_schema(
        operation_id="national_requests_refuse",
        request=inline_serializer(
            "NationalRequestRefuseRequest",
            {
                "expected_version": serializers.IntegerField(help_text="The `version` you read."),
                "reason": serializers.CharField(),
            },
        ),
        responses={
            200: NationalRequestSerializer,
            400: ErrorsSerializer,
            403: DetailSerializer,
            404: DetailSerializer,
            409: DetailSerializer,
        },
        description="sent → refused, with the reason (required). Office only. 409 when the "
        "request changed since `expected_version`.",
    )
    def post(self, request, number):
        national_request = get_object_or_404(
            selectors.national_requests_visible_to(request.user), number=number
        )
        body, error = _json_object(request)
        if error:
            return error
        try:
            national_request_refuse(
                user=request.user,
                request=national_request,
                expected_version=body.get("expected_version"),
                reason=body.get("reason"),
            )
        except RequestConflict as exc:
            return Response({"detail": exc.message}, status=status.HTTP_409_CONFLICT)
        except (ProcurementError, PermissionDenied) as exc:
            return _refusal(exc)
        shown = national_requests_for_display(request.user).get(pk=national_request.pk)
        return Response(NationalRequestSerializer(shown).data)


@extend_schema(tags=["procurement"])
class NationalAllocationListView(generics.ListAPIView):
    """GET: the announced national allocations. POST: a new one (office)."""

    serializer_class = NationalAllocationSerializer
    pagination_class = ApiPagination
    permission_classes = [MayChangeProcurement]
    parser_classes = [StrictJSONParser]

    def get_queryset(self):
        # Set by `get` once the filter is checked (none for the schema generator).
        return getattr(self, "_rows", selectors.national_allocations_visible_to(None))

    @extend_schema(
        operation_id="national_allocations_list",
        parameters=[
            OpenApiParameter(
                "overdue",
                bool,
                description="true: only those past their expected arrival (today in the "
                "office) with goods outstanding.",
            ),
        ],
        responses={200: NationalAllocationSerializer(many=True), 400: ErrorsSerializer},
        description="Announced national allocations, newest first. Office, leadership.",
    )
    def get(self, request, *args, **kwargs):
        overdue = _param(request, "overdue").lower()
        if overdue not in ("", "true", "false", "1", "0"):
            return _errors([(None, "overdue", _("Give true or false."))])
        rows = national_allocations_for_display(request.user)
        if overdue in ("true", "1"):
            rows = rows.filter(
                pk__in=selectors.overdue_national_allocations(date=local_today()).values("pk")
            )
        self._rows = rows
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="national_allocations_create",
        request=NationalAllocationInSerializer,
        responses={
            201: NationalAllocationSerializer,
            400: ErrorsSerializer,
            403: DetailSerializer,
        },
        description="An announced allocation (国家调拨通知). Linked to a request, it adds to the "
        "request's granted quantity (partly granted / granted). Office only.",
    )
    def post(self, request, *args, **kwargs):
        body, error = _json_object(request)
        if error:
            return error
        try:
            made = national_allocation_announce(
                user=request.user,
                item=_text_or_none(body.get("item")),
                quantity=body.get("quantity"),
                expected_arrival=body.get("expected_arrival"),
                warehouse=_text_or_none(body.get("warehouse")),
                request=_text_or_none(body.get("request")),
                reference=body.get("reference", ""),
                announced_on=body.get("announced_on"),
                note=body.get("note", ""),
            )
        except (ProcurementError, PermissionDenied) as exc:
            return _refusal(exc)
        made = national_allocations_for_display(request.user).get(pk=made.pk)
        return Response(NationalAllocationSerializer(made).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["procurement"])
class NationalAllocationDetailView(generics.RetrieveAPIView):
    serializer_class = NationalAllocationSerializer
    permission_classes = [MayChangeProcurement]

    def get_queryset(self):
        return national_allocations_for_display(self.request.user)

    @extend_schema(operation_id="national_allocations_detail", description="One by its id.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["procurement"])
class NationalAllocationArrivalView(APIView):
    permission_classes = [MayChangeProcurement]
    parser_classes = [StrictJSONParser]

    @extend_schema(
        operation_id="national_allocations_arrivals",
        request=inline_serializer(
            "NationalAllocationArrivalRequest",
            {
                "quantity": serializers.IntegerField(min_value=1),
                "arrived_at": serializers.DateTimeField(
                    required=False, help_text="When the goods arrived (default now; ≤ 7 days back)."
                ),
                "note": serializers.CharField(required=False),
                "client_uuid": serializers.UUIDField(
                    required=False, help_text="A retry with the same UUID records nothing twice."
                ),
            },
        ),
        responses={
            201: NationalAllocationSerializer,
            400: ErrorsSerializer,
            403: DetailSerializer,
            404: DetailSerializer,
        },
        description="Goods of an announced allocation arriving in its destination warehouse: "
        "one receipt (national allocation) in its ledger. More than is still expected is "
        "refused (400, field quantity). Office only. 201; 200 for a retried client UUID.",
    )
    def post(self, request, pk):
        allocation = get_object_or_404(
            selectors.national_allocations_visible_to(request.user), pk=pk
        )
        body, error = _json_object(request)
        if error:
            return error
        arrived_at = body.get("arrived_at")
        if arrived_at not in (None, ""):
            arrived_at, message = parse_moment(arrived_at)
            if message:
                return _errors([(None, "arrived_at", message)])
        try:
            arrival = national_allocation_arrival_record(
                user=request.user,
                allocation=allocation,
                quantity=body.get("quantity"),
                arrived_at=arrived_at or None,
                note=body.get("note", ""),
                client_uuid=body.get("client_uuid"),
            )
        except (ProcurementError, PermissionDenied) as exc:
            return _refusal(exc)
        code = status.HTTP_200_OK if arrival.replayed else status.HTTP_201_CREATED
        shown = national_allocations_for_display(request.user).get(pk=allocation.pk)
        return Response(NationalAllocationSerializer(shown).data, status=code)
