"""The spot-check page says a flag in plain words with units; the robust z-score and MAD stay
in the flag's detail row (issue 12 §4)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from reports.models import SpotCheckFlag
from reports.views_decisions import spot_check_flag_in_words
from tests.reports.test_decision_pages import seed

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(dt.datetime(2020, 2, 20, 18, 0, tzinfo=TZ), tick=False):
        yield


@pytest.fixture
def province(lanzhou, tianshui, n95):
    """Lanzhou used 500 N95 for 100 people in the 7 days (5 per person); the six others
    1.00–1.02 per person, so the median of the seven is 1.01."""
    return seed(n95, 7, first=[lanzhou, tianshui])


def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_a_flag_in_words_gives_the_daily_figure_per_person_and_the_times_the_median(province):
    """5 per person over 7 days = 0.714 a day; the median 1.01 over 7 days = 0.144 a day;
    5 ÷ 1.01 = 4.95, shown as 5.0 times."""
    flag = SpotCheckFlag.objects.select_related("item").get()
    from django.utils import translation

    with translation.override("en"):
        words = spot_check_flag_in_words(flag)
    assert words == (
        "Each protected person used 0.714 piece a day on average, 5.0 times the median of "
        "the prefectures (0.144 piece a day)."
    )


def test_a_median_of_zero_is_said_without_a_ratio(province):
    flag = SpotCheckFlag.objects.select_related("item").get()
    flag.median = 0
    from django.utils import translation

    with translation.override("en"):
        words = spot_check_flag_in_words(flag)
    assert "median of the prefectures is 0" in words
    assert "times" not in words


def test_the_page_shows_the_words_and_keeps_z_and_mad_in_the_detail_row(client, office, province):
    english(client).force_login(office)
    page = client.get(reverse("reports:spot_checks"), {"date": "2020-02-20"}).content.decode()
    flag = SpotCheckFlag.objects.get()
    assert "Each protected person used 0.714 piece a day on average, 5.0 times" in page
    detail = page[page.index(f'data-flag-detail="{flag.pk}"') :]
    detail = detail[: detail.index("</tr>")]
    assert f'class="num s-text-red flag-score">{flag.score:.2f}</dd>' in detail
    assert 'class="num flag-mad">' in detail
    assert "Robust z-score" in detail


def test_the_chinese_page_has_the_words_cell(client, leader, province):
    client.force_login(leader)
    page = client.get(reverse("reports:spot_checks"), {"date": "2020-02-20"}).content.decode()
    assert 'class="flag-words"' in page
    assert "0.714" in page
