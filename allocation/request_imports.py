"""The Excel import of requests from below (需求申请导入, issue 15), on the project's one Excel
engine (supplycoord.lib.xlsx_import: its limits on size, zip and XML bombs, macros and
formulas, its parser, its mapping of errors to cells).

One row per request line: claimant code, urgency, needed-by, item code, quantity,
justification. Consecutive rows with the same claimant, urgency, needed-by and justification
make one request. The importer may only request for claimants in their scope
(supplycoord.permissions.can_request_for). Every request of the file is submitted through
allocation.requests.request_submit, or none: every problem is listed at its sheet, row and
column.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook

from supplycoord.bulk import RowError
from supplycoord.lib.dates import parse_iso_date
from supplycoord.lib.xlsx_import import (
    ParsedImport,
    XlsxParser,
    code_value,
    date_value,
    import_submit,
    labels_in_every_language,
    normalise,
    parse_upload,
    template_header,
    template_sheet,
    workbook_bytes,
)
from supplycoord.permissions import can_request_for, can_submit_requests

from .models import Destination, RequestUrgency
from .requests import RequestInvalid, request_check, request_submit

COLUMNS = (
    # (field, header, width)
    ("claimant", gettext_lazy("Claimant code"), 14),
    ("urgency", gettext_lazy("Urgency"), 12),
    ("needed_by", gettext_lazy("Needed by"), 12),
    ("item", gettext_lazy("Item code"), 10),
    ("quantity", gettext_lazy("Quantity"), 12),
    ("justification", gettext_lazy("Justification"), 40),
)
KEY_FIELDS = ("claimant", "urgency", "needed_by", "item", "quantity", "justification")
REQUEST_FIELDS = ("claimant", "urgency", "needed_by", "justification")
TITLE = gettext_lazy("Supply requests")

# The urgencies as people type them, read whatever the state of the translation catalogue.
URGENCY_ALIASES = {
    "常规": RequestUrgency.ROUTINE,
    "一般": RequestUrgency.ROUTINE,
    "加急": RequestUrgency.URGENT,
    "急": RequestUrgency.URGENT,
    "紧急": RequestUrgency.EMERGENCY,
    "特急": RequestUrgency.EMERGENCY,
}


class _NeverRaised(Exception):
    """Out-of-scope rows are refused as row errors at the claimant cell."""


def _urgencies() -> dict:
    found = {normalise(value): value for value in RequestUrgency.values}
    found.update({normalise(name): value for name, value in URGENCY_ALIASES.items()})
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            found.update({normalise(str(label)): value for value, label in RequestUrgency.choices})
    return found


def _cell_value(field, value):
    """A cell as the service reads it: dates as dates, whole numbers as int, codes as text."""
    if value is None:
        return None
    if field == "needed_by":
        value = date_value(value)
        return parse_iso_date(value) or value if isinstance(value, str) else value
    if field == "quantity" and isinstance(value, float) and value.is_integer():
        return int(value)
    if field in ("claimant", "item"):
        return code_value(value)
    return value.strip() if isinstance(value, str) else value


class RequestRowsParser(XlsxParser):
    def __init__(self, user):
        super().__init__(
            user, labels_in_every_language(lambda: [(f, str(h)) for f, h, _w in COLUMNS])
        )
        self.urgencies = _urgencies()

    def missing_header_message(self) -> str:
        return _(
            "No sheet has the header row of the request template (claimant code, urgency, "
            "needed by, item code…). Download the template and fill it in."
        )

    def is_header(self, found: dict) -> bool:
        return "claimant" in found and "item" in found

    def required_columns(self):
        return [(f, str(h)) for f, h, _w in COLUMNS]

    def is_unfilled(self, raw: dict, header: dict, formulas: set) -> bool:
        return False

    def finish(self) -> ParsedImport:
        rows, origins = [], []
        for origin, values in self.take_pending():
            row = {field: _cell_value(field, value) for field, value in values.items()}
            urgency = row.get("urgency")
            if isinstance(urgency, str):
                row["urgency"] = self.urgencies.get(normalise(urgency), urgency)
            rows.append(row)
            origins.append(origin)
        return ParsedImport(
            rows=rows, errors=self.problems, origins=origins, sheet_fields=self.sheet_fields
        )


def _groups(rows):
    """[[row index, ...], ...]: consecutive rows with the same request fields."""
    groups, last = [], None
    for index, row in enumerate(rows):
        key = tuple(str(row.get(field) or "") for field in REQUEST_FIELDS)
        if key != last:
            groups.append([])
            last = key
        groups[-1].append(index)
    return groups


def requests_import(*, user, rows: list[dict]):
    """Requests from rows of {claimant (code), urgency, needed_by, item (code), quantity,
    justification}; consecutive rows with the same claimant, urgency, needed-by and
    justification make one request. All are checked first, then submitted, all or none.
    Raises RequestInvalid with every problem by row (index in `rows`) and field."""
    if not can_submit_requests(user):
        raise PermissionDenied(_("Your role may not submit supply requests."))
    codes = {row.get("claimant") for row in rows if isinstance(row.get("claimant"), str)}
    claimants = {c.code: c for c in Destination.objects.filter(code__in=codes)}
    errors: list[RowError] = []
    checked = []
    for indexes in _groups(rows):
        first = rows[indexes[0]]
        claimant = claimants.get(first.get("claimant"))
        if claimant is None:
            for index in indexes:
                errors.append(RowError(index, "claimant", _("No claimant has this code.")))
            continue
        if not can_request_for(user, claimant):
            for index in indexes:
                errors.append(
                    RowError(
                        index,
                        "claimant",
                        _("You may not submit requests for %(claimant)s.")
                        % {"claimant": claimant.name},
                    )
                )
            continue
        values, _lines, found = request_check(
            claimant=claimant,
            urgency=first.get("urgency"),
            needed_by=first.get("needed_by"),
            justification=first.get("justification"),
            lines=[
                {"item": rows[index].get("item"), "quantity": rows[index].get("quantity")}
                for index in indexes
            ],
        )
        for error in found:
            if error.row is None and error.field == "lines":
                errors.append(RowError(indexes[0], "item", error.message))
            elif error.row is None:
                # A request field: said at each row of the request (each has that cell).
                errors.extend(RowError(index, error.field, error.message) for index in indexes)
            else:
                errors.append(RowError(indexes[error.row], error.field, error.message))
        checked.append((claimant, indexes))
    if errors:
        raise RequestInvalid(errors)
    made = []
    for claimant, indexes in checked:
        first = rows[indexes[0]]
        request, _created = request_submit(
            user=user,
            claimant=claimant,
            urgency=first["urgency"],
            needed_by=first["needed_by"],
            justification=first["justification"],
            lines=[
                {"item": rows[index]["item"], "quantity": rows[index]["quantity"]}
                for index in indexes
            ],
        )
        made.append(request)
    return made


def requests_template() -> bytes:
    """The .xlsx to fill: the header row in the UI language (either language is read back)."""
    workbook = Workbook(write_only=True)
    columns = [(f, h, w, True) for f, h, w in COLUMNS]
    sheet = template_sheet(workbook, title=str(TITLE), columns=columns, header_row=1)
    sheet.append(template_header(sheet, columns))
    return workbook_bytes(workbook)


def requests_import_file(file, *, user):
    """Parse and submit an uploaded file. Returns the ImportResult (`.submitted`: the
    requests); raises ImportRefused (the file as a whole) or ImportInvalid (every problem, by
    cell)."""
    parsed = parse_upload(file, RequestRowsParser(user))
    return import_submit(
        parsed,
        save=lambda rows: requests_import(user=user, rows=rows),
        nothing_message=_("The file holds no request lines."),
        service_invalid=RequestInvalid,
        key_fields=KEY_FIELDS,
        row_cell=lambda origin, field: None,
        service_out_of_scope=_NeverRaised,
        scope_field="claimant",
        out_of_scope_message="",
    )
