"""An administrator's password reset in the admin also revokes the user's API token."""

from django.urls import reverse
from rest_framework.authtoken.models import Token

from supplycoord.models import User
from supplycoord.services import PASSWORD_CHANGED_REASON, PASSWORD_DISABLED_REASON
from tests.conftest import PASSWORD

NEW_PASSWORD = "quiet-lantern-harbour-47"
API_URL = "/api/v1/reference/items/"


def reset_url(user):
    return reverse("admin:auth_user_password_change", args=[user.pk])


def test_it_sets_the_password_and_revokes_the_token(client, admin_user, officer, client_for):
    api = client_for(officer)
    client.force_login(admin_user)

    response = client.post(
        reset_url(officer),
        {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    officer.refresh_from_db()
    assert officer.check_password(NEW_PASSWORD)
    assert api.get(API_URL).status_code == 401
    assert not Token.objects.filter(user=officer).exists()


def test_it_records_the_administrator_as_the_actor(client, admin_user, officer):
    client.force_login(admin_user)

    client.post(
        reset_url(officer),
        {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    record = User.history.filter(id=officer.pk).latest("history_date")
    assert record.history_user_id == admin_user.pk
    assert record.history_change_reason == PASSWORD_CHANGED_REASON


def test_it_revokes_the_token_when_password_login_is_disabled(
    client, admin_user, officer, client_for
):
    api = client_for(officer)
    client.force_login(admin_user)

    response = client.post(reset_url(officer), {"usable_password": "false", "unset-password": "1"})

    assert response.status_code == 302
    officer.refresh_from_db()
    assert not officer.has_usable_password()
    assert api.get(API_URL).status_code == 401
    record = User.history.filter(id=officer.pk).latest("history_date")
    assert record.history_change_reason == PASSWORD_DISABLED_REASON


def test_it_applies_the_password_validators(client, admin_user, officer, client_for):
    api = client_for(officer)
    client.force_login(admin_user)

    response = client.post(
        reset_url(officer), {"usable_password": "true", "password1": "123", "password2": "123"}
    )

    assert response.status_code == 200
    officer.refresh_from_db()
    assert officer.check_password(PASSWORD)
    assert api.get(API_URL).status_code == 200


def test_it_sends_the_admins_own_password_page_to_the_one_that_revokes_tokens(client, admin_user):
    client.force_login(admin_user)

    response = client.get(reverse("admin:password_change"))

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/"


def test_it_refuses_staff_without_the_permission(client, office, officer):
    office.is_staff = True
    office.save()
    client.force_login(office)

    response = client.post(
        reset_url(officer),
        {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 403
    officer.refresh_from_db()
    assert officer.check_password(PASSWORD)
