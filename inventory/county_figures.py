"""Counties' daily figures and the prefecture rows derived from them (issue 15 §3).

A prefecture may report as the sum of its counties (Prefecture.reports_as_sum_of_counties,
switched by the office: `prefecture_set_reports_as_sum`). Its county officers, or the office,
then enter each county's five figures — a declaration on the bulk-rows pipeline
(supplycoord.bulk), so the entry page, the API and the Excel import are the prefectures' own
doors — and, in the same transaction, the prefecture's DailyFigure of each item and day the
submission touched is derived once every active county has reported it: the sums of the five
figures (`prefecture_rows_derive`). Meanwhile nobody enters the prefecture's rows directly
(DailyFiguresKind.check_row refuses them).

The derived rows are ordinary DailyFigure rows: the snapshot, its exports and the API read
them as they read any prefecture's, and `daily_figures_changed` rebuilds what they feed. A
prefecture some of whose counties have not reported an item stays *missing* for that item:
the province's coverage says honestly what its figures rest on, and the county pages list
which counties are missing.
"""

import dataclasses
import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Max, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from supplycoord.bulk import (
    EntryKind,
    RowError,
    RowsInvalid,
    RowsOutOfScope,
    SubmitResult,
    bulk_upsert,
    rows_submit,
)
from supplycoord.events import daily_figures_changed
from supplycoord.lib.dates import cutoff_for
from supplycoord.models import County, Item, Prefecture, ReportingState
from supplycoord.permissions import (
    can_report_for_county,
    can_set_reports_as_sum,
    scope_counties,
)
from supplycoord.selectors import key_items

from .models import FIGURE_FIELDS, CountyDailyFigure, DailyFigure
from .selectors import EntryRow, entry_rows
from .services import DAILY_FIGURES

# The reason a derived prefecture row records when it changes: a marker stored as it is,
# whatever the language of the county officer whose correction changed it (as the paper
# ledger's note, inventory.models.PAPER_LEDGER_NOTE), followed by the counties' own reasons.
DERIVED_FROM_COUNTIES = "由区县日报汇总"


# --- The entry kind ---------------------------------------------------------------------------


class CountyFiguresInvalid(RowsInvalid):
    """Every problem of a submission of county figures (RowError: row, field, message)."""


class CountyFiguresOutOfScope(RowsOutOfScope):
    """The caller tried to write figures of a county that is not theirs."""


def county_refusal(prefecture) -> str | None:
    """Why a county of `prefecture` may not report figures now, translated, or None."""
    if not prefecture.active:
        return _("%(prefecture)s is not active: its counties' figures are not taken.") % {
            "prefecture": prefecture.name
        }
    if not prefecture.reports_as_sum_of_counties:
        return _(
            "%(prefecture)s does not report as the sum of its counties: its officers enter "
            "its figures."
        ) % {"prefecture": prefecture.name}
    return None


class CountyDailyFiguresKind(EntryKind):
    """区县日报: a county's five figures of an item and a day, the same as a prefecture's."""

    model = CountyDailyFigure
    owner = "county"
    owner_model = County
    owner_help = "County code (GB/T 2260), e.g. 620123."
    fields = DAILY_FIGURES.fields
    invalid = CountyFiguresInvalid
    out_of_scope = CountyFiguresOutOfScope

    def messages(self):
        return {
            "unknown_owner": _("Unknown county code."),
            "inactive_owner": _("This county is not active."),
            "duplicate": _("Duplicate row: the same county, item and date as row %(row)s."),
            "api_out_of_scope": _("You may not submit figures for the county of these rows."),
        }

    def owners(self, codes):
        # check_row reads each county's prefecture.
        return County.objects.filter(code__in=codes).select_related("prefecture")

    def may_write(self, user, owner):
        return can_report_for_county(user, owner)

    def check_row(self, *, owner, item, figures):
        message = county_refusal(owner.prefecture) if owner is not None else None
        return [("county", message)] if message else []

    def new_row(self, *, user, owner, item, date, figures, now):
        figure = super().new_row(
            user=user, owner=owner, item=item, date=date, figures=figures, now=now
        )
        figure.on_time = now <= cutoff_for(date)
        return figure

    def save(self, *, user, created, updated, now):
        rows = [*created, *updated]
        if not rows:
            return []
        # One writer of a prefecture's counties at a time: two counties completing an item at
        # the same moment would each miss the other's uncommitted row and derive nothing. The
        # second waits here and, under READ COMMITTED, then reads the first's rows. FOR NO KEY
        # UPDATE: rows referring to the prefecture (batches, figures) are not held up. The
        # flag is read again under the lock: the office may have switched it meanwhile.
        prefectures = {
            p.pk: p
            for p in Prefecture.objects.select_for_update(no_key=True)
            .filter(pk__in={row.owner.prefecture_id for row in rows})
            .order_by("pk")
        }
        errors = []
        for row in rows:
            message = county_refusal(prefectures[row.owner.prefecture_id])
            if message:
                errors.append(RowError(row.index, "county", message))
        if errors:
            return errors
        bulk_upsert(self, user=user, created=created, updated=updated, now=now)
        reasons: dict[tuple, set[str]] = {}
        for row in updated:
            if row.reason:
                key = (row.owner.prefecture_id, row.item.pk, row.date)
                reasons.setdefault(key, set()).add(row.reason)
        dates = prefecture_rows_derive(
            user=user,
            keys={(row.owner.prefecture_id, row.item.pk, row.date) for row in rows},
            reasons=reasons,
            now=now,
        )
        if dates:
            # Inside the transaction, as for the prefectures' own figures: the reports'
            # rebuild requests commit or roll back with the figures.
            daily_figures_changed(dates=dates)
        return []


