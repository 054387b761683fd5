"""The officer's daily entry page: prefill, all-or-nothing save, errors at their row and field."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from inventory.models import DailyFigure
from tests.factories import DailyFigureFactory, ItemFactory

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2020, 2, 10, 10, 0, tzinfo=TZ)
TODAY = dt.date(2020, 2, 10)
URL = reverse("inventory:daily_entry")


@pytest.fixture
def items(n95):
    return [n95, ItemFactory(code="XD001", name_zh="84消毒液", name_en="84 disinfectant")]


def _post_data(items, date=TODAY, **overrides):
    data = {"date": date.isoformat()}
    for item in items:
        for field, value in {
            "stock": 100,
            "received": 5,
            "consumption": 10,
            "demand": 12,
            "expected_arrivals_3d": 0,
        }.items():
            data[f"{item.code}-{field}"] = value
    data.update(overrides)
    return data


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_it_shows_one_row_per_key_item_with_unit_and_last_stock(client, officer, items, lanzhou):
    DailyFigureFactory(
        prefecture=lanzhou, item=items[0], date=TODAY - dt.timedelta(days=2), stock=4321
    )
    ItemFactory(code="NK001", name_zh="非重点", is_key=False)
    client.force_login(officer)
    response = client.get(URL)
    assert response.status_code == 200
    content = response.content.decode()
    assert 'name="FH001-stock" value="4321"' in content
    assert 'name="XD001-stock" value=""' in content
    assert "NK001" not in content
    assert "兰州市" in content


def test_it_saves_every_row_in_one_submit(client, officer, items):
    client.force_login(officer)
    response = client.post(URL, _post_data(items))
    assert response.status_code == 302
    assert DailyFigure.objects.filter(date=TODAY, prefecture=officer.prefecture).count() == 2
    figure = DailyFigure.objects.get(item=items[0], date=TODAY)
    assert (figure.stock, figure.received, figure.consumption, figure.demand) == (100, 5, 10, 12)
    assert figure.submitted_by == officer and figure.on_time


def test_it_saves_nothing_and_marks_each_bad_field(client, officer, items):
    client.force_login(officer)
    data = _post_data(items, **{"FH001-stock": "-5", "XD001-demand": "1.5"})
    response = client.post(URL, data)
    assert response.status_code == 200
    assert DailyFigure.objects.count() == 0
    content = response.content.decode()
    assert 'id="err-FH001-stock"' in content
    assert 'id="err-XD001-demand"' in content
    assert 'id="err-FH001-demand"' not in content
    # The typed values come back so nothing has to be retyped.
    assert 'name="FH001-stock" value="-5"' in content


def test_it_shows_errors_in_chinese_by_default_and_english_when_chosen(client, officer, items):
    client.force_login(officer)
    data = _post_data(items, **{"FH001-stock": "-5"})
    chinese = client.post(URL, data).content.decode()
    assert "未保存任何数据" in chinese
    assert "不能为负数" in chinese  # the field's own error, translated
    client.cookies["django_language"] = "en"
    english = client.post(URL, data).content.decode()
    assert "Nothing was saved" in english
    assert "Must be zero or more." in english


def test_it_requires_a_reason_to_correct_a_past_date(client, officer, items, lanzhou):
    yesterday = TODAY - dt.timedelta(days=1)
    for item in items:
        DailyFigureFactory(
            prefecture=lanzhou,
            item=item,
            date=yesterday,
            stock=100,
            received=5,
            consumption=10,
            demand=12,
        )
    client.force_login(officer)
    data = _post_data(items, date=yesterday, **{"FH001-stock": "90"})
    response = client.post(URL, data)
    assert response.status_code == 200
    assert DailyFigure.objects.get(item=items[0], date=yesterday).stock == 100
    data["reason"] = "counted again"
    response = client.post(URL, data)
    assert response.status_code == 302
    figure = DailyFigure.objects.get(item=items[0], date=yesterday)
    assert figure.stock == 90
    assert figure.history.first().history_change_reason == "counted again"
    assert figure.history.count() == 2


def test_it_refuses_a_date_older_than_seven_days_for_an_officer(client, officer, items):
    client.force_login(officer)
    old = TODAY - dt.timedelta(days=8)
    response = client.post(URL, _post_data(items, date=old))
    assert response.status_code == 200
    assert DailyFigure.objects.count() == 0


def test_it_lets_office_staff_enter_any_prefecture_and_old_dates(client, office, items, tianshui):
    client.force_login(office)
    old = TODAY - dt.timedelta(days=20)
    response = client.post(
        URL, _post_data(items, date=old, prefecture="620500", reason="late paper report")
    )
    assert response.status_code == 302
    assert DailyFigure.objects.filter(prefecture=tianshui, date=old).count() == 2


def test_it_keeps_an_officer_on_their_own_prefecture(client, officer, items, tianshui):
    """An officer who posts another prefecture's code still writes only their own."""
    client.force_login(officer)
    response = client.post(URL, _post_data(items, prefecture="620500"))
    assert response.status_code == 302
    assert not DailyFigure.objects.filter(prefecture=tianshui).exists()
    assert DailyFigure.objects.filter(prefecture=officer.prefecture).count() == 2


@pytest.mark.parametrize("role", ["leader", "reporter"])
def test_it_is_forbidden_to_roles_that_do_not_report(client, request, role, items):
    client.force_login(request.getfixturevalue(role))
    assert client.get(URL).status_code == 403
    assert client.post(URL, _post_data(items)).status_code == 403


def test_it_sends_anonymous_users_to_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_it_uses_a_constant_number_of_queries(
    client, officer, items, lanzhou, django_assert_max_num_queries
):
    for n in range(20):
        ItemFactory(code=f"K{n:03d}")
    client.force_login(officer)
    with django_assert_max_num_queries(12):
        assert client.get(URL).status_code == 200


def test_it_opens_todays_form_with_a_message_for_an_unusable_date(client, officer, items):
    client.force_login(officer)
    for raw in ("garbage", "0001-01-01", "2099-01-01", "2020-01-01"):
        response = client.get(URL, {"date": raw})
        assert response.status_code == 200
        assert response.context["date"] == TODAY
        assert list(response.context["messages"])


def test_it_requires_office_staff_to_name_the_prefecture_they_save(client, office, items):
    client.force_login(office)
    assert client.post(URL, _post_data(items)).status_code == 404
    assert DailyFigure.objects.count() == 0
