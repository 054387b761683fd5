"""State changes of inventory. Pages, the API and imports all call these."""

import dataclasses
import datetime as dt
import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from supplycoord.lib.dates import cutoff_for, earliest_date, parse_iso_date
from supplycoord.models import Item, Prefecture, ProtectedStaff, StaffCategory
from supplycoord.selectors import earliest_entry_date, user_can_report_for_prefecture

from .models import FIGURE_FIELDS, DailyFigure
from .signals import daily_figures_changed

# PostgreSQL bigint; anything above is a typo, not a stock figure.
MAX_FIGURE = 10**15
WHOLE_NUMBER = re.compile(r"-?[0-9]+", re.ASCII)
FULL_WIDTH = str.maketrans("０１２３４５６７８９，－　", "0123456789,- ")


@dataclasses.dataclass(frozen=True)
class RowError:
    row: int | None  # position in the submitted list, from 0; None for the submission as a whole
    field: str
    message: str

    def as_dict(self):
        return {"row": self.row, "field": self.field, "message": str(self.message)}


class DailyFiguresInvalid(Exception):
    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} invalid field(s)")
        self.errors = errors


class DailyFiguresOutOfScope(Exception):
    """The caller tried to write figures of a prefecture that is not theirs."""

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


def _parse_whole_number(value):
    """A whole, non-negative number: 12, "12" and 12.0 pass; 1.5, -1, "", True fail."""
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
        number = int(text)
    else:
        return None, _("Enter a whole number.")
    if number < 0:
        return None, _("Must be zero or more.")
    if number >= MAX_FIGURE:
        return None, _("This number is too large.")
    return number, None


def daily_figures_submit(
    *, user, rows: list[dict], reason: str = "", now: dt.datetime | None = None
) -> SubmitResult:
    """Save a prefecture's daily figures, all rows or none.

    Each row: prefecture (code or Prefecture), item (code or Item), date, the five figures,
    optionally its own `reason`. A row for an existing key is a correction; a correction of a
    past date must give a reason. Raises DailyFiguresOutOfScope if any row belongs to a
    prefecture the user may not report for, DailyFiguresInvalid with every problem found.

    Two first submissions of the same key at the same moment (an officer's form and a retried
    API call) collide on the unique key; the loser is rolled back and run once more, when the
    winner's rows exist and its own rows become corrections or "unchanged".
    """
    now = now or timezone.now()
    limit = settings.SUPPLYCOORD["MAX_ROWS_PER_SUBMISSION"]
    if len(rows) > limit:
        raise DailyFiguresInvalid(
            [
                RowError(
                    None,
                    "non_field_errors",
                    _("At most %(limit)d rows may be sent at once; split the submission.")
                    % {"limit": limit},
                )
            ]
        )
    try:
        return _daily_figures_submit_once(user=user, rows=rows, reason=reason, now=now)
    except IntegrityError:
        return _daily_figures_submit_once(user=user, rows=rows, reason=reason, now=now)


@transaction.atomic
def _daily_figures_submit_once(*, user, rows, reason, now) -> SubmitResult:
    today = timezone.localdate(now)
    first_allowed = earliest_entry_date(user, today=today)

    prefectures = _by_code(Prefecture, rows, "prefecture")
    items = _by_code(Item, rows, "item")

    errors: list[RowError] = []
    out_of_scope: list[int] = []
    parsed: list[tuple[int, Prefecture, Item, dt.date, dict, str]] = []
    seen_keys: dict[tuple, int] = {}
    for index, row in enumerate(rows):
        row_errors: list[RowError] = []
        if not isinstance(row, dict):
            errors.append(RowError(index, "non_field_errors", _("Each row must be an object.")))
            continue
        prefecture = _resolve(row.get("prefecture"), Prefecture, prefectures)
        if prefecture is None:
            row_errors.append(RowError(index, "prefecture", _("Unknown prefecture code.")))
        elif not prefecture.active:
            row_errors.append(RowError(index, "prefecture", _("This prefecture is not active.")))
        elif not user_can_report_for_prefecture(user, prefecture):
            out_of_scope.append(index)
        item = _resolve(row.get("item"), Item, items)
        if item is None:
            row_errors.append(RowError(index, "item", _("Unknown item code.")))
        elif not item.active:
            row_errors.append(
                RowError(index, "item", _("This item is no longer in the catalogue."))
            )
        date = parse_iso_date(row.get("date"))
        if date is None:
            row_errors.append(RowError(index, "date", _("Enter a valid date (YYYY-MM-DD).")))
        elif date > today:
            row_errors.append(
                RowError(index, "date", _("Figures cannot be entered for a future date."))
            )
        elif date < earliest_date():
            row_errors.append(
                RowError(
                    index,
                    "date",
                    _("Dates before %(date)s are not accepted.")
                    % {"date": earliest_date().isoformat()},
                )
            )
        elif date < first_allowed:
            row_errors.append(
                RowError(
                    index,
                    "date",
                    _("Dates older than %(days)d days can only be entered by office staff.")
                    % {"days": settings.SUPPLYCOORD["OFFICER_BACKDATE_DAYS"]},
                )
            )
        figures = {}
        for field in FIGURE_FIELDS:
            number, message = _parse_whole_number(row.get(field))
            if message:
                row_errors.append(RowError(index, field, message))
            figures[field] = number
        if prefecture and item and date:
            key = (prefecture.pk, item.pk, date)
            if key in seen_keys:
                row_errors.append(
                    RowError(
                        index,
                        "item",
                        _("Duplicate row: the same prefecture, item and date as row %(row)d.")
                        % {"row": seen_keys[key]},
                    )
                )
            else:
                seen_keys[key] = index
        row_reason = str(row.get("reason") or reason or "").strip()
        errors.extend(row_errors)
        if not row_errors and index not in out_of_scope:
            parsed.append((index, prefecture, item, date, figures, row_reason))

    if out_of_scope:
        raise DailyFiguresOutOfScope(out_of_scope)

    existing = _existing_figures(parsed)
    to_create, to_update = [], []
    result = SubmitResult()
    for index, prefecture, item, date, figures, row_reason in parsed:
        current = existing.get((prefecture.pk, item.pk, date))
        if current is None:
            to_create.append(
                DailyFigure(
                    prefecture=prefecture,
                    item=item,
                    date=date,
                    submitted_by=user,
                    first_submitted_at=now,
                    submitted_at=now,
                    on_time=now <= cutoff_for(date),
                    correction_reason="",
                    **figures,
                )
            )
            continue
        if current.figures() == figures:
            result.unchanged += 1
            continue
        if date < today and not row_reason:
            errors.append(
                RowError(index, "reason", _("A correction of a past date needs a reason."))
            )
            continue
        for field, value in figures.items():
            setattr(current, field, value)
        current.submitted_by = user
        current.submitted_at = now
        current.correction_reason = row_reason[:500]
        current._change_reason = row_reason[:100]
        to_update.append(current)

    if errors:
        raise DailyFiguresInvalid(sorted(errors, key=lambda e: (e.row or 0, e.field)))

    if to_create:
        bulk_create_with_history(
            to_create, DailyFigure, batch_size=2000, default_user=user, default_date=now
        )
    if to_update:
        # Django's bulk_update builds a CASE WHEN per row and field (~1,000 rows/s); an upsert
        # on the natural key of the rows locked above writes the same values ~6x faster.
        DailyFigure.objects.bulk_create(
            to_update,
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["prefecture", "item", "date"],
            update_fields=[*FIGURE_FIELDS, "submitted_by", "submitted_at", "correction_reason"],
        )
        # No fields: only the history rows (with each row's change reason) are written.
        bulk_update_with_history(
            to_update, DailyFigure, [], batch_size=2000, default_user=user, default_date=now
        )
    result.created = len(to_create)
    result.updated = len(to_update)
    result.dates_changed = {f.date for f in to_create} | {f.date for f in to_update}
    if result.dates_changed:
        dates = set(result.dates_changed)
        transaction.on_commit(lambda: daily_figures_changed.send(sender=DailyFigure, dates=dates))
    return result


