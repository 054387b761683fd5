"""Pages of dispatch batches: list, detail with its timeline and actions, the draft form, the
receipt form and the printable dispatch note (调拨单). Every change goes through
allocation/services.py; these views only read forms and show the services' errors.

Three-level dispatch (issue 15): the batch pages open for whoever `can_read_batches` (the
province, a prefecture's officers and lead, a county officer), each seeing the batches
`scope_batches` gives them; the buttons follow the rules of the batch's level."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET, require_POST

from inventory.models import StockBalance, Warehouse
from inventory.selectors import ledger_items, office_province, warehouses_visible_to
from supplycoord.lib.dates import local_today
from supplycoord.permissions import (
    can_approve_batch,
    can_attach_to_batch,
    can_cancel_batch,
    can_close_batch,
    can_create_batch,
    can_dispatch_batch,
    can_edit_batch,
    can_read_batches,
    can_read_prefecture_data,
    can_receive_batch,
    can_view_warehouse,
    require,
    scope_issuing_warehouses,
)
from supplycoord.views_exports import (
    export_response,
    job_file_response,
    job_page,
    own_job_or_404,
)

from . import exports, forms, services
from .filters import BatchFilter
from .models import BatchStatus, Donation
from .selectors import (
    batch_destinations_visible_to,
    batches_visible_to,
    batches_with_line_totals,
    days_overdue,
    draft_shortfalls,
    issuing_prefectures_visible_to,
    overdue_batches_filter,
    overdue_on_param,
)

BATCH_PAGE_SIZE = 50


def _visible_batch(user, number, *, related=()):
    # Another prefecture's batch answers 404, as if it did not exist.
    return get_object_or_404(
        batches_visible_to(user).select_related(
            "source_warehouse", "destination", "issuing_prefecture", "created_by", *related
        ),
        number=number,
    )


def _item_choices():
    return [
        (
            item.code,
            f"{item.code} {item.name}"
            + (f" · {item.specification}" if item.specification else "")
            + f" ({item.get_unit_display()})",
        )
        for item in ledger_items()
    ]


# --- List ------------------------------------------------------------------------------------


@require(can_read_batches)
def batch_list(request):
    filters = forms.BatchFilterForm(
        request.GET or None,
        item_choices=_item_choices(),
        issuing_prefectures=issuing_prefectures_visible_to(request.user),
        destinations=batch_destinations_visible_to(request.user),
    )
    # An invalid filter is left out rather than guessed (BatchFilter drops it), and shown.
    filters.is_valid()
    batches = (
        BatchFilter(request.GET, queryset=batches_visible_to(request.user))
        .qs.select_related("source_warehouse", "destination", "issuing_prefecture")
        .order_by("-year", "-number")
    )
    # ?overdue=1: on the road past their expected arrival today, most overdue first, as the
    # overview lists them; ?overdue=<date> as of that date (the overview of a past date).
    overdue_on = overdue_on_param(request.GET.get("overdue", ""))
    if overdue_on:
        batches = overdue_batches_filter(batches, date=overdue_on).order_by(
            "expected_arrival", "number"
        )
    page = Paginator(batches, BATCH_PAGE_SIZE).get_page(request.GET.get("page"))
    # The list has no date of its own: lateness as of today in the office (the one clock).
    today = local_today()
    # The page's batches only get their line counts and sums (one query for the 50).
    rows = batches_with_line_totals(page.object_list)
    for batch in rows:
        batch.days_overdue = days_overdue(batch, date=today)
    query = request.GET.copy()
    query.pop("page", None)
    query = query.urlencode()
    return render(
        request,
        "allocation/batch_list.html",
        {
            "filters": filters,
            "page_obj": page,
            "batches": rows,
            "page_query": f"{query}&" if query else "",
            "export_query": f"?{query}" if query else "",
            "can_create": can_create_batch(request.user),
            # The ledger (调拨台账) is the province's and the prefectures' record: a county
            # officer reads its batches on the pages only.
            "can_export": exports.AllocationLedgerExport.read_rule(request.user),
            "overdue_on": overdue_on,
        },
    )


# --- Detail and its actions --------------------------------------------------------------


ACTIONS = {
    # name: (service, button label, the rule its service applies, states it applies to)
    "approve": (
        services.batch_approve,
        gettext_lazy("Approve"),
        can_approve_batch,
        (BatchStatus.DRAFT,),
    ),
    "dispatch": (
        services.batch_dispatch,
        pgettext_lazy("batch action", "Dispatch"),
        can_dispatch_batch,
        (BatchStatus.APPROVED,),
    ),
    "cancel": (
        services.batch_cancel,
        gettext_lazy("Cancel batch"),
        can_cancel_batch,
        (BatchStatus.DRAFT, BatchStatus.APPROVED),
    ),
    "close": (
        services.batch_close,
        gettext_lazy("Close"),
        can_close_batch,
        (BatchStatus.RECEIVED, BatchStatus.PARTLY_RECEIVED),
    ),
}


def _shown_note(note: str) -> str:
    """A note as the reader reads it: what people typed as they typed it; the marker the
    paper-ledger migration stores (services.HISTORY_NOTE) in the reader's language."""
    return _("Migrated from the paper ledger") if note == services.HISTORY_NOTE else note


