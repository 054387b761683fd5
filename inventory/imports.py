"""Excel import of daily figures (日报导入): the declaration of its template and reading.

Officers live in Excel. They download a template for their prefecture and a date, fill it
in and upload it. The engine (supplycoord.lib.xlsx_import.EntryImport) writes the template
and reads the file from the daily figures' declaration (inventory.services.DAILY_FIGURES);
the rows go through the one pipeline the entry form and the API use too, and every problem
comes back at once, at the sheet, row and column where the officer fixes it.

What is the daily figures' own: the date (and, for the office, the prefecture code) stands
in a labelled cell above the header ("Date | 2020-02-10") rather than in a column; the sheet
shows the last stock reported; an officer's file may leave the prefecture out; the office
may download one sheet of every prefecture.
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
    ParsedImport,
    ReferenceColumn,
    TemplateRow,
)
from supplycoord.selectors import active_prefectures

from .county_figures import COUNTY_FIGURES, counties_enterable_by, county_entry_rows
from .selectors import daily_entry_rows
from .services import DAILY_FIGURES

__all__ = [
    "COUNTY_IMPORT",
    "DAILY_IMPORT",
    "XLSX_CONTENT_TYPE",
    "DailyImportInvalid",
    "DailyImportRefused",
    "DailyImportResult",
    "ImportProblem",
    "ParsedImport",
    "daily_import_parse",
    "daily_import_submit",
    "daily_import_template",
    "daily_import_template_filename",
]

# The engine's, under the names the pages and tests know.
DailyImportInvalid, DailyImportRefused, DailyImportResult = (
    ImportInvalid,
    ImportRefused,
    ImportResult,
)


class DailyFiguresImport(EntryImport):
    kind = DAILY_FIGURES
    title = gettext_lazy("Daily figures")
    labelled_above = ("date", "prefecture")
    reason_column = False
    reference_columns = (ReferenceColumn("last_stock", gettext_lazy("Last stock"), 12),)
    owner_label = gettext_lazy("Prefecture code")
    owner_name_label = gettext_lazy("Prefecture")
    owner_width, owner_name_width = 12, 14

    def messages(self):
        return {
            **super().messages(),
            "missing_header": _(
                "No sheet has the template's header row (item code and the five figures). "
                "Download the template and fill it in."
            ),
            "owner_missing": _("Name the prefecture of the rows: add a “%(column)s” column."),
            "not_yours": _(
                "Prefecture %(code)s is not yours: you may only import the figures of your "
                "own prefecture."
            ),
            "duplicate": _(
                "Duplicate row: the same prefecture, item and date as row %(row)s of sheet "
                "“%(sheet)s”."
            ),
            "out_of_scope": _("You may not import figures for this prefecture."),
        }

    def heading(self, owner):
        if owner is None:
            return _("Daily figures of all prefectures")
        return _("Daily figures of %(prefecture)s") % {"prefecture": owner.name}

    def scope_name(self, owner):
        return owner.name if owner is not None else _("All prefectures")

    def hint(self):
        return _(
            "Enter whole numbers of 0 or more, in each item's unit. Grey cells are for "
            "reference: keep the codes as they are. Formulas and macros are refused. "
            "Rows whose five figures are all empty are skipped."
        )

    def template_rows(self, *, user, date, owner):
        """One row per key item of `owner` (None: of every active prefecture).

        A prefecture's own template prefills stock with the last reported stock, like the
        entry form. The all-prefectures sheet shows it in "Last stock" only and leaves the
        figures blank (unless already reported): the office fills in the prefectures it has
        paper reports for, and rows left blank are skipped rather than reported as missing.
        """
        single = owner is not None
        # A prefecture reporting as the sum of its counties takes no rows of its own: the
        # all-prefectures sheet leaves it out (its counties have their own template).
        every = [p for p in active_prefectures() if not p.reports_as_sum_of_counties]
        for each in [owner] if single else every:
            # One prefecture at a time: the all-prefectures sheet costs a few queries per
            # prefecture (15 in Gansu), which a download a day can afford.
            for entry in daily_entry_rows(prefecture=each, date=date):
                values = entry.values if (single or entry.existing) else {}
                yield TemplateRow(each, entry.item, values, {"last_stock": entry.last_stock})

    def implied_owner(self, user):
        # An officer's file may leave the prefecture out: it can only be theirs.
        return user.prefecture if user.is_prefecture_officer else None


DAILY_IMPORT = DailyFiguresImport()


class CountyFiguresImport(DailyFiguresImport):
    """区县日报导入: the prefectures' template and reading, for the counties of a prefecture
    reporting as their sum (inventory.county_figures). The date and, for the office, the
    county code stand above the header; a county officer's file may leave its county out."""

    kind = COUNTY_FIGURES
    title = gettext_lazy("County daily figures")
    labelled_above = ("date", "county")
    owner_label = gettext_lazy("County code")
    owner_name_label = gettext_lazy("County")

    def messages(self):
        return {
            **super().messages(),
            "owner_missing": _("Name the county of the rows: add a “%(column)s” column."),
            "not_yours": _(
                "County %(code)s is not yours: you may only import the figures of your own county."
            ),
            "duplicate": _(
                "Duplicate row: the same county, item and date as row %(row)s of sheet “%(sheet)s”."
            ),
            "out_of_scope": _("You may not import figures for this county."),
        }

    def heading(self, owner):
        if owner is None:
            return _("Daily figures of the counties")
        return _("Daily figures of %(county)s, %(prefecture)s") % {
            "county": owner.name,
            "prefecture": owner.prefecture.name,
        }

    def scope_name(self, owner):
        return owner.name if owner is not None else _("All counties")

    def template_rows(self, *, user, date, owner):
        """One row per key item of `owner` (None: of every county `user` may enter for,
        i.e. of every prefecture reporting as the sum of its counties), stock prefilled with
        the county's last reported stock on a county's own sheet, as the prefectures' are."""
        single = owner is not None
        for each in [owner] if single else counties_enterable_by(user):
            for entry in county_entry_rows(county=each, date=date):
                values = entry.values if (single or entry.existing) else {}
                yield TemplateRow(each, entry.item, values, {"last_stock": entry.last_stock})

    def implied_owner(self, user):
        # A county officer's file may leave the county out: it can only be theirs.
        return user.county if user.is_county_officer else None


COUNTY_IMPORT = CountyFiguresImport()


def daily_import_template_filename(*, prefecture, date) -> str:
    return DAILY_IMPORT.template_filename(date=date, owner=prefecture)


def daily_import_template(*, prefecture, date) -> bytes:
    """The .xlsx to fill: one row per key item of `prefecture` (None: every active one).
    Who may download which prefecture is the page's to decide."""
    return DAILY_IMPORT.template(user=None, date=date, owner=prefecture)


def daily_import_parse(file, *, user) -> ParsedImport:
    return DAILY_IMPORT.parse(file, user=user)


def daily_import_submit(file, *, user, reason: str = "") -> DailyImportResult:
    return DAILY_IMPORT.submit(file, user=user, reason=reason)
