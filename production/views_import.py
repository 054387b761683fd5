"""Excel import of daily production reports: the template download and the upload page."""

from supplycoord.bulk import import_page, import_template_response
from supplycoord.permissions import can_report_production, producers_reportable_by, require

from . import imports


@require(can_report_production)
def report_import_template(request):
    """The .xlsx template of the caller's producers, dated ?date= (default today)."""
    return import_template_response(imports.REPORT_IMPORT, request)


@require(can_report_production)
def report_import(request):
    """Upload a filled template: every problem listed at once, nothing saved until none is left."""
    return import_page(
        imports.REPORT_IMPORT,
        request,
        template="production/report_import.html",
        template_download="production:report_import_template",
        redirect_to="production:report_import",
        context={
            # The office reports for every producer; a reporter sees which are theirs.
            "producers": None
            if request.user.is_office
            else producers_reportable_by(request.user).order_by("name"),
        },
    )