def _transition_note(transition) -> str:
    # A draft → draft step is an edit of the draft: worded now, in the reader's language, also
    # for the steps that stored "Draft edited." in their editor's language before.
    if transition.from_status == transition.to_status == BatchStatus.DRAFT:
        return _("Draft edited.")
    return _shown_note(transition.note)


def _timeline(batch):
    """Transitions and receipts in the order they happened."""
    entries = [
        {
            "at": t.at,
            "by": t.by,
            "from_status": t.get_from_status_display() if t.from_status else "",
            "to_status": t.get_to_status_display(),
            "note": _transition_note(t),
            "receipt": None,
        }
        for t in batch.transitions.select_related("by")
    ]
    entries += [
        {"at": r.received_at, "by": r.received_by, "note": _shown_note(r.note), "receipt": r}
        for r in batch.receipts.select_related("received_by", "line__item")
    ]
    return sorted(entries, key=lambda e: (e["at"], e["receipt"] is not None))


def _detail_context(request, batch, **extra):
    user = request.user
    actions = [
        {"name": name, "label": label}
        for name, (_service, label, allowed, states) in ACTIONS.items()
        if batch.status in states and allowed(user, batch)
    ]
    # The batch's next step (approve, dispatch, close) is the one prominent button; cancelling
    # stands apart, behind a confirmation that asks for the reason.
    return {
        "next_actions": [a for a in actions if a["name"] != "cancel"],
        "cancel_action": next((a for a in actions if a["name"] == "cancel"), None),
        "cancel_open": False,
        # A draft asking more than its warehouse can give is flagged, not refused. The flag
        # tells the warehouse's balance: shown to whoever reads that warehouse (the issuer,
        # its approver), not to the destination's county or prefecture below it.
        "draft_shortfalls": draft_shortfalls(batch)
        if can_view_warehouse(user, batch.source_warehouse)
        else [],
        "batch": batch,
        # Late as of today in the office, as the list and the overview of today count it.
        "days_overdue": days_overdue(batch, date=local_today()),
        "lines": list(batch.lines.select_related("item", "donation")),
        "attachments": list(batch.attachments.select_related("uploaded_by")),
        "can_attach": can_attach_to_batch(user, batch),
        "timeline": _timeline(batch),
        "actions": actions,
        "can_edit": can_edit_batch(user, batch) and batch.status == BatchStatus.DRAFT,
        "can_receive": batch.status in (BatchStatus.DISPATCHED, BatchStatus.PARTLY_RECEIVED)
        and can_receive_batch(user, batch),
        "shortages": [],
        "action_error": "",
        "conflict": False,
        **extra,
    }


@require(can_read_batches)
def batch_detail(request, number):
    batch = _visible_batch(request.user, number)
    return render(request, "allocation/batch_detail.html", _detail_context(request, batch))


