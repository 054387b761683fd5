"""Excel import of daily production reports (生产日报导入): the declaration of its template
and reading.

Reporters and commissioners live in Excel, like the prefecture officers whose daily figures
import this shares its engine with (supplycoord.lib.xlsx_import.EntryImport). They download
a template of their producers, fill in the day's figures and upload it; the rows go through
the one pipeline (production.services.PRODUCTION_REPORTS) the entry form and the API use
too, and every problem comes back at once, at the sheet, row and column where the reporter
fixes it.

What is the production reports' own: each row has its date (prefilled) and its reason for a
correction in columns; the template lists every item a producer has a production line for;
a second sheet explains every column.
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from supplycoord.lib.xlsx_import import (
    XLSX_CONTENT_TYPE,
    EntryImport,
    ImportInvalid,
    ImportProblem,
    ImportRefused,
    ImportResult,
    TemplateRow,
)
from supplycoord.models import Item
from supplycoord.permissions import producers_reportable_by

from .models import ProductionLine, ProductionReport
from .services import PRODUCTION_REPORTS

__all__ = [
    "REPORT_IMPORT",
    "XLSX_CONTENT_TYPE",
    "ImportProblem",
    "ReportImportInvalid",
    "ReportImportRefused",
    "ReportImportResult",
    "report_import_submit",
    "report_import_template",
    "report_import_template_filename",
]

# The engine's, under the names the pages and tests know.
ReportImportInvalid, ReportImportRefused, ReportImportResult = (
    ImportInvalid,
    ImportRefused,
    ImportResult,
)


class ProductionReportsImport(EntryImport):
    kind = PRODUCTION_REPORTS
    title = gettext_lazy("Production reports")
    owner_width, owner_name_width = 22, 24

    def messages(self):
        return {
            **super().messages(),
            "missing_header": _(
                "No sheet has the template's header row (credit code, item code, date and "
                "the figures). Download the template and fill it in."
            ),
            "not_yours": _(
                "You do not report for the producer %(code)s: you may only import the reports "
                "of your own producers."
            ),
            "duplicate": _(
                "Duplicate row: the same producer, item and date as row %(row)s of sheet "
                "“%(sheet)s”."
            ),
            "nothing": _("The file holds no reports: every row's figures are empty."),
            "out_of_scope": _("You may not import reports for this producer."),
            "imported": _(
                "Imported %(rows)s production reports: %(created)s new, %(updated)s "
                "corrected, %(unchanged)s unchanged; %(skipped)s rows without figures "
                "skipped."
            ),
        }

    def heading(self, owner):
        return _("Daily production reports")

    def scope_name(self, owner):
        return None  # the caller's producers

    def hint(self):
        return _(
            "Fill in the white cells with whole numbers of 0 or more; grey cells are for "
            "reference. See the instructions sheet."
        )

    def instructions(self):
        return [
            _("How to fill in the production reports"),
            "",
            _(
                "One row per producer, item and date. Keep the unified social credit code and "
                "the item code as they are: grey cells are for reference only."
            ),
            _(
                "Date: the day the figures are for (YYYY-MM-DD), prefilled with the day of the "
                "download. Change it to report another day; a date cannot be in the future."
            ),
            _(
                "Enter whole numbers of 0 or more, in the item's unit. Output and the stock at "
                "the factory are required; the other figures count as 0 when left empty, and "
                "the days of raw materials on hand may be left empty."
            ),
            _(
                "What is delivered into the province's held reserve is booked into the "
                "producer's held-reserve warehouse; what is held for the province cannot "
                "exceed the stock at the factory."
            ),
            _(
                "Rows whose figures are all empty are skipped. A row for a day already reported "
                "corrects it; correcting a past day needs a reason, in the row's reason column "
                "or on the upload page."
            ),
            _(
                "The whole file is checked before anything is saved: if any row has a problem, "
                "nothing is saved and every problem is listed with its row and column. Formulas "
                "and macros are refused."
            ),
        ]

    def template_rows(self, *, user, date, owner):
        """Every line item of the producers `user` reports for, in register order, with the
        figures already reported for `date`."""
        producers = list(producers_reportable_by(user).order_by("prefecture__code", "name", "pk"))
        items: dict[int, dict[int, Item]] = {}
        lines = ProductionLine.objects.filter(
            producer__in=producers, item__active=True
        ).select_related("item")
        for line in lines:
            items.setdefault(line.producer_id, {})[line.item_id] = line.item
        reports = {
            (r.producer_id, r.item_id): r
            for r in ProductionReport.objects.filter(producer__in=producers, date=date)
        }
        for producer in producers:
            by_order = sorted(
                items.get(producer.pk, {}).values(), key=lambda i: (i.sort_order, i.code)
            )
            for item in by_order:
                report = reports.get((producer.pk, item.pk))
                yield TemplateRow(producer, item, report.figures() if report else {})


REPORT_IMPORT = ProductionReportsImport()


def report_import_template_filename(*, date) -> str:
    return REPORT_IMPORT.template_filename(date=date)


def report_import_template(*, user, date) -> bytes:
    """The .xlsx to fill: one row per (producer, item) line of the producers `user` reports
    for, the date prefilled; figures already reported for that date are filled in."""
    return REPORT_IMPORT.template(user=user, date=date)


def report_import_submit(file, *, user, reason: str = "") -> ReportImportResult:
    return REPORT_IMPORT.submit(file, user=user, reason=reason)
