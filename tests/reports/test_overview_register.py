"""The overview's register as its cache key reads it (issue 13): the active prefectures a user
sees and the items, counted and hashed by PostgreSQL in one query
(reports.selectors.overview_register) instead of 400 model instances a request. What this
proves: every change the cached figures could show is a new digest (a rename, a unit, the
order, a deactivation, a change undone), nothing else is, a user's digest covers only the
prefectures they see, and the page shows such a change at once, without a rebuild."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from reports.selectors import overview_register
from reports.services import snapshot_build_for_date
from supplycoord.models import Item, Prefecture, Unit
from tests.factories import DailyFigureFactory, ItemFactory, PrefectureFactory
from tests.reports.test_overview_cache import _empty_cache, _frozen

__all__ = ["_empty_cache", "_frozen"]  # the autouse fixtures: clock 2020-02-10 18:00, empty cache

TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2020, 2, 10)
URL = reverse("reports:overview")


@pytest.fixture
def register(leader, lanzhou, tianshui, n95):
    """Two active prefectures, one key item and one item that is not key."""
    ItemFactory(code="FH009", name_zh="棉签", name_en="Swabs", is_key=False)
    return lambda user=leader: overview_register(user)


def test_it_counts_what_the_grid_is_drawn_over(register, leader, lanzhou):
    first = register()
    assert (first.prefectures, first.items) == (2, 1)  # the item that is not key: not a column
    Prefecture.objects.filter(pk=lanzhou.pk).update(active=False)
    assert (register().prefectures, register().items) == (1, 1)


def test_nothing_changed_is_the_same_digest(register, lanzhou, n95):
    first = register()
    # A day's figures are not the register: only the build's version says they changed.
    DailyFigureFactory(prefecture=lanzhou, item=n95, date=DAY, stock=300, consumption=100)
    assert register() == first


@pytest.mark.parametrize(
    ("model", "code", "change"),
    [
        (Prefecture, "620100", {"name_zh": "兰州"}),
        (Prefecture, "620500", {"name_en": "Tianshui City"}),
        (Prefecture, "620500", {"active": False}),
        (Item, "FH001", {"name_en": "Respirator"}),
        (Item, "FH001", {"short_name_zh": "口罩"}),
        (Item, "FH001", {"unit": Unit.BOX}),
        (Item, "FH001", {"sort_order": 7}),
        (Item, "FH001", {"is_key": False}),
        # Rollups name their item, key or not: a rename of any item is a new digest.
        (Item, "FH009", {"name_zh": "医用棉签"}),
        # A field the figures do not show: still a new digest (the row's xmin), harmless.
        (Item, "FH001", {"pack_size": 50}),
    ],
)
def test_every_change_of_a_row_is_a_new_digest(register, model, code, change):
    first = register()
    model.objects.filter(code=code).update(**change)
    assert register().digest != first.digest


def test_a_change_undone_is_still_a_new_digest(register, lanzhou):
    """Renamed and renamed back: the rows hold the same names but are new versions (xmin), so
    a rendering made while the other name was current is never served under the first key."""
    first = register()
    Prefecture.objects.filter(pk=lanzhou.pk).update(name_zh="金城")
    renamed = register()
    Prefecture.objects.filter(pk=lanzhou.pk).update(name_zh=lanzhou.name_zh)
    back = register()
    assert len({first.digest, renamed.digest, back.digest}) == 3


def test_an_added_prefecture_is_a_new_digest(register):
    first = register()
    PrefectureFactory(code="620600", name_zh="武威市", name_en="Wuwei")
    now = register()
    assert now.prefectures == 3 and now.digest != first.digest


def test_it_covers_only_the_prefectures_a_user_sees(register, leader, officer, tianshui):
    mine, whole = register(officer), register(leader)
    assert (mine.prefectures, whole.prefectures) == (1, 2)
    assert mine.digest != whole.digest
    # Tianshui is not the officer's: renaming it changes the leader's register only.
    Prefecture.objects.filter(pk=tianshui.pk).update(name_zh="秦州")
    assert register(officer) == mine
    assert register(leader).digest != whole.digest


@pytest.fixture
def built(lanzhou, n95):
    """Lanzhou × N95 on DAY: stock 300, consumption 100 → 3.00 days of cover."""
    DailyFigureFactory(prefecture=lanzhou, item=n95, date=DAY, stock=300, consumption=100)
    snapshot_build_for_date(date=DAY)


def get(client, **params):
    response = client.get(URL, {"date": DAY.isoformat(), **params})
    assert response.status_code == 200
    return response.content.decode()


def rollup_unit(content: str) -> str:
    row = re.search(r'<tr data-item="FH001"[^>]*>(.*?)</tr>', content, re.S)
    return re.findall(r"<td>([^<]*)</td>", row.group(1))[0]


def test_a_unit_changed_is_shown_without_a_rebuild(client, leader, built, n95, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(leader)
    assert rollup_unit(get(client)) == str(Unit(n95.unit).label)
    Item.objects.filter(pk=n95.pk).update(unit=Unit.BOX)
    assert rollup_unit(get(client)) == "box"


def test_a_renamed_prefecture_is_shown_without_a_rebuild(client, leader, built, lanzhou):
    client.force_login(leader)
    assert "兰州市" in get(client)
    Prefecture.objects.filter(pk=lanzhou.pk).update(name_zh="金城市")
    content = get(client)
    assert "金城市" in content and "兰州市" not in content


def test_the_trend_choice_is_the_register_and_the_asked_item(client, leader, built, n95):
    gloves = ItemFactory(code="FH002", name_zh="手套", name_en="Gloves", sort_order=2)
    client.force_login(leader)

    def options(content):
        select = re.search(r'<select name="item">(.*?)</select>', content, re.S).group(1)
        return re.findall(r'<option value="([^"]*)" ?(selected)?>([^<]*)</option>', select)

    assert options(get(client)) == [("FH001", "selected", "N95口罩"), ("FH002", "", "手套")]
    assert options(get(client, item="FH002")) == [
        ("FH001", "", "N95口罩"),
        ("FH002", "selected", "手套"),
    ]
    # An item that is not a key item: the first key item, as before.
    assert options(get(client, item="NOPE"))[0] == ("FH001", "selected", "N95口罩")
    Item.objects.filter(pk=gloves.pk).update(name_zh="丁腈手套")
    assert options(get(client, item="FH002"))[1] == ("FH002", "selected", "丁腈手套")
