import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from supplycoord.bulk import (
    entry_date,
    entry_grid_page,
    entry_grid_post,
    import_page,
    import_template_response,
)
from supplycoord.lib.dates import earliest_date, local_today, parse_iso_date
from supplycoord.lib.numbers import grouped
from supplycoord.models import County, Item
from supplycoord.permissions import (
    can_edit_protected_staff,
    can_enter_county_figures,
    can_enter_daily_figures,
    can_post_to_warehouse,
    can_read_county_figures,
    can_read_prefecture_data,
    can_report_for_county,
    can_report_for_prefecture,
    can_reverse_stock_event,
    can_set_reports_as_sum,
    require,
    scope_counties,
)
from supplycoord.selectors import prefectures_visible_to
from supplycoord.views_exports import export_response

from . import county_figures, exports, forms, imports, selectors, services
from .models import StockEventKind
from .services import DAILY_FIGURES, ProtectedStaffInvalid, protected_staff_set


def _entry_prefecture(request, source):
    user = request.user
    if user.is_prefecture_officer:
        return user.prefecture
    code = source.get("prefecture")
    if code:
        return get_object_or_404(prefectures_visible_to(user).filter(active=True), code=code)
    if request.method == "POST":
        # Office staff report for many prefectures: a save must say which one.
        raise Http404
    return prefectures_visible_to(user).filter(active=True).order_by("code").first()


@require(can_enter_daily_figures)
def daily_entry(request):
    """The officer's daily form: one row per key item, all saved together or none."""
    source = request.POST if request.method == "POST" else request.GET
    prefecture = _entry_prefecture(request, source)
    if prefecture is None or not can_report_for_prefecture(request.user, prefecture):
        raise PermissionDenied
    date, today, first_allowed = entry_date(
        request,
        source,
        refused_message=_(
            "Figures can be entered for %(first)s to %(today)s; opened today's form instead."
        ),
    )
    rows = selectors.daily_entry_rows(prefecture=prefecture, date=date)
    reason = source.get("reason", "").strip()
    page_errors = []

    if request.method == "POST":
        url = reverse("inventory:daily_entry") + f"?date={date.isoformat()}"
        if not request.user.is_prefecture_officer:
            url += f"&prefecture={prefecture.code}"
        response, page_errors = entry_grid_post(
            DAILY_FIGURES,
            request,
            owner=prefecture,
            rows=rows,
            date=date,
            reason=reason,
            saved=_(
                "Saved the figures of %(prefecture)s for %(date)s: %(created)s new, %(updated)s corrected, %(unchanged)s unchanged."
            ),
            next_url=url,
        )
        if response is not None:
            return response

    _reference_cells(rows)
    hidden = [("date", date.isoformat())]
    if not request.user.is_prefecture_officer:
        hidden.append(("prefecture", prefecture.code))
    response = entry_grid_page(
        DAILY_FIGURES,
        request,
        template="inventory/daily_entry.html",
        context={
            "prefecture": prefecture,
            "prefectures": None
            if request.user.is_prefecture_officer
            else prefectures_visible_to(request.user).filter(active=True).order_by("code"),
            "cutoff": settings.SUPPLYCOORD["CUTOFF_TIME"],
        },
        rows=rows,
        date=date,
        today=today,
        first_allowed=first_allowed,
        form_id="daily-entry-form",
        reference_headers=[_("Item code"), _("Item"), _("Unit"), _("Last stock")],
        hidden=hidden,
        reason=reason,
        page_errors=page_errors,
        empty_message=_("No key items are defined yet."),
        save_label=_("Save all figures"),
    )
    if prefecture.reports_as_sum_of_counties and request.method == "POST":
        # The pipeline refused the rows (DailyFiguresKind.check_row): the page says why,
        # pointing to the counties' page, instead of a grid.
        response.status_code = 400
    return response


def _reference_cells(rows):
    """The grey cells of an entry grid's rows: code, item, unit, last stock."""
    for row in rows:
        last = "—" if row.last_stock is None else row.last_stock
        note = f"({row.last_stock_date:%m-%d})" if row.last_stock is not None else ""
        row.reference = [
            (row.item.code, "", False),
            (row.item.name, row.item.specification, False),
            (row.item.get_unit_display(), "", False),
            (last, note, True),
        ]


