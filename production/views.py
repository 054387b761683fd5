"""The producer register, a producer's page, the commissioner's desk, the daily production
report form and the problems commissioners clear. Views validate and call services/selectors."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from supplycoord.lib.dates import local_today, parse_iso_date
from supplycoord.lib.permissions import require
from supplycoord.selectors import earliest_entry_date

from . import forms, page_selectors
from .models import ProblemCategory, ProblemStatus
from .page_selectors import AGE_BUCKETS, ENTRY_FIELDS
from .selectors import (
    commissioner_desk,
    open_problems,
    problems_visible_to,
    producers_visible_to,
    user_can_change_producer,
)
from .services import (
    ProductionReportsInvalid,
    ProductionReportsOutOfScope,
    problem_report,
    problem_resolve,
    problem_take,
    production_reports_submit,
)


def can_read_producers(user) -> bool:
    return user.sees_whole_province or user.is_prefecture_officer or user.is_producer_reporter


def can_report_production(user) -> bool:
    # Officers read their prefecture's producers; leadership reads; neither reports.
    return user.is_office or user.is_producer_reporter


def can_read_problems(user) -> bool:
    # Officers read their prefecture's producers' problems (as on a producer's page and in
    # the API), read-only; the selectors scope every list and page.
    return user.sees_whole_province or user.is_prefecture_officer or user.is_producer_reporter


# --- Register and producer pages ----------------------------------------------------------


@require(can_read_producers)
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


@require(can_read_producers)
def producer_detail(request, pk):
    # Another prefecture's or another reporter's producer answers 404, as if it did not exist.
    producer = get_object_or_404(
        producers_visible_to(request.user).select_related("held_reserve_warehouse"), pk=pk
    )
    page = page_selectors.producer_page(request.user, producer, today=local_today())
    return render(request, "production/producer_detail.html", {"page": page, "producer": producer})


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
        return page_selectors.producers_changeable_by(request.user).first()
    pk = _pk(producer_id)
    if pk is None:
        raise PermissionDenied
    producer = get_object_or_404(producers_visible_to(request.user), pk=pk)
    if not producer.active or not user_can_change_producer(request.user, producer):
        raise PermissionDenied
    return producer


def _entry_date(request, source, *, today, first_allowed):
    """A posted date goes to the service as it is (it reports errors); an unusable ?date= on
    GET opens today's form with a message."""
    raw = source.get("date", "").strip()
    date = parse_iso_date(raw)
    if request.method == "POST" or not raw:
        return date or today
    if date is None or not first_allowed <= date <= today:
        messages.warning(
            request,
            _("Reports can be entered for %(first)s to %(today)s; opened today's form instead.")
            % {"first": first_allowed.isoformat(), "today": today.isoformat()},
        )
        return today
    return date


def _entry_url(producer, date):
    query = urlencode({"producer": producer.pk, "date": date.isoformat()})
    return f"{reverse('production:report_entry')}?{query}"


@require(can_report_production)
def report_entry(request):
    """生产日报: one row per item the producer has a line for, all saved together or none."""
    source = request.POST if request.method == "POST" else request.GET
    producer = _entry_producer(request, source)
    today = local_today()
    first_allowed = earliest_entry_date(request.user, today=today)
    date = _entry_date(request, source, today=today, first_allowed=first_allowed)
    rows = page_selectors.report_entry_rows(producer, date=date) if producer else []
    reason = source.get("reason", "").strip()
    page_errors = []

    if request.method == "POST":
        submitted = []
        for row in rows:
            values = {
                field: request.POST.get(f"{row.item.code}-{field}", "").strip()
                for field in ENTRY_FIELDS
            }
            row.values = values
            submitted.append(
                {
                    "producer": producer,
                    "item": row.item,
                    "date": source.get("date", ""),
                    **values,
                }
            )
        try:
            result = production_reports_submit(user=request.user, rows=submitted, reason=reason)
        except ProductionReportsOutOfScope as exc:
            raise PermissionDenied from exc
        except ProductionReportsInvalid as exc:
            for error in exc.errors:
                if error.row is None or error.field not in ENTRY_FIELDS:
                    if error.message not in page_errors:
                        page_errors.append(error.message)
                else:
                    rows[error.row].errors[error.field] = error.message
        else:
            messages.success(
                request,
                _(
                    "Saved the production report of %(producer)s for %(date)s: %(created)d new, %(updated)d corrected, %(unchanged)d unchanged."
                )
                % {
                    "producer": producer.name,
                    "date": date.isoformat(),
                    "created": result.created,
                    "updated": result.updated,
                    "unchanged": result.unchanged,
                },
            )
            return redirect(_entry_url(producer, date))

    return render(
        request,
        "production/report_entry.html",
        {
            "producer": producer,
            "producers": page_selectors.producers_changeable_by(request.user),
            "date": date,
            "today": today,
            "min_date": first_allowed,
            "rows": rows,
            "reason": reason,
            "page_errors": page_errors,
            "has_errors": bool(page_errors) or any(r.errors for r in rows),
            "is_past": date < today,
            "already_entered": any(r.existing for r in rows),
        },
    )


# --- Problems -----------------------------------------------------------------------------


@require(can_read_problems)
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
            and page_selectors.producers_changeable_by(request.user).exists(),
            "today": today,
        },
    )


@require(can_report_production)
def problem_new(request):
    producers = page_selectors.producers_changeable_by(request.user)
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


@require(can_read_problems)
def problem_detail(request, pk):
    problem = get_object_or_404(problems_visible_to(request.user), pk=pk)
    can_change = user_can_change_producer(request.user, problem.producer)
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
