"""Pages open in Simplified Chinese whatever the browser asks; the switch makes them English."""

from django.urls import reverse


def test_it_serves_chinese_to_a_browser_that_asks_for_english(client, db):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in response.content.decode()


def test_it_switches_to_english_with_the_language_switch_and_back(client, db):
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("login")})
    assert response.status_code == 302
    assert '<html lang="en">' in client.get(reverse("login")).content.decode()
    client.post(reverse("set_language"), {"language": "zh-hans", "next": reverse("login")})
    assert '<html lang="zh-hans">' in client.get(reverse("login")).content.decode()


def test_it_names_each_language_in_its_own_language(client, db):
    content = client.get(reverse("login")).content.decode()
    assert ">简体中文</button>" in content
    assert ">English</button>" in content


def test_it_lets_api_clients_choose_by_accept_language(client, db):
    response = client.get("/api/v1/reference/items/", HTTP_ACCEPT_LANGUAGE="en")
    assert response["Content-Language"] == "en"
