"""Pages of requests from below (需求申请, issue 15): the list, a new request, a request's page
with its lines' progress, the batches answering it, its events and attachments, and the
triage and "into a draft batch" forms (the office's for every request, a prefecture officer's
for its counties', from its own warehouse) and the requester's withdrawal. Every change
goes through allocation/requests.py; these views read forms and show its errors by line and
field. Rows are scoped by supplycoord.permissions (another claimant's request: 404)."""

from collections import defaultdict

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from inventory.selectors import ledger_items
from supplycoord.lib.dates import local_today
from supplycoord.permissions import (
    can_read_batches,
    can_read_requests,
    can_request_for,
    can_submit_requests,
    can_triage_request,
    can_withdraw_request,
    require,
    scope_requests,
)

from . import request_forms as forms
from .models import (
    ACCEPTED_DECISIONS,
    DispatchBatchLine,
    LineDecision,
    RequestUrgency,
    SupplyRequest,
)
from .request_selectors import (
    RequestState,
    line_progress,
    request_state,
    requests_with_progress,
    visible_requests,
)
from .requests import (
    RequestConflict,
    RequestInvalid,
    request_attach,
    request_check,
    request_submit,
    request_triage,
    request_withdraw,
    requests_into_batches,
)
from .services import AllocationError

PAGE_SIZE = 50
# Lines named in a list row; the rest are counted.
SUMMARY_LINES = 3
OPEN_STATES = (RequestState.AWAITING_TRIAGE, RequestState.OPEN)


def state_labels():
    return {
        RequestState.AWAITING_TRIAGE: _("Awaiting triage"),
        RequestState.OPEN: _("Open"),
        RequestState.DISPATCHED: _("Dispatched"),
        RequestState.RECEIVED: _("Received"),
        RequestState.REFUSED: _("Refused"),
        RequestState.WITHDRAWN: _("Withdrawn"),
    }


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


def _item_units() -> dict:
    """Each item's unit, shown beside a line's quantity (static/js/request-units.js)."""
    return {item.code: item.get_unit_display() for item in ledger_items()}


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    query = query.urlencode()
    return f"{query}&" if query else ""


# --- The list ---------------------------------------------------------------------------------


@require(can_read_requests)
def request_list(request):
    """The requests the user sees, newest first, PAGE_SIZE a page; a bad filter is a 400."""
    item_choices = _item_choices()
    filters = forms.RequestFilterForm(
        request.GET or None, user=request.user, item_choices=item_choices
    )
    valid = not request.GET or filters.is_valid()
    data = filters.cleaned_data if request.GET and valid else {}
    today = local_today()
    rows, page = [], None
    if valid:
        item = None
        if data.get("item"):
            item = next((i for i in ledger_items() if i.code == data["item"]), None)
        requests = visible_requests(
            request.user,
            state=data.get("state") or None,
            urgency=data.get("urgency") or None,
            claimant=data.get("claimant"),
            item=item,
            submitted_from=data.get("submitted_from"),
            submitted_to=data.get("submitted_to"),
        )
        page = Paginator(requests, PAGE_SIZE).get_page(request.GET.get("page"))
        labels = state_labels()
        for row in requests_with_progress(page.object_list):
            row.state_label = labels[row.state]
            # Ages as of the page's date (the one clock): overdue while open past needed-by.
            row.overdue = row.state in OPEN_STATES and row.request.needed_by < today
            row.summary = row.lines[:SUMMARY_LINES]
            row.more = max(0, len(row.lines) - SUMMARY_LINES)
            rows.append(row)
    return render(
        request,
        "allocation/request_list.html",
        {
            "filters": filters,
            "rows": rows,
            "page_obj": page,
            "page_query": _query_without_page(request),
            "today": today,
            "can_submit": can_submit_requests(request.user),
        },
        status=200 if valid else 400,
    )


# --- A new request ----------------------------------------------------------------------------


