"""Excel import of distribution enterprises' daily reports (流通企业日报导入), through the
shared engine (supplycoord.lib.xlsx_import.EntryImport) the prefectures' daily figures and
the production reports use: a template of the caller's enterprises to download, filled in
and uploaded; the rows go through the one pipeline (DISTRIBUTION_REPORTS) of the form and the
API, and every problem comes back at its sheet, row and column."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from supplycoord.lib.xlsx_import import EntryImport, TemplateRow
from supplycoord.models import Item
from supplycoord.permissions import distribution_enterprises_reportable_by

from .distribution_selectors import reported_item_ids
from .distribution_services import DISTRIBUTION_REPORTS
from .models import DistributionReport


class DistributionReportsImport(EntryImport):
    kind = DISTRIBUTION_REPORTS
    title = gettext_lazy("Distribution enterprise reports")
    owner_width, owner_name_width = 22, 24

    def messages(self):
        return {
            **super().messages(),
            "missing_header": _(
                "No sheet has the template's header row (credit code, item code, date and "
                "the figures). Download the template and fill it in."
            ),
            "not_yours": _(
                "You do not report for the enterprise %(code)s: you may only import the "
                "reports of your own enterprises."
            ),
            "duplicate": _(
                "Duplicate row: the same enterprise, item and date as row %(row)s of sheet "
                "“%(sheet)s”."
            ),
            "nothing": _("The file holds no reports: every row's figures are empty."),
            "out_of_scope": _("You may not import reports for this enterprise."),
            "imported": _(
                "Imported %(rows)s distribution reports: %(created)s new, %(updated)s "
                "corrected, %(unchanged)s unchanged; %(skipped)s rows without figures "
                "skipped."
            ),
        }

    def heading(self, owner):
        return _("Daily reports of distribution enterprises")

    def scope_name(self, owner):
        return None  # the caller's enterprises

    def instructions(self):
        return [
            _("How to fill in the distribution enterprise reports"),
            "",
            _(
                "One row per enterprise, item and date. Keep the unified social credit code and "
                "the item code as they are: grey cells are for reference only."
            ),
            _(
                "Date: the day the figures are for (YYYY-MM-DD), prefilled with the day of the "
                "download. Change it to report another day; a date cannot be in the future."
            ),
            _(
                "Enter whole numbers of 0 or more, in the item's unit: purchased that day, "
                "shipped that day, purchases in transit and stock on hand. All four are "
                "required."
            ),
            _(
                "Rows whose figures are all empty are skipped. A row for a day already reported "
                "with other figures corrects it and needs a reason, in the row's reason column "
                "or on the upload page."
            ),
            _(
                "The whole file is checked before anything is saved: if any row has a problem, "
                "nothing is saved and every problem is listed with its row and column. Formulas "
                "and macros are refused."
            ),
        ]

    def template_rows(self, *, user, date, owner):
        """Every item each enterprise `user` reports for must report, with the figures already
        reported for `date`."""
        enterprises = list(distribution_enterprises_reportable_by(user))
        expected = reported_item_ids(e.pk for e in enterprises)
        items = (
            {
                i.pk: i
                for i in Item.objects.filter(pk__in=set().union(*expected.values()), active=True)
            }
            if enterprises
            else {}
        )
        reports = {
            (r.enterprise_id, r.item_id): r
            for r in DistributionReport.objects.filter(enterprise__in=enterprises, date=date)
        }
        for enterprise in enterprises:
            chosen = sorted(
                (items[pk] for pk in expected[enterprise.pk] if pk in items),
                key=lambda i: (i.sort_order, i.code),
            )
            for item in chosen:
                report = reports.get((enterprise.pk, item.pk))
                yield TemplateRow(enterprise, item, report.figures() if report else {})


DISTRIBUTION_IMPORT = DistributionReportsImport()
