"""One pipeline for every "grid of rows per day" entry: daily figures, production reports,
and every later kind (requests, inbound reports).

An entry kind (`EntryKind`) declares only what is its own: its fields (name, label in the UI
language, type, unit, bounds), its owner (the prefecture, the producer: the first part of its
natural key owner + item + date) and who may write for it, its cross-field rules, and its
save (a bulk upsert, plus its side effects). The pipeline does the rest, the same way for
every kind and every door (entry page, API, Excel import):

    parse → validate (types, ranges, control characters, scope) → per-row errors
          → all-or-nothing save in one transaction, audited → created/updated/unchanged

Errors are `RowError(row, field, message)`: the row's index in the submission (from 0, None
for the submission as a whole), the field, a translated message. The API answers them as
`{"errors": [{"row", "field", "message"}]}` for every kind (`api_post`), the entry pages put
them on their inputs (`entry_grid_submit`), the Excel import at their cells
(supplycoord.lib.xlsx_import.rows_import_submit).
"""

import copy
import dataclasses
import datetime as dt
import re

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from supplycoord.api import ApiPagination
from supplycoord.lib.api_input import StrictJSONParser
from supplycoord.lib.dates import entry_date_error, local_date, local_today, parse_iso_date
from supplycoord.lib.exports import attachment_header
from supplycoord.lib.numbers import grouped
from supplycoord.lib.text import text_error
from supplycoord.models import Item
from supplycoord.selectors import earliest_entry_date

# The first figure refused: beyond SUPPLYCOORD["MAX_QUANTITY"] a figure is a typo (the same
# bound as the API's, see supplycoord.lib.text), and far beyond it would not fit a bigint.
MAX_FIGURE = settings.SUPPLYCOORD["MAX_QUANTITY"] + 1
WHOLE_NUMBER = re.compile(r"-?[0-9]+", re.ASCII)
FULL_WIDTH = str.maketrans("０１２３４５６７８９，－　", "0123456789,- ")
# PostgreSQL cannot store or even compare a text holding NUL: such a code is unknown (a free
# text holding one is refused by supplycoord.lib.text), never a 500.
NUL = "\x00"
# Rows written per INSERT: large enough for speed, small enough for PostgreSQL's parameters.
BATCH_SIZE = 2000
# Columns every kind's model has: who submitted, when first and last, why it was corrected.
AUDIT_FIELDS = ("submitted_by", "submitted_at", "correction_reason")


# --- Errors and results ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RowError:
    row: int | None  # position in the submitted list, from 0; None for the submission as a whole
    field: str
    message: str

    def as_dict(self):
        return {"row": self.row, "field": self.field, "message": str(self.message)}


def too_many_errors(errors: list) -> bool:
    """Whether a submission's checks may stop: more errors than are ever listed were found.

    Submissions are all or nothing, so past SUPPLYCOORD["MAX_ERRORS_REPORTED"] the rest of
    the rows need not be looked at: 50,000 rows all wrong would otherwise hold half a
    million errors (~130 MB of a worker's memory) to list a thousand.
    """
    return len(errors) > settings.SUPPLYCOORD["MAX_ERRORS_REPORTED"]


def errors_listed(errors: list[RowError]) -> tuple[list[RowError], bool]:
    """The errors to report, in row order: at most SUPPLYCOORD["MAX_ERRORS_REPORTED"], then,
    when more were found, one entry for the submission as a whole saying so. And whether
    there were more."""
    limit = settings.SUPPLYCOORD["MAX_ERRORS_REPORTED"]
    listed = sorted(errors, key=lambda e: (e.row or 0, e.field))
    if len(listed) <= limit:
        return listed, False
    note = _("More problems were found than are listed: correct these and submit again.")
    return [*listed[:limit], RowError(None, "non_field_errors", note)], True


class RowsInvalid(Exception):
    """Every problem of a submission; nothing was saved. Each kind names its own subclass."""

    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} invalid field(s)")
        # `more_not_listed`: the last error only says that more were found (for the Excel
        # import, which says it its own way).
        self.errors, self.more_not_listed = errors_listed(errors)


class RowsOutOfScope(Exception):
    """The caller tried to write rows of an owner (prefecture, producer) that is not theirs."""

    def __init__(self, rows: list[int]):
        super().__init__(f"rows outside the caller's scope: {rows}")
        self.rows = rows