def _place_errors(errors, *, header, rows, page_errors):
    """Each RowError next to its field: a line's on its row, the request's on the header, the
    rest at the top of the page."""
    aliases = {"file": "attachment"}
    for error in errors:
        field = aliases.get(error.field, error.field)
        if error.row is not None and 0 <= error.row < len(rows):
            target = rows[error.row]
            if field in target.fields:
                if field not in target.errors:
                    target.add_error(field, error.message)
            else:
                target.add_error(None, error.message)
        elif error.row is None and field in header.fields:
            if field not in header.errors:
                header.add_error(field, error.message)
        elif error.message not in page_errors:
            page_errors.append(error.message)


def _with_one_more_row(data):
    data = data.copy()
    total = data.get("lines-TOTAL_FORMS", "")
    count = int(total) if total.isdigit() else forms.LINE_ROWS
    data["lines-TOTAL_FORMS"] = str(min(count + 1, forms.MAX_LINE_ROWS))
    return data


@require(can_submit_requests)
def request_new(request):
    """Header and lines saved together, or nothing; an attachment with them. The hidden
    client_uuid makes a double submit one request."""
    form_kwargs = {"item_choices": _item_choices()}
    page_errors = []
    show_errors = True
    status = 200
    if request.method == "POST" and "add_line" in request.POST:
        # "Add a line" without a script: the same form back with one more row, unsaved.
        data = _with_one_more_row(request.POST)
        header = forms.RequestHeaderForm(data, user=request.user)
        formset = forms.RequestLineFormSet(data, prefix="lines", form_kwargs=form_kwargs)
        show_errors = False
    elif request.method == "POST":
        header = forms.RequestHeaderForm(request.POST, request.FILES, user=request.user)
        formset = forms.RequestLineFormSet(request.POST, prefix="lines", form_kwargs=form_kwargs)
        header_valid = header.is_valid()
        lines_valid = formset.is_valid()
        filled = formset.filled_forms()
        lines = [form.service_line() for form in filled]
        if header_valid and lines_valid:
            values = header.cleaned_data
            try:
                with transaction.atomic():
                    saved, created = request_submit(
                        user=request.user,
                        claimant=values["claimant"],
                        urgency=values["urgency"],
                        needed_by=values["needed_by"],
                        justification=values["justification"],
                        lines=lines,
                        client_uuid=values["client_uuid"],
                    )
                    if created and values.get("attachment"):
                        request_attach(user=request.user, request=saved, file=values["attachment"])
            except RequestInvalid as exc:
                _place_errors(exc.errors, header=header, rows=filled, page_errors=page_errors)
            else:
                if created:
                    messages.success(
                        request, _("Request %(number)s submitted.") % {"number": saved.number}
                    )
                else:
                    messages.info(
                        request,
                        _("Request %(number)s was already submitted.") % {"number": saved.number},
                    )
                return redirect("allocation:request_detail", saved.number)
        else:
            # Every problem at once: the lines are checked even when the header is not.
            values = getattr(header, "cleaned_data", {})
            _values, _parsed, errors = request_check(
                claimant=values.get("claimant"),
                urgency=values.get("urgency"),
                needed_by=values.get("needed_by"),
                justification=values.get("justification"),
                lines=lines,
            )
            _place_errors(errors, header=header, rows=filled, page_errors=page_errors)
            page_errors.extend(formset.non_form_errors())
        status = 400
    else:
        header = forms.RequestHeaderForm(user=request.user)
        formset = forms.RequestLineFormSet(prefix="lines", form_kwargs=form_kwargs)
    return render(
        request,
        "allocation/request_form.html",
        {
            "header": header,
            "formset": formset,
            "page_errors": page_errors,
            "show_errors": show_errors,
            "has_errors": show_errors and bool(page_errors or header.errors or any(formset.errors)),
            "max_rows": forms.MAX_LINE_ROWS,
            "item_units": _item_units(),
        },
        status=status,
    )


# --- A request's page -------------------------------------------------------------------------


def _visible_request(user, number) -> SupplyRequest:
    # Another claimant's request answers 404, as if it did not exist.
    return get_object_or_404(
        scope_requests(user, SupplyRequest.objects.all()).select_related(
            "claimant", "submitted_by"
        ),
        number=number,
    )


