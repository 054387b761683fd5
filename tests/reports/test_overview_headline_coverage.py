"""The overview's headline card "Key items in red (province)" is a province figure too (issue 12
§3, "big numbers"): partial figures are grey and not counted, and the card says how many it
leaves out, so a 0 resting on nothing does not read as "all is well"."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from reports.services import snapshot_build_for_date
from tests.factories import DailyFigureFactory, ItemFactory

D = dt.date(2020, 2, 10)
AT_ELEVEN = dt.datetime(2020, 2, 10, 11, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def masks(db):
    return ItemFactory(code="FH002", name_zh="医用外科口罩", name_en="Surgical mask")


@pytest.fixture
def two_days(lanzhou, tianshui, n95, masks):
    """兰州市 reports both items on d-4 and d (stock 10, 10 a day: 1.00 day, red);
    天水市 only on d-4 (stock 900, 90 a day). On d-4 both report: 100 %, not partial.
    On d 天水市's stock is 4 days old, missing: 10 / (10 + 90) = 10 % < 80 %, both partial."""
    for item in (n95, masks):
        for date in (D - dt.timedelta(days=4), D):
            DailyFigureFactory(prefecture=lanzhou, item=item, date=date, stock=10, consumption=10)
        DailyFigureFactory(
            prefecture=tianshui, item=item, date=D - dt.timedelta(days=4), stock=900, consumption=90
        )
    snapshot_build_for_date(date=D - dt.timedelta(days=4))
    snapshot_build_for_date(date=D)


def overview(client, user, date, language="en"):
    client.force_login(user)
    client.post(reverse("set_language"), {"language": language, "next": "/"})
    with time_machine.travel(AT_ELEVEN, tick=False):
        return client.get(reverse("reports:overview"), {"date": date.isoformat()})


def test_the_red_items_card_says_how_many_partial_figures_it_leaves_out(client, leader, two_days):
    response = overview(client, leader, D)
    content = response.content.decode()
    # Both figures 1.00 day over 兰州市 alone, on 10 % of consumption: grey, none counted red.
    assert response.context["data"].items_red == 0
    assert response.context["data"].items_partial == 2
    assert '<div class="value s-text-red" id="stat-items-red">0</div>' in content
    assert 'id="stat-items-partial" data-partial="2">2 partial province figures not counted' in (
        content
    )


def test_a_day_with_every_figure_covered_has_no_such_note(client, leader, two_days):
    # d-4: (10 + 900) / (10 + 90) = 9.10 days each, 100 %: nothing partial to mention.
    response = overview(client, leader, D - dt.timedelta(days=4))
    assert response.context["data"].items_partial == 0
    assert "stat-items-partial" not in response.content.decode()