@dataclasses.dataclass
class SubmitResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    dates_changed: set = dataclasses.field(default_factory=set)

    def as_dict(self):
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


# --- Field types ----------------------------------------------------------------------------


def parse_signed_whole_number(value):
    """A whole number, possibly negative: 12, "-12", "１，２００" and 12.0 pass; 1.5, "" fail.
    Returns (number, None) or (None, translated message)."""
    if isinstance(value, bool) or value is None:
        return None, _("This field is required.") if value is None else _("Enter a whole number.")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            return None, _("Enter a whole number.")
        number = int(value)
    elif isinstance(value, str):
        # Full-width digits and commas (１，２００, typed with a Chinese IME) become ASCII;
        # anything else that is not plain ASCII digits ("²", "٣", "--5", "1e3") is refused.
        text = value.translate(FULL_WIDTH).strip().replace(",", "")
        if text == "":
            return None, _("This field is required.")
        if not WHOLE_NUMBER.fullmatch(text):
            return None, _("Enter a whole number.")
        # int() refuses more than 4,300 digits, leading zeros too (a 500); far fewer are
        # already too large.
        sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
        digits = digits.lstrip("0") or "0"
        if len(digits) > len(str(MAX_FIGURE)):
            return None, _("This number is too large.")
        number = int(sign + digits)
    else:
        return None, _("Enter a whole number.")
    if abs(number) >= MAX_FIGURE:
        return None, _("This number is too large.")
    return number, None


def parse_whole_number(value):
    """A whole, non-negative number: 12, "12" and 12.0 pass; 1.5, -1, "", True fail."""
    number, message = parse_signed_whole_number(value)
    if message:
        return None, message
    if number < 0:
        return None, _("Must be zero or more.")
    return number, None


# What a unit of a field is: the item's own (只, 件, 套…) or a count of days.
ITEM_UNIT = "item"
DAYS = "days"
WHOLE = "whole"  # the one field type the grids have so far: a whole number of 0 or more
_PARSERS = {WHOLE: parse_whole_number}


@dataclasses.dataclass(frozen=True)
class Field:
    """One figure of an entry kind.

    `label`: the header of its column (Excel template, API documentation), lazily translated;
    `short_label`: the entry grid's narrower header (default: `label`). `required`: an empty
    value is an error; else it counts as `empty` (0, or None for "not reported").
    `max_value`: the largest value accepted (default: SUPPLYCOORD["MAX_QUANTITY"]).
    """

    name: str
    label: object
    short_label: object = None
    type: str = WHOLE
    unit: str = ITEM_UNIT
    required: bool = True
    empty: object = 0
    max_value: int | None = None
    help_text: str = ""

    def __post_init__(self):
        if self.type not in _PARSERS:
            raise ValueError(f"unknown field type {self.type!r}; known: {sorted(_PARSERS)}")

    @property
    def grid_label(self):
        return self.short_label or self.label

    def parse(self, value):
        """(value, None) or (None, translated message)."""
        if not self.required and value in (None, ""):
            return self.empty, None
        number, message = _PARSERS[self.type](value)
        if message:
            return None, message
        if self.max_value is not None and number > self.max_value:
            return None, _("This number is too large.")
        return number, None


# --- Entry kinds ----------------------------------------------------------------------------


@dataclasses.dataclass
class Checked:
    """A row that passed every check, waiting to be saved."""

    index: int
    owner: object
    item: Item
    date: dt.date
    figures: dict
    reason: str
    instance: object = None  # the stored row (a correction) or the new one
    before: dict | None = None  # a correction: the stored figures before it


