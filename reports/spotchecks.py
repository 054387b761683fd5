"""Spot checks (比对抽查) of reports.md: which prefecture's consumption per protected person
stands out from the others'.

For each key item and date d, each prefecture's figure is

    x = Σ reported consumption over [d-6, d] / its protected staff (all categories together)

and a prefecture is flagged when its robust z-score |0.6745 × (x − median) / MAD| exceeds 3.5
(Iglewicz and Hoaglin). A prefecture with no daily figures of the item in the window, or with
no protected staff, has no figure and is left out of the comparison. The item is skipped when
fewer than 5 prefectures have a figure, or when MAD is 0 (more than half of them have the
same figure: any difference would be an infinite score).

The median and MAD resist the outlier they look for: a mean and standard deviation would be
pulled towards it. 0.6745 makes the score comparable to an ordinary z-score for normal data.

Protected staff are today's figures (保障人员数 is kept current, its history is in the admin):
a rerun of a past date uses the staff as they are now.
"""

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Hashable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from numbers import Rational
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from inventory.models import DailyFigure
from supplycoord.lib.locks import advisory_xact_lock
from supplycoord.lib.numbers import grouped
from supplycoord.lib.pg import array_literal
from supplycoord.models import Item, ProtectedStaff
from supplycoord.permissions import can_follow_up_spot_checks, can_read_spot_checks
from supplycoord.selectors import active_prefectures, key_items

from .models import (
    SpotCheckComparison,
    SpotCheckFigure,
    SpotCheckFlag,
    SpotCheckFollowUp,
    SpotCheckStatus,
)

WINDOW_DAYS = 7  # [d-6, d], as reports.md defines it
IGLEWICZ_HOAGLIN = Fraction(6745, 10000)
SIX_PLACES = Decimal("0.000001")
TWO_PLACES = Decimal("0.01")


def spot_check_policy() -> tuple[Fraction, int]:
    """(threshold, fewest prefectures with data): settings, defaults 3.5 and 5."""
    conf = settings.SUPPLYCOORD
    return (
        Fraction(str(conf.get("SPOT_CHECK_THRESHOLD", "3.5"))),
        int(conf.get("SPOT_CHECK_MIN_PREFECTURES", 5)),
    )


class RobustZ(NamedTuple):
    median: Fraction
    mad: Fraction
    scores: dict  # key -> Fraction


def _exact_order(value: Fraction):
    # Comparing Fractions is slow (a third of a national comparison went into sorting): the
    # float orders them wherever it differs, and only equal floats compare the Fractions.
    return (float(value), value)


def _median(values: list[Fraction]) -> Fraction:
    ordered = sorted(values, key=_exact_order)
    n = len(ordered)
    middle = n // 2
    if n % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def robust_z_scores(values: Mapping[Hashable, Rational]) -> RobustZ | None:
    """The robust z-score of every value: 0.6745 × (x − median) / MAD (Iglewicz–Hoaglin).

    MAD = median(|x − median|). Exact arithmetic (Fractions in, Fractions out), so a score of
    exactly 3.5 is not flagged by rounding. None when there are no values or MAD is 0.

    Worked example (the 14 prefectures of tests/reports/test_spotchecks.py):
    x = 0.90, 0.95, 1.00, 1.00, 1.05, 1.10, 1.10, 1.15, 1.20, 1.20, 1.25, 1.30, 1.35, 4.00.
    median = (1.10 + 1.15) / 2 = 1.125; the deviations |x − 1.125| sorted are
    0.025 ×3, 0.075 ×3, 0.125 ×3, 0.175 ×2, 0.225 ×2, 2.875; their median (7th and 8th) is
    MAD = 0.125. The score of 4.00 is 0.6745 × 2.875 / 0.125 = 0.6745 × 23 = 15.5135 (flagged);
    the largest other one, 1.35, scores 0.6745 × 0.225 / 0.125 = 1.2141 (not flagged).
    """
    if not values:
        return None
    # At national scale this runs 60 times over 340 values per build: every Fraction made
    # counts (creating one is most of the time), so values already exact are kept as they are,
    # each deviation is computed once, and 0.6745 / MAD once per item.
    keys = list(values)
    exact = [value if type(value) is Fraction else Fraction(value) for value in values.values()]
    median = _median(exact)
    deviations = [x - median for x in exact]
    mad = _median([abs(d) for d in deviations])
    if mad == 0:
        return None
    factor = IGLEWICZ_HOAGLIN / mad
    return RobustZ(
        median=median,
        mad=mad,
        scores=dict(zip(keys, (factor * d for d in deviations), strict=True)),
    )


