"""One clock: a page showing a past date counts ages as of that date.

The historical demo: batch 2020-058 left for Linxia (622900, a prefecture: 1 day's travel) on
2020-03-10, so it was expected on 2020-03-11 and is still partly on the road. The alert job
last ran for 2020-03-24: 2020-03-24 − 2020-03-11 = 13 days overdue, as its alert recorded.
The overview for 2020-03-20, read on 2026-12-03, says 2020-03-20 − 2020-03-11 = 9 days, in
its overdue table and in the alert beside it (not 2020-03-11 → 2026-12-03 = 2,458 days).
"""

import datetime as dt
import io
import re
import zoneinfo

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from allocation.selectors import overdue_batches
from reports.alerts import alert_summary, alerts_panel, alerts_refresh
from reports.models import Alert, AlertKind
from supplycoord.lib.dates import local_today
from supplycoord.models import User

NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))
PAGE_DATE = dt.date(2020, 3, 20)


@pytest.fixture
def demo(demo_loaded, db):
    with time_machine.travel(NOW, tick=False):
        alerts_refresh(date=dt.date(2020, 3, 24))
        call_command("build_snapshots", "--date", PAGE_DATE.isoformat(), stdout=io.StringIO())
        yield


def test_the_clock_is_shanghai_time():
    # 2026-12-03 20:00 UTC is already 4 December in Shanghai.
    with time_machine.travel(dt.datetime(2026, 12, 3, 20, 0, tzinfo=dt.UTC), tick=False):
        assert local_today() == dt.date(2026, 12, 4)


def test_overdue_counts_as_of_the_date_asked(demo):
    office = User.objects.get(username="office")
    batch = next(b for b in overdue_batches(office, date=PAGE_DATE) if b.number == "2020-058")
    assert batch.expected_arrival == dt.date(2020, 3, 11)
    assert batch.days_overdue == 9


def test_the_alert_says_its_age_as_of_the_date_asked(demo):
    alert = Alert.objects.get(kind=AlertKind.BATCH_OVERDUE, detail__number="2020-058")
    assert alert.detail["days_overdue"] == 13  # as of the job's run, 2020-03-24
    with translation.override("en"):
        assert alert_summary(alert).endswith(", 13 days overdue")
        assert alert_summary(alert, as_of=PAGE_DATE).endswith(", 9 days overdue")


def test_the_overdue_table_and_the_alert_on_the_same_page_agree(demo, client):
    client.login(username="leader", password="Demo-2020-leader")
    response = client.get(
        reverse("reports:overview"), {"date": PAGE_DATE.isoformat()}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    table = {b.number: b.days_overdue for b in response.context["overdue"]}
    assert table["2020-058"] == 9
    # Every batch alert the panel shows carries the table's number of days.
    shown = [a for a in response.context["alerts_panel"]["latest"] if a.batch_id]
    for alert in shown:
        # "… 发往临夏回族自治州的批次2020-058已逾期9天": its last number is the days.
        assert re.findall(r"\d+", alert.summary)[-1] == str(table[alert.detail["number"]])
    assert any(alert.detail["number"] == "2020-058" for alert in shown)
    # And the panel, asked for the page's date, gives 2020-058 the same 9 days.
    user = response.wsgi_request.user
    panel = alerts_panel(user, as_of=PAGE_DATE)
    assert all("2,458" not in a.summary and "2458" not in a.summary for a in panel["latest"])
