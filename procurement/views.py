"""Pages of procurement: the supplier directory with its item search, reserve-task units with
their working-capital lines, purchase orders (list, detail with lines, arrivals and timeline,
the draft form, the arrival form). Every change goes through procurement/services.py; these
views only read forms and show the services' errors next to the fields they name."""

from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from inventory.selectors import ledger_items
from supplycoord.lib.dates import local_today
from supplycoord.lib.xlsx_import import ImportInvalid, ImportRefused
from supplycoord.permissions import (
    can_change_suppliers,
    can_edit_purchase_order,
    can_read_procurement,
    can_record_national_allocation,
    can_record_order_arrival,
    can_request_national_allocation,
    require,
)
from supplycoord.views_exports import export_response

from . import forms, imports, selectors, services
from .exports import NationalRequestExport, PurchaseOrderLinesExport
from .models import (
    NationalRequest,
    NationalRequestStatus,
    OrderStatus,
    PurchaseOrderLine,
    ReserveUnit,
    Supplier,
    SupplierCapability,
)

PAGE_SIZE = 50


def _item_choices():
    """Catalogue items for the selects; scarce items (紧缺物资) are marked."""
    scarce = _("scarce")
    return [
        (
            item.code,
            f"{item.code} {item.name}"
            + (f" · {item.specification}" if item.specification else "")
            + (f" [{scarce}]" if item.scarce else ""),
        )
        for item in ledger_items()
    ]


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    query = query.urlencode()
    return f"{query}&" if query else ""


def _show_problems(exc, *, form=None, rows=None, page_errors):
    """Put each service Problem next to its field: a line's on its row's form, the record's on
    `form`, anything else at the top of the page."""
    if not isinstance(exc, services.ProcurementInvalid):
        page_errors.append(exc.message)
        return
    for problem in exc.errors:
        target = form
        if problem.line is not None:
            target = rows[problem.line] if rows and 0 <= problem.line < len(rows) else None
        if target is not None and problem.field in target.fields:
            target.add_error(problem.field, problem.message)
        elif target is not None and problem.line is not None:
            target.add_error(None, problem.message)
        elif problem.message not in page_errors:
            page_errors.append(problem.message)


# --- Suppliers -----------------------------------------------------------------------------------


@require(can_read_procurement)
def supplier_list(request):
    """The directory; with an item, "who can supply it (within N days)", fastest first."""
    item_choices = _item_choices()
    search = forms.SupplierSearchForm(request.GET or None, item_choices=item_choices)
    data = search.cleaned_data if search.is_valid() else {}
    item = None
    if data.get("item"):
        item = next((i for i in ledger_items() if i.code == data["item"]), None)
    context = {
        "search": search,
        "item": item,
        "page_query": _query_without_page(request),
        "can_change": can_change_suppliers(request.user),
    }
    if item is not None:
        rows = selectors.capabilities_for_item(
            request.user, item=item, within_days=data.get("within_days")
        )
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        context.update(
            page_obj=page, capabilities=page.object_list, within_days=data.get("within_days")
        )
    else:
        rows = selectors.supplier_rows(
            request.user, query=data.get("q") or "", origin=data.get("origin") or ""
        )
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        context.update(page_obj=page, suppliers=page.object_list)
    return render(request, "procurement/supplier_list.html", context)


def _supplier_or_404(user, pk) -> Supplier:
    return get_object_or_404(selectors.suppliers_visible_to(user), pk=pk)