class EntryKind:
    """What an entry kind declares. The pipeline (`rows_submit`) does the rest.

    Class attributes:
      model          the Django model, unique on (owner, item, date)
      owner          the owner's field name ("prefecture"); the natural key is
                     (owner, "item", "date")
      owner_model, owner_code_field, owner_code_upper
                     how a row names its owner: by which code, upper-cased or not
      fields         the Field declarations, in the order of the grid and the template
      invalid, out_of_scope
                     the kind's RowsInvalid / RowsOutOfScope subclasses
      messages()     translated: unknown_owner, inactive_owner, duplicate (with %(row)s, the
                     row's number grouped),
                     api_out_of_scope (the 403's detail)
    """

    model = None
    owner = ""
    owner_model = None
    owner_code_field = "code"
    owner_code_upper = False
    owner_help = ""  # the API documentation of the owner's code (English, as all of it)
    fields: tuple[Field, ...] = ()
    invalid = RowsInvalid
    out_of_scope = RowsOutOfScope

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.owner, "item", "date")

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(field.name for field in self.fields)

    def messages(self) -> dict:
        raise NotImplementedError

    # Rules.

    def may_write(self, user, owner) -> bool:
        """Whether `user` may write rows of `owner`: one of the permission predicates."""
        raise NotImplementedError

    def owners(self, codes: set[str]):
        """The owners named by `codes`, as a queryset (a kind may select_related)."""
        return self.owner_model.objects.filter(**{f"{self.owner_code_field}__in": codes})

    def prepare(self, owners: list) -> None:
        """Load once what `check_row` needs for these owners (a producer's line items)."""

    def check_row(self, *, owner, item, figures: dict) -> list[tuple[str, str]]:
        """The kind's own rules of a row: (field, message) pairs. `owner`, `item` and figures
        may be None where their own checks failed."""
        return []

    def new_row(self, *, user, owner, item, date, figures, now):
        """The model instance of a first submission."""
        return self.model(
            **{self.owner: owner},
            item=item,
            date=date,
            submitted_by=user,
            first_submitted_at=now,
            submitted_at=now,
            correction_reason="",
            **figures,
        )

    def stored(self, keys: set[tuple]):
        """The stored rows of `keys` (owner id, item id, date), locked for update."""
        return self.model.objects.select_for_update()

    def save(self, *, user, created: list[Checked], updated: list[Checked], now) -> list[RowError]:
        """Write the rows (usually `bulk_upsert`) and fire the kind's side effects; any
        refusal of a row (a ledger's) comes back as errors, and nothing is kept."""
        raise NotImplementedError

    # Codes.

    def owner_code(self, value) -> str | None:
        if not isinstance(value, str) or NUL in value:
            return None
        code = value.strip()
        return code.upper() if self.owner_code_upper else code

    def owner_code_of(self, owner) -> str:
        return getattr(owner, self.owner_code_field)


def bulk_upsert(kind: EntryKind, *, user, created, updated, now, extra_update_fields=()):
    """Insert the new rows and update the corrected ones, each with its history row (who,
    when, the row's reason) in the same transaction."""
    if created:
        bulk_create_with_history(
            [c.instance for c in created],
            kind.model,
            batch_size=BATCH_SIZE,
            default_user=user,
            default_date=now,
        )
    if updated:
        instances = [c.instance for c in updated]
        # Django's bulk_update builds a CASE WHEN per row and field (~1,000 rows/s); an upsert
        # on the natural key of the rows locked before writes the same values ~6x faster.
        kind.model.objects.bulk_create(
            instances,
            batch_size=BATCH_SIZE,
            update_conflicts=True,
            unique_fields=list(kind.key),
            update_fields=[*kind.field_names, *AUDIT_FIELDS, *extra_update_fields],
        )
        # No fields: only the history rows (with each row's change reason) are written.
        bulk_update_with_history(
            instances, kind.model, [], batch_size=BATCH_SIZE, default_user=user, default_date=now
        )


# --- The pipeline ---------------------------------------------------------------------------


def rows_submit(
    kind: EntryKind, *, user, rows: list, reason: str = "", now: dt.datetime | None = None
) -> SubmitResult:
    """Save rows of `kind`, all or none.

    Each row: the owner (code or instance), item (code or Item), date, the kind's fields,
    optionally its own `reason` (else the submission's). A row for an existing key is a
    correction; a correction of a past date must give a reason. Raises `kind.out_of_scope`
    if any row belongs to an owner the user may not write for, `kind.invalid` with every
    problem found.

    Two first submissions of the same key at the same moment (a form and a retried API call)
    collide on the unique key; the loser is rolled back and run once more, when the winner's
    rows exist and its own rows become corrections or "unchanged".
    """
    now = now or timezone.now()
    limit = settings.SUPPLYCOORD["MAX_ROWS_PER_SUBMISSION"]
    if len(rows) > limit:
        message = _("At most %(limit)s rows may be sent at once; split the submission.")
        raise kind.invalid(
            [RowError(None, "non_field_errors", message % {"limit": grouped(limit)})]
        )
    try:
        return _rows_submit_once(kind, user=user, rows=rows, reason=reason, now=now)
    except IntegrityError:
        return _rows_submit_once(kind, user=user, rows=rows, reason=reason, now=now)


