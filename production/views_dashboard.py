"""The production dashboard (province-wide readers) and the production exports."""

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from supplycoord.lib.dates import earliest_date, is_reportable, local_today, parse_iso_date
from supplycoord.lib.permissions import require, sees_whole_province

from . import exports
from .dashboard import production_dashboard
from .selectors import latest_report_date

EXPORT_FORMATS = ("xlsx", "csv")


def can_export_production(user) -> bool:
    """Everyone with producers in scope: the whole province, an officer's prefecture, a
    reporter's own producers (the rows are scoped by the selectors, not here)."""
    return user.sees_whole_province or user.is_prefecture_officer or user.is_producer_reporter


def _requested_date(request):
    """The ?date= asked for, else the latest day with production reports up to today (today
    while nothing is reported): a date that cannot be read or lies outside [earliest date,
    today] shows that default, with a message saying so."""
    today = latest_report_date(on_or_before=local_today()) or local_today()
    raw = request.GET.get("date", "").strip()
    if not raw:
        return today
    asked = parse_iso_date(raw)
    if asked is not None and is_reportable(asked):
        return asked
    messages.warning(
        request,
        _("%(date)s is not a date between %(earliest)s and today; showing %(shown)s instead.")
        % {"date": raw[:20], "earliest": earliest_date().isoformat(), "shown": today.isoformat()},
    )
    return today


@require_GET
@require(sees_whole_province)
def dashboard(request):
    date = _requested_date(request)
    data = production_dashboard(date=date, item_code=request.GET.get("item"))
    return render(
        request,
        "production/dashboard.html",
        {
            "data": data,
            "date": date,
            "today": local_today(),
            "earliest": earliest_date(),
            "picker_extra": {"item": data.item.code} if data.item else {},
            "licence_warning_days": settings.SUPPLYCOORD["LICENCE_WARNING_DAYS"],
            "utilisation_days": settings.SUPPLYCOORD["UTILISATION_FLAG_DAYS"],
            "utilisation_percent": round(100 * settings.SUPPLYCOORD["UTILISATION_FLAG_BELOW"]),
            "chart_labels": {
                "capacity": _("Commissioned capacity"),
                "output": _("Output"),
                "consumption": _("Province consumption"),
                "share": _("Back in production (%)"),
            },
        },
    )


def _export_response(export, fmt):
    filename = export.filename(fmt)
    if fmt == "xlsx":
        return FileResponse(
            exports.xlsx_file(export),
            as_attachment=True,
            filename=filename,
            content_type=exports.XLSX_CONTENT_TYPE,
        )
    response = StreamingHttpResponse(
        exports.csv_lines(export), content_type="text/csv; charset=utf-8"
    )
    # RFC 6266 with a UTF-8 filename*: the name is Chinese in the Chinese UI.
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


@require_GET
@require(can_export_production)
def producers_export(request, fmt):
    """The producer register of the producers the user sees."""
    if fmt not in EXPORT_FORMATS:
        raise Http404
    return _export_response(exports.ProducerRegister(request.user, today=local_today()), fmt)


@require_GET
@require(can_export_production)
def reports_export(request, fmt):
    """The daily production ledger of the producers the user sees, with ?date_from,
    ?date_to and ?item (a code); an unreadable filter is a 400 saying which."""
    if fmt not in EXPORT_FORMATS:
        raise Http404
    ledger = exports.ProductionLedger(request.user, request.GET, today=local_today())
    if not ledger.valid:
        return HttpResponseBadRequest(ledger.error_text(), content_type="text/plain; charset=utf-8")
    return _export_response(ledger, fmt)
