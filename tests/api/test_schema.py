"""The OpenAPI document and its docs pages, served without any CDN."""

import re

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders

PATHS = [
    "/api/v1/auth/token/",
    "/api/v1/reference/prefectures/",
    "/api/v1/reference/items/",
    "/api/v1/daily-figures/",
    "/api/v1/snapshots/",
    "/api/v1/snapshots/build/",
]


@pytest.fixture
def api_client(api_client, leader):
    """The schema and docs are for signed-in users."""
    api_client.force_authenticate(leader)
    return api_client


@pytest.mark.parametrize("url", ["/api/schema/", "/api/docs/", "/api/redoc/"])
def test_it_keeps_the_schema_and_docs_from_anonymous_visitors(db, url):
    from rest_framework.test import APIClient

    assert APIClient().get(url).status_code in (401, 403)


def test_it_serves_an_openapi_document_with_every_path(api_client, db):
    """`/api/schema/` is an OpenAPI 3 document naming every API path."""
    response = api_client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert set(PATHS) <= set(document["paths"])


def test_it_documents_the_daily_figures_contract(api_client, db):
    """The submit operation documents a list of rows, and its 200, 400 and 403 answers."""
    document = api_client.get("/api/schema/", {"format": "json"}).json()
    post = document["paths"]["/api/v1/daily-figures/"]["post"]

    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert body["type"] == "array"
    row = document["components"]["schemas"]["DailyFigureRow"]["properties"]
    assert {"prefecture", "item", "date", "stock", "expected_arrivals_3d", "reason"} <= set(row)
    assert {"200", "400", "403"} <= set(post["responses"])


def test_it_documents_snapshot_numbers_as_numbers(api_client, db):
    """Snapshot decimals are documented as JSON numbers, and missing figures as nullable."""
    document = api_client.get("/api/schema/", {"format": "json"}).json()
    row = document["components"]["schemas"]["SnapshotRow"]["properties"]

    assert row["days_of_cover"]["type"] == "number"
    assert row["days_of_cover"]["nullable"] is True
    assert row["stock"]["nullable"] is True


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_it_serves_the_docs_pages_from_local_static_files(api_client, db, url):
    """The docs pages load only our own static files: no http(s) URL, every asset found."""
    response = api_client.get(url)

    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"https?://", html)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets
    for asset in assets:
        assert asset.startswith(settings.STATIC_URL), asset
        assert finders.find(asset.removeprefix(settings.STATIC_URL)), asset


def test_it_turns_off_swagger_uis_online_validator(api_client, db):
    """Swagger UI would send the schema's address to validator.swagger.io; it must not."""
    html = api_client.get("/api/docs/").content.decode()

    assert '"validatorUrl": null' in html
