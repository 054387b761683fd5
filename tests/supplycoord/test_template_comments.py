"""Template comments never reach a page.

Django's `{# … #}` is a one-line comment: spread over two lines it is not a comment at all and
is printed as text (issue 12 §4: the import pages showed "{# Step 2 of an Excel import page …").
Multi-line comments use `{% comment %}`.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.template.loader import get_template
from django.test import RequestFactory
from django.urls import reverse

TEMPLATES_DIR = Path(settings.BASE_DIR) / "templates"
# An opening `{#` whose closing `#}` is not on the same line.
UNCLOSED_ONE_LINE_COMMENT = re.compile(r"\{#(?:(?!#\}).)*$", re.MULTILINE)


def _template_names():
    return sorted(str(p.relative_to(TEMPLATES_DIR)) for p in TEMPLATES_DIR.rglob("*.html"))


def test_it_finds_no_one_line_comment_spread_over_lines():
    offenders = []
    for name in _template_names():
        text = (TEMPLATES_DIR / name).read_text(encoding="utf-8")
        for match in UNCLOSED_ONE_LINE_COMMENT.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            offenders.append(f"{name}:{line}")
    assert offenders == [], "use {% comment %} for comments spanning lines: " + ", ".join(offenders)


def test_the_lint_pattern_catches_a_two_line_comment_and_passes_a_one_line_one():
    assert UNCLOSED_ONE_LINE_COMMENT.search("{# first line\n   second line #}")
    assert not UNCLOSED_ONE_LINE_COMMENT.search("{# one line #}\n<p>x</p>")


@pytest.mark.django_db
def test_no_template_that_renders_prints_a_comment_opening(office):
    """Every template that renders without a view's context (partials, error pages, bases)
    is rendered as the office would see it; none may print `{#`."""
    request = RequestFactory().get("/")
    request.user = office
    rendered, printed = [], []
    for name in _template_names():
        template = get_template(name)  # a syntax error fails the test
        try:
            html = template.render({"user": office}, request)
        except Exception:  # needs a view's context (url arguments, objects): not renderable here
            continue
        rendered.append(name)
        if "{#" in html:
            printed.append(name)
    assert "partials/_xlsx_upload.html" in rendered
    assert "base.html" in rendered
    assert printed == []


@pytest.mark.django_db
def test_it_renders_the_anonymous_login_page_without_a_comment_opening(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"{#" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_daily_import_page_prints_no_comment(client, officer, language):
    client.force_login(officer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(reverse("inventory:daily_import"))
    assert response.status_code == 200
    assert b'id="id_file"' in response.content  # the upload partial is on the page
    assert b"{#" not in response.content
    assert b"Step 2 of an Excel import page" not in response.content


@pytest.mark.django_db
def test_the_production_import_page_prints_no_comment(client, reporter):
    client.force_login(reporter)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(reverse("production:report_import"))
    assert response.status_code == 200
    assert b"{#" not in response.content


def test_anonymous_render_of_the_error_pages_prints_no_comment():
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    for name in ("400.html", "403.html", "404.html", "500.html"):
        assert "{#" not in get_template(name).render({}, request)
