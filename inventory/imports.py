"""Excel import of daily figures (日报导入): the template officers fill in, and its parser.

Officers live in Excel. They download a template for their prefecture and a date, fill it
in and upload it. The file is judged as a whole before anything is saved: the parser finds
what only it can see (formulas, the layout, another prefecture's rows, duplicate rows), then
the rows go through `daily_figures_submit`, the one service the entry form and the API call
too, which finds the rest (numbers, unknown items, dates). Every problem comes back at once,
at the sheet, row and column where the officer fixes it.

The template (one sheet; office staff may ask for every prefecture in one sheet):

    row 1   title
    row 2   Date | 2020-02-10     <- the date of every row (unless a Date column is added)
    row 3   a one-line hint
    row 4   Prefecture code | Prefecture | Item code | Item | Unit | Last stock |
            Stock | Received | Consumption | Demand | Expected arrivals within 3 days
    row 5…  one row per prefecture and key item; grey cells are for reference

The parser is more forgiving than the template: it finds the header row by its labels
(Chinese or English, any column order), takes the date and the prefecture code from a
labelled cell above the header or from a column, and reads every sheet that has a header.
"""

import datetime as dt

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from supplycoord.lib.dates import parse_iso_date
from supplycoord.lib.xlsx_import import (
    BOX,
    GREY,
    XLSX_CONTENT_TYPE,
    Cell,
    ImportInvalid,
    ImportProblem,
    ImportResult,
    ParsedImport,
    RowOrigin,
    XlsxParser,
    code_value,
    date_value,
    import_submit,
    is_empty,
    labels_in_every_language,
    normalise,
    parse_upload,
    template_cell,
    template_header,
    template_sheet,
    whole_number_validation,
    workbook_bytes,
)
from supplycoord.lib.xlsx_import import ImportRefused as DailyImportRefused
from supplycoord.models import Prefecture
from supplycoord.selectors import active_prefectures, user_can_report_for_prefecture

from .models import FIGURE_FIELDS
from .selectors import daily_entry_rows
from .services import DailyFiguresInvalid, DailyFiguresOutOfScope, daily_figures_submit

__all__ = [
    "XLSX_CONTENT_TYPE",
    "DailyImportInvalid",
    "DailyImportRefused",
    "DailyImportResult",
    "ImportProblem",
    "ParsedImport",
    "RowOrigin",
    "daily_import_parse",
    "daily_import_submit",
    "daily_import_template",
    "daily_import_template_filename",
]

HEADER_ROW = 4
INPUT_FIELDS = ("prefecture", "item", "date", *FIGURE_FIELDS)


# --- Errors and results ---------------------------------------------------------------------


class DailyImportInvalid(ImportInvalid):
    """The file has problems; nothing was saved. `problems` lists every one, in sheet order."""


DailyImportResult = ImportResult


# --- Columns and labels ---------------------------------------------------------------------


def _figure_headers():
    return [
        ("stock", _("Stock")),
        ("received", _("Received")),
        ("consumption", _("Consumption")),
        ("demand", _("Demand")),
        ("expected_arrivals_3d", _("Expected arrivals within 3 days")),
    ]


def _template_columns():
    """(key, header, width, is_input). Reference columns are grey and never read back."""
    return [
        ("prefecture", _("Prefecture code"), 12, False),
        ("prefecture_name", _("Prefecture"), 14, False),
        ("item", _("Item code"), 12, False),
        ("item_name", _("Item"), 28, False),
        ("unit", _("Unit"), 8, False),
        ("last_stock", _("Last stock"), 12, False),
        *[(key, header, 14, True) for key, header in _figure_headers()],
    ]


def _labels() -> dict[str, str]:
    """Normalised header text -> field, in every UI language."""
    return labels_in_every_language(
        lambda: [
            ("prefecture", _("Prefecture code")),
            ("item", _("Item code")),
            ("date", _("Date")),
            *_figure_headers(),
        ]
    )


# --- The template ---------------------------------------------------------------------------


def daily_import_template_filename(*, prefecture: Prefecture | None, date: dt.date) -> str:
    scope = prefecture.name if prefecture else _("All prefectures")
    return f"{_('Daily figures')}-{scope}-{date.isoformat()}.xlsx"


