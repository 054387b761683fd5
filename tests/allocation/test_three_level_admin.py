"""The user admin knows the county officer (issue 15 §3): a county field, the officer's
prefecture taken from its county, and a clear error on the field when the county is
missing instead of the database's constraint."""

import pytest
from django.conf import settings
from django.urls import reverse

from supplycoord.models import Role, User

ADD = "admin:supplycoord_user_add"
PASSWORD = "a-Long-pass-phrase-2026"


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def new_user(**fields):
    return {
        "username": "yuzhong2",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "usable_password": "true",
        "role": Role.COUNTY_OFFICER,
        "prefecture": "",
        "county": "",
        **fields,
    }


def test_a_county_officer_without_a_county_is_refused_on_the_county_field(admin_client):
    response = admin_client.post(reverse(ADD), new_user())

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["county"] == [
        "A county officer needs a county: the only county they see and change."
    ]
    assert not User.objects.filter(username="yuzhong2").exists()


def test_a_county_officers_prefecture_is_its_countys(admin_client, yuzhong, tianshui):
    # The admin chose Tianshui by mistake: the county decides.
    response = admin_client.post(reverse(ADD), new_user(county=yuzhong.pk, prefecture=tianshui.pk))

    assert response.status_code == 302
    made = User.objects.get(username="yuzhong2")
    assert (made.county, made.prefecture) == (yuzhong, yuzhong.prefecture)
    assert made.prefecture.code == "620100"


def test_a_lead_without_a_prefecture_is_refused_on_the_prefecture_field(admin_client):
    response = admin_client.post(reverse(ADD), new_user(role=Role.PREFECTURE_LEAD))

    assert response.status_code == 200
    assert "prefecture" in response.context["adminform"].form.errors


def test_the_change_page_shows_the_county(admin_client, county_officer):
    html = admin_client.get(reverse("admin:supplycoord_user_change", args=[county_officer.pk])).text

    assert 'name="county"' in html
    listing = admin_client.get(reverse("admin:supplycoord_user_changelist")).text
    assert "Yuzhong" in listing or "榆中县" in listing
