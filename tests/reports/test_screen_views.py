"""The big screen's pages (/screen/, its parts, the drill-down) and the small map: who may open
them, what an unchanged part answers (304), both languages, and queries that do not grow with
the number of prefectures."""

import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.models import DailyFigure
from reports.services import snapshot_build_for_date
from tests.factories import DailyFigureFactory, ItemFactory, PrefectureFactory

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2020, 2, 20, 10, 0, tzinfo=TZ)
TODAY = NOW.date()
D = TODAY - dt.timedelta(days=1)

PARTS = ["headline", "build", "alerts"]


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def build_world(prefectures, items):
    """Each prefecture reports each item on D (stock 500, consumption 100: 5.00 days, amber)."""
    for prefecture in prefectures:
        for item in items:
            DailyFigureFactory(prefecture=prefecture, item=item, date=D, stock=500, consumption=100)
    snapshot_build_for_date(date=D)


@pytest.fixture
def world(lanzhou, tianshui, n95):
    build_world([lanzhou, tianshui], [n95])
    return [lanzhou, tianshui]


def _blob(html):
    """The map's data of a build part."""
    found = re.search(r'id="screen-data" type="application/json">(.*?)</script>', html)
    return json.loads(found.group(1))


def screen_urls():
    return [
        reverse("screen:index"),
        *[reverse("screen:part", args=[name]) for name in PARTS],
        reverse("screen:prefecture", args=["620100"]),
    ]


@pytest.mark.parametrize("who", ["office", "leader", "admin_user"])
def test_the_office_leadership_and_admins_open_the_screen_and_its_parts(
    client, request, world, who
):
    client.force_login(request.getfixturevalue(who))
    for url in screen_urls():
        assert client.get(url).status_code == 200, url
    html = client.get(reverse("screen:index")).content.decode()
    # Standalone: the map, the three parts polled every 60 s, and no navigation.
    assert 'id="screen-map"' in html and 'class="mainnav"' not in html
    assert html.count('hx-trigger="every 60s"') == 3


@pytest.mark.parametrize("who", ["officer", "outsider", "lead", "county_officer", "reporter"])
def test_everyone_else_is_refused(client, request, world, who):
    client.force_login(request.getfixturevalue(who))
    for url in screen_urls():
        assert client.get(url).status_code == 403, url