def _decimal(value: Fraction, places: Decimal) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        places, rounding=ROUND_HALF_UP
    )


# Why an item was not compared; the page words them.
SKIPPED_TOO_FEW = "too_few"
SKIPPED_MAD_ZERO = "mad_zero"


@dataclasses.dataclass
class ItemComparison:
    """One key item's comparison across prefectures on one date, as the Python reference
    computes it (the tests compare the stored comparison, computed in SQL, with it)."""

    item: Item
    figures: dict  # Prefecture -> Fraction, in prefecture code order
    median: Fraction | None = None
    mad: Fraction | None = None
    scores: dict = dataclasses.field(default_factory=dict)  # Prefecture -> Fraction
    outliers: list = dataclasses.field(default_factory=list)  # Prefecture, by |score| desc
    skipped: str | None = None


def spot_check_comparisons(*, date: dt.date) -> list[ItemComparison]:
    """Every key item's comparison on `date`: figures, median, MAD, scores and outliers.

    A read, in four queries whatever the number of prefectures and items: the key items, the
    active prefectures, the consumption sums of the window, and the protected staff totals.
    """
    threshold, min_prefectures = spot_check_policy()
    items = list(key_items())
    prefectures = {p.pk: p for p in active_prefectures()}
    start = date - dt.timedelta(days=WINDOW_DAYS - 1)
    # One query for the window's consumption sums and the staff totals, only for prefectures
    # with staff: 20,000 rows at national scale, read without the ORM's per-row conversions.
    sql = f"""
        SELECT f.item_id, f.prefecture_id, sum(f.consumption), s.people
        FROM {DailyFigure._meta.db_table} f
        JOIN {Item._meta.db_table} i ON i.id = f.item_id AND i.is_key AND i.active
        JOIN (
            SELECT prefecture_id, sum(count) AS people FROM {ProtectedStaff._meta.db_table}
            WHERE prefecture_id = ANY(%(prefectures)s::bigint[]) GROUP BY prefecture_id
        ) s ON s.prefecture_id = f.prefecture_id
        WHERE f.date BETWEEN %(start)s AND %(date)s
            AND f.prefecture_id = ANY(%(prefectures)s::bigint[]) AND s.people > 0
        GROUP BY f.item_id, f.prefecture_id, s.people
    """
    consumption = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(
            sql, {"prefectures": array_literal(prefectures), "start": start, "date": date}
        )
        for item_id, prefecture_id, total, people in cursor.fetchall():
            consumption[item_id][prefecture_id] = Fraction(int(total), int(people))

    comparisons = []
    for item in items:
        per_prefecture = consumption.get(item.pk, {})
        figures = {
            prefectures[p_id]: per_prefecture[p_id]
            for p_id in sorted(per_prefecture, key=lambda p_id: prefectures[p_id].code)
        }
        comparison = ItemComparison(item=item, figures=figures)
        comparisons.append(comparison)
        if len(figures) < min_prefectures:
            comparison.skipped = SKIPPED_TOO_FEW
            continue
        # Keyed by id inside (hashing a model instance is slow), by prefecture outside.
        robust = robust_z_scores({p.pk: x for p, x in figures.items()})
        if robust is None:
            comparison.median = _median(list(figures.values()))
            comparison.mad = Fraction(0)
            comparison.skipped = SKIPPED_MAD_ZERO
            continue
        comparison.median, comparison.mad = robust.median, robust.mad
        comparison.scores = dict(zip(figures, robust.scores.values(), strict=True))
        robust = robust._replace(scores=comparison.scores)
        comparison.outliers = sorted(
            (p for p, score in robust.scores.items() if abs(score) > threshold),
            key=lambda p: (-abs(robust.scores[p]), p.code),
        )
    return comparisons


