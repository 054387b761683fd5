"""Browser fixtures: headless Debian Chromium driven by Playwright's sync API.

The browser is launched once for the e2e package and closed when the package is done; each
test gets a fresh context (its own cookies, language and session). Pages record every failed
response and JavaScript error so a test can assert that htmx, ECharts and the stylesheet
really loaded.

Playwright's sync API keeps an asyncio event loop running in the main thread while it is
started, and Django refuses ORM calls from a thread with a running loop. The e2e tests drive
the browser and query the database one after the other in the same thread, never at once, so
Django's guard is switched off for exactly as long as Playwright runs (package scope), and put
back afterwards so that the rest of the suite keeps the check.
"""

import dataclasses
import os
import shutil
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="package")
def _allow_orm_beside_playwright():
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="package")
def chromium_path():
    path = shutil.which("chromium")
    if path is None:
        reason = "e2e: no `chromium` on PATH (Debian: apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must run the browser tests", pytrace=False)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="package")
def browser(chromium_path, _allow_orm_beside_playwright):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="package")
def artifacts_dir():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(autouse=True)
def _e2e_settings(settings, _allow_orm_beside_playwright):
    """Serve static files without a collectstatic run; build snapshots in-process (the Celery
    app reads CELERY_TASK_ALWAYS_EAGER from Django's settings on each call, so this holds even
    with REDIS_URL set and no worker running).

    pytest-django's live server wraps the app in Django's StaticFilesHandler, which serves
    /static/ from the finders (static/ and the apps) before WhiteNoise is reached; the plain
    storage makes {% static %} independent of a manifest in STATIC_ROOT.
    """
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    settings.AXES_ENABLED = False
    settings.CELERY_TASK_ALWAYS_EAGER = True


@dataclasses.dataclass
class BrowserLog:
    """What went wrong in the browser: failed responses, failed requests, script errors."""

    responses: list = dataclasses.field(default_factory=list)  # (status, url)
    failed_requests: list = dataclasses.field(default_factory=list)
    errors: list = dataclasses.field(default_factory=list)

    @property
    def bad_responses(self):
        return [(status, url) for status, url in self.responses if status >= 400]

    def assert_clean(self):
        assert self.bad_responses == []
        assert self.failed_requests == []
        assert self.errors == []

    def loaded(self, suffix):
        return [status for status, url in self.responses if url.split("?")[0].endswith(suffix)]


# Chromium fetches the favicon on its own, after the page, and abandons the fetch
# (net::ERR_ABORTED) when the journey navigates on first; so with the header's bell, which
# htmx loads after every page (issue 16). Everything else that fails to load is an error.
IGNORED_URLS = ("/favicon.ico", "/favicon.svg", "/notifications/bell/")


def _abandoned_background_load(request) -> bool:
    """A fetch or XHR the page started after loading (the bell's count, a small map's data,
    an htmx poll) that Chromium abandoned because the journey navigated on: not an error. One
    that got an answer is judged by its status (BrowserLog.responses); one that failed any
    other way (refused, timed out) is still an error."""
    return request.failure == "net::ERR_ABORTED" and request.resource_type in ("fetch", "xhr")


def _record_console_error(log, msg):
    if msg.type != "error":
        return
    url = (msg.location or {}).get("url", "")
    if url.endswith(IGNORED_URLS):
        return
    log.errors.append(f"console: {msg.text} ({url})")


@pytest.fixture
def browser_log():
    return BrowserLog()


@pytest.fixture
def page(browser, browser_log, live_server):
    """A fresh context per test, in Chinese like an office browser in Gansu."""
    context = browser.new_context(
        base_url=live_server.url,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport={"width": 1440, "height": 1000},
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("response", lambda r: browser_log.responses.append((r.status, r.url)))
    page.on(
        "requestfailed",
        lambda r: (
            None
            if r.url.endswith(IGNORED_URLS) or _abandoned_background_load(r)
            else browser_log.failed_requests.append((r.url, r.failure))
        ),
    )
    page.on("pageerror", lambda exc: browser_log.errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: _record_console_error(browser_log, msg))
    yield page
    context.close()
