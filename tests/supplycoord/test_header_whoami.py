"""The header names the person once, with the role and what the role is tied to (issue 12 §4:
it used to read "保障组工作人员 · 保障组工作人员")."""

import csv
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from supplycoord.models import Role
from tests.factories import UserFactory


def _english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _whoami(response) -> str:
    html = response.content.decode()
    # The header's identity span, up to the password link that follows it.
    rest = html[html.index('id="whoami"') :]
    rest = rest[: rest.index('id="password-change-link"')]
    return " ".join(rest.split())


@pytest.mark.django_db
def test_it_shows_the_office_person_name_and_role_once(client):
    person = UserFactory(username="chen", first_name="陈静", role=Role.OFFICE_STAFF)
    client.force_login(person)
    text = _whoami(_english(client).get(reverse("exports:list")))
    assert "陈静" in text
    assert text.count("Office staff") == 1


@pytest.mark.django_db
def test_a_name_that_repeats_the_role_is_shown_once(client):
    person = UserFactory(username="old_office", first_name="Office staff", role=Role.OFFICE_STAFF)
    client.force_login(person)
    text = _whoami(_english(client).get(reverse("exports:list")))
    assert text.count("Office staff") == 1
    assert "old_office" in text


@pytest.mark.django_db
def test_an_officer_sees_name_role_and_prefecture(client, lanzhou):
    person = UserFactory(
        username="wang", first_name="王建国", role=Role.PREFECTURE_OFFICER, prefecture=lanzhou
    )
    client.force_login(person)
    text = _whoami(_english(client).get(reverse("exports:list")))
    assert "王建国" in text
    assert "Prefecture logistics officer" in text
    assert lanzhou.name_en in text


@pytest.mark.django_db
def test_a_reporter_sees_the_producers_they_report_for(client, reporter, lanzhou):
    from production.models import Producer

    producer = Producer.objects.create(
        name="兰州某医疗用品有限公司", credit_code="91350100M000100Y43", prefecture=lanzhou
    )
    producer.reporters.add(reporter)
    client.force_login(reporter)
    text = _whoami(client.get(reverse("exports:list")))
    assert "兰州某医疗用品有限公司" in text


@pytest.mark.django_db
def test_without_a_name_the_username_shows(client, office):
    office.first_name = office.last_name = ""
    office.save()
    client.force_login(office)
    text = _whoami(_english(client).get(reverse("exports:list")))
    assert office.username in text


def test_every_demo_user_has_a_person_name_not_a_role():
    """The Gansu demo's users carry real-looking names, never the name of their role."""
    path = Path(settings.BASE_DIR) / "supplycoord/data/demo/gansu/users.csv"
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    # One per role, the 3 distribution enterprises' reporters, the 3 units' requesters, and
    # three-level dispatch's two prefecture leads, Dingxi's officer and four county officers.
    assert len(rows) == 6 + 3 + 3 + 7
    role_words = ("联络员", "特派员", "工作人员", "领导小组", "管理员")
    for row in rows:
        assert row["first_name"], row["username"]
        assert not any(word in row["first_name"] for word in role_words), row