@require(can_read_prefecture_data)
def protected_staff(request):
    """保障人员数: the office edits every prefecture's counts; an officer reads their own."""
    errors = {}
    if request.method == "POST":
        if not can_edit_protected_staff(request.user):
            raise PermissionDenied
        counts = {}
        for key, value in request.POST.items():
            # Fields are named staff:<prefecture code>:<category code>; codes never hold ":".
            parts = key.split(":")
            if len(parts) == 3 and parts[0] == "staff":
                counts[(parts[1], parts[2])] = value
        try:
            changed = protected_staff_set(user=request.user, counts=counts)
        except ProtectedStaffInvalid as exc:
            errors = {f"staff:{p}:{c}": message for (p, c), message in exc.errors.items()}
        else:
            messages.success(
                request, _("Protected staff saved: %(n)s changed.") % {"n": grouped(changed)}
            )
            return redirect("inventory:protected_staff")
    categories, rows = selectors.protected_staff_table(request.user)
    return render(
        request,
        "inventory/protected_staff.html",
        {
            "categories": categories,
            "rows": rows,
            "errors": errors,
            "posted": request.POST if errors else {},
            "editable": can_edit_protected_staff(request.user),
        },
        status=400 if errors else 200,
    )


# --- Excel import of daily figures ----------------------------------------------------------


def _import_prefecture(request):
    """The template's prefecture: an officer's own; office staff choose one, or all (None)."""
    if request.user.is_prefecture_officer:
        if request.user.prefecture is None:
            raise PermissionDenied
        return request.user.prefecture
    code = request.GET.get("prefecture", "ALL")
    if code == "ALL":
        return None
    return get_object_or_404(prefectures_visible_to(request.user).filter(active=True), code=code)


@require(can_enter_daily_figures)
def daily_import_template(request):
    """The .xlsx template of a prefecture (or of all, for the office) and a date."""
    prefecture = _import_prefecture(request)
    return import_template_response(imports.DAILY_IMPORT, request, owner=prefecture)


@require(can_enter_daily_figures)
def daily_import(request):
    """Upload a filled template: every problem listed at once, nothing saved until none is left."""
    return import_page(
        imports.DAILY_IMPORT,
        request,
        template="inventory/daily_import.html",
        template_download="inventory:daily_import_template",
        redirect_to="inventory:daily_import",
        context={
            # A prefecture reporting as the sum of its counties takes no rows of its own.
            "prefectures": None
            if request.user.is_prefecture_officer
            else prefectures_visible_to(request.user)
            .filter(active=True, reports_as_sum_of_counties=False)
            .order_by("code"),
            "sum_of_counties": request.user.prefecture
            if request.user.is_prefecture_officer
            and request.user.prefecture.reports_as_sum_of_counties
            else None,
        },
    )


# --- Counties' daily figures (three-level dispatch, issue 15) -------------------------------


def _entry_county(request, source):
    """(the county whose grid opens, the counties the user may choose from or None).

    A county officer enters its own county's figures. The office chooses among the counties
    of prefectures reporting as their sum; a county named that is not one of them still opens
    (the page says why it takes no figures, a save is refused by the pipeline)."""
    user = request.user
    if user.is_county_officer:
        return County.objects.select_related("prefecture").get(pk=user.county_id), None
    choices = county_figures.counties_enterable_by(user)
    code = source.get("county", "").strip()
    if code:
        counties = scope_counties(user, County.objects.filter(active=True))
        return get_object_or_404(counties.select_related("prefecture"), code=code), choices
    if request.method == "POST":
        # The office enters many counties' figures: a save must say which one.
        raise Http404
    return (choices[0] if choices else None), choices


def _county_entry_url(request, county, date):
    url = reverse("inventory:county_entry") + f"?date={date.isoformat()}"
    if not request.user.is_county_officer:
        url += f"&county={county.code}"
    return url


