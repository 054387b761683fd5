"""Role fixtures: named users for every role, plus an outsider officer of another prefecture;
the order in which parallel workers (pytest-xdist) take the test files."""

import collections
import contextlib
import io
import os

import pytest
from django.conf import settings as django_settings
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings
from django.utils import translation

from supplycoord.models import Role
from tests.factories import ItemFactory, PrefectureFactory, UserFactory

PASSWORD = "pass-word-123"

# `make test` runs the suite on one process per core (pytest-xdist, `-n auto`). pyproject's
# `--dist loadfile` hands out whole files, so a file's module-scoped fixtures (a demo loaded once
# for the module, a generated zip bomb) are set up in one process only, and tests that share an
# outside resource within a file (the worker-death tests' Redis database) never run at once.
# The files go out heaviest first (`--no-loadscope-reorder` keeps this order; xdist's own orders
# by number of tests, which started the browser journeys on the demo, four tests lasting two
# minutes, last, while the other worker sat idle). Costs are rough, in ordinary tests (~0.1 s).
SLOW_TEST_COST = 50  # a test marked slow, or driving a browser against the live server
MODULE_FIXTURE_COST = 100  # a module-scoped fixture (typically a demo load of 10 s or more)


def _test_cost(item) -> int:
    if item.get_closest_marker("slow") or "live_server" in item.fixturenames:
        return SLOW_TEST_COST
    return 1


