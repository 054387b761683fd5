"""Every role changes its own password on one page; the API token goes with the old password."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from supplycoord.models import User
from supplycoord.services import PASSWORD_CHANGED_REASON
from tests.conftest import PASSWORD

URL = "/accounts/password/"
NEW_PASSWORD = "quiet-lantern-harbour-47"
API_URL = "/api/v1/reference/items/"


def change(client, *, old=PASSWORD, new=NEW_PASSWORD, confirm=None):
    return client.post(
        URL,
        {"old_password": old, "new_password1": new, "new_password2": confirm or new},
    )


@pytest.mark.parametrize("role", ["officer", "reporter", "office", "leader", "admin_user"])
def test_it_lets_every_role_reach_the_page_from_the_header(client, request, role):
    user = request.getfixturevalue(role)
    client.force_login(user)

    home = client.get("/", follow=True)
    page = client.get(URL)

    assert f'href="{URL}"' in home.content.decode()
    assert page.status_code == 200
    assert 'name="old_password"' in page.content.decode()


def test_it_sends_anonymous_visitors_to_log_in(client, db):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_changes_the_password_and_keeps_this_session(client, officer):
    client.force_login(officer)

    response = change(client)

    assert response.status_code == 302
    officer.refresh_from_db()
    assert officer.check_password(NEW_PASSWORD)
    # Still signed in in this browser (update_session_auth_hash).
    assert client.get(URL).status_code == 200


def test_it_ends_the_users_other_sessions(client, officer):
    other_browser = type(client)()
    other_browser.force_login(officer)
    client.force_login(officer)

    change(client)

    assert other_browser.get(URL).status_code == 302


def test_it_revokes_the_api_token(client, officer, client_for):
    api = client_for(officer)
    assert api.get(API_URL).status_code == 200
    client.force_login(officer)

    change(client)

    assert api.get(API_URL).status_code == 401
    assert not Token.objects.filter(user=officer).exists()


def test_it_gives_a_new_token_for_the_new_password(client, officer, client_for):
    client_for(officer)  # the user had a token
    client.force_login(officer)
    change(client)

    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "officer", "password": NEW_PASSWORD}, format="json"
    )

    assert response.status_code == 200
    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert fresh.get(API_URL).status_code == 200


def test_it_records_who_changed_the_password(client, officer):
    client.force_login(officer)

    change(client)

    record = User.history.filter(id=officer.pk).latest("history_date")
    assert record.history_user_id == officer.pk
    assert record.history_change_reason == PASSWORD_CHANGED_REASON


def test_it_refuses_a_wrong_old_password_and_keeps_the_token(client, officer, client_for):
    api = client_for(officer)
    client.force_login(officer)

    response = change(client, old="not-my-password")

    assert response.status_code == 200
    assert 'name="old_password"' in response.content.decode()
    officer.refresh_from_db()
    assert officer.check_password(PASSWORD)
    assert api.get(API_URL).status_code == 200


@pytest.mark.parametrize(
    "weak",
    ["12345678", "short", "password", "officer1"],
    ids=["numeric", "too-short", "common", "like-the-username"],
)
def test_it_applies_the_password_validators(client, officer, weak):
    client.force_login(officer)

    response = change(client, new=weak)

    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"]
    officer.refresh_from_db()
    assert officer.check_password(PASSWORD)


def test_it_refuses_a_mismatched_confirmation(client, officer):
    client.force_login(officer)

    response = change(client, confirm="another-long-password-99")

    assert response.status_code == 200
    officer.refresh_from_db()
    assert officer.check_password(PASSWORD)
