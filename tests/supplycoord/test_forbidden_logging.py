"""A refused request (403) is logged as one line: method, path, user id and reason, no traceback."""

import logging

from django.core.exceptions import PermissionDenied
from django.test import RequestFactory

from supplycoord.lib.log_filters import PermissionDeniedOneLine


def forbidden_records(caplog):
    return [r for r in caplog.records if r.name == "django.request" and r.status_code == 403]


def test_it_logs_a_refused_page_as_one_line_without_a_traceback(client, reporter, caplog):
    client.force_login(reporter)

    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/inventory/daily/")

    assert response.status_code == 403
    [record] = forbidden_records(caplog)
    assert record.exc_info is None
    assert record.getMessage() == f"Forbidden: GET /inventory/daily/ user={reporter.pk} reason=-"
    assert "Traceback" not in caplog.text
    assert len([line for line in caplog.text.splitlines() if "Forbidden" in line]) == 1


def test_it_logs_a_refused_api_call_as_one_line(client_for, leader, caplog):
    api = client_for(leader)

    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = api.post("/api/v1/daily-figures/", [], format="json")

    assert response.status_code == 403
    [record] = forbidden_records(caplog)
    assert record.exc_info is None
    assert record.getMessage().startswith(
        f"Forbidden: POST /api/v1/daily-figures/ user={leader.pk}"
    )
    assert "Traceback" not in caplog.text


def test_it_names_the_reason_a_view_gave():
    request = RequestFactory().get("/somewhere/")
    try:
        raise PermissionDenied("not your prefecture")
    except PermissionDenied as exc:
        record = logging.LogRecord(
            "django.request",
            logging.WARNING,
            __file__,
            1,
            "Forbidden (Permission denied): %s",
            ("/somewhere/",),
            (type(exc), exc, exc.__traceback__),
        )
    record.status_code = 403
    record.request = request

    PermissionDeniedOneLine().filter(record)

    assert record.exc_info is None
    assert record.getMessage() == "Forbidden: GET /somewhere/ user=- reason=not your prefecture"


def test_it_leaves_other_errors_and_their_tracebacks_alone():
    try:
        raise ValueError("boom")
    except ValueError as exc:
        exc_info = (type(exc), exc, exc.__traceback__)
    record = logging.LogRecord(
        "django.request",
        logging.ERROR,
        __file__,
        1,
        "Internal Server Error: %s",
        ("/x/",),
        exc_info,
    )
    record.status_code = 500

    PermissionDeniedOneLine().filter(record)

    assert record.exc_info == exc_info
    assert record.getMessage() == "Internal Server Error: /x/"


def test_it_escapes_a_path_that_would_forge_a_log_line():
    request = RequestFactory().get("/a\nFAKE ENTRY")
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Forbidden: %s", (request.path,), None
    )
    record.status_code = 403
    record.request = request

    PermissionDeniedOneLine().filter(record)

    assert "\n" not in record.getMessage()