@require(can_read_procurement)
def supplier_detail(request, pk):
    supplier = _supplier_or_404(request.user, pk)
    page_errors = []
    capability_form = forms.CapabilityForm(item_choices=_item_choices())
    status = 200
    if request.method == "POST":
        if not can_change_suppliers(request.user):
            raise PermissionDenied
        capability_form = forms.CapabilityForm(request.POST, item_choices=_item_choices())
        if capability_form.is_valid():
            try:
                services.supplier_capability_set(
                    user=request.user, supplier=supplier, **capability_form.cleaned_data
                )
            except services.ProcurementError as exc:
                _show_problems(exc, form=capability_form, page_errors=page_errors)
            else:
                messages.success(request, _("The supplier's item was saved."))
                return redirect("procurement:supplier_detail", supplier.pk)
        status = 400
    capabilities = supplier.capabilities.select_related("item").order_by(
        "item__sort_order", "item__code"
    )
    return render(
        request,
        "procurement/supplier_detail.html",
        {
            "supplier": supplier,
            "capabilities": capabilities,
            "capability_form": capability_form,
            "page_errors": page_errors,
            "can_change": can_change_suppliers(request.user),
            "orders": selectors.orders_visible_to(request.user)
            .filter(supplier=supplier)
            .order_by("-year", "-pk")[:20],
        },
        status=status,
    )


@require_POST
@require(can_change_suppliers)
def capability_remove(request, pk, capability_pk):
    supplier = _supplier_or_404(request.user, pk)
    capability = get_object_or_404(SupplierCapability, pk=capability_pk, supplier=supplier)
    services.supplier_capability_remove(user=request.user, capability=capability)
    messages.success(request, _("The item was removed from the supplier."))
    return redirect("procurement:supplier_detail", supplier.pk)


@require(can_change_suppliers)
def supplier_form(request, pk=None):
    supplier = _supplier_or_404(request.user, pk) if pk is not None else None
    page_errors = []
    if request.method == "POST":
        form = forms.SupplierForm(request.POST)
        if form.is_valid():
            values = {name: form.cleaned_data[name] for name in forms.SupplierForm.SERVICE_FIELDS}
            try:
                if supplier is None:
                    saved = services.supplier_create(user=request.user, **values)
                else:
                    saved = services.supplier_update(
                        user=request.user,
                        supplier=supplier,
                        active=form.cleaned_data["active"],
                        **values,
                    )
            except services.ProcurementError as exc:
                _show_problems(exc, form=form, page_errors=page_errors)
            else:
                messages.success(request, _("Supplier %(name)s saved.") % {"name": saved.name})
                return redirect("procurement:supplier_detail", saved.pk)
    elif supplier is not None:
        form = forms.SupplierForm(
            initial={
                **{name: getattr(supplier, name) for name in forms.SupplierForm.SERVICE_FIELDS},
                "credit_code": supplier.credit_code or "",
                "active": supplier.active,
            }
        )
    else:
        form = forms.SupplierForm()
    if supplier is None:
        del form.fields["active"]
    return render(
        request,
        "procurement/record_form.html",
        {
            "form": form,
            "page_errors": page_errors,
            "title": _("Edit supplier") if supplier else _("New supplier"),
            "back_url": reverse("procurement:supplier_detail", args=[supplier.pk])
            if supplier
            else reverse("procurement:supplier_list"),
            "list_url": reverse("procurement:supplier_list"),
            "list_title": _("Supplier directory"),
        },
        status=400 if request.method == "POST" else 200,
    )


# --- Reserve-task units ----------------------------------------------------------------------------


@require(can_read_procurement)
def unit_list(request):
    units = list(ReserveUnit.objects.prefetch_related("warehouses").order_by("name", "pk"))
    lines = selectors.capital_lines(units)
    return render(
        request,
        "procurement/unit_list.html",
        {
            "lines": lines,
            "over": [line for line in lines if line.over],
            "can_change": can_change_suppliers(request.user),
        },
    )


@require(can_read_procurement)
def unit_detail(request, pk):
    unit = get_object_or_404(ReserveUnit.objects.prefetch_related("warehouses"), pk=pk)
    today = local_today()
    orders = selectors.orders_with_totals(
        selectors.orders_visible_to(request.user).filter(buyer_unit=unit), date=today
    ).order_by("-year", "-pk")
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    line = selectors.capital_line(unit)
    return render(
        request,
        "procurement/unit_detail.html",
        {
            "unit": unit,
            "line": line,
            "over": [line] if line.over else [],
            "page_obj": page,
            "orders": page.object_list,
            "page_query": _query_without_page(request),
            "can_change": can_change_suppliers(request.user),
        },
    )


