"""The producer register, a producer's page, the commissioner's desk, the daily production
report form and the problems commissioners clear. Views validate and call services/selectors."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from supplycoord.bulk import entry_date, entry_grid_page, entry_grid_post
from supplycoord.lib.dates import local_today
from supplycoord.permissions import (
    can_change_producer_register,
    can_read_production,
    can_report_for_producer,
    can_report_production,
    producers_reportable_by,
    require,
)

from . import forms, page_selectors
from .models import ProblemCategory, ProblemStatus
from .page_selectors import AGE_BUCKETS
from .selectors import (
    commissioner_desk,
    open_problems,
    problems_visible_to,
    producers_visible_to,
)
from .services import (
    PRODUCTION_REPORTS,
    problem_report,
    problem_resolve,
    problem_take,
    producer_set_held_reserve_warehouse,
)

# --- Register and producer pages ----------------------------------------------------------


@require(can_read_production)
def producer_list(request):
    """The register: every producer the user sees, with capacity, licences and problems."""
    filters = forms.ProducerFilterForm(request.GET)
    producers = page_selectors.producer_register(
        request.user, today=local_today(), **filters.filters()
    )
    return render(
        request,
        "production/producer_list.html",
        {"producers": producers, "filters": filters},
    )


@require(can_read_production)
def producer_detail(request, pk):
    # Another prefecture's or another reporter's producer answers 404, as if it did not exist.
    producer = get_object_or_404(
        producers_visible_to(request.user).select_related("held_reserve_warehouse"), pk=pk
    )
    return _producer_detail_page(request, producer)


def _producer_detail_page(request, producer, *, held_form=None, status=200):
    page = page_selectors.producer_page(request.user, producer, today=local_today())
    if held_form is None and can_change_producer_register(request.user):
        held_form = forms.HeldReserveWarehouseForm(producer=producer)
    return render(
        request,
        "production/producer_detail.html",
        {"page": page, "producer": producer, "held_form": held_form},
        status=status,
    )


@require_POST
@require(can_change_producer_register)
def producer_held_reserve_set(request, pk):
    """The office names the producer's held-reserve warehouse (代储库) from its page."""
    producer = get_object_or_404(
        producers_visible_to(request.user).select_related("held_reserve_warehouse"), pk=pk
    )
    form = forms.HeldReserveWarehouseForm(request.POST, producer=producer)
    if form.is_valid():
        try:
            producer_set_held_reserve_warehouse(
                user=request.user,
                producer=producer,
                warehouse=form.cleaned_data["warehouse"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error("warehouse" if field == "held_reserve_warehouse" else field, errors)
        else:
            messages.success(request, _("Held-reserve warehouse saved."))
            return redirect("production:producer_detail", pk=producer.pk)
    return _producer_detail_page(request, producer, held_form=form, status=400)


@require(can_report_production)
def commissioner(request):
    """驻企特派员: their producers, today's reports (missing first) and the open problems."""
    today = local_today()
    desk = commissioner_desk(request.user, today=today)
    page_selectors.with_ages(desk.open_problems, today=today)
    return render(request, "production/commissioner.html", {"desk": desk, "today": today})


# --- The daily production report form -----------------------------------------------------


def _pk(raw: str) -> int | None:
    """A primary key typed in a URL: ASCII digits only. str.isdigit() also says yes to "²"
    and "１", which int() then refuses or reads as another producer's key."""
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        return None
    return int(raw)


def _entry_producer(request, source):
    producer_id = source.get("producer", "").strip()
    if not producer_id:
        if request.method == "POST":
            raise PermissionDenied  # a save must say for which producer
        return producers_reportable_by(request.user).first()
    pk = _pk(producer_id)
    if pk is None:
        raise PermissionDenied
    producer = get_object_or_404(producers_visible_to(request.user), pk=pk)
    if not producer.active or not can_report_for_producer(request.user, producer):
        raise PermissionDenied
    return producer


def _entry_url(producer, date):
    query = urlencode({"producer": producer.pk, "date": date.isoformat()})
    return f"{reverse('production:report_entry')}?{query}"


@require(can_report_production)
def report_entry(request):
    """生产日报: one row per item the producer has a line for, all saved together or none."""
    source = request.POST if request.method == "POST" else request.GET
    producer = _entry_producer(request, source)
    date, today, first_allowed = entry_date(
        request,
        source,
        refused_message=_(
            "Reports can be entered for %(first)s to %(today)s; opened today's form instead."
        ),
    )
    rows = page_selectors.report_entry_rows(producer, date=date) if producer else []
    for row in rows:
        row.reference = [
            (f"{row.item.code} {row.item.name}", "", False),
            (row.item.get_unit_display(), "", False),
        ]
    reason = source.get("reason", "").strip()
    page_errors = []

    if request.method == "POST":
        response, page_errors = entry_grid_post(
            PRODUCTION_REPORTS,
            request,
            owner=producer,
            rows=rows,
            date=date,
            reason=reason,
            saved=_(
                "Saved the production report of %(producer)s for %(date)s: %(created)s new, %(updated)s corrected, %(unchanged)s unchanged."
            ),
            next_url=_entry_url(producer, date),
        )
        if response is not None:
            return response

    return entry_grid_page(
        PRODUCTION_REPORTS,
        request,
        template="production/report_entry.html",
        context={"producer": producer, "producers": producers_reportable_by(request.user)},
        rows=rows,
        date=date,
        today=today,
        first_allowed=first_allowed,
        form_id="report-entry-form",
        reference_headers=[_("Item"), _("Unit")],
        hidden=[("producer", producer.pk if producer else ""), ("date", date.isoformat())],
        reason=reason,
        page_errors=page_errors,
        empty_message=_("This producer has no production lines yet."),
        save_label=_("Save the report"),
    )


# --- Problems -----------------------------------------------------------------------------


@require(can_read_production)
def problem_list(request):
    """Problems oldest first, filtered by category and status, with a count by age."""
    today = local_today()
    filters = forms.ProblemFilterForm(request.GET)
    chosen = filters.filters()
    visible = problems_visible_to(request.user)
    unresolved = list(open_problems(visible))
    if chosen["status"] == forms.UNRESOLVED:
        problems = [p for p in unresolved if chosen["category"] in (None, p.category)]
    else:
        shown = visible.order_by("reported_at", "pk")
        if chosen["status"] != "all":
            shown = shown.filter(status=chosen["status"])
        if chosen["category"]:
            shown = shown.filter(category=chosen["category"])
        problems = list(shown)
    page_selectors.with_ages(problems, today=today)
    return render(
        request,
        "production/problem_list.html",
        {
            "problems": problems,
            "filters": filters,
            "summary": page_selectors.problem_age_summary(unresolved, today=today),
            "buckets": AGE_BUCKETS,
            "unresolved_count": len(unresolved),
            "can_report": can_report_production(request.user)
            and producers_reportable_by(request.user).exists(),
            "today": today,
        },
    )


@require(can_report_production)
def problem_new(request):
    producers = producers_reportable_by(request.user)
    initial = {}
    producer_pk = _pk(request.GET.get("producer", ""))
    if producer_pk is not None:
        initial["producer"] = producers.filter(pk=producer_pk).first()
    if request.GET.get("category") in ProblemCategory.values:
        initial["category"] = request.GET["category"]
    form = forms.ProblemForm(request.POST or None, producers=producers, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            problem = problem_report(
                user=request.user,
                producer=form.cleaned_data["producer"],
                category=form.cleaned_data["category"],
                description=form.cleaned_data["description"],
            )
        except ValidationError as exc:
            forms.add_service_errors(form, exc)
        else:
            messages.success(request, _("The problem was recorded."))
            return redirect("production:problem_detail", pk=problem.pk)
    return render(request, "production/problem_form.html", {"form": form})


@require(can_read_production)
def problem_detail(request, pk):
    problem = get_object_or_404(problems_visible_to(request.user), pk=pk)
    can_change = can_report_for_producer(request.user, problem.producer)
    resolve_form = forms.ProblemResolveForm()
    action_errors = []
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        action = request.POST.get("action")
        try:
            if action == "take":
                problem_take(user=request.user, problem=problem)
                messages.success(request, _("You have taken this problem in hand."))
                return redirect("production:problem_detail", pk=problem.pk)
            if action == "resolve":
                resolve_form = forms.ProblemResolveForm(request.POST)
                if resolve_form.is_valid():
                    problem_resolve(
                        user=request.user,
                        problem=problem,
                        resolution=resolve_form.cleaned_data["resolution"],
                    )
                    messages.success(request, _("The problem is resolved."))
                    return redirect("production:problem_detail", pk=problem.pk)
            else:
                action_errors.append(_("Choose an action."))
        except ValidationError as exc:
            if action == "resolve":
                forms.add_service_errors(resolve_form, exc)
            else:
                action_errors.extend(exc.messages)
    return render(
        request,
        "production/problem_detail.html",
        {
            "problem": problem,
            "age": problem.age_days(local_today()),
            "history": page_selectors.problem_history(problem),
            "can_change": can_change,
            "can_take": can_change and problem.status == ProblemStatus.OPEN,
            "can_resolve": can_change and problem.status != ProblemStatus.RESOLVED,
            "resolve_form": resolve_form,
            "action_errors": action_errors,
        },
        status=400 if action_errors or resolve_form.errors else 200,
    )
