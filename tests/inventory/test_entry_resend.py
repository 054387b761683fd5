"""A resend never doubles a figure (issue 16 §2, README "On the phone").

On a bad connection a phone may send the same daily grid twice: the first post was saved but
its answer was lost, and the officer presses "resend" (static/js/offline-entry.js). The
grids save by the natural key (prefecture or county, item, date): the second post finds the
same rows with the same figures and leaves them as they are, the history included.

Lanzhou's officer, 2020-02-10 at 10:00, two key items (N95 and 84 disinfectant), each with
stock 100, received 5, consumption 10, demand 12, expected arrivals 0.
"""

import pytest
from django.conf import settings
from django.urls import reverse

from inventory.models import CountyDailyFigure, DailyFigure
from tests.factories import ItemFactory
from tests.inventory.county_world import *  # noqa: F403 - the fixtures (frozen at 10:00)
from tests.inventory.county_world import TODAY

DAILY = reverse("inventory:daily_entry")
COUNTY = reverse("inventory:county_entry")
FIGURES = {"stock": 100, "received": 5, "consumption": 10, "demand": 12, "expected_arrivals_3d": 0}

SAVED = {
    "zh-hans": "已保存兰州市 2020-02-10的数据：新增%s条，更正0条，未变动%s条。",
    "en": "Saved the figures of Lanzhou for 2020-02-10: %s new, 0 corrected, %s unchanged.",
}


@pytest.fixture
def items(n95):
    return [n95, ItemFactory(code="XD001", name_zh="84消毒液", name_en="84 disinfectant")]


def grid(items, **figures):
    data = {"date": TODAY.isoformat()}
    for item in items:
        for field, value in {**FIGURES, **figures}.items():
            data[f"{item.code}-{field}"] = str(value)
    return data


def messages(response):
    return [str(message) for message in response.context["messages"]]


def stored(model, **owner):
    """(rows, their figures, history records) of the day."""
    rows = model.objects.filter(date=TODAY, **owner).order_by("item__code")
    history = model.history.filter(date=TODAY, **owner).count()
    return rows.count(), [row.figures() for row in rows], history


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_same_prefecture_grid_posted_twice_is_saved_once(
    client, officer, items, lanzhou, language
):
    client.force_login(officer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    first = client.post(DAILY, grid(items), follow=True)
    assert first.redirect_chain == [(f"{DAILY}?date=2020-02-10", 302)]
    assert messages(first) == [SAVED[language] % (2, 0)]
    after_first = stored(DailyFigure, prefecture=lanzhou)
    # Two rows, one per item, each with the five figures; one history record each (created).
    assert after_first == (2, [FIGURES, FIGURES], 2)

    resend = client.post(DAILY, grid(items), follow=True)

    assert resend.redirect_chain == [(f"{DAILY}?date=2020-02-10", 302)]
    # Nothing new, nothing corrected: both rows found by (Lanzhou, item, 2020-02-10), unchanged.
    assert messages(resend) == [SAVED[language] % (0, 2)]
    assert stored(DailyFigure, prefecture=lanzhou) == after_first


def test_a_resend_with_a_figure_changed_corrects_it_and_still_one_row(
    client, officer, items, lanzhou
):
    """The officer fixed a figure before resending: one correction, the old figure in the
    history (2 created + 1 changed = 3 records), still one row per item."""
    client.force_login(officer)
    client.post(DAILY, grid(items))

    client.post(DAILY, {**grid(items), "FH001-stock": "90"})

    rows, figures, history = stored(DailyFigure, prefecture=lanzhou)
    assert (rows, history) == (2, 3)
    assert figures == [{**FIGURES, "stock": 90}, FIGURES]


def test_the_same_county_grid_posted_twice_is_saved_once_and_lanzhou_is_not_doubled(
    client, summed, n95, county_officer, gaolan_officer, yuzhong, gaolan
):
    """Lanzhou reports as the sum of 榆中县 and 皋兰县 (N95 the only key item). 榆中县 posts
    stock 100 twice, 皋兰县 posts stock 50 once: Lanzhou's derived stock is 100 + 50 = 150,
    not 250, and 榆中县 resending once more changes nothing."""
    client.force_login(county_officer)
    client.post(COUNTY, grid([n95]))
    client.post(COUNTY, grid([n95]))
    assert stored(CountyDailyFigure, county=yuzhong) == (1, [FIGURES], 1)

    client.force_login(gaolan_officer)
    client.post(COUNTY, grid([n95], stock=50, received=0, consumption=5, demand=6))
    client.force_login(county_officer)
    resend = client.post(COUNTY, grid([n95]))

    assert resend.status_code == 302
    assert stored(CountyDailyFigure, county=yuzhong) == (1, [FIGURES], 1)
    lanzhou = DailyFigure.objects.get(prefecture=summed, item=n95, date=TODAY)
    # 100 + 50, 5 + 0, 10 + 5, 12 + 6, 0 + 0.
    assert lanzhou.figures() == {
        "stock": 150,
        "received": 5,
        "consumption": 15,
        "demand": 18,
        "expected_arrivals_3d": 0,
    }
    assert DailyFigure.objects.filter(prefecture=summed, date=TODAY).count() == 1


def test_a_grid_sent_by_the_phone_script_is_told_saved_and_where_to_go(
    client, officer, items, lanzhou
):
    """static/js/offline-entry.js sends the grid with X-Entry-Grid: fetch. Saved, it gets a
    204 naming the grid's address (a redirect it follows could not be told from the log-in
    page's); the "saved" message waits for that page."""
    client.force_login(officer)

    response = client.post(DAILY, grid(items), headers={"X-Entry-Grid": "fetch"})

    assert response.status_code == 204
    assert response["X-Entry-Saved"] == f"{DAILY}?date=2020-02-10"
    assert stored(DailyFigure, prefecture=lanzhou)[0] == 2
    assert messages(client.get(response["X-Entry-Saved"])) == [SAVED["zh-hans"] % (2, 0)]


def test_a_refused_grid_sent_by_the_script_gets_the_page_and_saves_nothing(
    client, officer, items, lanzhou
):
    client.force_login(officer)

    response = client.post(
        DAILY, {**grid(items), "FH001-stock": "-5"}, headers={"X-Entry-Grid": "fetch"}
    )

    # The page with the error at its field (200 here, 400 on the county page: either is not
    # a 204, and the script posts the form again to show it).
    assert response.status_code == 200
    assert 'id="err-FH001-stock"' in response.content.decode()
    assert stored(DailyFigure, prefecture=lanzhou) == (0, [], 0)


def test_a_session_that_ended_sends_the_script_to_the_log_in_page(client, items, lanzhou):
    response = client.post(DAILY, grid(items), headers={"X-Entry-Grid": "fetch"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert stored(DailyFigure, prefecture=lanzhou) == (0, [], 0)