@require_POST
@require(can_read_batches)
def batch_action(request, number, action):
    """One transition: a small POST form with the version the person saw."""
    if action not in ACTIONS:
        raise Http404
    batch = _visible_batch(request.user, number)
    service, _label, _allowed, _states = ACTIONS[action]
    form = forms.BatchActionForm(request.POST)
    if not form.is_valid():
        return redirect("allocation:batch_detail", batch.number)
    try:
        moved = service(
            user=request.user,
            batch=batch,
            expected_version=form.cleaned_data["expected_version"],
            note=form.cleaned_data["note"],
        )
    except services.BatchConflict:
        batch.refresh_from_db()
        context = _detail_context(
            request,
            batch,
            conflict=True,
            action_error=_("Someone else changed this batch; reload the page and try again."),
        )
        return render(request, "allocation/batch_detail.html", context, status=409)
    except services.BatchStockShort as exc:
        context = _detail_context(
            request, batch, shortages=exc.shortfalls, action_error=exc.message
        )
        return render(request, "allocation/batch_detail.html", context, status=409)
    except services.AllocationError as exc:
        context = _detail_context(
            request, batch, action_error=exc.message, cancel_open=action == "cancel"
        )
        return render(request, "allocation/batch_detail.html", context, status=400)
    messages.success(
        request,
        _("%(action)s: batch %(number)s is now %(status)s.")
        % {
            "action": ACTIONS[action][1],
            "number": batch.number,
            "status": moved.get_status_display(),
        },
    )
    # Approving from leadership's overview returns there; anywhere else, to the batch.
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(back)
    return redirect("allocation:batch_detail", batch.number)


# --- The draft form ----------------------------------------------------------------------


def _donation_choices(user):
    """The donations held in the warehouses `user` issues from: a prefecture's officer is not
    shown the province's donations (nor their donors); the service refuses any other anyway."""
    warehouses = scope_issuing_warehouses(user, Warehouse.objects.all())
    return [
        (str(d.pk), f"{d.donor_name} · {d.received_on:%Y-%m-%d} · {d.warehouse.code}")
        for d in Donation.objects.filter(warehouse__in=warehouses)
        .select_related("warehouse")
        .order_by("-received_on", "-id")
    ]


def _balances(user, warehouse) -> dict[str, int]:
    """{item code: quantity} at `warehouse`, or {} when none is chosen or it is not visible."""
    if warehouse is None or not warehouses_visible_to(user).filter(pk=warehouse.pk).exists():
        return {}
    return dict(
        StockBalance.objects.filter(warehouse=warehouse).values_list("item__code", "quantity")
    )


def _show_service_error(exc, *, filled, page_errors):
    if isinstance(exc, services.AllocationInvalid):
        for index, message in exc.errors:
            if index is not None and 0 <= index < len(filled):
                filled[index].add_error(None, message)
            elif message not in page_errors:
                page_errors.append(message)
    else:
        page_errors.append(exc.message)


