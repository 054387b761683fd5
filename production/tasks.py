"""Celery jobs of production: the commissioners' reminder of missing reports (issue 16)."""

from celery import shared_task
from django.db.models import Prefetch
from django.urls import reverse
from django.utils.http import urlencode

from supplycoord.lib.dates import local_today
from supplycoord.notifications import recipients as to
from supplycoord.notifications.kinds import translated
from supplycoord.notifications.services import notify

from .models import LineStatus, Producer, ProductionLine, ProductionReport


@shared_task(name="production.tasks.production_reports_missing_remind", acks_late=True)
def production_reports_missing_remind() -> int:
    """Remind the commissioners (reporters) of each active producer whose report for today
    lacks an item of its commissioned lines (beat: SUPPLYCOORD_PRODUCTION_REMINDER_TIME).
    Once per producer and day. Returns how many producers' reporters were reminded."""
    today = local_today()
    producing = ProductionLine.objects.filter(
        status=LineStatus.COMMISSIONED, item__active=True
    ).select_related("item")
    producers = list(
        Producer.objects.filter(active=True)
        .prefetch_related(Prefetch("lines", queryset=producing), "reporters")
        .order_by("pk")
    )
    reported = set(
        ProductionReport.objects.filter(date=today, producer__in=producers).values_list(
            "producer", "item"
        )
    )
    reminded = 0
    for producer in producers:
        items = {line.item.pk: line.item for line in producer.lines.all()}
        missing = sorted(
            (item for pk, item in items.items() if (producer.pk, pk) not in reported),
            key=lambda item: (item.sort_order, item.code),
        )
        reporters = [user.pk for user in producer.reporters.all()]
        if not missing or not reporters:
            continue
        notify(
            event="production_report_missing",
            recipients=[to.users(reporters)],
            params={
                "producer": producer.name,
                "date": today.isoformat(),
                "missing": len(missing),
                "expected": len(items),
                "items": [translated(item) for item in missing],
            },
            url=reverse("production:report_entry") + "?" + urlencode({"producer": producer.pk}),
            prefecture_id=producer.prefecture_id,
            dedupe_key=f"production_report_missing:{producer.pk}:{today}",
        )
        reminded += 1
    return reminded
