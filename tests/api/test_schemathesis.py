"""Schemathesis fuzzes every operation of the OpenAPI schema: no answer is a 5xx.

It generates valid and invalid requests from the schema (its examples, its boundaries and
random data, NUL included), deterministically and in bounded numbers, and sends them to the
app in-process as the office user. Path parameters that would only meet a 404 are pointed
at real objects of the right state (a draft to approve, a dispatched batch to receive), so
the bodies reach the services.
"""

import json

import hypothesis
import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

from tests.api.write_world import build_world, request_for

# django_db: pytest-django creates the test database only for tests that ask for it.
pytestmark = [pytest.mark.slow, pytest.mark.django_db]

RAW_SCHEMA = json.loads(
    OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True))
)
schema = schemathesis.openapi.from_dict(RAW_SCHEMA)
schema.config.phases.update(phases=["examples", "coverage", "fuzzing"])
schema.config.generation.update(
    modes=["positive", "negative"], max_examples=15, deterministic=True, allow_x00=True
)


class InTransactionApp:
    """Django's WSGI app for requests inside the test's transaction.

    Django closes "old" database connections when a request starts and finishes; here that
    connection holds the test's data, so (as Django's test client does) not then.
    """

    handler = WSGIHandler()

    def __call__(self, environ, start_response):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            result = self.handler(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                result.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)


APP = InTransactionApp()


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


def _real_path_parameters(world, case):
    """The path of a real object for this operation, unless the generated one is odd."""
    generated = case.path_parameters or {}
    if not generated:
        return generated
    if any(
        not str(value).isascii() or not str(value).isprintable() for value in generated.values()
    ):
        return generated  # NUL, control or foreign characters: worth sending as they are
    operation_id = case.operation.definition.raw.get("operationId")
    if operation_id == "batches_detail":
        return {"number": world["draft"].number}
    try:
        _username, arguments, _body = request_for(world, operation_id)
    except AssertionError:
        return generated
    return arguments or generated


@schema.parametrize()
@hypothesis.settings(
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    database=None,
)
def test_no_request_gets_a_server_error(world, case):
    case.path_parameters = _real_path_parameters(world, case)
    headers = {"Authorization": f"Token {world['tokens']['office']}"}
    # Each request in a savepoint rolled back after it: the next one sees the same world.
    with transaction.atomic():
        response = case.call(app=APP, headers=headers)
        transaction.set_rollback(True)

    assert response.status_code < 500, (case.as_curl_command(), response.text[:500])
    if response.status_code >= 400 and response.content:
        content_type = response.headers.get("content-type", [""])[0]
        assert content_type.startswith("application/json"), response.text[:200]