@require(can_create_batch)
def batch_form(request, number=None):
    """A new draft, or the edit of one: header fields and several lines, saved together."""
    batch = None
    if number is not None:
        batch = _visible_batch(request.user, number)
        # A batch of another level (the province's for a prefecture's officer, a prefecture's
        # for the office) is read, never edited, here.
        if not can_edit_batch(request.user, batch):
            raise PermissionDenied
        if batch.status != BatchStatus.DRAFT:
            messages.warning(request, _("Only a draft can be edited."))
            return redirect("allocation:batch_detail", batch.number)
    form_kwargs = {
        "item_choices": _item_choices(),
        "donation_choices": _donation_choices(request.user),
    }
    page_errors, conflict = [], False

    if request.method == "POST":
        header = forms.BatchHeaderForm(request.POST, user=request.user)
        formset = forms.BatchLineFormSet(request.POST, prefix="lines", form_kwargs=form_kwargs)
        if all([header.is_valid(), formset.is_valid()]):
            filled = formset.filled_forms()
            lines = [f.service_line() for f in filled]
            try:
                if batch is None:
                    saved = services.batch_create(
                        user=request.user, lines=lines, **header.service_kwargs()
                    )
                else:
                    saved = services.batch_update_draft(
                        user=request.user,
                        batch=batch,
                        expected_version=header.cleaned_data["expected_version"] or 0,
                        lines=lines,
                        **header.service_kwargs(),
                    )
            except services.BatchConflict:
                conflict = True
                page_errors.append(
                    _("Someone else changed this batch; reload the page and try again.")
                )
            except services.AllocationError as exc:
                _show_service_error(exc, filled=filled, page_errors=page_errors)
            else:
                messages.success(
                    request,
                    _("Saved draft batch %(number)s.") % {"number": saved.number},
                )
                return redirect("allocation:batch_detail", saved.number)
        page_errors.extend(formset.non_form_errors())
        warehouse = header.cleaned_data.get("source_warehouse") if header.is_bound else None
    else:
        if batch is None:
            header = forms.BatchHeaderForm(user=request.user)
            formset = forms.BatchLineFormSet(prefix="lines", form_kwargs=form_kwargs)
        else:
            header = forms.BatchHeaderForm(
                user=request.user,
                initial={
                    **{name: getattr(batch, name) for name in forms.BatchHeaderForm.SERVICE_FIELDS},
                    "source_warehouse": batch.source_warehouse.code,
                    "expected_version": batch.version,
                },
            )
            initial = [
                {
                    "item": line.item.code,
                    "quantity": line.quantity,
                    "channel": line.channel,
                    "donation": str(line.donation_id) if line.donation_id else "",
                }
                for line in batch.lines.select_related("item")
            ]
            formset = forms.BatchLineFormSet(
                prefix="lines", form_kwargs=form_kwargs, initial=initial
            )
            formset.extra = 2
        warehouse = batch.source_warehouse if batch else None

    balances = _balances(request.user, warehouse)
    for form in formset:
        code = form["item"].value()
        form.available = balances.get(code, 0) if (warehouse and code) else None
    has_errors = bool(page_errors or header.errors or any(formset.errors))
    return render(
        request,
        "allocation/batch_form.html",
        {
            "batch": batch,
            "header": header,
            "formset": formset,
            "page_errors": page_errors,
            "conflict": conflict,
            "has_errors": has_errors,
        },
        # Refused input is a 400 (every problem shown by its field), a stale version a 409.
        status=409 if conflict else 400 if has_errors else 200,
    )


@require_GET
@require(can_create_batch)
def available_stock(request):
    """htmx partial: the balance of one item at one warehouse. Reads `warehouse` and `item`,
    or the form's own field names (`source_warehouse`, `lines-N-item`) sent by hx-include."""
    warehouse_code = request.GET.get("warehouse") or request.GET.get("source_warehouse", "")
    item_code = request.GET.get("item", "")
    if not item_code:
        item_code = next(
            (v for k, v in request.GET.items() if k.startswith("lines-") and k.endswith("-item")),
            "",
        )
    available = None
    if warehouse_code and item_code:
        warehouse = warehouses_visible_to(request.user).filter(code=warehouse_code).first()
        if warehouse is not None:
            available = (
                StockBalance.objects.filter(warehouse=warehouse, item__code=item_code)
                .values_list("quantity", flat=True)
                .first()
            ) or 0
    return render(request, "allocation/_available.html", {"available": available})


# --- Receipt -----------------------------------------------------------------------------


