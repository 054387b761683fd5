"""Obtaining an API token, and django-axes still guarding the door."""

from axes.models import AccessAttempt

from tests.conftest import PASSWORD

URL = "/api/v1/auth/token/"


def test_it_gives_a_token_for_the_right_password(api_client, officer):
    """A good username and password give a token that then authenticates API calls."""
    response = api_client.post(URL, {"username": "officer", "password": PASSWORD}, format="json")

    assert response.status_code == 200
    token = response.json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/v1/reference/items/").status_code == 200


def test_it_gives_the_same_token_twice(api_client, officer):
    """Asking again returns the user's existing token rather than a second one."""
    body = {"username": "officer", "password": PASSWORD}
    first = api_client.post(URL, body, format="json").json()["token"]
    second = api_client.post(URL, body, format="json").json()["token"]

    assert first == second


def test_it_refuses_a_wrong_password_with_400(api_client, officer):
    """A wrong password gives 400 and no token."""
    response = api_client.post(URL, {"username": "officer", "password": "nope"}, format="json")

    assert response.status_code == 400
    assert "token" not in response.json()


def test_it_refuses_a_missing_password_with_400(api_client, officer):
    """Both fields are required."""
    response = api_client.post(URL, {"username": "officer"}, format="json")

    assert response.status_code == 400
    assert "password" in response.json()


def test_it_rejects_an_unknown_token_with_401(api_client, officer):
    """A made-up token authenticates nobody."""
    api_client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")

    assert api_client.get("/api/v1/reference/items/").status_code == 401


def test_it_rejects_anonymous_calls_with_401(api_client, db):
    """The API needs a token (or a session): anonymous reads get 401."""
    assert api_client.get("/api/v1/reference/prefectures/").status_code == 401


def test_it_locks_out_after_repeated_failures(api_client, officer, settings):
    """django-axes records token-endpoint failures and then refuses even the right password."""
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 2

    for _ in range(2):
        wrong = api_client.post(URL, {"username": "officer", "password": "nope"}, format="json")
        assert wrong.status_code in (400, 429)
    locked = api_client.post(URL, {"username": "officer", "password": PASSWORD}, format="json")

    assert AccessAttempt.objects.filter(username="officer").exists()
    assert locked.status_code == 429
    assert "token" not in locked.content.decode()
