"""Pages of requests from below (issue 15) around the request list: the Excel import, the
emergency demand list export, the fill rates. The request list, detail and form pages are in
the request views; these only validate and call the services and selectors."""

import datetime as dt
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from supplycoord.lib.dates import local_today, validate_filter_date
from supplycoord.lib.xlsx_import import XLSX_CONTENT_TYPE, ImportInvalid, ImportRefused
from supplycoord.models import Item
from supplycoord.permissions import (
    can_read_requests,
    can_submit_requests,
    require,
    scope_claimants,
    sees_whole_province,
)
from supplycoord.views_exports import export_response

from . import request_imports
from .models import Destination
from .request_exports import EmergencyDemandListExport
from .request_selectors import fill_rates

FILL_RATE_DEFAULT_DAYS = 30


# --- The emergency demand list ----------------------------------------------------------------


@require_GET
@require(can_read_requests)
def emergency_list_export(request, fmt):
    """The open lines of emergency requests the reader may see (`?urgency=urgent` adds the
    urgent ones): CSV streamed, xlsx print-ready. An unknown filter is a 400."""
    exporter = EmergencyDemandListExport(request.user, request.GET, today=local_today())
    return export_response(exporter, fmt, user=request.user)


# --- Fill rates -------------------------------------------------------------------------------


class FillRateForm(forms.Form):
    start = forms.DateField(
        label=gettext_lazy("From"),
        required=False,
        validators=[validate_filter_date],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end = forms.DateField(
        label=gettext_lazy("To"),
        required=False,
        validators=[validate_filter_date],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    claimant = forms.ModelChoiceField(
        label=gettext_lazy("Claimant"), queryset=Destination.objects.none(), required=False
    )
    item = forms.ModelChoiceField(
        label=gettext_lazy("Item"),
        queryset=Item.objects.filter(active=True).order_by("sort_order", "code"),
        required=False,
        to_field_name="code",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # The province reads every claimant; others those they request for.
        claimants = Destination.objects.order_by("kind", "name_zh")
        if not sees_whole_province(user):
            claimants = scope_claimants(user, claimants)
        self.fields["claimant"].queryset = claimants

    def clean(self):
        data = super().clean()
        end = data.get("end") or local_today()
        start = data.get("start") or end - dt.timedelta(days=FILL_RATE_DEFAULT_DAYS - 1)
        if start > end:
            self.add_error("start", _("The first date is after the last."))
        data["start"], data["end"] = start, end
        return data


def hours_text(hours) -> str:
    """A median time to fill: hours below two days, else days (1 decimal)."""
    if hours is None:
        return "—"
    if hours < 48:
        return _("%(hours)s h") % {"hours": hours}
    return _("%(days)s d") % {"days": (hours / 24).quantize(Decimal("0.1"))}


@require_GET
@require(can_read_requests)
def fill_rate_page(request):
    """Per claimant and item over a period (default the last 30 days up to today): lines,
    asked, accepted, dispatched, fill rate and the median time to fill. Scoped to the reader.
    Constant queries whatever the number of rows."""
    form = FillRateForm(request.GET or None, user=request.user)
    rows, period = [], None
    if not request.GET or form.is_valid():
        if not request.GET:
            end = local_today()
            data = {"start": end - dt.timedelta(days=FILL_RATE_DEFAULT_DAYS - 1), "end": end}
        else:
            data = form.cleaned_data
        period = (data["start"], data["end"])
        rows = fill_rates(
            request.user,
            start=data["start"],
            end=data["end"],
            claimant=data.get("claimant"),
            item=data.get("item"),
        )
        for row in rows:
            row.fill_percent = None if row.fill_rate is None else (row.fill_rate * 100)
            row.time_to_fill = hours_text(row.median_hours_to_fill)
    return render(
        request,
        "allocation/request_fill_rates.html",
        {
            "form": form,
            "rows": rows,
            "period": period,
            "can_import": can_submit_requests(request.user),
        },
        status=200 if not form.errors else 400,
    )


# --- The Excel import -------------------------------------------------------------------------


@require(can_submit_requests)
def import_template(request):
    response = HttpResponse(request_imports.requests_template(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(
        True, f"{request_imports.TITLE}.xlsx"
    )
    return response


@require(can_submit_requests)
def import_page(request):
    """Step 1: the template; step 2: upload it filled in. Every request or none; the
    problems by sheet, row and column."""
    refusal, problems, status = "", [], 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            refusal, status = _("Choose the Excel file to upload."), 400
        else:
            try:
                result = request_imports.requests_import_file(upload, user=request.user)
            except ImportRefused as exc:
                refusal, status = exc.message, 400
            except ImportInvalid as exc:
                problems, status = exc.problems, 400
            except PermissionDenied as exc:
                refusal, status = str(exc), 403
            else:
                messages.success(
                    request,
                    _("%(count)s requests submitted: %(numbers)s.")
                    % {
                        "count": len(result.submitted),
                        "numbers": "、".join(r.number for r in result.submitted),
                    },
                )
                return redirect("allocation:request_import")
    claimants = scope_claimants(request.user, Destination.objects.filter(active=True))
    return render(
        request,
        "allocation/request_import.html",
        {
            "refusal": refusal,
            "problems": problems,
            "claimants": claimants.exclude(code__isnull=True).order_by("kind", "code")[:200],
            "max_bytes": settings.SUPPLYCOORD["IMPORT_MAX_BYTES"],
        },
        status=status,
    )