def _comparison_tables(comparisons: list[ItemComparison]) -> tuple[list, list]:
    """The reference's comparisons as the columns of SpotCheckComparison and SpotCheckFigure
    (one list per column), figures and scores rounded as they are stored: what the tests hold
    the stored rows, computed in SQL, equal to."""
    items = [[] for _ in range(6)]
    figures = [[] for _ in range(5)]
    for c in comparisons:
        for column, value in zip(
            items,
            (
                c.item.pk,
                len(c.figures),
                None if c.median is None else _decimal(c.median, SIX_PLACES),
                None if c.mad is None else _decimal(c.mad, SIX_PLACES),
                c.skipped or "",
                len(c.outliers),
            ),
            strict=True,
        ):
            column.append(value)
        flagged = {p.pk for p in c.outliers}
        # The scores are in the figures' order (spot_check_comparisons), or there are none.
        scores = list(c.scores.values()) if c.scores else [None] * len(c.figures)
        for (prefecture, x), score in zip(c.figures.items(), scores, strict=True):
            for column, value in zip(
                figures,
                (
                    c.item.pk,
                    prefecture.pk,
                    _decimal(x, SIX_PLACES),
                    None if score is None else _decimal(score, TWO_PLACES),
                    prefecture.pk in flagged,
                ),
                strict=True,
            ):
                column.append(value)
    return items, figures


# The comparison's exact arithmetic in PostgreSQL. Every figure x = t / p (consumption summed
# over the window, protected staff) is carried as the pair (t, p) of integers, and every value
# derived from it (the median, each deviation, the MAD, each score) as an integer numerator and
# denominator in `numeric`, which multiplies integers of any size exactly:
# - sorting uses the quotient rounded to SORT_SCALE decimal places. Two different fractions
#   a/b and c/d differ by at least 1/(b·d). Protected staff stay below 10^12 (a category's
#   count is a 32-bit integer), so two figures' denominators multiply to less than 10^24, and
#   two deviations from the median mn/md (denominators p·md, md = 2·p·p') to less than
#   2·10^48: at 50 places the rounded quotients keep every order, and equal fractions tie;
# - the flag compares cross-multiplied integers: 0.6745 × |dn/dd| / (an/ad) > T_num / T_den
#   ⟺ 6745 × |dn| × ad × T_den > T_num × 10000 × dd × an (all denominators positive);
# - stored values are rounded half away from zero (Python's ROUND_HALF_UP) by integer
#   division: round(N / D, k) = sign(N) × div(2·|N|·10^k + D, 2·D) / 10^k for D > 0.
# The median of n sorted values is (x[lo] + x[hi]) / 2 with lo = (n + 1) / 2 and hi = n / 2 + 1
# (integer division; lo = hi when n is odd), so one formula serves odd and even n.
# reports.md "Spot checks"; `robust_z_scores` is the Python reference the tests compare with.
SORT_SCALE = 50
# The largest score the score columns hold (max_digits 14, 2 places); larger ones are stored as
# this, with their sign (they are flagged all the same).
SCORE_LIMIT = Decimal("999999999999.99")


def _rounded_sql(numerator: str, denominator: str, places: int) -> str:
    """SQL rounding numerator / denominator (integers, denominator > 0) half away from zero to
    `places` decimals, exactly."""
    return (
        f"(sign({numerator}) * div(2 * abs({numerator}) * 1e{places} + ({denominator}), "
        f"2 * ({denominator})) * 1e-{places})"
    )