def _uses_a_module_fixture(item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    definitions = info.name2fixturedefs.values() if info is not None else ()
    return any(fixture.scope == "module" for defs in definitions for fixture in defs)


@pytest.hookimpl(trylast=True)  # after pytest-django's order (transactional tests last)
def pytest_collection_modifyitems(config, items):
    """In a worker of a parallel run, order the files by their expected cost, heaviest first
    (a stable sort: within a file, pytest-django's order stays). A plain run keeps its order."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    cost = collections.Counter()
    module_fixtures = set()
    for item in items:
        cost[item.path] += _test_cost(item)
        if item.path not in module_fixtures and _uses_a_module_fixture(item):
            module_fixtures.add(item.path)
            cost[item.path] += MODULE_FIXTURE_COST
    items.sort(key=lambda item: -cost[item.path])


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the product's default language (Chinese). A page requested in
    English leaves English active in the thread (Django does not switch back after a
    response), which would otherwise leak into the next test's direct calls."""
    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.activate(django_settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _eager_celery_and_fast_hashing(settings, tmp_path):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.AXES_ENABLED = False
    # Uploaded attachments and export files of a test go to its own temporary folder.
    settings.MEDIA_ROOT = tmp_path / "media"
    # Under .ci/run REDIS_URL is set; tests must not share a Redis cache with each other.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def lanzhou(db):
    return PrefectureFactory(code="620100", name_zh="兰州市", name_en="Lanzhou")


@pytest.fixture
def tianshui(db):
    return PrefectureFactory(code="620500", name_zh="天水市", name_en="Tianshui")


@pytest.fixture
def n95(db):
    return ItemFactory(code="FH001", name_zh="N95口罩", name_en="N95 respirator", pack_size=20)


@pytest.fixture
def officer(lanzhou):
    return UserFactory(username="officer", role=Role.PREFECTURE_OFFICER, prefecture=lanzhou)


@pytest.fixture
def outsider(tianshui):
    """An officer of another prefecture: must never see or change Lanzhou's data."""
    return UserFactory(username="outsider", role=Role.PREFECTURE_OFFICER, prefecture=tianshui)


@pytest.fixture
def yuzhong(lanzhou):
    """榆中县, a county of Lanzhou (three-level dispatch, issue 15)."""
    from supplycoord.models import County

    return County.objects.get_or_create(
        code="620123", defaults={"prefecture": lanzhou, "name_zh": "榆中县", "name_en": "Yuzhong"}
    )[0]


@pytest.fixture
def lead(lanzhou):
    """Lanzhou's lead (市州领导): reads Lanzhou, approves the batches Lanzhou issues."""
    return UserFactory(username="lead", role=Role.PREFECTURE_LEAD, prefecture=lanzhou)


@pytest.fixture
def county_officer(yuzhong):
    """Yuzhong's county officer: its county's batches, requests and figures only."""
    return UserFactory(
        username="county_officer",
        role=Role.COUNTY_OFFICER,
        prefecture=yuzhong.prefecture,
        county=yuzhong,
    )


@pytest.fixture
def office(db):
    return UserFactory(username="office", role=Role.OFFICE_STAFF)


@pytest.fixture
def leader(db):
    return UserFactory(username="leader", role=Role.LEADERSHIP)


@pytest.fixture
def reporter(db):
    return UserFactory(username="reporter", role=Role.PRODUCER_REPORTER)


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", role=Role.ADMIN, is_staff=True, is_superuser=True)


@pytest.fixture
def client_for():
    """`client_for(user)`: a DRF APIClient sending that user's token, as real API callers do.

    The token was used a moment ago, like a token in steady use: its last use is written at
    most once a minute, so query counts asserted on a call are the call's own. The write of a
    first use is tested in tests/supplycoord/test_token_last_used.py.
    """
    from django.utils import timezone
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from supplycoord.models import TokenUsage

    def make(user):
        token, _ = Token.objects.get_or_create(user=user)
        TokenUsage.objects.update_or_create(token=token, defaults={"last_used_at": timezone.now()})
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


@contextlib.contextmanager
def commands_run_for_module(django_db_blocker, *commands):
    """Run management `commands` (each a list of arguments) once, inside a transaction rolled
    back on leaving; yields what they printed. For module-scoped demo fixtures: the tests use
    them through a fixture that also takes `db`, so each still runs in its own savepoint.

    A demo load leaves PostgreSQL's deferred foreign-key checks of ~100,000 rows pending; were
    they left so, every test's teardown (Django checks constraints before the rollback) would
    run them all again. Checking them once here, outside any savepoint, settles them.
    """
    out = io.StringIO()
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
    ):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            for command in commands:
                call_command(*command, stdout=out)
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            yield out.getvalue()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, and the connection that made it closed: when the first
    test of a run drives a browser, Playwright is already running and the tests get another
    connection object, so that one would stay open, idle, for the whole run, and a copy of
    the test database (CREATE DATABASE ... TEMPLATE, see connected_to) would be refused."""
    with django_db_blocker.unblock():
        connection.close()


@contextlib.contextmanager
def connected_to(name):
    """The default connection talks to database `name` of the same server while this lasts
    (Django connects anew; so do threads and subprocesses given connection.settings_dict)."""
    assert not connection.in_atomic_block, "switch databases outside any transaction"
    previous = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = name
    # Content types are cached by id, and each database numbers its own.
    ContentType.objects.clear_cache()
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = previous
        ContentType.objects.clear_cache()


@pytest.fixture(scope="session")
def historical_demo_database(django_db_setup, django_db_blocker):
    """The name of a database holding the historical demo, made once per test process (each
    pytest-xdist worker has its own): a copy of the migrated, empty test database, into which
    `load_demo --historical` is committed. Dropped at the end of the session.

    What the load queued for after its commit (snapshot builds) is dropped, as it was when the
    demo was loaded in a transaction rolled back: the demo's tests start from the data alone.
    """
    test_database = connection.settings_dict["NAME"]
    name = f"{test_database}_demo"
    with django_db_blocker.unblock():
        connection.close()
        # The copy waits (up to 5 s) for other sessions on the test database to end.
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{test_database}"')
        with (
            connected_to(name),
            override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
            transaction.atomic(),
        ):
            call_command("load_demo", "--historical", stdout=io.StringIO())
            connection.run_on_commit.clear()
    yield name
    with django_db_blocker.unblock():
        connection.close()
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _commits(item) -> bool:
    marker = item.get_closest_marker("django_db")
    return (
        bool(marker and marker.kwargs.get("transaction"))
        or "transactional_db" in item.fixturenames
        or "live_server" in item.fixturenames
    )


@pytest.fixture(scope="module")
def demo_loaded(request, historical_demo_database, django_db_blocker):
    """The historical demo province for a module. Its tests run on the demo's database (loaded
    once per test process, not once per module); each test still runs in a transaction rolled
    back at its end (the `db` fixture), so none sees another's changes. A test that commits
    (transaction=True, live_server) would change the database the other modules read: it must
    load the demo itself."""
    committing = [
        item.name
        for item in request.session.items
        if item.path == request.path and "demo_loaded" in item.fixturenames and _commits(item)
    ]
    if committing:
        pytest.fail(f"demo_loaded is for tests that roll back; these commit: {committing}")
    with django_db_blocker.unblock(), connected_to(historical_demo_database):
        yield
