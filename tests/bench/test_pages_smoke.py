"""`bench/pages.py --smoke`: the page benchmark runs end to end, and every page it measures
answers 200 through gunicorn, signed in as the role the table names.

Only the answers are checked, never the timings (no timed assertions in tests: a busy machine
would make them flaky). The benchmark runs in a subprocess on a database of its own, created
on the test database's server and dropped afterwards.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings

from tests.database_url import database_url

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

PAGES = {
    "overview",
    "overview-dated",
    "item",
    "export-csv",
    "export-xlsx",
    "spot-checks",
    "alerts",
    "production",
    "demand",
    "batch-list",
    "batch-detail",
    "stock-card",
    "stock-card-issues",
    "prefecture",
    "proposal-form",
    "ledger-csv",
    "reconciliation",
    "exports",
    "producer",
}


@pytest.fixture
def empty_database():
    """The URL of a new, empty database on the test database's server (dropped afterwards)."""
    server = settings.DATABASES["default"]
    name = f"supplycoord_bench_pages_smoke_{os.getpid()}"
    admin = psycopg2.connect(
        host=server["HOST"] or "127.0.0.1",
        port=server["PORT"] or 5432,
        user=server["USER"],
        password=server["PASSWORD"],
        dbname="postgres",
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url({**server, "NAME": name})
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_it_serves_every_page_with_200_in_smoke_mode(empty_database, tmp_path):
    results = tmp_path / "pages.json"
    done = subprocess.run(
        [sys.executable, "bench/pages.py", "--smoke", "--json", str(results)],
        cwd=Path(settings.BASE_DIR),
        env={**os.environ, "DATABASE_URL": empty_database},
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    output = done.stdout[-4000:] + done.stderr[-4000:]
    # 1 may be a timing target missed on a busy machine; answers are judged below.
    assert done.returncode in (0, 1), output
    report = json.loads(results.read_text())

    assert report["errors"] == [], output
    assert {page["key"] for page in report["pages"]} == PAGES
    assert {page["key"]: page["status"] for page in report["pages"]} == dict.fromkeys(PAGES, 200)
    assert all(page["bytes"] > 0 for page in report["pages"])
    assert report["overview_concurrent"]["statuses"] == [200]
    assert report["overview_concurrent"]["completed"] > 0