@require(can_change_suppliers)
def unit_form(request, pk=None):
    unit = get_object_or_404(ReserveUnit, pk=pk) if pk is not None else None
    page_errors = []
    if request.method == "POST":
        form = forms.ReserveUnitForm(request.POST)
        if form.is_valid():
            values = dict(form.cleaned_data)
            values["warehouses"] = list(values["warehouses"])
            try:
                if unit is None:
                    saved = services.reserve_unit_create(user=request.user, **values)
                else:
                    saved = services.reserve_unit_update(user=request.user, unit=unit, **values)
            except services.ProcurementError as exc:
                _show_problems(exc, form=form, page_errors=page_errors)
            else:
                messages.success(
                    request, _("Reserve-task unit %(name)s saved.") % {"name": saved.name}
                )
                return redirect("procurement:unit_detail", saved.pk)
    elif unit is not None:
        form = forms.ReserveUnitForm(
            initial={
                "name": unit.name,
                "capital_granted": unit.capital_granted,
                "warehouses": list(unit.warehouses.all()),
                "contact": unit.contact,
                "phone": unit.phone,
                "note": unit.note,
            }
        )
    else:
        form = forms.ReserveUnitForm()
    return render(
        request,
        "procurement/record_form.html",
        {
            "form": form,
            "page_errors": page_errors,
            "title": _("Edit reserve-task unit") if unit else _("New reserve-task unit"),
            "back_url": reverse("procurement:unit_detail", args=[unit.pk])
            if unit
            else reverse("procurement:unit_list"),
            "list_url": reverse("procurement:unit_list"),
            "list_title": _("Reserve-task units"),
        },
        status=400 if request.method == "POST" else 200,
    )


# --- Purchase orders -------------------------------------------------------------------------------


@require(can_read_procurement)
def order_list(request):
    item_choices = _item_choices()
    filters = forms.OrderFilterForm(request.GET or None, item_choices=item_choices)
    data = filters.cleaned_data if filters.is_valid() else {}
    today = local_today()
    item = None
    if data.get("item"):
        item = next((i for i in ledger_items() if i.code == data["item"]), None)
    orders = selectors.filter_orders(
        selectors.orders_visible_to(request.user),
        status=data.get("status") or "",
        supplier=data.get("supplier"),
        item=item,
        overdue_on=today if data.get("overdue") else None,
    )
    orders = selectors.orders_with_totals(orders, date=today).order_by("-year", "-pk")
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "procurement/order_list.html",
        {
            "filters": filters,
            "page_obj": page,
            "orders": page.object_list,
            "page_query": _query_without_page(request),
            "export_query": _export_query(request),
            "can_create": can_edit_purchase_order(request.user),
            "today": today,
            "overdue_count": selectors.overdue_order_lines(date=today).count(),
            "units_over": selectors.units_over_capital_line(),
        },
    )