COUNTY_FIGURES = CountyDailyFiguresKind()


def county_figures_submit(
    *, user, rows: list[dict], reason: str = "", now: dt.datetime | None = None
) -> SubmitResult:
    """Save counties' daily figures, all rows or none, and derive their prefectures' rows
    (see `supplycoord.bulk.rows_submit` and `prefecture_rows_derive`).

    Each row: county (code or County), item (code or Item), date, the five figures,
    optionally its own `reason`. Raises CountyFiguresOutOfScope if any row is of a county the
    user may not report for, CountyFiguresInvalid with every problem found (a county whose
    prefecture does not report as the sum of its counties is refused at its row's county).
    """
    return rows_submit(COUNTY_FIGURES, user=user, rows=rows, reason=reason, now=now)


# --- The derived prefecture rows --------------------------------------------------------------


@dataclasses.dataclass
class _Derived:
    """A derived DailyFigure as `bulk_upsert` takes it."""

    instance: DailyFigure


def derived_reason(reasons) -> str:
    """The reason a derived row records: the marker, then the counties' own reasons."""
    if not reasons:
        return DERIVED_FROM_COUNTIES
    return f"{DERIVED_FROM_COUNTIES}：{'；'.join(sorted(reasons))}"


def prefecture_rows_derive(*, user, keys: set[tuple], reasons: dict, now) -> set[dt.date]:
    """Derive the prefecture rows of `keys` (prefecture id, item id, date) from their counties'
    rows; returns the dates whose rows were created or changed. Call with the prefectures
    locked (CountyDailyFiguresKind.save).

    A key whose every active county has a row gets the prefecture row: each figure the sum of
    the counties', `submitted_by` the user whose submission completed or changed it,
    `first_submitted_at` the moment the last county first reported, on time iff that is by
    the day's cut-off (a county's correction never changes its first report, so neither does
    the prefecture's). An existing prefecture row (derived earlier, or entered before the
    prefecture reported as the sum of its counties) is corrected, its history keeping the old
    figures with the reason `derived_reason(reasons[key])`; one already equal is left alone.

    A key some active county has not reported gets nothing, and an existing prefecture row is
    never deleted. Why that cannot leave a wrong sum behind: county rows are never deleted,
    so a key once complete stays complete, and each later county correction derives the row
    again. Only a county added to the prefecture (or made active again) afterwards makes an
    old key incomplete; its rows then keep the sums of the counties that were active, as
    their history shows, until that county reports the key too.

    A few queries whatever the number of rows (a grid of 15 counties × 30 items): the active
    counties per prefecture, the sums per key, the stored prefecture rows (locked), the
    writes in bulk.
    """
    if not keys:
        return set()
    prefecture_ids = {key[0] for key in keys}
    item_ids = {key[1] for key in keys}
    dates = {key[2] for key in keys}
    active = dict(
        County.objects.filter(prefecture_id__in=prefecture_ids, active=True)
        .order_by()
        .values("prefecture_id")
        .annotate(n=Count("pk"))
        .values_list("prefecture_id", "n")
    )
    sums = (
        CountyDailyFigure.objects.filter(
            county__prefecture_id__in=prefecture_ids,
            county__active=True,
            item_id__in=item_ids,
            date__in=dates,
        )
        .order_by()
        .values("county__prefecture_id", "item_id", "date")
        .annotate(
            reported=Count("pk"),
            last_first=Max("first_submitted_at"),
            **{f"sum_{name}": Sum(name) for name in FIGURE_FIELDS},
        )
    )
    complete = {}
    for row in sums:
        key = (row["county__prefecture_id"], row["item_id"], row["date"])
        if key in keys and row["reported"] == active.get(key[0]):
            complete[key] = row
    if not complete:
        return set()

    stored = {
        (figure.prefecture_id, figure.item_id, figure.date): figure
        for figure in DailyFigure.objects.select_for_update()
        .filter(
            prefecture_id__in={key[0] for key in complete},
            item_id__in={key[1] for key in complete},
            date__in={key[2] for key in complete},
        )
        .order_by("pk")
    }
    created, updated, changed = [], [], set()
    for key, row in sorted(complete.items()):
        prefecture_id, item_id, date = key
        figures = {name: int(row[f"sum_{name}"]) for name in FIGURE_FIELDS}
        first = row["last_first"]
        on_time = first <= cutoff_for(date)
        current = stored.get(key)
        if current is None:
            figure = DailyFigure(
                prefecture_id=prefecture_id,
                item_id=item_id,
                date=date,
                submitted_by=user,
                first_submitted_at=first,
                submitted_at=now,
                on_time=on_time,
                correction_reason="",
                **figures,
            )
            # The history says where a first figure came from; the row has no correction.
            figure._change_reason = DERIVED_FROM_COUNTIES
            created.append(_Derived(figure))
        elif (current.figures(), current.first_submitted_at, current.on_time) == (
            figures,
            first,
            on_time,
        ):
            continue
        else:
            for name, value in figures.items():
                setattr(current, name, value)
            reason = derived_reason(reasons.get(key))
            current.first_submitted_at = first
            current.on_time = on_time
            current.submitted_by = user
            current.submitted_at = now
            current.correction_reason = reason[:500]
            current._change_reason = reason[:100]
            updated.append(_Derived(current))
        changed.add(date)
    bulk_upsert(
        DAILY_FIGURES,
        user=user,
        created=created,
        updated=updated,
        now=now,
        extra_update_fields=("first_submitted_at", "on_time"),
    )
    return changed


