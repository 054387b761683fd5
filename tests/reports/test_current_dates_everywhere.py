"""Issue 12's "Done when", without a browser: on the default (current) demo, every page a demo
user reaches from the menu, in both languages, shows current dates and sensible ages.

The clock is frozen at 2025-07-15 10:00 in Shanghai; `load_demo` lays the story to end on
2025-07-14 (2025-05-16 – 2025-07-14, +1,938 days, tests/reports/test_demo_current.py), and
`build_snapshots --all` builds every day, as `make run` does. Each demo user, in Chinese and in
English, opens every link of the navigation menu rendered for them, plus the overview, the N95
item page, the batch list and the first batch it lists, the production dashboard, a stock card,
the alerts (page, htmx panel), the trend partial, the exports list, and the first problem,
producer and donation their lists show. Pages the role may not open (403, 404, or a redirect to its own page) are skipped;
every menu link must open (200).

On none of them:
- a 2020 date (2020-03-20, 2020年, 2020/3/20), a 2020 batch number (2020-058) or a 2020
  document month (SZ01-202002-0007): the demo moved them all. What does not move is text
  written in the files (README): licence numbers 甘药监械应急〔2020〕14号 and 甘卫消临字(2020)第0004号,
  the passwords Demo-2020-…, a problem's "3月20日" — none of which these patterns match;
- an age over 100 days ("2,458 days overdue", "open 2,459 天"): the story spans 60 days.
"""

import datetime as dt
import re
import zoneinfo

import pytest
import time_machine
from django.conf import settings
from django.test import Client

from allocation.models import DispatchBatch
from supplycoord.models import User
from tests.conftest import commands_run_for_module

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2025, 7, 15, 10, 0, tzinfo=SHANGHAI)
TODAY, YESTERDAY = dt.date(2025, 7, 15), dt.date(2025, 7, 14)
USERS = ["lanzhou_officer", "tianshui_officer", "producer_reporter", "office", "leader", "admin"]
LANGUAGES = ["zh-hans", "en"]

NAV = re.compile(r'<nav class="mainnav".*?</nav>', re.S)
HREF = re.compile(r'href="(/[^"#?]*)"')
OLD_DATE = re.compile(
    r"2020-\d\d-\d\d"  # an ISO date
    r"|2020年"  # a Chinese date
    r"|2020/\d{1,2}/\d{1,2}"  # a slashed date
    r"|(?<![\d-])2020-\d{3}(?!\d)"  # a batch number of 2020
    r"|-2020(?:0[1-9]|1[0-2])-"  # a stock document's month (SZ01-202002-0007)
)
# A number of days: "13 天", "9 days overdue", "2,459 days". Not the 天 of 天水市 or 天祝县.
DAYS = re.compile(r"(?<![\d,.])(\d[\d,]*)\s*(?:天(?![水祝])|days?\b)")
MAX_DAYS = 100
# Detail pages reached through the first link of a list: (list, link pattern).
FIRST_OF = [
    ("/allocation/batches/", r"/allocation/batches/\d{4}-\d{3}/"),
    ("/production/problems/", r"/production/problems/\d+/"),
    ("/production/", r"/production/producers/\d+/"),
    ("/allocation/donations/", r"/allocation/donations/\d+/"),
]
EXTRA = [
    "/reports/",
    "/reports/items/FH001/",
    "/allocation/batches/",
    "/reports/production/",
    "/inventory/warehouses/SZ01/",
    "/inventory/warehouses/SZ01/items/FH001/",
    "/reports/alerts/",
    "/reports/alerts/panel/",
    "/reports/trend/?item=FH001",
    "/exports/",
]


@pytest.fixture(scope="module")
def current_demo(django_db_setup, django_db_blocker):
    """The default demo and its snapshots, once for the module, rolled back at its end."""
    with (
        time_machine.travel(NOW, tick=False),
        commands_run_for_module(
            django_db_blocker, ["load_demo"], ["build_snapshots", "--all"]
        ) as out,
    ):
        yield out