def _export_query(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    query = query.urlencode()
    return f"?{query}" if query else ""


@require_GET
@require(can_read_procurement)
def orders_export(request, fmt):
    """The order lines of the orders the list's filters select, as of today in the office;
    CSV streamed, xlsx print-ready (the one exporter base). An unknown filter is a 400."""
    exporter = PurchaseOrderLinesExport(request.user, request.GET, today=local_today())
    return export_response(exporter, fmt, user=request.user)


def _order_or_404(user, number):
    order = selectors.order_for_display(user, number)
    if order is None:
        raise Http404
    return order


ACTIONS = {
    # name: (service, button label, states it applies to)
    "place": (services.order_place, gettext_lazy("Place order"), (OrderStatus.DRAFT,)),
    "close": (
        services.order_close,
        gettext_lazy("Close order"),
        (OrderStatus.ARRIVED, OrderStatus.PARTLY_ARRIVED),
    ),
    "cancel": (
        services.order_cancel,
        gettext_lazy("Cancel order"),
        (OrderStatus.DRAFT, OrderStatus.PLACED),
    ),
}


def _timeline(order):
    entries = [
        {
            "at": t.at,
            "by": t.by,
            "from_status": t.get_from_status_display() if t.from_status else "",
            "to_status": t.get_to_status_display(),
            "note": t.note,
        }
        for t in order.transitions.select_related("by").order_by("at", "id")
    ]
    return entries


def _detail_context(request, order, **extra):
    user = request.user
    today = local_today()
    lines = list(order.lines.select_related("item").order_by("id"))
    for line in lines:
        line.days_overdue = selectors.days_overdue(line, date=today, status=order.status)
    may_edit = can_edit_purchase_order(user, order)
    actions = [
        {"name": name, "label": label}
        for name, (_service, label, states) in ACTIONS.items()
        if order.status in states and may_edit
    ]
    payments = list(order.payments.select_related("recorded_by"))
    capital = selectors.capital_line(order.buyer_unit) if order.buyer_unit_id else None
    total = sum((line.amount for line in lines), Decimal("0.00"))
    paid = sum((p.amount for p in payments), Decimal("0.00"))
    arrivals = list(
        order.arrivals.select_related("warehouse", "receipt_event", "recorded_by")
        .prefetch_related("lines__order_line__item")
        .order_by("arrived_at", "id")
    )
    return {
        "order": order,
        "lines": lines,
        "total": total,
        "paid": paid,
        "unpaid": total - paid,
        "payments": payments,
        "arrivals": arrivals,
        "timeline": _timeline(order),
        "next_actions": [a for a in actions if a["name"] != "cancel"],
        "cancel_action": next((a for a in actions if a["name"] == "cancel"), None),
        "can_edit": may_edit and order.status == OrderStatus.DRAFT,
        "can_arrive": order.status in (OrderStatus.PLACED, OrderStatus.PARTLY_ARRIVED)
        and can_record_order_arrival(user, order),
        "can_pay": may_edit
        and order.status
        in (OrderStatus.PLACED, OrderStatus.PARTLY_ARRIVED, OrderStatus.ARRIVED, OrderStatus.CLOSED)
        and paid < total,
        "payment_form": forms.PaymentForm(),
        "overdue_lines": sum(1 for line in lines if line.days_overdue),
        "capital_over": [capital] if capital is not None and capital.over else [],
        "action_error": "",
        "page_errors": [],
        **extra,
    }


@require(can_read_procurement)
def order_detail(request, number):
    order = _order_or_404(request.user, number)
    return render(request, "procurement/order_detail.html", _detail_context(request, order))


@require_POST
@require(can_read_procurement)
def order_action(request, number, action):
    """One transition: a small POST form with the version the person saw."""
    if action not in ACTIONS:
        raise Http404
    order = _order_or_404(request.user, number)
    service, label, _states = ACTIONS[action]
    form = forms.OrderActionForm(request.POST)
    if not form.is_valid():
        return redirect("procurement:order_detail", order.number)
    try:
        moved = service(
            user=request.user,
            order=order,
            expected_version=form.cleaned_data["expected_version"],
            note=form.cleaned_data["note"],
        )
    except services.OrderConflict as exc:
        order.refresh_from_db()
        context = _detail_context(request, order, action_error=exc.message)
        return render(request, "procurement/order_detail.html", context, status=409)
    except services.ProcurementError as exc:
        context = _detail_context(request, order, action_error=exc.message)
        return render(request, "procurement/order_detail.html", context, status=400)
    messages.success(
        request,
        _("%(action)s: order %(number)s is now %(status)s.")
        % {"action": label, "number": order.number, "status": moved.get_status_display()},
    )
    return redirect("procurement:order_detail", order.number)


@require_POST
@require(can_read_procurement)
def order_payment(request, number):
    order = _order_or_404(request.user, number)
    form = forms.PaymentForm(request.POST)
    page_errors = []
    if form.is_valid():
        try:
            services.order_payment_record(user=request.user, order=order, **form.cleaned_data)
        except services.ProcurementError as exc:
            _show_problems(exc, form=form, page_errors=page_errors)
        else:
            messages.success(request, _("Payment recorded."))
            return redirect("procurement:order_detail", order.number)
    context = _detail_context(request, order, payment_form=form, page_errors=page_errors)
    return render(request, "procurement/order_detail.html", context, status=400)


@require(can_edit_purchase_order)
def order_form(request, number=None):
    """A new draft, or the edit of one: header fields and several lines, saved together."""
    order = None
    if number is not None:
        order = _order_or_404(request.user, number)
        if order.status != OrderStatus.DRAFT:
            messages.warning(request, _("Only a draft can be edited."))
            return redirect("procurement:order_detail", order.number)
    form_kwargs = {"item_choices": _item_choices()}
    page_errors, conflict = [], False
    if request.method == "POST":
        header = forms.OrderHeaderForm(request.POST)
        formset = forms.OrderLineFormSet(request.POST, prefix="lines", form_kwargs=form_kwargs)
        if all([header.is_valid(), formset.is_valid()]):
            filled = formset.filled_forms()
            lines = [f.service_line() for f in filled]
            try:
                if order is None:
                    saved = services.order_create(
                        user=request.user, lines=lines, **header.service_kwargs()
                    )
                else:
                    saved = services.order_update_draft(
                        user=request.user,
                        order=order,
                        expected_version=header.cleaned_data["expected_version"] or 0,
                        lines=lines,
                        **header.service_kwargs(),
                    )
            except services.OrderConflict as exc:
                conflict = True
                page_errors.append(exc.message)
            except services.ProcurementError as exc:
                _show_problems(exc, form=header, rows=filled, page_errors=page_errors)
            else:
                messages.success(
                    request, _("Saved draft order %(number)s.") % {"number": saved.number}
                )
                return redirect("procurement:order_detail", saved.number)
        page_errors.extend(formset.non_form_errors())
    elif order is None:
        header = forms.OrderHeaderForm(initial={"ordered_on": local_today()})
        formset = forms.OrderLineFormSet(prefix="lines", form_kwargs=form_kwargs)
    else:
        header = forms.OrderHeaderForm(
            initial={
                **{name: getattr(order, name) for name in forms.OrderHeaderForm.SERVICE_FIELDS},
                "expected_version": order.version,
            }
        )
        initial = [
            {
                "item": line.item.code,
                "quantity": str(line.quantity),
                "unit_price": str(line.unit_price),
                "expected_arrival": line.expected_arrival.isoformat(),
            }
            for line in order.lines.select_related("item").order_by("id")
        ]
        formset = forms.OrderLineFormSet(prefix="lines", form_kwargs=form_kwargs, initial=initial)
        formset.extra = 2
    has_errors = bool(page_errors or header.errors or any(formset.errors))
    return render(
        request,
        "procurement/order_form.html",
        {
            "order": order,
            "header": header,
            "formset": formset,
            "page_errors": page_errors,
            "conflict": conflict,
            "has_errors": has_errors,
        },
        status=409 if conflict else (400 if has_errors else 200),
    )


@require(can_read_procurement)
def order_arrival(request, number):
    """到货登记: quantities arrived now per line into a reserve warehouse (a purchase receipt)."""
    order = _order_or_404(request.user, number)
    if not can_record_order_arrival(request.user, order):
        raise PermissionDenied
    if order.status not in (OrderStatus.PLACED, OrderStatus.PARTLY_ARRIVED):
        messages.warning(request, _("Only a placed order can receive goods."))
        return redirect("procurement:order_detail", order.number)
    lines = list(
        PurchaseOrderLine.objects.filter(order=order).select_related("item").order_by("id")
    )
    warehouses = forms.reserve_warehouses()
    if order.buyer_unit_id and order.buyer_unit.warehouses.exists():
        warehouses = warehouses.filter(reserve_units=order.buyer_unit)
    page_errors, status = [], 200
    if request.method == "POST":
        form = forms.ArrivalForm(request.POST, lines=lines, warehouses=warehouses)
        if form.is_valid():
            try:
                services.order_arrival_record(
                    user=request.user,
                    order=order,
                    warehouse=form.cleaned_data["warehouse"],
                    lines=form.service_lines(),
                    expected_version=form.cleaned_data["expected_version"],
                    arrived_at=form.cleaned_data["arrived_at"] or None,
                    note=form.cleaned_data["note"],
                    client_uuid=form.cleaned_data["client_uuid"],
                )
            except services.OrderConflict as exc:
                page_errors.append(exc.message)
                status = 409
            except services.ProcurementError as exc:
                rows = [_LineFields(form, line) for line in lines]
                _show_problems(exc, form=form, rows=rows, page_errors=page_errors)
                status = 400
            else:
                messages.success(
                    request, _("Arrival of order %(number)s recorded.") % {"number": order.number}
                )
                return redirect("procurement:order_detail", order.number)
        else:
            status = 400
    else:
        form = forms.ArrivalForm(
            lines=lines, warehouses=warehouses, initial={"expected_version": order.version}
        )
    return render(
        request,
        "procurement/order_arrival.html",
        {
            "order": order,
            "form": form,
            "page_errors": page_errors,
            "has_errors": bool(page_errors or form.errors),
        },
        status=status,
    )


class _LineFields:
    """A line's error target on the arrival form: its "quantity" is the form's `line-<id>`."""

    def __init__(self, form, line):
        self.form, self.name = form, f"line-{line.pk}"
        self.fields = {"quantity": None, "line": None}

    def add_error(self, field, message):
        self.form.add_error(self.name, message)


# --- The Excel import of orders -----------------------------------------------------------------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@require(can_edit_purchase_order)
def orders_import_template(request):
    response = HttpResponse(imports.orders_template(), content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, f"{imports.TITLE}.xlsx")
    return response


@require(can_edit_purchase_order)
def orders_import_page(request):
    """Step 1: the template; step 2: upload it filled in. Every order or none."""
    refusal, problems, status = "", [], 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            refusal, status = _("Choose the Excel file to upload."), 400
        else:
            try:
                result = imports.orders_import_file(upload, user=request.user)
            except ImportRefused as exc:
                refusal, status = exc.message, 400
            except ImportInvalid as exc:
                problems, status = exc.problems, 400
            else:
                messages.success(
                    request,
                    _("%(count)s draft orders imported: %(numbers)s.")
                    % {
                        "count": len(result.submitted),
                        "numbers": "、".join(order.number for order in result.submitted),
                    },
                )
                return redirect("procurement:order_list")
    return render(
        request,
        "procurement/orders_import.html",
        {
            "refusal": refusal,
            "problems": problems,
            "max_bytes": settings.SUPPLYCOORD["IMPORT_MAX_BYTES"],
        },
        status=status,
    )


# --- National allocation (上面调) ---------------------------------------------------------------


def _national_request_or_404(user, number):
    request = selectors.national_requests_visible_to(user).filter(number=number).first()
    if request is None:
        raise Http404
    return request


def _national_allocation_or_404(user, pk):
    allocation = selectors.national_allocations_visible_to(user).filter(pk=pk).first()
    if allocation is None:
        raise Http404
    return allocation


@require(can_read_procurement)
def national_request_list(request):
    requests = selectors.national_requests_visible_to(request.user)
    page = Paginator(requests, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "procurement/national_request_list.html",
        {
            "page_obj": page,
            "national_requests": page.object_list,
            "page_query": _query_without_page(request),
            "can_create": can_request_national_allocation(request.user),
        },
    )


def _national_request_context(request, national_request, **extra):
    user = request.user
    return {
        "national_request": national_request,
        "allocations": list(
            national_request.allocations.select_related("item", "warehouse").order_by(
                "announced_on", "id"
            )
        ),
        "timeline": [
            {
                "at": t.at,
                "by": t.by,
                "from_status": t.get_from_status_display() if t.from_status else "",
                "to_status": t.get_to_status_display(),
                "note": t.note,
            }
            for t in national_request.transitions.select_related("by").order_by("at", "id")
        ],
        "can_refuse": national_request.status == NationalRequestStatus.SENT
        and can_request_national_allocation(user, national_request),
        "can_announce": national_request.status != NationalRequestStatus.REFUSED
        and can_record_national_allocation(user),
        "refuse_form": forms.NationalRefuseForm(
            initial={"expected_version": national_request.version}
        ),
        "page_errors": [],
        **extra,
    }


@require(can_read_procurement)
def national_request_detail(request, number):
    national_request = _national_request_or_404(request.user, number)
    return render(
        request,
        "procurement/national_request_detail.html",
        _national_request_context(request, national_request),
    )


@require(can_request_national_allocation)
def national_request_form(request):
    """A new request up: item, quantity, net requirement, justification, date sent."""
    form_kwargs = {"item_choices": _item_choices()}
    page_errors, status = [], 200
    if request.method == "POST":
        form = forms.NationalRequestForm(request.POST, **form_kwargs)
        if form.is_valid():
            try:
                saved = services.national_request_create(user=request.user, **form.service_kwargs())
            except services.ProcurementError as exc:
                _show_problems(exc, form=form, page_errors=page_errors)
            else:
                messages.success(
                    request,
                    _("Request %(number)s recorded as sent.") % {"number": saved.number},
                )
                return redirect("procurement:national_request_detail", saved.number)
        status = 400
    else:
        form = forms.NationalRequestForm(initial={"sent_on": local_today()}, **form_kwargs)
    return render(
        request,
        "procurement/record_form.html",
        {
            "form": form,
            "title": _("New request for national allocation"),
            "list_url": reverse("procurement:national_request_list"),
            "list_title": _("Requests for national allocation"),
            "back_url": reverse("procurement:national_request_list"),
            "page_errors": page_errors,
        },
        status=status,
    )


@require_POST
@require(can_read_procurement)
def national_request_refuse(request, number):
    national_request = _national_request_or_404(request.user, number)
    form = forms.NationalRefuseForm(request.POST)
    page_errors, status = [], 400
    if form.is_valid():
        try:
            services.national_request_refuse(
                user=request.user,
                request=national_request,
                expected_version=form.cleaned_data["expected_version"],
                reason=form.cleaned_data["reason"],
            )
        except services.RequestConflict as exc:
            page_errors.append(exc.message)
            status = 409
            national_request.refresh_from_db()
        except services.ProcurementError as exc:
            _show_problems(exc, form=form, page_errors=page_errors)
        else:
            messages.success(
                request,
                _("Request %(number)s recorded as refused.") % {"number": national_request.number},
            )
            return redirect("procurement:national_request_detail", national_request.number)
    context = _national_request_context(
        request, national_request, refuse_form=form, page_errors=page_errors
    )
    return render(request, "procurement/national_request_detail.html", context, status=status)


@require(can_read_procurement)
def national_request_export(request, number):
    """The request as the office sends it: a print-ready xlsx (the one exporter base)."""
    _national_request_or_404(request.user, number)
    exporter = NationalRequestExport(request.user, {"number": number})
    return export_response(exporter, "xlsx", user=request.user)


def _request_choices():
    """The requests an announcement may still answer: sent or partly granted (every one of
    them: a province has tens a year, not thousands)."""
    return [
        (r.number, f"{r.number} {r.item.name} {r.quantity}")
        for r in NationalRequest.objects.filter(
            status__in=(NationalRequestStatus.SENT, NationalRequestStatus.PARTLY_GRANTED)
        )
        .select_related("item")
        .order_by("-year", "-pk")
    ]


@require(can_read_procurement)
def national_allocation_list(request):
    today = local_today()
    allocations = selectors.national_allocations_visible_to(request.user)
    page = Paginator(allocations, PAGE_SIZE).get_page(request.GET.get("page"))
    for allocation in page.object_list:
        allocation.overdue = (
            allocation.expected_arrival < today
            and allocation.arrived_quantity < allocation.quantity
        )
    return render(
        request,
        "procurement/national_allocation_list.html",
        {
            "page_obj": page,
            "allocations": page.object_list,
            "page_query": _query_without_page(request),
            "can_create": can_record_national_allocation(request.user),
            "today": today,
            "overdue_count": selectors.overdue_national_allocations(date=today).count(),
        },
    )


@require(can_read_procurement)
def national_allocation_detail(request, pk):
    allocation = _national_allocation_or_404(request.user, pk)
    today = local_today()
    return render(
        request,
        "procurement/national_allocation_detail.html",
        {
            "allocation": allocation,
            "overdue": allocation.expected_arrival < today and allocation.outstanding > 0,
            "arrivals": list(
                allocation.arrivals.select_related("receipt_event", "recorded_by").order_by(
                    "arrived_at", "id"
                )
            ),
            "can_arrive": allocation.outstanding > 0
            and can_record_national_allocation(request.user, allocation),
        },
    )


@require(can_record_national_allocation)
def national_allocation_form(request):
    """A new announced allocation (国家调拨通知), optionally answering a request."""
    form_kwargs = {"item_choices": _item_choices(), "request_choices": _request_choices()}
    page_errors, status = [], 200
    if request.method == "POST":
        form = forms.NationalAllocationForm(request.POST, **form_kwargs)
        if form.is_valid():
            try:
                saved = services.national_allocation_announce(
                    user=request.user, **form.service_kwargs()
                )
            except services.ProcurementError as exc:
                _show_problems(exc, form=form, page_errors=page_errors)
            else:
                messages.success(request, _("Announced national allocation recorded."))
                return redirect("procurement:national_allocation_detail", saved.pk)
        status = 400
    else:
        initial = {"announced_on": local_today()}
        if request.GET.get("request"):
            initial["request"] = request.GET["request"]
        form = forms.NationalAllocationForm(initial=initial, **form_kwargs)
    return render(
        request,
        "procurement/record_form.html",
        {
            "form": form,
            "title": _("New announced national allocation"),
            "list_url": reverse("procurement:national_allocation_list"),
            "list_title": _("Announced national allocations"),
            "back_url": reverse("procurement:national_allocation_list"),
            "page_errors": page_errors,
        },
        status=status,
    )


@require(can_read_procurement)
def national_allocation_arrival(request, pk):
    """到货登记 of an announced allocation: a receipt (national allocation) in its warehouse."""
    allocation = _national_allocation_or_404(request.user, pk)
    if not can_record_national_allocation(request.user, allocation):
        raise PermissionDenied
    if allocation.outstanding <= 0:
        messages.warning(request, _("Everything announced has arrived."))
        return redirect("procurement:national_allocation_detail", allocation.pk)
    page_errors, status = [], 200
    if request.method == "POST":
        form = forms.NationalArrivalForm(request.POST)
        if form.is_valid():
            try:
                services.national_allocation_arrival_record(
                    user=request.user,
                    allocation=allocation,
                    quantity=form.cleaned_data["quantity"],
                    arrived_at=form.cleaned_data["arrived_at"] or None,
                    note=form.cleaned_data["note"],
                    client_uuid=form.cleaned_data["client_uuid"],
                )
            except services.ProcurementError as exc:
                _show_problems(exc, form=form, page_errors=page_errors)
            else:
                messages.success(request, _("Arrival of the national allocation recorded."))
                return redirect("procurement:national_allocation_detail", allocation.pk)
        status = 400
    else:
        form = forms.NationalArrivalForm()
    return render(
        request,
        "procurement/national_allocation_arrival.html",
        {"allocation": allocation, "form": form, "page_errors": page_errors},
        status=status,
    )