_COMPARE_SQL = """
WITH staff AS (
    SELECT prefecture_id, sum(count)::numeric AS people FROM {staff}
    WHERE prefecture_id = ANY(%(prefectures)s::bigint[])
    GROUP BY prefecture_id HAVING sum(count) > 0
), x AS (
    SELECT f.item_id, f.prefecture_id, sum(f.consumption)::numeric AS t, s.people AS p
    FROM {figures} f JOIN staff s ON s.prefecture_id = f.prefecture_id
    WHERE f.date BETWEEN %(start)s AND %(date)s AND f.item_id = ANY(%(items)s::bigint[])
    GROUP BY f.item_id, f.prefecture_id, s.people
), ranked AS (
    SELECT x.*, count(*) OVER w AS n,
        row_number() OVER (w ORDER BY round(t, {scale}) / p, prefecture_id) AS r
    FROM x WINDOW w AS (PARTITION BY item_id)
), med AS (
    -- window aggregates over the item's rows, not a GROUP BY joined back: every step keeps
    -- one row per figure, so the planner's estimates (and the hash tables sized from them)
    -- stay the size of the data
    SELECT ranked.*,
        max(t) FILTER (WHERE r = (n + 1) / 2) OVER w AS lo_t,
        max(p) FILTER (WHERE r = (n + 1) / 2) OVER w AS lo_p,
        max(t) FILTER (WHERE r = n / 2 + 1) OVER w AS hi_t,
        max(p) FILTER (WHERE r = n / 2 + 1) OVER w AS hi_p
    FROM ranked WINDOW w AS (PARTITION BY item_id)
), dev AS (
    -- the median mn / md, and the signed deviation x − median = dn / dd
    SELECT item_id, prefecture_id, t, p, n,
        lo_t * hi_p + hi_t * lo_p AS mn, 2 * lo_p * hi_p AS md,
        t * 2 * lo_p * hi_p - (lo_t * hi_p + hi_t * lo_p) * p AS dn, p * 2 * lo_p * hi_p AS dd
    FROM med
), dranked AS (
    SELECT dev.*, row_number() OVER (
        PARTITION BY item_id ORDER BY round(abs(dn), {scale}) / dd, prefecture_id) AS dr
    FROM dev
), madw AS (
    SELECT dranked.*,
        max(abs(dn)) FILTER (WHERE dr = (n + 1) / 2) OVER w AS lo_n,
        max(dd) FILTER (WHERE dr = (n + 1) / 2) OVER w AS lo_d,
        max(abs(dn)) FILTER (WHERE dr = n / 2 + 1) OVER w AS hi_n,
        max(dd) FILTER (WHERE dr = n / 2 + 1) OVER w AS hi_d
    FROM dranked WINDOW w AS (PARTITION BY item_id)
), mad AS (
    -- the MAD an / ad
    SELECT madw.*, lo_n * hi_d + hi_n * lo_d AS an, 2 * lo_d * hi_d AS ad FROM madw
), scored AS (
    -- compared: enough prefectures and a MAD above 0; the score is 6745·dn·ad / (10000·dd·an)
    SELECT item_id, prefecture_id, n, mn, md, an, ad,
        {figure} AS figure,
        -- stored within its column (SCORE_LIMIT): a tight cluster (a tiny MAD) and one huge
        -- figure can score 10^12 and more, which would abort the statement; the flag is
        -- decided on the exact value
        CASE WHEN n >= %(min_prefectures)s AND an > 0 THEN
            least(greatest({score}, -%(score_limit)s), %(score_limit)s) END AS score,
        n >= %(min_prefectures)s AND an > 0
            AND 6745 * abs(dn) * ad * %(threshold_den)s > %(threshold_num)s * 10000 * dd * an
            AS flagged
    FROM mad
), per_item AS (
    SELECT i.item_id, coalesce(c.n, 0) AS n,
        CASE WHEN c.n >= %(min_prefectures)s THEN {median} END AS median,
        CASE WHEN c.n >= %(min_prefectures)s THEN {mad} END AS mad,
        CASE WHEN coalesce(c.n, 0) < %(min_prefectures)s THEN %(too_few)s
            WHEN c.an = 0 THEN %(mad_zero)s ELSE '' END AS skipped,
        coalesce(c.outliers, 0) AS outliers
    FROM unnest(%(items)s::bigint[]) AS i(item_id)
    LEFT JOIN (
        SELECT item_id, n, mn, md, an, ad, count(*) FILTER (WHERE flagged) AS outliers
        FROM scored GROUP BY item_id, n, mn, md, an, ad
    ) c ON c.item_id = i.item_id
), stored_items AS (
    INSERT INTO {comparisons} (date, computed_at, item_id, prefectures_compared, median, mad,
        skipped, outliers_count)
    SELECT %(date)s, %(now)s, item_id, n, median, mad, skipped, outliers FROM per_item
    ON CONFLICT (date, item_id) DO UPDATE SET computed_at = EXCLUDED.computed_at,
        prefectures_compared = EXCLUDED.prefectures_compared,
        median = EXCLUDED.median, mad = EXCLUDED.mad, skipped = EXCLUDED.skipped,
        outliers_count = EXCLUDED.outliers_count
    RETURNING id
), stored_figures AS (
    INSERT INTO {figure_rows} AS f (date, item_id, prefecture_id, figure, score, flagged)
    SELECT %(date)s, item_id, prefecture_id, figure, score, coalesce(flagged, false)
    FROM scored
    ON CONFLICT (date, item_id, prefecture_id) DO UPDATE SET
        figure = EXCLUDED.figure, score = EXCLUDED.score, flagged = EXCLUDED.flagged
    -- a rerun over unchanged figures (most of them) rewrites nothing
    WHERE (f.figure, f.score, f.flagged)
        IS DISTINCT FROM (EXCLUDED.figure, EXCLUDED.score, EXCLUDED.flagged)
), gone_items AS (
    -- the outer statements do not see the rows the upserts insert: only older rows go
    DELETE FROM {comparisons} WHERE date = %(date)s
        AND id NOT IN (SELECT id FROM stored_items)
), gone_figures AS (
    DELETE FROM {figure_rows} AS f WHERE f.date = %(date)s AND NOT EXISTS (
        SELECT 1 FROM scored s WHERE s.item_id = f.item_id AND s.prefecture_id = f.prefecture_id)
)
SELECT s.prefecture_id, s.item_id, s.figure, p.median, p.mad, s.score, s.n
FROM scored s JOIN per_item p ON p.item_id = s.item_id
WHERE s.flagged
"""