@require(can_enter_county_figures)
def county_entry(request):
    """A county's daily form (区县日报), the prefectures' grid: one row per key item, all saved
    together or none. Saving derives the prefecture's rows its counties complete."""
    source = request.POST if request.method == "POST" else request.GET
    county, choices = _entry_county(request, source)
    cutoff = settings.SUPPLYCOORD["CUTOFF_TIME"]
    if county is None:
        # The office, while no prefecture reports as the sum of its counties.
        return render(request, "inventory/county_entry.html", {"county": None, "cutoff": cutoff})
    if not can_report_for_county(request.user, county):
        raise PermissionDenied
    date, today, first_allowed = entry_date(
        request,
        source,
        refused_message=_(
            "Figures can be entered for %(first)s to %(today)s; opened today's form instead."
        ),
    )
    rows = county_figures.county_entry_rows(county=county, date=date)
    reason = source.get("reason", "").strip()
    page_errors = []
    if request.method == "POST":
        response, page_errors = entry_grid_post(
            county_figures.COUNTY_FIGURES,
            request,
            owner=county,
            rows=rows,
            date=date,
            reason=reason,
            saved=_(
                "Saved the figures of %(county)s for %(date)s: %(created)s new, %(updated)s corrected, %(unchanged)s unchanged."
            ),
            next_url=_county_entry_url(request, county, date),
        )
        if response is not None:
            return response
    refusal = county_figures.county_refusal(county.prefecture)
    _reference_cells(rows)
    hidden = [("date", date.isoformat())]
    if not request.user.is_county_officer:
        hidden.append(("county", county.code))
    response = entry_grid_page(
        county_figures.COUNTY_FIGURES,
        request,
        template="inventory/county_entry.html",
        context={
            "county": county,
            "counties": choices,
            "refusal": refusal,
            "status": None
            if refusal
            else county_figures.counties_status(prefecture=county.prefecture, date=date),
            "cutoff": cutoff,
        },
        rows=rows,
        date=date,
        today=today,
        first_allowed=first_allowed,
        form_id="county-entry-form",
        reference_headers=[_("Item code"), _("Item"), _("Unit"), _("Last stock")],
        hidden=hidden,
        reason=reason,
        page_errors=page_errors,
        empty_message=_("No key items are defined yet."),
        save_label=_("Save all figures"),
    )
    if page_errors or any(row.errors for row in rows):
        response.status_code = 400
    return response


def _status_date(request) -> dt.date:
    """?date= of a read page: any day from the earliest to today, else today."""
    today = local_today()
    date = parse_iso_date(request.GET.get("date", ""))
    if date is None or not earliest_date() <= date <= today:
        return today
    return date


@require(can_read_county_figures)
def county_status(request):
    """A prefecture's counties for a date: which reported which key item (on time, late,
    missing) and whether the prefecture's row is derived yet. The office switches the
    prefecture to reporting as the sum of its counties here."""
    user = request.user
    prefectures = list(prefectures_visible_to(user).filter(active=True).order_by("code"))
    source = request.POST if request.method == "POST" else request.GET
    code = source.get("prefecture", "").strip()
    if code:
        prefecture = next((p for p in prefectures if p.code == code), None)
        if prefecture is None:
            raise Http404
    else:
        summed = [p for p in prefectures if p.reports_as_sum_of_counties]
        prefecture = (summed or prefectures or [None])[0]
    date = _status_date(request)
    refusal = ""
    if request.method == "POST":
        if prefecture is None or not can_set_reports_as_sum(user):
            raise PermissionDenied
        form = forms.ReportsAsSumForm(request.POST)
        if not code:
            # The page's form names its prefecture: a post without one switches nothing,
            # rather than whichever prefecture the page would open on.
            refusal = _("Choose the prefecture to switch.")
        elif form.is_valid():
            try:
                prefecture = county_figures.prefecture_set_reports_as_sum(
                    user=user, prefecture=prefecture, value=form.cleaned_data["value"]
                )
            except county_figures.SumOfCountiesRefused as exc:
                refusal = exc.message
            else:
                if prefecture.reports_as_sum_of_counties:
                    text = _("%(prefecture)s now reports as the sum of its counties.")
                else:
                    text = _("%(prefecture)s now enters its own figures again.")
                messages.success(request, text % {"prefecture": prefecture.name})
                return redirect(
                    reverse("inventory:county_status") + f"?prefecture={prefecture.code}"
                )
        else:
            refusal = _("Choose whether the prefecture reports as the sum of its counties.")
    status = (
        county_figures.counties_status(prefecture=prefecture, date=date) if prefecture else None
    )
    return render(
        request,
        "inventory/county_status.html",
        {
            "prefecture": prefecture,
            "prefectures": prefectures if len(prefectures) > 1 else None,
            "date": date,
            "today": local_today(),
            "status": status,
            "refusal": refusal,
            "may_switch": can_set_reports_as_sum(user),
            "may_enter": can_enter_county_figures(user),
            "cutoff": settings.SUPPLYCOORD["CUTOFF_TIME"],
        },
        status=400 if refusal else 200,
    )