def daily_import_template(*, prefecture: Prefecture | None, date: dt.date) -> bytes:
    """The .xlsx to fill: one row per key item of `prefecture` (None: every active one).

    A prefecture's own template prefills stock with the last reported stock, like the entry
    form. The all-prefectures sheet shows it in "Last stock" only and leaves the figures blank
    (unless already reported): the office fills in the prefectures it has paper reports for,
    and rows left blank are skipped rather than reported as missing figures.
    """
    prefectures = [prefecture] if prefecture else list(active_prefectures())
    columns = _template_columns()
    figure_columns = [i for i, column in enumerate(columns, start=1) if column[3]]

    workbook = Workbook(write_only=True)
    sheet = template_sheet(
        workbook, title=_("Daily figures"), columns=columns, header_row=HEADER_ROW
    )

    def cell(value, **style):
        return template_cell(sheet, value, **style)

    title = (
        _("Daily figures of %(prefecture)s") % {"prefecture": prefecture.name}
        if prefecture
        else _("Daily figures of all prefectures")
    )
    sheet.append([cell(title, font=Font(bold=True, size=14))])
    sheet.append(
        [
            cell(_("Date"), font=Font(bold=True)),
            cell(date, font=Font(bold=True), border=BOX, number_format="yyyy-mm-dd"),
        ]
    )
    sheet.append(
        [
            cell(
                _(
                    "Enter whole numbers of 0 or more, in each item's unit. Grey cells are for "
                    "reference: keep the codes as they are. Formulas and macros are refused. "
                    "Rows whose five figures are all empty are skipped."
                ),
                font=Font(italic=True, color="5F6B7A"),
            )
        ]
    )
    sheet.append(template_header(sheet, columns))

    last_row = HEADER_ROW
    single = prefecture is not None
    for each in prefectures:
        # One prefecture at a time: the all-prefectures sheet costs a few queries per
        # prefecture (15 in Gansu), which a download a day can afford.
        for entry in daily_entry_rows(prefecture=each, date=date):
            values = entry.values if (single or entry.existing) else {}
            reference = {
                "prefecture": each.code,
                "prefecture_name": each.name,
                "item": entry.item.code,
                "item_name": entry.item.name,
                "unit": str(entry.item.get_unit_display()),
                "last_stock": entry.last_stock,
            }
            row = []
            for key, _label, _width, is_input in columns:
                if is_input:
                    value = values.get(key)
                    row.append(cell(None if value == "" else value, border=BOX))
                else:
                    row.append(cell(reference[key], fill=GREY, border=BOX))
            sheet.append(row)
            last_row += 1

    if last_row > HEADER_ROW:
        first, last = get_column_letter(figure_columns[0]), get_column_letter(figure_columns[-1])
        whole_number_validation(sheet, f"{first}{HEADER_ROW + 1}:{last}{last_row}")

    return workbook_bytes(workbook)


# --- Reading the upload ---------------------------------------------------------------------


