"""The inbound calendar of one item (issue 14, section 5): procurement's channels (open order
lines, announced national allocations, distribution enterprises' purchase in transit; see
procurement/inbound.py for the figures and the as-of rule) and the producers' planned deliveries
to the held reserve, which procurement may not read (production sits beside it) and which
reports.md's inbound_3d / inbound_14d do not count: the calendar shows them in a row of their
own, outside the totals.

The producers' channel is a trend, not a plan: for each producer, the mean daily `to_reserve`
(production.models.ProductionReport) over its last 7 reported days on or before d, looking back
at most PRODUCER_LOOKBACK_DAYS days (a producer silent for longer plans nothing); the Σ over
producers is projected for every day after d (d+1 … d+14). On d itself the day's report, when
there is one, has booked its delivery into the ledger already (the reserve stock).
"""

import dataclasses
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.db.models import F, Window
from django.db.models.functions import RowNumber

from procurement.inbound import WINDOW_LONG, WINDOW_SHORT, InboundCalendar, inbound_calendar
from production.models import ProductionReport

PRODUCER_TREND_DAYS = 7
PRODUCER_LOOKBACK_DAYS = 30


def producers_daily_to_reserve(day: dt.date, *, item) -> tuple[int, int]:
    """(Σ over producers of the mean daily to_reserve of `item`, rounded half up to whole
    units; how many producers it rests on), from each producer's last 7 reported days on or
    before `day`. One query."""
    rows = (
        ProductionReport.objects.filter(
            item=item,
            date__lte=day,
            date__gt=day - dt.timedelta(days=PRODUCER_LOOKBACK_DAYS),
        )
        .annotate(
            recent=Window(RowNumber(), partition_by=[F("producer_id")], order_by=F("date").desc())
        )
        .filter(recent__lte=PRODUCER_TREND_DAYS)
        .values_list("producer_id", "to_reserve")
    )
    sums: dict[int, list[int]] = {}
    for producer_id, to_reserve in rows:
        sums.setdefault(producer_id, []).append(to_reserve)
    total = sum((Fraction(sum(values), len(values)) for values in sums.values()), Fraction(0))
    rounded = (Decimal(total.numerator) / Decimal(total.denominator)).quantize(
        Decimal(1), rounding=ROUND_HALF_UP
    )
    return int(rounded), len(sums)


@dataclasses.dataclass
class CalendarView:
    """The calendar of procurement with the producers' row and the totals the page shows."""

    calendar: InboundCalendar
    producers: list[int]  # projected per column; 0 on d
    producers_count: int

    @property
    def days(self):
        return self.calendar.days

    @property
    def totals(self) -> list[int]:
        """Per day: orders + national allocations (the producers' row is not in them)."""
        return [a + b for a, b in zip(self.calendar.orders, self.calendar.national, strict=True)]

    @staticmethod
    def _window(values, days: int) -> int:
        """Σ of the columns d … d+days (the window [d, d+days] of reports.md)."""
        return sum(values[: days + 1])

    def window_sums(self, values) -> tuple[int, int]:
        return self._window(values, WINDOW_SHORT), self._window(values, WINDOW_LONG)

    @property
    def inbound_3d(self) -> int:
        return self._window(self.totals, WINDOW_SHORT) + self.calendar.distribution_in_transit

    @property
    def inbound_14d(self) -> int:
        return self._window(self.totals, WINDOW_LONG) + self.calendar.distribution_in_transit

    @property
    def overdue_total(self) -> int:
        return sum(entry.outstanding for entry in self.calendar.overdue)


def inbound_calendar_view(day: dt.date, *, item) -> CalendarView:
    """The page's calendar of `item` on `day`: six queries (procurement's five, the
    producers' one)."""
    calendar = inbound_calendar(day, item=item)
    daily, count = producers_daily_to_reserve(day, item=item)
    producers = [0] + [daily] * (len(calendar.days) - 1)
    return CalendarView(calendar=calendar, producers=producers, producers_count=count)
