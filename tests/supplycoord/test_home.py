"""Every role lands somewhere useful from /: never a 403 loop."""

import pytest
from django.urls import reverse

from supplycoord.models import Role
from tests.factories import UserFactory


@pytest.mark.parametrize(
    ("role", "lands_on"),
    [
        ("officer", "/inventory/daily/"),
        ("office", "/reports/"),
        ("leader", "/reports/"),
        ("admin_user", "/reports/"),
        ("reporter", "/production/commissioner/"),
    ],
)
def test_it_sends_each_role_to_its_daily_work(client, request, role, lands_on):
    client.force_login(request.getfixturevalue(role))
    response = client.get(reverse("home"), follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == lands_on


def test_a_county_officer_lands_on_its_batches_or_on_its_figures_where_they_are_summed(
    client, county_officer
):
    """Three-level dispatch (issue 15): a county officer receives batches; where its prefecture
    reports as the sum of its counties, the county's figures are its daily work first."""
    client.force_login(county_officer)
    assert client.get(reverse("home"), follow=True).redirect_chain[-1][0] == "/allocation/batches/"

    lanzhou = county_officer.prefecture
    lanzhou.reports_as_sum_of_counties = True
    lanzhou.save(update_fields=["reports_as_sum_of_counties"])
    response = client.get(reverse("home"), follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("inventory:county_entry")


def test_a_prefecture_lead_lands_on_its_prefectures_drafts(client, lead):
    client.force_login(lead)
    response = client.get(reverse("home"), follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/allocation/batches/?status=draft&level=620100"


def test_it_shows_nothing_to_a_user_without_a_role(client, db):
    user = UserFactory(username="newcomer", role="")
    client.force_login(user)
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("reports:overview")).status_code == 403
    assert client.get(reverse("inventory:daily_entry")).status_code == 403


def test_it_gives_new_users_no_role_by_default(db):
    from supplycoord.models import User

    user = User.objects.create_user("plain", password="x-long-password-1")
    assert user.role == ""
    assert not user.sees_whole_province
    assert user.effective_role != Role.OFFICE_STAFF