def _import_county(request):
    """The template's county: a county officer's own; the office chooses one, or all (None)."""
    if request.user.is_county_officer:
        return County.objects.select_related("prefecture").get(pk=request.user.county_id)
    code = request.GET.get("county", "ALL")
    if code == "ALL":
        return None
    counties = county_figures.counties_enterable_by(request.user)
    county = next((c for c in counties if c.code == code), None)
    if county is None:
        raise Http404
    return county


@require(can_enter_county_figures)
def county_import_template(request):
    """The .xlsx template of a county (or, for the office, of every county reporting)."""
    return import_template_response(imports.COUNTY_IMPORT, request, owner=_import_county(request))


@require(can_enter_county_figures)
def county_import(request):
    """Upload a filled county template: every problem listed, nothing saved until none is left."""
    return import_page(
        imports.COUNTY_IMPORT,
        request,
        template="inventory/county_import.html",
        template_download="inventory:county_import_template",
        redirect_to="inventory:county_import",
        context={
            "counties": None
            if request.user.is_county_officer
            else county_figures.counties_enterable_by(request.user),
        },
    )


# --- The provincial reserve ledger: warehouses, stock cards, events and their vouchers -------

STOCK_CARD_PAGE_SIZE = 100

VOUCHER_TITLES = {
    StockEventKind.RECEIPT: gettext_lazy("Receipt voucher"),
    StockEventKind.ISSUE: gettext_lazy("Issue voucher"),
    StockEventKind.ADJUSTMENT: gettext_lazy("Adjustment voucher"),
    StockEventKind.COUNT: gettext_lazy("Physical count voucher"),
    StockEventKind.REVERSAL: gettext_lazy("Reversal voucher"),
}

EVENT_FORM_TEXT = {
    StockEventKind.RECEIPT: (
        gettext_lazy("New receipt"),
        gettext_lazy("Goods received into this warehouse: where they came from and how many."),
        gettext_lazy("Save the receipt"),
    ),
    StockEventKind.ISSUE: (
        gettext_lazy("New issue"),
        gettext_lazy(
            "Goods issued from this warehouse: to whom and how many. Stock never goes below zero."
        ),
        gettext_lazy("Save the issue"),
    ),
    StockEventKind.ADJUSTMENT: (
        gettext_lazy("New adjustment"),
        gettext_lazy(
            "Damaged, expired or otherwise lost or found goods: a positive change adds, a negative one removes."
        ),
        gettext_lazy("Save the adjustment"),
    ),
    StockEventKind.COUNT: (
        gettext_lazy("New physical count"),
        gettext_lazy(
            "Enter what you counted on the shelf; each balance becomes the counted figure and the difference is recorded."
        ),
        gettext_lazy("Save the count"),
    ),
}

# Where each kind's figure goes in the service, and the service itself.
LEDGER_SERVICES = {
    StockEventKind.RECEIPT: (services.stock_receive, "lines"),
    StockEventKind.ISSUE: (services.stock_issue, "lines"),
    StockEventKind.ADJUSTMENT: (services.stock_adjust, "lines"),
    StockEventKind.COUNT: (services.stock_count, "counts"),
}