def test_a_visitor_is_sent_to_log_in(client, world):
    response = client.get(reverse("screen:index"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_part_polled_after_the_session_ended_is_not_swapped_for_the_log_in_page(client, world):
    """The wall's session ends (expiry, a log-out elsewhere): a part or the drill-down fetched by
    htmx must not answer the log-in page (the XHR follows a 302 and gets a 200 that htmx swaps
    into the part, while the screen says "updated"). It answers 401, which htmx does not swap
    (screen.js marks the part stale), and HX-Redirect sends the wall to log in, back to the
    screen as it was opened."""
    page = "http://testserver/screen/?poll=30"
    for url in screen_urls()[1:]:
        response = client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL=page)
        assert response.status_code == 401, url
        assert response["HX-Redirect"] == "/accounts/login/?next=/screen/%3Fpoll%3D30", url
    # A current URL off the site is not followed back: the screen's own address is.
    response = client.get(
        screen_urls()[1], HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="https://evil.example/"
    )
    assert response["HX-Redirect"] == "/accounts/login/?next=/screen/"


def test_only_the_screens_roles_see_its_link(client, world, office, officer):
    client.force_login(office)
    assert 'id="nav-screen"' in client.get(reverse("reports:overview")).content.decode()
    client.force_login(officer)
    page = client.get(reverse("reports:prefecture", args=["620100"])).content.decode()
    assert 'id="nav-screen"' not in page


def test_an_unknown_part_or_prefecture_is_a_404(client, world, office):
    client.force_login(office)
    assert client.get(reverse("screen:part", args=["nothing"])).status_code == 404
    assert client.get(reverse("screen:prefecture", args=["999999"])).status_code == 404


def test_an_unchanged_part_answers_304_and_a_changed_one_200_with_a_new_etag(
    client, world, office, n95, lanzhou
):
    client.force_login(office)
    url = reverse("screen:part", args=["build"])
    first = client.get(url)
    etag = first["ETag"]
    assert first.status_code == 200 and etag.startswith('"')
    assert "no-store" in first["Cache-Control"]
    again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag
    # 兰州's N95 stock on D goes from 500 to 100 (1.00 day: red): the rebuilt part differs.
    DailyFigure.objects.filter(prefecture=lanzhou, item=n95, date=D).update(stock=100)
    snapshot_build_for_date(date=D)
    changed = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    blob = _blob(changed.content.decode())
    assert blob["status"][0] == "r" and blob["days"][0] == [100]


def test_the_headline_follows_todays_reports(client, world, office, n95, lanzhou):
    client.force_login(office)
    url = reverse("screen:part", args=["headline"])
    before = client.get(url)
    assert '<span id="kpi-reported">' in before.content.decode()
    DailyFigureFactory(prefecture=lanzhou, item=n95, date=TODAY)
    after = client.get(url, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    # 1 of 2 prefectures reported every key item today: 50 %.
    assert re.search(r'class="kpi-value">50<small>%</small>', after.content.decode())


def test_the_screen_reads_in_chinese_by_default_and_in_english_when_chosen(client, world, office):
    client.force_login(office)
    url = reverse("screen:part", args=["build"])
    chinese = client.get(url).content.decode()
    assert "全省可保障天数" in chinese and "数据日期：2020-02-19" in chinese
    assert _blob(chinese)["prefectures"][0]["name"] == "兰州市"
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(url).content.decode()
    assert "Province days of cover" in english and "Figures of 2020-02-19" in english
    assert _blob(english)["prefectures"][0]["name"] == "Lanzhou"
    page = client.get(reverse("screen:index")).content.decode()
    assert '<html lang="en"' in page


def test_poll_and_rotation_can_be_shortened_and_an_item_pinned(client, world, office):
    client.force_login(office)
    html = client.get(reverse("screen:index") + "?poll=2&rotate=3&item=FH001").content.decode()
    assert html.count('hx-trigger="every 2s"') == 3
    config = json.loads(
        re.search(r'id="screen-config" type="application/json">(.*?)</script>', html).group(1)
    )
    assert (config["poll"], config["rotate"], config["pinned"]) == (2, 3, "FH001")
    assert config["map_url"].endswith("/vendor/maps/620000.json")
    # Out of range: the defaults (60 s, 20 s).
    html = client.get(reverse("screen:index") + "?poll=1&rotate=x").content.decode()
    assert html.count('hx-trigger="every 60s"') == 3


def test_the_drill_down_panel_carries_the_county_map(client, world, office, yuzhong):
    client.force_login(office)
    html = client.get(reverse("screen:prefecture", args=["620100"])).content.decode()
    county_map = json.loads(
        re.search(r'id="screen-county-map" type="application/json">(.*?)</script>', html).group(1)
    )
    assert county_map["url"].endswith("/vendor/maps/620000/620100.json")
    assert county_map["counties"] == [{"code": "620123", "name": "榆中县", "region": "榆中县"}]


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_queries_do_not_grow_with_the_number_of_prefectures(client, office, n95):
    """3 prefectures, then 9: each page and part runs the same number of queries."""
    gloves = ItemFactory(code="FH008", sort_order=80)
    urls = [
        *screen_urls()[:-1],
        reverse("screen:prefecture", args=["620100"]),
        reverse("reports:mini_map") + "?item=FH001",
    ]
    first = [PrefectureFactory(code=f"62{n + 1:02d}00") for n in range(3)]
    build_world(first, [n95, gloves])
    client.force_login(office)
    small = {url: _queries(client, url) for url in urls}
    more = [PrefectureFactory(code=f"62{n + 1:02d}00") for n in range(3, 9)]
    build_world(more, [n95, gloves])
    large = {url: _queries(client, url) for url in urls}
    assert small == large
    # The page renders its three parts once each; none of them more than 16 queries.
    assert large[reverse("screen:index")] <= 30
    assert all(n <= 16 for url, n in large.items() if url != reverse("screen:index"))


# --- The small map ----------------------------------------------------------------------------


def _mini_map(client, query="?item=FH001"):
    response = client.get(reverse("reports:mini_map") + query)
    assert response.status_code == 200
    found = re.search(r'<script type="application/json">(.*?)</script>', response.content.decode())
    return json.loads(found.group(1)) if found else None


def test_the_small_map_is_scoped_to_what_the_reader_sees(client, world, office, officer, outsider):
    client.force_login(office)
    assert [p["code"] for p in _mini_map(client)["prefectures"]] == ["620100", "620500"]
    client.force_login(officer)
    assert [p["code"] for p in _mini_map(client)["prefectures"]] == ["620100"]
    client.force_login(outsider)  # Tianshui's officer: never Lanzhou's figures.
    assert [p["code"] for p in _mini_map(client)["prefectures"]] == ["620500"]


def test_the_small_map_is_refused_to_roles_without_prefecture_data(client, world, reporter):
    client.force_login(reporter)
    assert client.get(reverse("reports:mini_map") + "?item=FH001").status_code == 403


def test_the_overview_and_an_items_page_fetch_the_small_map(client, world, office):
    client.force_login(office)
    overview = client.get(reverse("reports:overview")).content.decode()
    assert 'id="mini-map-slot"' in overview and 'hx-include="select[name=item]"' in overview
    item = client.get(reverse("reports:item", args=["FH001"])).content.decode()
    assert "item=FH001&amp;date=2020-02-19" in item
    assert "js/minimap.js" in item