# --- The office's switch ----------------------------------------------------------------------


class SumOfCountiesRefused(Exception):
    """The switch was refused; `message` says why, translated."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@transaction.atomic
def prefecture_set_reports_as_sum(*, user, prefecture: Prefecture, value: bool) -> Prefecture:
    """Switch `prefecture` to report as the sum of its counties (`value` True) or back.

    The office only; audited (the prefecture's history: who, when, which way). Switching on
    needs an active county. Nothing is derived or deleted by the switch itself: the
    prefecture's rows entered so far stay, and a row is derived when its counties' figures
    are saved; switched back, the derived rows stay as the prefecture's own, which its
    officers may correct.
    """
    if not can_set_reports_as_sum(user):
        raise PermissionDenied("only the office switches a prefecture to the sum of its counties")
    locked = Prefecture.objects.select_for_update(no_key=True).get(pk=prefecture.pk)
    value = bool(value)
    if locked.reports_as_sum_of_counties == value:
        return locked
    if value and not locked.counties.filter(active=True).exists():
        raise SumOfCountiesRefused(
            _("%(prefecture)s has no active county: it cannot report as their sum.")
            % {"prefecture": locked.name}
        )
    locked.reports_as_sum_of_counties = value
    locked._history_user = user
    locked._change_reason = "reports_as_sum_of_counties_" + ("on" if value else "off")
    locked.save(update_fields=["reports_as_sum_of_counties"])
    return locked


# --- Reads: the entry grid, who may enter what, the counties' status --------------------------


def counties_enterable_by(user) -> list[County]:
    """The active counties of active sum-of-counties prefectures `user` may enter figures for:
    every one for the office, a county officer's own (when its prefecture reports so)."""
    counties = scope_counties(
        user,
        County.objects.filter(
            active=True,
            prefecture__active=True,
            prefecture__reports_as_sum_of_counties=True,
        ),
    ).select_related("prefecture")
    return [
        county
        for county in counties.order_by("prefecture__code", "code")
        if can_report_for_county(user, county)
    ]


def county_entry_rows(*, county: County, date: dt.date) -> list[EntryRow]:
    """One row per key item: the county's figures of the day if entered, else its last stock
    (within PREFILL_LOOKBACK_DAYS) prefilled, as the prefectures' grid does."""
    return entry_rows(CountyDailyFigure.objects.filter(county=county), date=date)


# How the prefecture's row of an item stands on the status page.
PREFECTURE_ROW_DERIVED = "derived"  # every active county reported: the row is their sums
PREFECTURE_ROW_ENTERED = "entered"  # a row entered before the switch; counties incomplete
PREFECTURE_ROW_MISSING = "missing"

PREFECTURE_ROW_LABELS = {
    PREFECTURE_ROW_DERIVED: gettext_lazy("derived"),
    PREFECTURE_ROW_ENTERED: gettext_lazy("entered directly, counties incomplete"),
    PREFECTURE_ROW_MISSING: gettext_lazy("not derived yet"),
}


@dataclasses.dataclass
class CountyState:
    """A county's reporting state for a date: on time, late or missing (as a prefecture's,
    reports.md "Reporting completeness"), and how many key items it reported."""

    county: County
    state: str
    reported: int
    late: int


@dataclasses.dataclass
class ItemRow:
    """One key item: each county's cell (on time, late, missing) and the prefecture's row."""

    item: Item
    cells: list[str]
    reported: int
    prefecture_row: str

    @property
    def prefecture_row_label(self):
        return PREFECTURE_ROW_LABELS[self.prefecture_row]


@dataclasses.dataclass
class CountiesStatus:
    prefecture: Prefecture
    date: dt.date
    counties: list[CountyState]
    items: list[ItemRow]

    @property
    def missing(self) -> list[CountyState]:
        return [c for c in self.counties if c.state == ReportingState.MISSING]

    @property
    def derived(self) -> int:
        return sum(1 for row in self.items if row.prefecture_row == PREFECTURE_ROW_DERIVED)


def counties_status(*, prefecture: Prefecture, date: dt.date) -> CountiesStatus:
    """Which active county of `prefecture` reported which key item on `date` (on time, late,
    missing), each county's state, and whether the prefecture's row of each item is derived.
    Four queries whatever the numbers of counties and items."""
    counties = list(County.objects.filter(prefecture=prefecture, active=True).order_by("code"))
    items = list(key_items())
    reported = {
        (county_id, item_id): on_time
        for county_id, item_id, on_time in CountyDailyFigure.objects.filter(
            county__in=counties, date=date, item__in=items
        ).values_list("county_id", "item_id", "on_time")
    }
    prefecture_rows = set(
        DailyFigure.objects.filter(prefecture=prefecture, date=date, item__in=items).values_list(
            "item_id", flat=True
        )
    )

    def cell(county, item):
        on_time = reported.get((county.pk, item.pk))
        if on_time is None:
            return ReportingState.MISSING
        return ReportingState.ON_TIME if on_time else ReportingState.LATE

    rows = []
    for item in items:
        cells = [cell(county, item) for county in counties]
        count = sum(1 for c in cells if c != ReportingState.MISSING)
        if item.pk not in prefecture_rows:
            state = PREFECTURE_ROW_MISSING
        elif counties and count == len(counties):
            state = PREFECTURE_ROW_DERIVED
        else:
            state = PREFECTURE_ROW_ENTERED
        rows.append(ItemRow(item, cells, count, state))
    states = []
    for index, county in enumerate(counties):
        cells = [row.cells[index] for row in rows]
        missing = cells.count(ReportingState.MISSING)
        late = cells.count(ReportingState.LATE)
        if missing or not cells:
            state = ReportingState.MISSING
        elif late:
            state = ReportingState.LATE
        else:
            state = ReportingState.ON_TIME
        states.append(CountyState(county, state, len(cells) - missing, late))
    return CountiesStatus(prefecture, date, states, rows)