# Service error fields -> header form fields (the others are shown above the form).
HEADER_ERROR_FIELDS = {
    "source": "source",
    "issue_kind": "issue_kind",
    "reason": "reason",
    "source_document": "source_document",
    "counterparty": "counterparty",
    "note": "note",
    "occurred_at": "occurred_on",
}


def _visible_warehouse(user, code):
    # Another prefecture's warehouse answers 404, as if it did not exist.
    return get_object_or_404(
        selectors.warehouses_visible_to(user).select_related("prefecture"), code=code
    )


def _visible_event(user, document_number):
    event = selectors.stock_event_visible_to(user, document_number)
    if event is None:
        raise Http404
    return event


def _reversal_of(event):
    """The event reversing `event`, or None (the reverse one-to-one raises when absent)."""
    try:
        return event.reversed_by
    except ObjectDoesNotExist:
        return None


def _event_lines(event):
    lines = list(event.lines.all())
    for line in lines:
        line.quantity_in = max(line.quantity, 0)
        line.quantity_out = max(-line.quantity, 0)
    return lines


@require(can_read_prefecture_data)
def warehouse_list(request):
    return render(
        request,
        "inventory/warehouse_list.html",
        {"warehouses": selectors.warehouse_rows_visible_to(request.user)},
    )


@require(can_read_prefecture_data)
def warehouse_detail(request, code):
    warehouse = _visible_warehouse(request.user, code)
    return render(
        request,
        "inventory/warehouse_detail.html",
        {
            "warehouse": warehouse,
            "balances": selectors.balances_visible_to(request.user, warehouse=warehouse),
            "events": selectors.recent_stock_events(warehouse),
            "can_post": can_post_to_warehouse(request.user, warehouse),
        },
    )


def _stock_card_for(request, code, item_code):
    warehouse = _visible_warehouse(request.user, code)
    item = get_object_or_404(Item, code=item_code)
    filters = forms.StockCardFilterForm(request.GET)
    card = selectors.stock_card(request.user, warehouse=warehouse, item=item, **filters.filters())
    return card, filters


def _query_without_page(request):
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return query.urlencode()


@require(can_read_prefecture_data)
def stock_card(request, code, item_code):
    """货位卡: every line of one item in one warehouse with its running balance, 100 a page."""
    if request.GET.get("format") in ("xlsx", "csv"):
        return stock_card_export(request, code, item_code, request.GET["format"])
    card, filters = _stock_card_for(request, code, item_code)
    page = card.page(request.GET.get("page"), STOCK_CARD_PAGE_SIZE)
    rows = page.object_list
    for line in rows:
        line.quantity_out = -line.quantity
    # Each page opens with the balance before its first line and ends with the one after its
    # last, so a printed page reads on its own; the first and last pages show the period's.
    brought_forward = card.opening
    if page.has_previous() and rows:
        brought_forward = rows[0].balance_after - rows[0].quantity
    carried_forward = card.closing
    if page.has_next() and rows:
        carried_forward = rows[-1].balance_after
    query = _query_without_page(request)
    return render(
        request,
        "inventory/stock_card.html",
        {
            "warehouse": card.warehouse,
            "item": card.item,
            "card": card,
            "filters": filters,
            "page_obj": page,
            "rows": rows,
            "brought_forward": brought_forward,
            "carried_forward": carried_forward,
            "filter_query": f"?{query}" if query else "",
            "page_query": f"{query}&" if query else "",
        },
    )


@require(can_read_prefecture_data)
def stock_card_export(request, code, item_code, fmt):
    """The stock card as .xlsx or streamed .csv, with the page's filters and balances."""
    if fmt not in ("xlsx", "csv"):
        raise Http404
    card, _filters = _stock_card_for(request, code, item_code)
    params = request.GET.copy()
    params.pop("format", None)
    params.pop("page", None)
    params["warehouse_code"], params["item_code"] = code, item_code
    export = exports.StockCardExport(request.user, params, card=card)
    return export_response(export, fmt, user=request.user)


def _occurred_at(day, *, today):
    """Today means now; a past day means its last second, after what was recorded that day
    (and inside the back-dating window for every day the form offers)."""
    if day is None or day >= today:
        return None
    return timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59, 59)))