def _comparisons_compute_and_store(*, date: dt.date, now) -> dict:
    """Compare every key item of `date` and replace its stored comparisons and figures (what
    the page reads), in one statement (`_COMPARE_SQL`). Returns the flags found:
    {(prefecture id, item id): the flag's computed fields}."""
    threshold, min_prefectures = spot_check_policy()
    sql = _COMPARE_SQL.format(
        scale=SORT_SCALE,
        figure=_rounded_sql("t", "p", 6),
        score=_rounded_sql("6745 * dn * ad", "10000 * dd * an", 2),
        median=_rounded_sql("c.mn", "c.md", 6),
        mad=_rounded_sql("c.an", "c.ad", 6),
        staff=ProtectedStaff._meta.db_table,
        figures=DailyFigure._meta.db_table,
        comparisons=SpotCheckComparison._meta.db_table,
        figure_rows=SpotCheckFigure._meta.db_table,
    )
    params = {
        "date": date,
        "start": date - dt.timedelta(days=WINDOW_DAYS - 1),
        "now": now,
        "prefectures": array_literal(active_prefectures().values_list("pk", flat=True)),
        "items": array_literal(key_items().values_list("pk", flat=True)),
        "min_prefectures": min_prefectures,
        "threshold_num": threshold.numerator,
        "threshold_den": threshold.denominator,
        "score_limit": SCORE_LIMIT,
        "too_few": SKIPPED_TOO_FEW,
        "mad_zero": SKIPPED_MAD_ZERO,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {
            (prefecture_id, item_id): {
                "figure": figure,
                "median": median,
                "mad": mad,
                "score": score,
                "prefectures_compared": compared,
            }
            for prefecture_id, item_id, figure, median, mad, score, compared in cursor.fetchall()
        }


@transaction.atomic
def spot_checks_compute_for_date(
    *, date: dt.date, now: dt.datetime | None = None
) -> list[SpotCheckFlag]:
    """Compute and store the spot-check flags of `date`; idempotent.

    A rerun replaces the date's computed figures. A flag that still holds keeps its follow-up
    status and notes; one that no longer holds is deleted if nobody followed it up, and kept
    with `cleared_at` set otherwise (what people wrote is never lost). A flag found again
    after being cleared is current again. Every item's comparison (median, MAD, each
    prefecture's figure and score) is stored too, for the page to read. Constant queries: the
    active prefectures' and key items' ids (2), the comparison computed and stored (1,
    `_COMPARE_SQL`), the date's flags (1), then at most one delete, one insert and one update.
    """
    now = now or timezone.now()
    # Two runs of one date at once (two builds' jobs) would insert the same new flags.
    advisory_xact_lock(f"spotchecks:{date.isoformat()}")
    found = _comparisons_compute_and_store(date=date, now=now)

    # Locked (without an aggregate: PostgreSQL refuses FOR UPDATE with GROUP BY), so a
    # follow-up being written, which locks its flag first, is seen before a flag is deleted.
    existing = {
        (flag.prefecture_id, flag.item_id): flag
        for flag in SpotCheckFlag.objects.select_for_update(of=("self",))
        .filter(date=date)
        .annotate(followed_up=Exists(SpotCheckFollowUp.objects.filter(flag=OuterRef("pk"))))
        .order_by("pk")
    }
    followed_up = {flag.pk for flag in existing.values() if flag.followed_up}
    new, changed, gone = [], [], []
    for key, values in found.items():
        flag = existing.get(key)
        if flag is None:
            new.append(
                SpotCheckFlag(
                    date=date, prefecture_id=key[0], item_id=key[1], computed_at=now, **values
                )
            )
            continue
        for field, value in values.items():
            setattr(flag, field, value)
        flag.computed_at, flag.cleared_at = now, None
        changed.append(flag)
    for key, flag in existing.items():
        if key in found:
            continue
        if flag.pk in followed_up:
            if flag.cleared_at is None:
                flag.cleared_at = now
                changed.append(flag)
        else:
            gone.append(flag.pk)

    if gone:
        SpotCheckFlag.objects.filter(pk__in=gone).delete()
    if new:
        SpotCheckFlag.objects.bulk_create(new, batch_size=1000)
    if changed:
        _flags_update(changed)
    return new + changed


_FLAG_UPDATE_FIELDS = [
    "figure",
    "median",
    "mad",
    "score",
    "prefectures_compared",
    "computed_at",
    "cleared_at",
]


def _flags_update(flags: list[SpotCheckFlag]) -> None:
    """Write the flags' computed fields (_FLAG_UPDATE_FIELDS) in one UPDATE ... FROM unnest:
    `bulk_update` resolved a CASE expression per flag and field, most of the spot checks' time
    when thousands of flags were found again."""
    meta = SpotCheckFlag._meta
    fields = [meta.get_field(name) for name in _FLAG_UPDATE_FIELDS]
    table = connection.ops.quote_name(meta.db_table)
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
    names = ", ".join(field.column for field in fields)
    sets = ", ".join(f"{field.column} = v.{field.column}" for field in fields)
    columns = [array_literal(flag.pk for flag in flags)]
    for field in fields:
        values = (getattr(flag, field.attname) for flag in flags)
        if field.get_internal_type() == "DateTimeField":
            # ISO timestamps with their offset, quoted: PostgreSQL reads them as timestamptz.
            values = (None if v is None else v.isoformat() for v in values)
        columns.append(array_literal(values))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS f SET {sets} "
            f"FROM unnest(%s::bigint[], {arrays}) AS v(id, {names}) WHERE f.id = v.id",
            columns,
        )