def _by_code(model, rows, field):
    codes = {
        row.get(field).strip()
        for row in rows
        if isinstance(row, dict) and isinstance(row.get(field), str)
    }
    return {obj.code: obj for obj in model.objects.filter(code__in=codes)} if codes else {}


def _resolve(value, model, by_code):
    if isinstance(value, model):
        return value
    if isinstance(value, str):
        return by_code.get(value.strip())
    return None


def _existing_figures(parsed):
    if not parsed:
        return {}
    prefecture_ids = {p.pk for _, p, _, _, _, _ in parsed}
    item_ids = {i.pk for _, _, i, _, _, _ in parsed}
    dates = {d for _, _, _, d, _, _ in parsed}
    wanted = {(p.pk, i.pk, d) for _, p, i, d, _, _ in parsed}
    found = {}
    # Lock the rows we may correct so two simultaneous corrections serialise.
    queryset = DailyFigure.objects.select_for_update().filter(
        prefecture_id__in=prefecture_ids, item_id__in=item_ids, date__in=dates
    )
    for figure in queryset.order_by("pk"):
        key = (figure.prefecture_id, figure.item_id, figure.date)
        if key in wanted:
            found[key] = figure
    return found


class ProtectedStaffInvalid(Exception):
    def __init__(self, errors: dict):
        super().__init__("invalid protected staff counts")
        self.errors = errors  # (prefecture_code, category_code) -> message


@transaction.atomic
def protected_staff_set(*, user, counts: dict) -> int:
    """Set 保障人员数: `counts` maps (prefecture code, staff category code) to a whole number.

    Office staff only. All or nothing; history (who, when, old value) is kept per row.
    Returns the number of rows that changed.
    """
    if not user.is_office:
        raise PermissionError("only office staff edit protected staff")
    prefectures = {p.code: p for p in Prefecture.objects.filter(code__in={p for p, _c in counts})}
    categories = {c.code: c for c in StaffCategory.objects.filter(code__in={c for _p, c in counts})}
    errors, parsed = {}, {}
    for (p_code, c_code), raw in counts.items():
        if p_code not in prefectures or c_code not in categories:
            errors[(p_code, c_code)] = _("Unknown prefecture or staff category.")
            continue
        number, message = _parse_whole_number(raw)
        if message:
            errors[(p_code, c_code)] = message
        else:
            parsed[(prefectures[p_code], categories[c_code])] = number
    if errors:
        raise ProtectedStaffInvalid(errors)
    existing = {
        (row.prefecture_id, row.category_id): row
        for row in ProtectedStaff.objects.select_for_update().filter(
            prefecture__in=prefectures.values(), category__in=categories.values()
        )
    }
    changed = 0
    for (prefecture, category), number in parsed.items():
        row = existing.get((prefecture.pk, category.pk))
        if row is None:
            row = ProtectedStaff(prefecture=prefecture, category=category, count=number)
        elif row.count == number:
            continue
        row.count = number
        row._history_user = user
        row.save()
        changed += 1
    return changed