def _item_choices(items):
    return [
        (
            item.code,
            f"{item.code} {item.name}"
            + (f" · {item.specification}" if item.specification else "")
            + f" ({item.get_unit_display()})",
        )
        for item in items
    ]


def _show_ledger_errors(exc, *, header, filled, page_errors):
    """Put each LedgerInvalid error at its field: a line's on that row, the rest at the top."""
    for error in exc.errors:
        if error.line is not None and 0 <= error.line < len(filled):
            field = "item" if error.field == "item" else "quantity"
            if error.field in ("item", "quantity", "counted"):
                filled[error.line].add_error(field, error.message)
            else:
                page_errors.append(
                    _("Line %(line)s: %(message)s")
                    % {"line": grouped(error.line + 1), "message": error.message}
                )
        elif (
            error.field in HEADER_ERROR_FIELDS and HEADER_ERROR_FIELDS[error.field] in header.fields
        ):
            header.add_error(HEADER_ERROR_FIELDS[error.field], error.message)
        elif error.message not in page_errors:
            page_errors.append(error.message)


@require(can_read_prefecture_data)
def stock_event_new(request, code, kind):
    """A receipt, issue, adjustment or count with several lines, saved together or not at all."""
    if kind not in forms.HEADER_FORMS:
        raise Http404
    warehouse = _visible_warehouse(request.user, code)
    if not can_post_to_warehouse(request.user, warehouse):
        raise PermissionDenied
    today = local_today()
    earliest = today - dt.timedelta(days=settings.SUPPLYCOORD["LEDGER_BACKDATE_DAYS"])
    items = {item.code: item for item in selectors.ledger_items()}
    form_kwargs = {"item_choices": _item_choices(items.values()), "kind": kind}
    header_form = forms.HEADER_FORMS[kind]
    shortages, page_errors = [], []

    if request.method == "POST":
        header = header_form(request.POST, today=today, earliest=earliest)
        formset = forms.LineFormSet(request.POST, form_kwargs=form_kwargs)
        # Both validated, so every problem shows at once.
        if all([header.is_valid(), formset.is_valid()]):
            filled = formset.filled_forms()
            lines = [(items[f.cleaned_data["item"]], f.cleaned_data["quantity"]) for f in filled]
            service, lines_arg = LEDGER_SERVICES[kind]
            try:
                event = service(
                    user=request.user,
                    warehouse=warehouse,
                    occurred_at=_occurred_at(header.cleaned_data["occurred_on"], today=today),
                    **{lines_arg: lines},
                    **header.service_kwargs(),
                )
            except services.InsufficientStock as exc:
                shortages = exc.shortfalls
                short = {s.item.pk: s for s in exc.shortfalls}
                for form in filled:
                    shortfall = short.get(items[form.cleaned_data["item"]].pk)
                    if shortfall is not None:
                        form.add_error(
                            "quantity",
                            _("Only %(available)s available.")
                            % {"available": f"{shortfall.available:,}"},
                        )
            except services.LedgerInvalid as exc:
                _show_ledger_errors(exc, header=header, filled=filled, page_errors=page_errors)
            except services.LedgerError as exc:
                page_errors.append(exc.message)
            else:
                if getattr(event, "replayed", False):
                    messages.info(
                        request,
                        _("This form was already saved as %(number)s; nothing new was recorded.")
                        % {"number": event.document_number},
                    )
                else:
                    messages.success(
                        request,
                        ngettext(
                            "Saved %(kind)s %(number)s with %(count)s line.",
                            "Saved %(kind)s %(number)s with %(count)s lines.",
                            len(lines),
                        )
                        % {
                            "kind": event.get_kind_display(),
                            "number": event.document_number,
                            "count": grouped(len(lines)),
                        },
                    )
                return redirect("inventory:stock_event_detail", event.document_number)
        page_errors.extend(formset.non_form_errors())
    else:
        header = header_form(today=today, earliest=earliest)
        formset = forms.LineFormSet(form_kwargs=form_kwargs)
        formset.extra = _line_rows(request)

    title, intro, submit_label = EVENT_FORM_TEXT[kind]
    more = min(formset.total_form_count() + forms.LINE_ROWS, forms.MAX_LINE_ROWS)
    return render(
        request,
        "inventory/stock_event_form.html",
        {
            "warehouse": warehouse,
            "kind": kind,
            "title": title,
            "intro": intro,
            "submit_label": submit_label,
            "quantity_label": forms.QUANTITY_LABELS[kind],
            "header": header,
            "formset": formset,
            "shortages": shortages,
            "page_errors": page_errors,
            "has_errors": bool(shortages or page_errors or header.errors or any(formset.errors)),
            "more_rows_url": f"?rows={more}"
            if request.method == "GET" and more > formset.total_form_count()
            else "",
        },
    )