# --- Follow-ups and reads -------------------------------------------------------------------

FOLLOW_UP_NOTE_MAX_LENGTH = 2000
FOLLOW_UP_ACTIONS = [value for value in SpotCheckStatus.values if value != SpotCheckStatus.NONE]


class FollowUpRefused(ValueError):
    """The follow-up cannot be recorded as asked (unknown action, note too long)."""


@transaction.atomic
def spot_check_follow_up_record(
    *, user, flag: SpotCheckFlag, action: str, note: str = "", now: dt.datetime | None = None
) -> SpotCheckFollowUp:
    """The office records what it did about a flag: the flag's status becomes `action`, and a
    follow-up row (append-only) keeps who, when and the note."""
    if not can_follow_up_spot_checks(user):
        raise PermissionDenied
    if action not in FOLLOW_UP_ACTIONS:
        raise FollowUpRefused(_("Choose what was done."))
    note = str(note or "").strip()
    if len(note) > FOLLOW_UP_NOTE_MAX_LENGTH:
        raise FollowUpRefused(
            _("A note may be at most %(limit)s characters long.")
            % {"limit": grouped(FOLLOW_UP_NOTE_MAX_LENGTH)}
        )
    now = now or timezone.now()
    flag = SpotCheckFlag.objects.select_for_update(of=("self",)).get(pk=flag.pk)
    flag.status, flag.status_changed_at = action, now
    flag.save(update_fields=["status", "status_changed_at"])
    return SpotCheckFollowUp.objects.create(
        flag=flag, action=action, note=note, author=user, created_at=now
    )


