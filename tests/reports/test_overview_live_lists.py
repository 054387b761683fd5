"""The overview's live lists (issue 13): read on every request, rendered once per what they
show. What this proves: a fragment is rendered again whenever a value it shows changes (its
key is its context: supplycoord.lib.cache.cached_render) and accepts only values whose repr
says everything a template could read; the reconciliation list is the prefectures with the
most gaps waiting, bounded, scoped to what the user sees, in one query, and a change of a case
is on the next page."""

import datetime as dt
import re
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from reports.models import ReconciliationCase, ReconciliationStatus
from reports.selectors import reconciliation_waiting_by_prefecture
from reports.services import snapshot_build_for_date
from supplycoord.lib import cache as lib_cache
from supplycoord.lib.cache import cached_render
from supplycoord.models import Prefecture
from tests.factories import ItemFactory, PrefectureFactory
from tests.reports.test_overview_cache import _empty_cache, _frozen

__all__ = ["_empty_cache", "_frozen"]  # the autouse fixtures: clock 2020-02-10 18:00, empty cache

TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2020, 2, 10)
NOW = dt.datetime(2020, 2, 10, 18, 0, tzinfo=TZ)
TEMPLATE = "reports/_overview_reconciliation.html"


def rows(*entries, total=None):
    reconciliation = [
        {"code": code, "name": name, "open": open_, "explained": explained}
        for code, name, open_, explained in entries
    ]
    return {"reconciliation": reconciliation, "reconciliation_total": total or len(entries)}


# --- cached_render ----------------------------------------------------------------------------


def test_the_same_values_are_rendered_once_and_any_change_again():
    with mock.patch.object(
        lib_cache, "render_to_string", wraps=lib_cache.render_to_string
    ) as rendered:
        first = cached_render(TEMPLATE, rows(("620100", "兰州市", 2, 1)))
        assert cached_render(TEMPLATE, rows(("620100", "兰州市", 2, 1))) == first
        assert rendered.call_count == 1
        changed = cached_render(TEMPLATE, rows(("620100", "兰州市", 1, 2)))
        assert rendered.call_count == 2
        renamed = cached_render(TEMPLATE, rows(("620100", "金城市", 1, 2)))
        assert rendered.call_count == 3
    assert 'status=open">2<' in first and 'status=explained">1<' in first
    assert 'status=open">1<' in changed and 'status=explained">2<' in changed
    assert "金城市" in renamed and "兰州市" not in renamed


def test_each_language_has_its_own_rendering():
    with translation.override("en"):
        english = cached_render(TEMPLATE, rows())
    with translation.override("zh-hans"):
        chinese = cached_render(TEMPLATE, rows())
    assert "No gaps to review." in english
    assert "No gaps to review." not in chinese


@pytest.mark.parametrize(
    "value",
    [
        mark_safe("<b>x</b>"),  # renders unescaped, but its repr is a str's
        gettext_lazy("Stock"),  # its repr is an address
        object(),
        {1: "a key that is not a str"},
        {"a set": {1, 2}},
    ],
)
def test_it_refuses_a_value_whose_repr_does_not_say_what_is_shown(value):
    with pytest.raises(TypeError):
        cached_render(TEMPLATE, {"reconciliation": [{"name": value}]})


@pytest.mark.django_db
def test_it_refuses_a_model_instance():
    with pytest.raises(TypeError):
        cached_render(TEMPLATE, {"reconciliation": [Prefecture(code="620100")]})


def test_a_failing_cache_still_renders():
    with (
        mock.patch("supplycoord.lib.cache.cache.get", side_effect=ConnectionError("down")),
        mock.patch("supplycoord.lib.cache.cache.set", side_effect=ConnectionError("down")),
    ):
        assert "兰州市" in cached_render(TEMPLATE, rows(("620100", "兰州市", 2, 1)))


# --- The reconciliation list ----------------------------------------------------------------


def case(prefecture, item, status, day=DAY):
    return ReconciliationCase.objects.create(
        date=day,
        prefecture=prefecture,
        item=item,
        previous_stock=100,
        received=0,
        consumption=10,
        stock=85,
        gap=-5,
        status=status,
        opened_at=NOW,
        status_changed_at=NOW,
    )