def _line_rows(request):
    try:
        rows = int(request.GET.get("rows", forms.LINE_ROWS))
    except ValueError:
        rows = forms.LINE_ROWS
    return max(forms.LINE_ROWS, min(rows, forms.MAX_LINE_ROWS))


@require(can_read_prefecture_data)
def stock_event_detail(request, document_number):
    event = _visible_event(request.user, document_number)
    reversal = _reversal_of(event)
    return render(
        request,
        "inventory/stock_event_detail.html",
        {
            "event": event,
            "lines": _event_lines(event),
            "reversal": reversal,
            "can_reverse": can_reverse_stock_event(request.user, event, reversed_by=reversal),
        },
    )


@require(can_read_prefecture_data)
def stock_event_reverse(request, document_number):
    """GET: the event and a reason box; POST: the reversing event, linked to this one."""
    event = _visible_event(request.user, document_number)
    if not can_post_to_warehouse(
        request.user, event.warehouse, kind=StockEventKind.REVERSAL, reverses_kind=event.kind
    ):
        raise PermissionDenied
    reversal = _reversal_of(event)
    if reversal is not None or event.kind == StockEventKind.REVERSAL:
        messages.warning(
            request,
            _("%(number)s was already reversed by %(reversal)s.")
            % {"number": event.document_number, "reversal": reversal.document_number}
            if reversal
            else _("A reversal cannot be reversed; record a new document instead."),
        )
        return redirect("inventory:stock_event_detail", event.document_number)
    page_errors = []
    form = forms.ReversalForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            reversal = services.stock_reverse(
                user=request.user, event=event, reason=form.cleaned_data["reason"]
            )
        except services.LedgerInvalid as exc:
            for error in exc.errors:
                if error.field == "reason":
                    form.add_error("reason", error.message)
                else:
                    page_errors.append(error.message)
        except services.LedgerError as exc:
            page_errors.append(exc.message)
        else:
            messages.success(
                request,
                _("%(number)s was reversed by %(reversal)s.")
                % {"number": event.document_number, "reversal": reversal.document_number},
            )
            return redirect("inventory:stock_event_detail", reversal.document_number)
    return render(
        request,
        "inventory/stock_event_reverse.html",
        {"event": event, "lines": _event_lines(event), "form": form, "page_errors": page_errors},
    )


def _signed(number):
    """+1,200 / −300 / 0: an adjustment's direction is part of the figure."""
    if number == 0:
        return "0"
    return f"{'+' if number > 0 else '−'}{abs(number):,}"


@require(can_read_prefecture_data)
def stock_event_voucher(request, document_number):
    """The printable voucher (入库单/出库单…), A4, with the signature block of the paper form."""
    event = _visible_event(request.user, document_number)
    lines = _event_lines(event)
    signed = event.kind in (
        StockEventKind.ADJUSTMENT,
        StockEventKind.COUNT,
        StockEventKind.REVERSAL,
    )
    for line in lines:
        # A receipt or issue says its direction in its title; the others show a signed change.
        line.shown_quantity = _signed(line.quantity) if signed else f"{abs(line.quantity):,}"
    total = sum(line.quantity if signed else abs(line.quantity) for line in lines)
    return render(
        request,
        "inventory/voucher.html",
        {
            "event": event,
            "lines": lines,
            "total": _signed(total) if signed else f"{total:,}",
            "voucher_title": VOUCHER_TITLES[event.kind],
            "reversal": _reversal_of(event),
            "province": selectors.office_province(event.warehouse),
        },
    )