def spot_check_flags(user, *, date: dt.date) -> QuerySet[SpotCheckFlag]:
    """The flags of `date` with their prefecture, item and follow-ups (authors joined):
    three queries for any number. Largest |score| first; cleared flags last."""
    if not can_read_spot_checks(user):
        return SpotCheckFlag.objects.none()
    return (
        SpotCheckFlag.objects.filter(date=date)
        .select_related("prefecture", "item")
        .prefetch_related(
            Prefetch(
                "follow_ups",
                queryset=SpotCheckFollowUp.objects.select_related("author").order_by(
                    "created_at", "pk"
                ),
            )
        )
        .order_by(
            F("cleared_at").asc(nulls_first=True),
            "item__sort_order",
            "item__code",
            "-score",
            "prefecture__code",
        )
    )


def spot_check_stored_comparisons(*, date: dt.date) -> list[SpotCheckComparison]:
    """Every key item's comparison of `date` as the build's spot-check job stored it (items
    joined, in the catalogue's order): one query, no z-score computed. Items no longer key
    are left out, as a recomputation would."""
    return list(
        SpotCheckComparison.objects.filter(date=date, item__is_key=True, item__active=True)
        .select_related("item")
        .order_by("item__sort_order", "item__code")
    )


def spot_check_stored_chart(comparison: SpotCheckComparison) -> dict:
    """The bar chart of one stored comparison: every compared prefecture (code order), its
    figure and whether it is flagged, and the median. One query."""
    figures = comparison.stored_figures
    return {
        "item": comparison.item.name,
        "median": float(comparison.median) if comparison.median is not None else None,
        "prefectures": [f.prefecture.name for f in figures],
        "figures": [float(f.figure) for f in figures],
        "flagged": [f.flagged for f in figures],
    }


def spot_check_dates() -> list[dt.date]:
    """Dates that have flags, newest first (for the page's shortcuts)."""
    return list(
        SpotCheckFlag.objects.order_by("-date").values_list("date", flat=True).distinct()[:30]
    )


def spot_check_notice_rows(user, *, date: dt.date) -> list[dict]:
    """The notice list (通报) of `date`: the flags that still hold, each with its follow-up
    status and latest note."""
    rows = []
    for flag in spot_check_flags(user, date=date):
        if flag.cleared_at is not None:
            continue
        notes = [f for f in flag.follow_ups.all() if f.note]
        rows.append(
            {
                "prefecture": flag.prefecture.name,
                "item": flag.item.name,
                "figure": float(flag.figure),
                "median": float(flag.median),
                "score": float(flag.score),
                "status": str(flag.get_status_display()),
                "latest_note": notes[-1].note if notes else "",
            }
        )
    return rows