def reason_error(reason) -> str | None:
    """Why a reason for a correction is refused (a control character), translated, or None."""
    return text_error(reason, multiline=True) if isinstance(reason, str) and reason else None


def _by_code(rows, field, code) -> set[str]:
    found = {code(row.get(field)) for row in rows if isinstance(row, dict)}
    found.discard(None)
    return found


def _item_code(value) -> str | None:
    return value.strip() if isinstance(value, str) and NUL not in value else None


@transaction.atomic
def _rows_submit_once(kind: EntryKind, *, user, rows, reason, now) -> SubmitResult:
    today = local_date(now)
    first_allowed = earliest_entry_date(user, today=today)
    owner_codes = _by_code(rows, kind.owner, kind.owner_code)
    owners = {kind.owner_code_of(o): o for o in kind.owners(owner_codes)} if owner_codes else {}
    item_codes = _by_code(rows, "item", _item_code)
    items = {i.code: i for i in Item.objects.filter(code__in=item_codes)} if item_codes else {}
    given = [r[kind.owner] for r in rows if isinstance(r, dict) and _is(r.get(kind.owner), kind)]
    kind.prepare([*owners.values(), *given])
    texts = kind.messages()

    errors: list[RowError] = []
    out_of_scope: list[int] = []
    may_write: dict[int, bool] = {}  # owner pk -> the predicate's answer, asked once
    checked: list[Checked] = []
    seen: dict[tuple, int] = {}
    for index, row in enumerate(rows):
        if too_many_errors(errors):
            break  # enough to refuse the submission and to list
        if not isinstance(row, dict):
            errors.append(RowError(index, "non_field_errors", _("Each row must be an object.")))
            continue
        row_errors: list[RowError] = []

        def refuse(field, message, index=index, row_errors=row_errors):
            row_errors.append(RowError(index, field, message))

        value = row.get(kind.owner)
        owner = value if _is(value, kind) else owners.get(kind.owner_code(value))
        if owner is None:
            refuse(kind.owner, texts["unknown_owner"])
        elif not owner.active:
            refuse(kind.owner, texts["inactive_owner"])
        else:
            if owner.pk not in may_write:
                may_write[owner.pk] = kind.may_write(user, owner)
            if not may_write[owner.pk]:
                out_of_scope.append(index)
        value = row.get("item")
        item = value if isinstance(value, Item) else items.get(_item_code(value))
        if item is None:
            refuse("item", _("Unknown item code."))
        elif not item.active:
            refuse("item", _("This item is no longer in the catalogue."))
        date = parse_iso_date(row.get("date"))
        message = entry_date_error(date, today=today, first_allowed=first_allowed)
        if message:
            refuse("date", message)
        figures = {}
        for field in kind.fields:
            figures[field.name], message = field.parse(row.get(field.name))
            if message:
                refuse(field.name, message)
        for field, message in kind.check_row(owner=owner, item=item, figures=figures):
            refuse(field, message)
        if owner and item and date:
            key = (owner.pk, item.pk, date)
            if key in seen:
                refuse("item", texts["duplicate"] % {"row": grouped(seen[key])})
            else:
                seen[key] = index
        own_reason = row.get("reason")
        if own_reason not in (None, "") and not isinstance(own_reason, str):
            refuse("reason", _("The reason must be text."))
        # The submission's reason is the reason of each row without its own: refused, it is
        # each such row's error (the entry page shows it once; the Excel import checks the
        # reason of its upload form first, see rows_import_submit).
        elif message := reason_error(own_reason or reason):
            refuse("reason", message)
        errors.extend(row_errors)
        if not row_errors and index not in out_of_scope:
            row_reason = str(own_reason or reason or "").strip()
            checked.append(Checked(index, owner, item, date, figures, row_reason))

    if out_of_scope:
        raise kind.out_of_scope(out_of_scope)

    stored = _stored(kind, checked)
    created, updated = [], []
    result = SubmitResult()
    for row in checked:
        current = stored.get((row.owner.pk, row.item.pk, row.date))
        if current is None:
            row.instance = kind.new_row(
                user=user,
                owner=row.owner,
                item=row.item,
                date=row.date,
                figures=row.figures,
                now=now,
            )
            created.append(row)
            continue
        before = {name: getattr(current, name) for name in kind.field_names}
        if before == row.figures:
            result.unchanged += 1
            continue
        if row.date < today and not row.reason:
            errors.append(
                RowError(row.index, "reason", _("A correction of a past date needs a reason."))
            )
            if too_many_errors(errors):
                break
            continue
        for name, value in row.figures.items():
            setattr(current, name, value)
        current.submitted_by = user
        current.submitted_at = now
        current.correction_reason = row.reason[:500]
        current._change_reason = row.reason[:100]
        row.instance, row.before = current, before
        updated.append(row)

    if errors:
        raise kind.invalid(errors)
    errors = kind.save(user=user, created=created, updated=updated, now=now)
    if errors:
        # Whatever the save wrote for earlier rows rolls back with the transaction.
        raise kind.invalid(errors)
    result.created = len(created)
    result.updated = len(updated)
    result.dates_changed = {row.date for row in (*created, *updated)}
    return result


