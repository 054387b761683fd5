"""Pages of the distribution enterprises (医药流通企业): the register, an enterprise's page
(its last 14 or 30 days and the corrections), the daily report form, its Excel import and the
province rollup with completeness. Views validate and call the distribution services and
selectors; rows are scoped by supplycoord.permissions."""

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from supplycoord.bulk import (
    entry_date,
    entry_grid_page,
    entry_grid_post,
    import_page,
    import_template_response,
)
from supplycoord.lib.dates import local_today
from supplycoord.lib.text import ascii_whole_number
from supplycoord.permissions import (
    can_change_distribution_register,
    can_read_distribution,
    can_read_distribution_rollup,
    can_report_distribution,
    can_report_for_distribution_enterprise,
    distribution_enterprises_reportable_by,
    require,
)

from . import distribution_forms as forms
from . import distribution_imports as imports
from . import distribution_selectors as selectors
from .distribution_services import (
    DISTRIBUTION_REPORTS,
    distribution_enterprise_create,
    distribution_enterprise_update,
)
from .models import DistributionEnterprise
from .views import PAGE_SIZE, _query_without_page

# --- The register and an enterprise's page -------------------------------------------------------


@require(can_read_distribution)
def enterprise_list(request):
    """The enterprises the user sees, PAGE_SIZE a page, with today's reporting state of
    each enterprise of the page."""
    today = local_today()
    query = request.GET.get("q", "").strip()[:64]
    page = Paginator(selectors.enterprise_register(request.user, query=query), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    enterprises = selectors.with_item_counts(page.object_list)
    completeness = selectors.distribution_completeness(
        today,
        enterprises=DistributionEnterprise.objects.filter(pk__in=[e.pk for e in enterprises]),
    )
    states = {row.enterprise.pk: row for row in completeness.rows}
    for enterprise in enterprises:
        enterprise.today = states.get(enterprise.pk)
    return render(
        request,
        "procurement/distribution_list.html",
        {
            "enterprises": enterprises,
            "page_obj": page,
            "page_query": _query_without_page(request),
            "q": query,
            "today": today,
            "can_change": can_change_distribution_register(request.user),
            "can_report": can_report_distribution(request.user),
            "can_read_rollup": can_read_distribution_rollup(request.user),
        },
    )


@require(can_read_distribution)
def enterprise_detail(request, pk):
    # Another reporter's or another prefecture's enterprise answers 404, as if absent.
    enterprise = get_object_or_404(
        selectors.enterprises_visible_to(request.user).select_related("prefecture"), pk=pk
    )
    today = local_today()
    window = forms.EnterprisePageForm(request.GET)
    end, days = today, 14
    if window.is_valid():
        end = window.cleaned_data["end"] or today
        days = window.cleaned_data["days"] or 14
    histories = selectors.enterprise_reports(enterprise, end=end, days=days)
    return render(
        request,
        "procurement/distribution_detail.html",
        {
            "enterprise": enterprise,
            "reporters": list(enterprise.reporters.order_by("username")),
            "window": window,
            "end": end,
            "days": days,
            "dates": [end - dt.timedelta(days=n) for n in range(days)],
            "histories": histories,
            "corrections": selectors.enterprise_corrections(enterprise, end=end, days=days),
            "can_change": can_change_distribution_register(request.user),
            "can_report": enterprise.active
            and can_report_for_distribution_enterprise(request.user, enterprise),
        },
        status=200 if window.is_valid() else 400,
    )


@require(can_change_distribution_register)
def enterprise_form(request, pk=None):
    enterprise = get_object_or_404(DistributionEnterprise, pk=pk) if pk is not None else None
    if request.method == "POST":
        form = forms.DistributionEnterpriseForm(request.POST)
        if form.is_valid():
            values = dict(form.cleaned_data)
            values["items"] = list(values["items"])
            values["reporters"] = list(values["reporters"])
            try:
                if enterprise is None:
                    saved = distribution_enterprise_create(user=request.user, **values)
                else:
                    saved = distribution_enterprise_update(
                        user=request.user, enterprise=enterprise, **values
                    )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(
                    request, _("Distribution enterprise %(name)s saved.") % {"name": saved.name}
                )
                return redirect("procurement:distribution_detail", saved.pk)
        status = 400
    else:
        status = 200
        initial = {"active": True}
        if enterprise is not None:
            initial = {
                "name": enterprise.name,
                "credit_code": enterprise.credit_code,
                "prefecture": enterprise.prefecture,
                "contact": enterprise.contact,
                "phone": enterprise.phone,
                "items": list(enterprise.items.all()),
                "reporters": list(enterprise.reporters.all()),
                "note": enterprise.note,
                "active": enterprise.active,
            }
        form = forms.DistributionEnterpriseForm(initial=initial)
    return render(
        request,
        "procurement/distribution_form.html",
        {"form": form, "enterprise": enterprise},
        status=status,
    )


# --- The province rollup ------------------------------------------------------------------------


@require(can_read_distribution_rollup)
def distribution_rollup(request):
    """Per item, the four figures summed over the enterprises reporting for the date, and each
    enterprise's reporting state (on time / late / missing) with the rate."""
    today = local_today()
    picker = forms.DistributionDateForm(request.GET)
    day = today
    if picker.is_valid() and picker.cleaned_data["date"]:
        day = picker.cleaned_data["date"]
    completeness = selectors.distribution_completeness(day)
    return render(
        request,
        "procurement/distribution_rollup.html",
        {
            "picker": picker,
            "date": day,
            "today": today,
            "rows": selectors.distribution_rollup(day),
            "completeness": completeness,
        },
        status=200 if picker.is_valid() else 400,
    )


# --- The daily report form ----------------------------------------------------------------------


def _entry_enterprise(request, source):
    raw = source.get("enterprise", "").strip()
    if not raw:
        if request.method == "POST":
            raise PermissionDenied  # a save must say for which enterprise
        return distribution_enterprises_reportable_by(request.user).first()
    pk = ascii_whole_number(raw)
    if pk is None:
        raise PermissionDenied
    enterprise = get_object_or_404(selectors.enterprises_visible_to(request.user), pk=pk)
    if not enterprise.active or not can_report_for_distribution_enterprise(
        request.user, enterprise
    ):
        raise PermissionDenied
    return enterprise


def _entry_url(enterprise, date):
    query = urlencode({"enterprise": enterprise.pk, "date": date.isoformat()})
    return f"{reverse('procurement:distribution_report')}?{query}"


@require(can_report_distribution)
def report_entry(request):
    """流通企业日报: one row per item the enterprise reports, all saved together or none."""
    source = request.POST if request.method == "POST" else request.GET
    enterprise = _entry_enterprise(request, source)
    date, today, first_allowed = entry_date(
        request,
        source,
        refused_message=_(
            "Reports can be entered for %(first)s to %(today)s; opened today's form instead."
        ),
    )
    rows = selectors.report_entry_rows(enterprise, date=date) if enterprise else []
    for row in rows:
        row.reference = [
            (f"{row.item.code} {row.item.name}", row.item.specification, False),
            (row.item.get_unit_display(), "", False),
        ]
    reason = source.get("reason", "").strip()
    page_errors = []
    if request.method == "POST":
        response, page_errors = entry_grid_post(
            DISTRIBUTION_REPORTS,
            request,
            owner=enterprise,
            rows=rows,
            date=date,
            reason=reason,
            saved=_(
                "Saved the report of %(enterprise)s for %(date)s: %(created)s new, "
                "%(updated)s corrected, %(unchanged)s unchanged."
            ),
            next_url=_entry_url(enterprise, date),
        )
        if response is not None:
            return response
    response = entry_grid_page(
        DISTRIBUTION_REPORTS,
        request,
        template="procurement/distribution_report.html",
        context={
            "enterprise": enterprise,
            "enterprises": distribution_enterprises_reportable_by(request.user),
        },
        rows=rows,
        date=date,
        today=today,
        first_allowed=first_allowed,
        form_id="distribution-report-form",
        reference_headers=[_("Item"), _("Unit")],
        hidden=[("enterprise", enterprise.pk if enterprise else ""), ("date", date.isoformat())],
        reason=reason,
        page_errors=page_errors,
        empty_message=_("This enterprise has no items to report."),
        save_label=_("Save the report"),
    )
    if page_errors or any(row.errors for row in rows):
        response.status_code = 400
    return response


# --- Excel import ---------------------------------------------------------------------------------


@require(can_report_distribution)
def report_import_template(request):
    """The .xlsx template of the caller's enterprises, dated ?date= (default today)."""
    return import_template_response(imports.DISTRIBUTION_IMPORT, request)


@require(can_report_distribution)
def report_import(request):
    """Upload a filled template: every problem listed at once, nothing saved until none is left."""
    return import_page(
        imports.DISTRIBUTION_IMPORT,
        request,
        template="procurement/distribution_import.html",
        template_download="procurement:distribution_import_template",
        redirect_to="procurement:distribution_import",
        context={
            "enterprises": None
            if request.user.is_office
            else distribution_enterprises_reportable_by(request.user),
        },
    )