def _event_rows(supply_request):
    return list(
        supply_request.events.select_related("by", "line__item", "batch").order_by("at", "id")
    )


def _detail_context(request, supply_request, **extra):
    user = request.user
    today = local_today()
    lines = list(supply_request.lines.select_related("item", "decided_by").order_by("pk"))
    progress = line_progress(line.pk for line in lines)
    state = request_state(lines, progress) if lines else RequestState.WITHDRAWN
    answering = defaultdict(list)
    for batch_line in (
        DispatchBatchLine.objects.filter(request_line__in=lines)
        .select_related("batch")
        .order_by("batch__year", "batch__number", "pk")
    ):
        answering[batch_line.request_line_id].append(batch_line)
    batches = {}
    for line in lines:
        line.progress = progress[line.pk]
        line.answering = answering[line.pk]
        line.left_to_batch = (
            line.accepted_quantity - line.progress.in_batches
            if line.decision in ACCEPTED_DECISIONS
            else 0
        )
        for batch_line in line.answering:
            batches[batch_line.batch.pk] = batch_line.batch
    # The office decides on every request, a prefecture's officers on its counties'.
    may_triage = can_triage_request(user, supply_request)
    may_withdraw = can_withdraw_request(user, supply_request)
    decidable = [line for line in lines if line.decision != LineDecision.WITHDRAWN]
    into_batch_choices = [
        (line.pk, f"{line.item} · {line.left_to_batch:,}")
        for line in lines
        if line.left_to_batch > 0
    ]
    withdrawable = any(
        line.decision in (LineDecision.PENDING, *ACCEPTED_DECISIONS)
        and not line.progress.in_batches
        for line in lines
    )
    version = {"expected_version": supply_request.version}
    context = {
        "req": supply_request,
        "lines": lines,
        "state": state,
        "state_label": state_labels()[state],
        "overdue": state in OPEN_STATES and supply_request.needed_by < today,
        "is_emergency": supply_request.urgency == RequestUrgency.EMERGENCY,
        "batches": sorted(batches.values(), key=lambda b: (b.year, b.number)),
        "may_open_batches": can_read_batches(user),
        "events": _event_rows(supply_request),
        "attachments": list(supply_request.attachments.select_related("uploaded_by")),
        "can_attach": can_request_for(user, supply_request.claimant),
        "triage_form": forms.TriageForm(initial=version, lines=decidable)
        if may_triage and decidable
        else None,
        "batch_form": forms.IntoBatchesForm(
            initial=version, line_choices=into_batch_choices, user=user
        )
        if may_triage and into_batch_choices
        else None,
        "withdraw_form": forms.WithdrawForm(initial=version)
        if may_withdraw and withdrawable
        else None,
        "attach_form": forms.AttachForm(),
        "page_errors": [],
    }
    # A form sent back with its errors replaces the blank one.
    context.update(extra)
    return context


@require(can_read_requests)
def request_detail(request, number):
    supply_request = _visible_request(request.user, number)
    return render(
        request, "allocation/request_detail.html", _detail_context(request, supply_request)
    )


def _invalid_page(request, supply_request, page_errors=(), **forms_shown):
    context = _detail_context(request, supply_request, **forms_shown)
    context["page_errors"] = list(page_errors)
    return render(request, "allocation/request_detail.html", context, status=400)


def _conflict(request, supply_request, exc):
    messages.error(request, exc.message)
    return redirect("allocation:request_detail", supply_request.number)


@require_POST
@require(can_read_requests)
def request_triage_view(request, number):
    supply_request = _visible_request(request.user, number)
    if not can_triage_request(request.user, supply_request):
        raise PermissionDenied
    lines = list(
        supply_request.lines.exclude(decision=LineDecision.WITHDRAWN)
        .select_related("item")
        .order_by("pk")
    )
    form = forms.TriageForm(request.POST, lines=lines)
    page_errors = []
    if form.is_valid():
        decisions, line_ids = form.decisions()
        try:
            request_triage(
                user=request.user,
                request=supply_request,
                expected_version=form.cleaned_data["expected_version"],
                decisions=decisions,
            )
        except RequestConflict as exc:
            return _conflict(request, supply_request, exc)
        except RequestInvalid as exc:
            for error in exc.errors:
                name = (
                    f"line-{line_ids[error.row]}-{error.field}"
                    if error.row is not None and 0 <= error.row < len(line_ids)
                    else None
                )
                if name in form.fields:
                    form.add_error(name, error.message)
                else:
                    page_errors.append(error.message)
        else:
            messages.success(
                request, _("Decisions on %(number)s saved.") % {"number": supply_request.number}
            )
            return redirect("allocation:request_detail", supply_request.number)
    return _invalid_page(request, supply_request, page_errors, triage_form=form)