def _is(value, kind) -> bool:
    return isinstance(value, kind.owner_model)


def _stored(kind: EntryKind, checked: list[Checked]) -> dict:
    """The stored rows of the checked keys, locked in a fixed order so that two simultaneous
    corrections serialise."""
    if not checked:
        return {}
    wanted = {(row.owner.pk, row.item.pk, row.date) for row in checked}
    queryset = kind.stored(wanted).filter(
        **{
            f"{kind.owner}_id__in": {k[0] for k in wanted},
            "item_id__in": {k[1] for k in wanted},
            "date__in": {k[2] for k in wanted},
        }
    )
    found = {}
    for instance in queryset.order_by("pk"):
        key = (getattr(instance, f"{kind.owner}_id"), instance.item_id, instance.date)
        if key in wanted:
            found[key] = instance
    return found


# --- The entry grid (pages) -----------------------------------------------------------------


def entry_window(user) -> tuple[dt.date, dt.date]:
    """(today, the first date `user` may enter rows for)."""
    today = local_today()
    return today, earliest_entry_date(user, today=today)


def entry_date(request, source, *, refused_message) -> tuple[dt.date, dt.date, dt.date]:
    """(the date to open a grid on, today, the first date the user may enter).

    A posted date goes to the service as it is (it reports errors); an unusable ?date= on
    GET opens today's grid with `refused_message` (with %(first)s and %(today)s)."""
    today, first_allowed = entry_window(request.user)
    raw = source.get("date", "").strip()
    date = parse_iso_date(raw)
    if request.method == "POST" or not raw:
        return date or today, today, first_allowed
    if date is None or not first_allowed <= date <= today:
        messages.warning(
            request,
            refused_message % {"first": first_allowed.isoformat(), "today": today.isoformat()},
        )
        return today, today, first_allowed
    return date, today, first_allowed


def entry_grid_submit(kind: EntryKind, request, *, owner, rows, date_raw, reason):
    """Save an entry grid's POST: one input per (row's item, field), named "<item>-<field>".

    `rows` are the page's rows (with `item`, `values` and an `errors` dict); the posted values
    replace their `values`, and each error goes on its input, or, when it is the row's or the
    page's (the date, the reason, an item withdrawn), into the returned page errors.
    Returns (SubmitResult or None, page errors).
    """
    submitted = []
    for row in rows:
        row.values = {
            field: request.POST.get(f"{row.item.code}-{field}", "").strip()
            for field in kind.field_names
        }
        submitted.append({kind.owner: owner, "item": row.item, "date": date_raw, **row.values})
    page_errors = []
    try:
        return rows_submit(kind, user=request.user, rows=submitted, reason=reason), page_errors
    except kind.out_of_scope as exc:
        raise PermissionDenied from exc
    except kind.invalid as exc:
        for error in exc.errors:
            if error.row is None or error.field not in kind.field_names:
                if error.message not in page_errors:
                    page_errors.append(error.message)
            else:
                rows[error.row].errors[error.field] = error.message
    return None, page_errors


