"""Celery jobs of inventory: the officers' reminder before the cut-off (issue 16)."""

from celery import shared_task
from django.conf import settings
from django.urls import reverse

from supplycoord.lib.dates import local_today
from supplycoord.models import County
from supplycoord.notifications import recipients as to
from supplycoord.notifications.kinds import translated
from supplycoord.notifications.services import notify
from supplycoord.selectors import active_prefectures, key_items

from .models import CountyDailyFigure, DailyFigure


@shared_task(name="inventory.tasks.figures_missing_remind", acks_late=True)
def figures_missing_remind() -> int:
    """Remind the officers whose figures for today still lack key items (beat: the cut-off
    minus SUPPLYCOORD_REMINDER_MINUTES_BEFORE_CUTOFF): a prefecture's officers, or, where a
    prefecture reports as the sum of its counties, each county's officers. Once per place
    and day (run twice, it tells nobody twice). Returns how many places were reminded."""
    today = local_today()
    items = list(key_items())
    prefectures = list(active_prefectures())
    reported = set(
        DailyFigure.objects.filter(date=today, item__in=items).values_list("prefecture", "item")
    )
    by_sum = [p.pk for p in prefectures if p.reports_as_sum_of_counties]
    counties = list(County.objects.filter(prefecture__in=by_sum, active=True).order_by("code"))
    county_reported = set(
        CountyDailyFigure.objects.filter(
            date=today, county__in=counties, item__in=items
        ).values_list("county", "item")
    )
    places = [
        (p, p.pk, None, to.prefecture_officers(p.pk), "inventory:daily_entry", reported)
        for p in prefectures
        if not p.reports_as_sum_of_counties
    ] + [
        (
            c,
            c.prefecture_id,
            c.pk,
            to.county_officers(c.pk),
            "inventory:county_entry",
            county_reported,
        )
        for c in counties
    ]
    reminded = 0
    for place, prefecture_id, county_id, who, page, done in places:
        missing = [item for item in items if (place.pk, item.pk) not in done]
        if not missing:
            continue
        notify(
            event="figures_missing",
            recipients=[who],
            params={
                "place": translated(place),
                "date": today.isoformat(),
                "missing": len(missing),
                "expected": len(items),
                "items": [translated(item) for item in missing],
                "cutoff": settings.SUPPLYCOORD["CUTOFF_TIME"],
            },
            url=reverse(page),
            prefecture_id=prefecture_id,
            county_id=county_id,
            dedupe_key=f"figures_missing:{'county' if county_id else 'prefecture'}:{place.pk}:{today}",
        )
        reminded += 1
    return reminded