@require_POST
@require(can_read_requests)
def request_into_batches_view(request, number):
    supply_request = _visible_request(request.user, number)
    if not can_triage_request(request.user, supply_request):
        raise PermissionDenied
    context = _detail_context(request, supply_request)
    choices = [(line.pk, str(line.item)) for line in context["lines"] if line.left_to_batch > 0]
    form = forms.IntoBatchesForm(request.POST, line_choices=choices, user=request.user)
    page_errors = []
    if form.is_valid():
        if form.cleaned_data["expected_version"] != supply_request.version:
            return _conflict(request, supply_request, RequestConflict())
        try:
            batches = requests_into_batches(
                user=request.user,
                line_ids=form.cleaned_data["lines"],
                source_warehouse=form.cleaned_data["source_warehouse"],
                channel=form.cleaned_data["channel"],
            )
        except RequestInvalid as exc:
            for error in exc.errors:
                field = error.field if error.field in form.fields else None
                form.add_error(field, error.message)
        except AllocationError as exc:
            page_errors.append(exc.message)
        else:
            numbers = ", ".join(batch.number for batch in batches)
            messages.success(request, _("Draft batch %(numbers)s created.") % {"numbers": numbers})
            if len(batches) == 1:
                return redirect("allocation:batch_detail", batches[0].number)
            return redirect("allocation:request_detail", supply_request.number)
    return _invalid_page(request, supply_request, page_errors, batch_form=form)


@require_POST
@require(can_read_requests)
def request_withdraw_view(request, number):
    supply_request = _visible_request(request.user, number)
    if not can_withdraw_request(request.user, supply_request):
        raise PermissionDenied
    form = forms.WithdrawForm(request.POST)
    page_errors = []
    if form.is_valid():
        try:
            request_withdraw(
                user=request.user,
                request=supply_request,
                expected_version=form.cleaned_data["expected_version"],
                reason=form.cleaned_data["reason"],
            )
        except RequestConflict as exc:
            return _conflict(request, supply_request, exc)
        except RequestInvalid as exc:
            for error in exc.errors:
                if error.field in form.fields:
                    form.add_error(error.field, error.message)
                else:
                    page_errors.append(error.message)
        else:
            messages.success(
                request, _("Request %(number)s withdrawn.") % {"number": supply_request.number}
            )
            return redirect("allocation:request_detail", supply_request.number)
    return _invalid_page(request, supply_request, page_errors, withdraw_form=form)


@require_POST
@require(can_read_requests)
def request_attachment_upload(request, number):
    supply_request = _visible_request(request.user, number)
    if not can_request_for(request.user, supply_request.claimant):
        raise PermissionDenied
    form = forms.AttachForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            request_attach(
                user=request.user,
                request=supply_request,
                file=form.cleaned_data["file"],
                description=form.cleaned_data["description"],
            )
        except RequestInvalid as exc:
            for error in exc.errors:
                form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(
                request, _("Attached %(name)s.") % {"name": form.cleaned_data["file"].name}
            )
            return redirect("allocation:request_detail", supply_request.number)
    return _invalid_page(request, supply_request, attach_form=form)


@require(can_read_requests)
def request_attachment_download(request, number, pk):
    """A request's paper, to those who may see the request (never served publicly)."""
    supply_request = _visible_request(request.user, number)
    attachment = get_object_or_404(supply_request.attachments, pk=pk)
    return FileResponse(
        attachment.file.open("rb"), as_attachment=True, filename=attachment.original_name
    )