def entry_grid_post(kind: EntryKind, request, *, owner, rows, date, reason, saved, next_url):
    """Save an entry grid's POST (`entry_grid_submit`). Saved: the success message `saved`
    (with %(<owner>)s, the owner's name in the reader's language, e.g. %(prefecture)s;
    %(date)s; %(created)s, %(updated)s and %(unchanged)s, grouped: 1,234) and a redirect to
    `next_url`, as (response, []). Else (None, the page's errors), the rows holding theirs."""
    result, page_errors = entry_grid_submit(
        kind,
        request,
        owner=owner,
        rows=rows,
        date_raw=request.POST.get("date", ""),
        reason=reason,
    )
    if result is None:
        return None, page_errors
    counts = {name: grouped(n) for name, n in result.as_dict().items()}
    messages.success(request, saved % {kind.owner: owner.name, "date": date.isoformat(), **counts})
    if request.headers.get("X-Entry-Grid") == "fetch":
        # Sent by static/js/offline-entry.js: "saved" said plainly (a followed redirect could
        # not be told from the log-in page's), and where to go; the message waits there.
        response = HttpResponse(status=204)
        response["X-Entry-Saved"] = next_url
        return response, []
    return redirect(next_url), []


def grid_context(
    kind: EntryKind,
    *,
    form_id,
    rows,
    reference_headers,
    hidden,
    is_past,
    reason,
    page_errors,
    empty_message,
    save_label,
) -> dict:
    """What templates/partials/_entry_grid.html shows. Each of `rows` has `item`, `values`,
    `errors` and `reference`: the cells before the inputs, as (text, note, numeric).

    A phone shows each row as a card (README "On the phone"): each reference cell carries
    its header (`reference_cells`), each input its field's unit (the columns' third part)."""
    columns = [(field.name, field.grid_label, field.unit) for field in kind.fields]
    for row in rows:
        row.reference_cells = [
            (header, *cell) for header, cell in zip(reference_headers, row.reference, strict=True)
        ]
    return {
        "form_id": form_id,
        "rows": rows,
        "reference_headers": reference_headers,
        "columns": columns,
        "colspan": len(reference_headers) + len(columns),
        "hidden": hidden,
        "is_past": is_past,
        "reason": reason,
        "page_errors": page_errors,
        "has_errors": bool(page_errors) or any(row.errors for row in rows),
        "empty_message": empty_message,
        "save_label": save_label,
    }


def entry_grid_page(
    kind: EntryKind, request, *, template, context, rows, date, today, first_allowed, **grid
):
    """An entry page: the kind's grid of `rows` for `date` (`grid_context`, with `grid`'s
    options), the dates it may be opened on, whether that day was already entered, and the
    page's own `context`."""
    return render(
        request,
        template,
        {
            **context,
            "date": date,
            "today": today,
            "min_date": first_allowed,
            "grid": grid_context(kind, rows=rows, is_past=date < today, **grid),
            "rows": rows,
            "already_entered": any(row.existing for row in rows),
        },
    )


def import_template_response(entry_import, request, *, owner=None) -> HttpResponse:
    """The download of an Excel import's template (supplycoord.lib.xlsx_import.EntryImport)
    for ?date= (default, and for a date the user may not enter: today)."""
    from supplycoord.lib.xlsx_import import XLSX_CONTENT_TYPE

    today, first_allowed = entry_window(request.user)
    date = parse_iso_date(request.GET.get("date", ""))
    if date is None or not first_allowed <= date <= today:
        date = today
    response = HttpResponse(
        entry_import.template(user=request.user, date=date, owner=owner),
        content_type=XLSX_CONTENT_TYPE,
    )
    response["Content-Disposition"] = attachment_header(
        entry_import.template_filename(date=date, owner=owner),
        fallback=entry_import.template_filename(date=date, owner=owner, language="en"),
    )
    return response


