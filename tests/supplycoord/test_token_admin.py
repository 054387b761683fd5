"""The admin lists API tokens with their last use (never their keys) and revokes them."""

import datetime as dt

import time_machine
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from rest_framework.authtoken.models import Token

from supplycoord.models import User
from supplycoord.services import TOKEN_REVOKED_REASON

API_URL = "/api/v1/reference/items/"
LIST_URL = reverse("admin:supplycoord_apitoken_changelist")
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def test_it_lists_user_created_and_last_use_without_the_key(
    client, admin_user, officer, office, client_for
):
    with time_machine.travel(T0, tick=False):
        client_for(officer).get(API_URL)
    Token.objects.create(user=office)  # never used
    client.force_login(admin_user)

    page = client.get(LIST_URL)

    html = page.content.decode()
    assert page.status_code == 200
    assert "officer" in html and "office" in html
    assert "column-last_used_at" in html
    for token in Token.objects.all():
        assert token.key not in html


def test_it_lists_many_tokens_in_a_fixed_number_of_queries(
    client, admin_user, client_for, django_assert_max_num_queries
):
    from tests.factories import UserFactory

    for n in range(12):
        client_for(UserFactory(username=f"integration{n}")).get(API_URL)
    client.force_login(admin_user)

    with django_assert_max_num_queries(12):
        assert client.get(LIST_URL).status_code == 200


def test_it_revokes_the_selected_tokens(client, admin_user, officer, office, client_for):
    officer_api, office_api = client_for(officer), client_for(office)
    key = Token.objects.get(user=officer).key
    client.force_login(admin_user)

    confirm = client.post(
        LIST_URL, {"action": "delete_selected", ACTION_CHECKBOX_NAME: [str(officer.pk)]}
    )
    done = client.post(
        LIST_URL,
        {"action": "delete_selected", ACTION_CHECKBOX_NAME: [str(officer.pk)], "post": "yes"},
    )

    assert confirm.status_code == 200
    assert key not in confirm.content.decode()
    assert done.status_code == 302
    assert officer_api.get(API_URL).status_code == 401
    assert office_api.get(API_URL).status_code == 200
    record = User.history.filter(id=officer.pk).latest("history_date")
    assert record.history_user_id == admin_user.pk
    assert record.history_change_reason == TOKEN_REVOKED_REASON


def test_it_revokes_a_token_from_its_own_page(client, admin_user, officer, client_for):
    api = client_for(officer)
    client.force_login(admin_user)
    url = reverse("admin:supplycoord_apitoken_delete", args=[officer.pk])

    assert client.get(url).status_code == 200
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert api.get(API_URL).status_code == 401


def test_it_issues_and_edits_no_tokens(client, admin_user, officer, client_for):
    client_for(officer)
    client.force_login(admin_user)

    assert client.get(reverse("admin:supplycoord_apitoken_add")).status_code == 403
    view = client.get(reverse("admin:supplycoord_apitoken_change", args=[officer.pk]))
    assert view.status_code == 200
    assert 'name="_save"' not in view.content.decode()


def test_it_refuses_staff_without_the_permission(client, office, officer, client_for):
    api = client_for(officer)
    office.is_staff = True
    office.save()
    client.force_login(office)

    assert client.get(LIST_URL).status_code == 403
    response = client.post(
        LIST_URL,
        {"action": "delete_selected", ACTION_CHECKBOX_NAME: [str(officer.pk)], "post": "yes"},
    )
    assert response.status_code == 403
    assert api.get(API_URL).status_code == 200