@require(can_read_batches)
def batch_receive(request, number):
    """签收: the destination's officer (or the office) enters what arrived per line."""
    batch = _visible_batch(request.user, number)
    if not can_receive_batch(request.user, batch):
        raise PermissionDenied
    if batch.status not in (BatchStatus.DISPATCHED, BatchStatus.PARTLY_RECEIVED):
        messages.warning(request, _("Only a dispatched batch can be received."))
        return redirect("allocation:batch_detail", batch.number)
    lines = list(batch.lines.select_related("item"))
    page_errors, conflict = [], False
    if request.method == "POST":
        form = forms.BatchReceiptForm(request.POST, lines=lines)
        if form.is_valid():
            try:
                services.batch_receive(
                    user=request.user,
                    batch=batch,
                    expected_version=form.cleaned_data["expected_version"],
                    received=form.received(),
                    note=form.cleaned_data["note"],
                    complete=form.cleaned_data["complete"],
                )
            except services.BatchConflict:
                conflict = True
                page_errors.append(
                    _("Someone else changed this batch; reload the page and try again.")
                )
            except services.AllocationInvalid as exc:
                page_errors.extend(message for _index, message in exc.errors)
            except services.AllocationError as exc:
                page_errors.append(exc.message)
            else:
                messages.success(
                    request, _("Receipt of batch %(number)s recorded.") % {"number": batch.number}
                )
                return redirect("allocation:batch_detail", batch.number)
    else:
        form = forms.BatchReceiptForm(lines=lines, initial={"expected_version": batch.version})
    return render(
        request,
        "allocation/batch_receive.html",
        {
            "batch": batch,
            "form": form,
            "page_errors": page_errors,
            "conflict": conflict,
            "has_errors": bool(page_errors or form.errors),
        },
        status=409 if conflict else 200,
    )


# --- Dispatch note -------------------------------------------------------------------------


@require(can_read_batches)
def batch_note(request, number):
    """调拨单: the printable A4 dispatch note with the signature block of the paper form."""
    batch = _visible_batch(request.user, number, related=("source_warehouse__prefecture",))
    lines = list(batch.lines.select_related("item", "donation"))
    return render(
        request,
        "allocation/batch_note.html",
        {
            "batch": batch,
            "lines": lines,
            "total": sum(line.quantity for line in lines),
            "province": office_province(batch.source_warehouse),
        },
    )


# --- Ledger exports (调拨台账) ---------------------------------------------------------------


@require_GET
@require(can_read_prefecture_data)
def ledger_export_csv(request):
    """The allocation ledger as streamed CSV (written by PostgreSQL's COPY), with the list's
    filters; officers: their batches."""
    export = exports.AllocationLedgerExport(request.user, request.GET)
    return export_response(export, "csv", csv_lines=exports.ledger_csv_lines)


@require_GET
@require(can_read_prefecture_data)
def ledger_export_xlsx(request):
    """The allocation ledger as .xlsx (written in constant memory), with the 汇总 sheet; over
    SUPPLYCOORD["LEDGER_EXPORT_ASYNC_ROWS"] lines, by a background job."""
    return export_response(
        exports.AllocationLedgerExport(request.user, request.GET),
        "xlsx",
        user=request.user,
        job_url=lambda job: reverse("allocation:ledger_job", args=[job.pk]),
    )


@require_GET
@require(can_read_prefecture_data)
def ledger_export_job(request, job_id):
    """A large ledger export being written: its progress, then the download link."""
    job = own_job_or_404(request.user, job_id)
    return job_page(
        request,
        job,
        template="allocation/ledger_export_job.html",
        download_url=reverse("allocation:ledger_job_download", args=[job.pk]),
    )


@require_GET
@require(can_read_prefecture_data)
def ledger_export_download(request, job_id):
    return job_file_response(request.user, own_job_or_404(request.user, job_id))


@require_POST
@require(can_read_batches)
def batch_attachment_upload(request, number):
    """File a paper with a batch (whoever issues it); the batch page lists it."""
    batch = _visible_batch(request.user, number)
    if not can_attach_to_batch(request.user, batch):
        raise PermissionDenied
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("Choose a file to attach."))
    else:
        try:
            services.batch_attach(
                user=request.user,
                batch=batch,
                file=upload,
                description=request.POST.get("description", ""),
            )
        except services.AllocationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Attached %(name)s.") % {"name": upload.name})
    return redirect("allocation:batch_detail", batch.number)


@require(can_read_batches)
def batch_attachment_download(request, number, pk):
    """A batch's paper, to those who may see the batch (files are never served publicly)."""
    batch = _visible_batch(request.user, number)
    attachment = get_object_or_404(batch.attachments, pk=pk)
    return FileResponse(
        attachment.file.open("rb"), as_attachment=True, filename=attachment.original_name
    )