def import_page(entry_import, request, *, template, template_download, redirect_to, context):
    """An Excel import page (a template extending templates/partials/_xlsx_import_page.html,
    its template downloaded from the URL named `template_download`): on POST the upload goes
    to `entry_import.submit`; its refusal or every problem of the file is shown, nothing
    saved (400), else the counts and a redirect to `redirect_to`."""
    from supplycoord.lib.xlsx_import import ImportInvalid, ImportRefused

    problems, refusal = [], ""
    reason = request.POST.get("reason", "").strip()
    if request.method == "POST":
        try:
            upload = request.FILES.get("file")
            if upload is None:
                raise ImportRefused(_("Choose the Excel file to upload."))
            result = entry_import.submit(upload, user=request.user, reason=reason)
        except ImportRefused as exc:
            refusal = exc.message
        except ImportInvalid as exc:
            problems = exc.problems
        else:
            messages.success(request, entry_import.messages()["imported"] % import_counts(result))
            return redirect(redirect_to)
    today, first_allowed = entry_window(request.user)
    return render(
        request,
        template,
        {
            **context,
            "template_url": reverse(template_download),
            "today": today,
            "min_date": first_allowed,
            "max_bytes": settings.SUPPLYCOORD["IMPORT_MAX_BYTES"],
            "reason": reason,
            "refusal": refusal,
            "problems": problems,
            "needs_reason": any(p.field == "reason" for p in problems),
        },
        # A refused file is a refused request: nothing was saved.
        status=400 if refusal or problems else 200,
    )


def import_counts(result) -> dict:
    """The numbers of an import's success message, grouped (1,234) as a sentence shows them."""
    return {
        "rows": grouped(result.rows),
        "created": grouped(result.submitted.created),
        "updated": grouped(result.submitted.updated),
        "unchanged": grouped(result.submitted.unchanged),
        "skipped": grouped(result.skipped),
    }


# --- The API --------------------------------------------------------------------------------


def api_errors(errors) -> Response:
    """400 in the one error shape of the bulk endpoints: row, field, message. (The input guard
    refuses a body before it gets here with the same keys and, in addition, the JSON `path`.)"""
    return Response(
        {"errors": [error.as_dict() for error in errors]}, status=status.HTTP_400_BAD_REQUEST
    )


def api_post(kind: EntryKind, request) -> Response:
    """POST of a bulk endpoint: a JSON list of rows, or {"rows": [...], "reason": "..."}.

    200 with the counts; 400 lists every problem by row (0-based, null for the body) and
    field; 403 names the rows of owners the caller may not write for (nothing is saved).
    """
    try:
        body = request.data
    except ParseError as exc:
        # DRF's parser message is English and technical; keep it as a hint after ours.
        message = _("The body is not valid JSON: %(detail)s") % {"detail": str(exc.detail)[:200]}
        return api_errors([RowError(None, "non_field_errors", message)])
    if isinstance(body, list):
        body = {"rows": body}
    if not isinstance(body, dict) or not isinstance(body.get("rows"), list):
        message = _("The body must be a JSON list of rows, or an object with a list of `rows`.")
        return api_errors([RowError(None, "non_field_errors", message)])
    reason = body.get("reason") or ""
    if not isinstance(reason, str):
        return api_errors([RowError(None, "reason", _("The reason must be text."))])
    try:
        result = rows_submit(kind, user=request.user, rows=body["rows"], reason=reason.strip())
    except kind.out_of_scope as exc:
        return Response(
            {"detail": kind.messages()["api_out_of_scope"], "rows": exc.rows},
            status=status.HTTP_403_FORBIDDEN,
        )
    except kind.invalid as exc:
        return api_errors(exc.errors)
    return Response(result.as_dict(), status=status.HTTP_200_OK)


class BulkRowsView(generics.ListAPIView):
    """The endpoint of an entry kind: GET lists the stored rows the caller may see (the
    subclass's `get_queryset`, e.g. `.values(*stored_row_values(serializer))`, and
    `serializer_class`); POST submits rows of `kind`, all or none (`api_post`)."""

    kind: EntryKind = None
    pagination_class = ApiPagination
    # The body is a JSON list; a form post could not carry one.
    parser_classes = [StrictJSONParser]
    # Up to SUPPLYCOORD["MAX_ROWS_PER_SUBMISSION"] rows: a larger body than other views take.
    bulk_rows = True
    # The input guard (supplycoord.lib.api_input) names a row as the pipeline does.
    input_error_index = "row"

    def post(self, request, *args, **kwargs):
        return api_post(self.kind, request)


