"""Excel import of daily production reports: the template download and the upload page."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from supplycoord.lib.dates import local_today, parse_iso_date
from supplycoord.lib.permissions import require
from supplycoord.selectors import earliest_entry_date

from . import imports


def can_import_reports(user) -> bool:
    """Office staff and producer reporters; officers and leadership only read reports."""
    return user.is_office or user.is_producer_reporter


@require(can_import_reports)
def report_import_template(request):
    """The .xlsx template of the caller's producers, dated ?date= (default today)."""
    today = local_today()
    date = parse_iso_date(request.GET.get("date", ""))
    if date is None or not earliest_entry_date(request.user, today=today) <= date <= today:
        date = today
    response = HttpResponse(
        imports.report_import_template(user=request.user, date=date),
        content_type=imports.XLSX_CONTENT_TYPE,
    )
    filename = imports.report_import_template_filename(date=date)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


@require(can_import_reports)
def report_import(request):
    """Upload a filled template: every problem listed at once, nothing saved until none is left."""
    problems, refusal = [], ""
    reason = request.POST.get("reason", "").strip()
    if request.method == "POST":
        try:
            upload = request.FILES.get("file")
            if upload is None:
                raise imports.ReportImportRefused(_("Choose the Excel file to upload."))
            result = imports.report_import_submit(upload, user=request.user, reason=reason)
        except imports.ReportImportRefused as exc:
            refusal = exc.message
        except imports.ReportImportInvalid as exc:
            problems = exc.problems
        else:
            messages.success(
                request,
                _(
                    "Imported %(rows)d production reports: %(created)d new, %(updated)d "
                    "corrected, %(unchanged)d unchanged; %(skipped)d rows without figures "
                    "skipped."
                )
                % {
                    "rows": result.rows,
                    "created": result.submitted.created,
                    "updated": result.submitted.updated,
                    "unchanged": result.submitted.unchanged,
                    "skipped": result.skipped,
                },
            )
            return redirect("production:report_import")
    today = local_today()
    return render(
        request,
        "production/report_import.html",
        {
            # The office reports for every producer; a reporter sees which are theirs.
            "producers": None
            if request.user.is_office
            else imports.producers_to_report_for(request.user).order_by("name"),
            "today": today,
            "min_date": earliest_entry_date(request.user, today=today),
            "max_bytes": settings.SUPPLYCOORD["IMPORT_MAX_BYTES"],
            "reason": reason,
            "refusal": refusal,
            "problems": problems,
            "needs_reason": any(p.field == "reason" for p in problems),
        },
        # A refused file is a refused request: nothing was saved.
        status=400 if refusal or problems else 200,
    )