@pytest.fixture
def waiting(lanzhou, tianshui, n95):
    """Waiting (open + explained) per prefecture, counted by hand:
    Lanzhou 2 open + 1 explained = 3; Tianshui 1 open = 1; Wuwei 1 explained = 1, tied with
    Tianshui (by code: 620500 before 620600); Jiayuguan only accepted and corrected = 0, not
    listed; Jinchang 5 open but inactive, not listed."""
    gloves = ItemFactory(code="FH002", sort_order=2)
    swabs = ItemFactory(code="FH003", sort_order=3)
    wuwei = PrefectureFactory(code="620600", name_zh="武威市", name_en="Wuwei")
    jiayuguan = PrefectureFactory(code="620200", name_zh="嘉峪关市", name_en="Jiayuguan")
    jinchang = PrefectureFactory(code="620300", name_zh="金昌市", name_en="Jinchang")
    open_, explained = ReconciliationStatus.OPEN, ReconciliationStatus.EXPLAINED
    case(lanzhou, n95, open_)
    case(lanzhou, gloves, open_)
    case(lanzhou, swabs, explained)
    case(tianshui, n95, open_)
    case(wuwei, n95, explained)
    case(jiayuguan, n95, ReconciliationStatus.ACCEPTED)
    case(jiayuguan, gloves, ReconciliationStatus.CORRECTED)
    for n, item in enumerate((n95, gloves, swabs)):
        case(jinchang, item, open_)
        case(jinchang, item, open_, day=DAY - dt.timedelta(days=n + 1))
    Prefecture.objects.filter(pk=jinchang.pk).update(active=False)


def listed(found):
    shown, total = found
    return [(r["prefecture"].code, r["open"], r["explained"]) for r in shown], total


def test_it_lists_the_most_waiting_first_bounded_with_the_total(leader, waiting):
    everything = [("620100", 2, 1), ("620500", 1, 0), ("620600", 0, 1)]
    assert listed(reconciliation_waiting_by_prefecture(leader, limit=20)) == (everything, 3)
    assert listed(reconciliation_waiting_by_prefecture(leader, limit=2)) == (everything[:2], 3)


def test_it_reads_one_query_and_names_in_the_readers_language(leader, waiting):
    with CaptureQueriesContext(connection) as queries:
        shown, _total = reconciliation_waiting_by_prefecture(leader, limit=20)
    assert len(queries) == 1
    with translation.override("en"):
        assert [r["prefecture"].name for r in shown] == ["Lanzhou", "Tianshui", "Wuwei"]
    with translation.override("zh-hans"):
        assert [r["prefecture"].name for r in shown] == ["兰州市", "天水市", "武威市"]


def test_an_officer_sees_only_their_prefecture(officer, outsider, waiting):
    assert listed(reconciliation_waiting_by_prefecture(officer, limit=20)) == (
        [("620100", 2, 1)],
        1,
    )
    assert listed(reconciliation_waiting_by_prefecture(outsider, limit=20)) == (
        [("620500", 1, 0)],
        1,
    )


def section(content):
    return re.search(r'<section class="card" id="reconciliation-open">.*?</section>', content, re.S)


@pytest.fixture
def built_then_waiting(request, lanzhou, tianshui, n95):
    """DAY built (the list is shown with a date's figures), then the cases of `waiting`."""
    snapshot_build_for_date(date=DAY)
    request.getfixturevalue("waiting")


def test_the_page_shows_a_change_of_a_case_at_once(client, leader, built_then_waiting, tianshui):
    client.force_login(leader)
    url = reverse("reports:overview")

    def tianshui_row():
        page = client.get(url).content.decode()
        row = re.search(r'<tr data-prefecture="620500">(.*?)</tr>', section(page).group(0), re.S)
        return re.findall(r'status=(\w+)">(\d+)<', row.group(1))

    assert tianshui_row() == [("open", "1"), ("explained", "0")]
    ReconciliationCase.objects.filter(prefecture=tianshui).update(
        status=ReconciliationStatus.EXPLAINED
    )
    assert tianshui_row() == [("open", "0"), ("explained", "1")]