@pytest.fixture
def demo(current_demo, db):
    with time_machine.travel(NOW, tick=False):
        yield current_demo


def client_for(username, language):
    client = Client()
    client.force_login(User.objects.get(username=username))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def what_is_wrong(url, html):
    """The 2020 dates and the ages over 100 days on a page, each with its context."""
    found = []
    for match in OLD_DATE.finditer(html):
        found.append((url, "2020", html[max(0, match.start() - 60) : match.end() + 20]))
    for match in DAYS.finditer(html):
        if int(match.group(1).replace(",", "")) > MAX_DAYS:
            found.append((url, "age", html[max(0, match.start() - 60) : match.end() + 10]))
    return found


def pages_of(client):
    """The menu's links (which must all open), then the extra pages and first details."""
    home = client.get("/", follow=True)
    assert home.status_code == 200
    menu = NAV.search(home.content.decode())
    assert menu is not None, "no navigation menu"
    links = list(dict.fromkeys(HREF.findall(menu.group(0))))
    assert links, "an empty navigation menu"
    return home, links


def test_the_demo_ends_yesterday(demo):
    assert f"– {YESTERDAY.isoformat()} (moved +1938 days)" in demo
    assert DispatchBatch.objects.filter(number__startswith="2020-").count() == 0


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("username", USERS)
def test_no_page_shows_a_2020_date_or_an_age_of_years(demo, username, language):
    client = client_for(username, language)
    home, links = pages_of(client)
    assert f'<html lang="{language}"' in home.content.decode()
    wrong, opened = [], {}  # opened: url -> its HTML

    def check(url, *, must_open):
        if url in opened:
            return opened[url]
        response = client.get(url)
        if response.status_code in (302, 403, 404) and not must_open:
            return ""
        assert response.status_code == 200, (url, response.status_code)
        if not response["Content-Type"].startswith("text/html"):
            return ""
        html = response.content.decode()
        wrong.extend(what_is_wrong(url, html))
        opened[url] = html
        return html

    for url in links:
        check(url, must_open=True)
    for url in EXTRA:
        check(url, must_open=False)
    for list_url, detail in FIRST_OF:
        first = re.search(rf'href="({detail})"', check(list_url, must_open=False))
        if first:
            check(first.group(1), must_open=False)

    assert wrong == [], "\n".join(f"{url} [{kind}] …{text}…" for url, kind, text in wrong)
    # Not vacuous: the menu and the role's own pages were read.
    assert len(opened) >= len(links) >= 3, list(opened)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_dashboards_open_on_yesterday_and_the_form_on_today(demo, language):
    leader = client_for("leader", language)
    for url in ("/reports/", "/reports/items/FH001/", "/reports/production/"):
        assert YESTERDAY.isoformat() in leader.get(url).content.decode(), url
    officer = client_for("lanzhou_officer", language)
    form = officer.get("/inventory/daily/").content.decode()
    assert f'name="date" value="{TODAY.isoformat()}"' in form
    # The last stock is prefilled from yesterday's report, dated beside it.
    assert f"({YESTERDAY:%m-%d})" in form


@pytest.mark.parametrize(
    "text",
    [
        "batch 2020-058 is 2,458 days overdue",  # the issue, as first seen
        "已开启 2459 天",
        "Figures of 2020-03-24",
        "2020年3月24日",
        "SZ01-202002-0007",
    ],
)
def test_the_patterns_catch_what_the_issue_saw(text):
    assert what_is_wrong("/page/", text) != []


@pytest.mark.parametrize(
    "text",
    [
        "应急审批 甘药监械应急〔2020〕14号 · 有效期至 2025-07-20",
        "临时卫生许可 甘卫消临字(2020)第0004号",
        "Demo-2020-lanzhou",
        "应急审批3月20日到期",
        "<option>620500 天水市</option>",
        "batch 2025-058 is 14 days overdue · over 30 days",
    ],
)
def test_the_patterns_leave_what_does_not_move(text):
    assert what_is_wrong("/page/", text) == []