class _Parser(XlsxParser):
    """The daily figures' sheets: the date and the prefecture code may stand in a labelled
    cell above the header ("Date | 2020-02-10") instead of a column."""

    def __init__(self, user):
        super().__init__(user, _labels())

    def missing_header_message(self):
        return _(
            "No sheet has the template's header row (item code and the five figures). "
            "Download the template and fill it in."
        )

    def is_header(self, found):
        return "item" in found and any(field in found for field in FIGURE_FIELDS)

    def required_columns(self):
        return _figure_headers()

    def is_unfilled(self, raw, header, formulas):
        return all(is_empty(raw.get(field)) for field in FIGURE_FIELDS)

    def above_header(self, state, values, formulas, row_number):
        """Above the header: "Date | 2020-02-10", "Prefecture code | 620100"."""
        for column, value in enumerate(values, start=1):
            if is_empty(value) or column in formulas:
                continue
            field = self.labels.get(normalise(value))
            if field not in ("date", "prefecture"):
                continue
            for next_column in range(column + 1, len(values) + 1):
                next_value = values[next_column - 1]
                if not is_empty(next_value) or next_column in formulas:
                    state.above[field] = (
                        row_number,
                        next_column,
                        str(value).strip(),
                        next_value,
                        next_column in formulas,
                    )
                    break

    def complete_row(self, state, cells, suppressed, row_values):
        # The date and the prefecture: the row's own cell, else the labelled cell above.
        for field in ("date", "prefecture"):
            if field in cells and not cells[field].empty:
                continue
            if field in state.above:
                at_row, at_column, label, value, is_formula = state.above[field]
                cells[field] = Cell(at_row, at_column, label, is_empty(value))
                row_values[field] = None if is_formula else value
                if is_formula:
                    suppressed.add(field)

    def finish(self) -> ParsedImport:
        codes = {code_value(values.get("prefecture")) for _origin, values in self.pending}
        codes.discard(None)
        prefectures = {p.code: p for p in Prefecture.objects.filter(code__in=codes)}
        own = self.user.prefecture if self.user.is_prefecture_officer else None
        seen = {}  # (prefecture, item, date) -> origin of its first row
        rows, origins = [], []
        for origin, values in self.take_pending():
            cell = origin.cells.get("prefecture")
            code = code_value(values.get("prefecture"))
            prefecture = prefectures.get(code) if code else None
            if code is None and "prefecture" not in origin.suppressed:
                if own is not None:
                    # An officer's file may leave the prefecture out: it can only be theirs.
                    prefecture, code = own, own.code
                elif cell is None:
                    self.sheet_problem(
                        origin,
                        "prefecture",
                        _("Name the prefecture of the rows: add a “%(column)s” column.")
                        % {"column": _("Prefecture code")},
                    )
            if prefecture is not None and not user_can_report_for_prefecture(self.user, prefecture):
                # Never sent to the service, which would refuse the whole file unexplained.
                message = _(
                    "Prefecture %(code)s is not yours: you may only import the figures of your "
                    "own prefecture."
                ) % {"code": prefecture.code}
                if cell is None:
                    self.sheet_problem(origin, "prefecture", message)
                else:
                    self.problems.append(
                        ImportProblem.at_cell(origin, cell, message, field="prefecture")
                    )
                continue
            if "date" not in origin.cells:
                self.sheet_problem(
                    origin,
                    "date",
                    _(
                        "The date is missing: fill it in beside “%(label)s” above the header, "
                        "or add a “%(label)s” column."
                    )
                    % {"label": _("Date")},
                )
            date = date_value(values.get("date"))
            item = code_value(values.get("item"))
            day = parse_iso_date(date)
            if (
                day
                and item
                and code
                and self.is_duplicate(
                    seen,
                    (prefecture.pk if prefecture else code, item, day),
                    origin,
                    _(
                        "Duplicate row: the same prefecture, item and date as row %(row)d "
                        "of sheet “%(sheet)s”."
                    ),
                )
            ):
                continue
            rows.append(
                {
                    "prefecture": prefecture or code,
                    "item": item,
                    "date": date,
                    **{field: values.get(field) for field in FIGURE_FIELDS},
                }
            )
            origins.append(origin)
        return ParsedImport(rows, self.problems, origins, self.skipped, self.sheet_fields)


def daily_import_parse(file, *, user) -> ParsedImport:
    """Read an uploaded workbook into rows for `daily_figures_submit`, and the problems found.

    Raises DailyImportRefused when the file as a whole is not acceptable (too large, not an
    .xlsx, macros, unreadable). The rows are not checked against the catalogue or the dates
    here: the service does that, and `daily_import_submit` maps its errors back to cells.
    """
    return parse_upload(file, _Parser(user))


# --- Saving ---------------------------------------------------------------------------------


def daily_import_submit(file, *, user, reason: str = "") -> DailyImportResult:
    """Import an uploaded workbook: every row saved through `daily_figures_submit`, or none.

    Raises DailyImportRefused for a file refused as a whole, DailyImportInvalid with every
    problem of the file (the parser's and the service's, at their sheet, row and column).
    """
    return import_submit(
        daily_import_parse(file, user=user),
        save=lambda rows: daily_figures_submit(user=user, rows=rows, reason=reason),
        nothing_message=_("The file holds no figures: every row's figures are empty."),
        service_invalid=DailyFiguresInvalid,
        key_fields=("prefecture", "item", "date"),
        # A figure or a code the file has no cell for (an officer's own prefecture, now
        # inactive) is the row's; "reason" and the like belong to the row: its item code.
        row_cell=lambda origin, field: None if field in INPUT_FIELDS else origin.cells["item"],
        service_out_of_scope=DailyFiguresOutOfScope,
        scope_field="prefecture",
        out_of_scope_message=_("You may not import figures for this prefecture."),
        invalid=DailyImportInvalid,
    )
