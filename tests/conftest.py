"""Role fixtures: named users for every role, plus an outsider officer of another prefecture."""

import contextlib
import io

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings
from django.utils import translation

from supplycoord.models import Role
from tests.factories import ItemFactory, PrefectureFactory, UserFactory

PASSWORD = "pass-word-123"


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


@pytest.fixture(scope="module")
def demo_loaded(django_db_setup, django_db_blocker):
    """The historical demo province, loaded once per module (commands_run_for_module)."""
    with commands_run_for_module(django_db_blocker, ["load_demo", "--historical"]):
        yield