def stored_row_serializer(kind: EntryKind, name: str, *, doc: str, extra=None):
    """The serializer of `kind`'s stored rows, read from `.values()` rows (codes, not ids):
    the owner's and the item's codes, the date, the fields, `extra` (name -> field, the
    kind's own columns), then who submitted them, when, and why they were corrected."""
    fields = {
        kind.owner: serializers.CharField(source=f"{kind.owner}__{kind.owner_code_field}"),
        "item": serializers.CharField(source="item__code"),
        "date": serializers.DateField(),
    }
    for field in kind.fields:
        fields[field.name] = serializers.IntegerField(allow_null=field.empty is None)
    # A copy is a new field, created after those above: DRF orders fields by creation.
    fields.update({name: copy.deepcopy(field) for name, field in (extra or {}).items()})
    fields["first_submitted_at"] = serializers.DateTimeField()
    fields["submitted_at"] = serializers.DateTimeField()
    fields["submitted_by"] = serializers.CharField(source="submitted_by__username")
    fields["correction_reason"] = serializers.CharField()
    return type(f"{name}Serializer", (serializers.Serializer,), {"__doc__": doc, **fields})


def stored_row_values(serializer_class) -> list[str]:
    """The `.values()` names a stored-row serializer reads."""
    return [field.source for field in serializer_class().fields.values()]


def api_row_serializer(kind: EntryKind, name: str, *, many=False):
    """The documented row of `kind` (for the schema only: the pipeline validates)."""
    fields = {
        kind.owner: serializers.CharField(help_text=kind.owner_help),
        "item": serializers.CharField(help_text="Item code, e.g. FH001."),
        "date": serializers.DateField(),
    }
    for field in kind.fields:
        default = "" if field.required else f" Default {field.empty}."
        fields[field.name] = serializers.IntegerField(
            min_value=0,
            max_value=field.max_value,
            required=field.required,
            allow_null=not field.required and field.empty is None,
            help_text=f"{field.help_text}{default}".strip() or None,
        )
    fields["reason"] = serializers.CharField(
        required=False,
        help_text="Why this row corrects a past date (overrides the body's `reason`); "
        "required when a row changes a past figure.",
    )
    return inline_serializer(name, fields, many=many)


def api_body_serializer(kind: EntryKind, name: str, row_name: str):
    """The documented body {"rows": [...], "reason": "..."} (a bare list is accepted too)."""
    return inline_serializer(
        name,
        {
            "rows": api_row_serializer(kind, row_name, many=True),
            "reason": serializers.CharField(
                required=False,
                help_text="Why past dates are corrected; required when a row changes a past "
                "figure.",
            ),
        },
    )


# One answer shape for every bulk endpoint, documented once.
SubmitResultSerializer = inline_serializer(
    "BulkRowsSubmitResult",
    {
        "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "unchanged": serializers.IntegerField(),
    },
)


def indexed_errors_serializer(name: str, error_name: str, *, index: str, help_text: str):
    """The documented 400 of a list submitted at once: {"errors": [{<index>, "field",
    "message"}]}, each error at its item's 0-based `index` ("row", "line")."""
    error = {
        index: serializers.IntegerField(allow_null=True, help_text=help_text),
        "field": serializers.CharField(),
        "path": serializers.CharField(
            required=False,
            help_text='Where in the body, e.g. "[3].stock" (from the input guard only).',
        ),
        "message": serializers.CharField(),
    }
    return inline_serializer(name, {"errors": inline_serializer(error_name, error, many=True)})


RowErrorsSerializer = indexed_errors_serializer(
    "BulkRowsErrors",
    "BulkRowsRowError",
    index="row",
    help_text="0-based index in the rows; null for the body.",
)
OutOfScopeSerializer = inline_serializer(
    "BulkRowsOutOfScope",
    {
        "detail": serializers.CharField(),
        "rows": serializers.ListField(
            child=serializers.IntegerField(), required=False, help_text="0-based row indexes."
        ),
    },
)
API_RESPONSES = {200: SubmitResultSerializer, 400: RowErrorsSerializer, 403: OutOfScopeSerializer}
