"""The production exports (the dashboard page is in reports: reports/views_production.py)."""

from django.views.decorators.http import require_GET

from supplycoord.lib.dates import local_today
from supplycoord.permissions import can_read_production, require
from supplycoord.views_exports import export_response

from . import exports


@require_GET
@require(can_read_production)
def producers_export(request, fmt):
    """The producer register of the producers the user sees."""
    export = exports.ProducerRegister(request.user, today=local_today())
    return export_response(export, fmt, user=request.user)


@require_GET
@require(can_read_production)
def reports_export(request, fmt):
    """The daily production ledger of the producers the user sees, with ?date_from,
    ?date_to and ?item (a code); an unreadable filter is a 400 saying which."""
    ledger = exports.ProductionLedger(request.user, request.GET, today=local_today())
    return export_response(ledger, fmt, user=request.user)
