"""The API's input boundary: strict parsers, size limits, and JSON for every error.

Every API view reads its body through these parsers (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"],
or `parser_classes = [StrictJSONParser]` on the JSON-only views). A parser refuses, before
any view or service sees the data:

- a body larger than the view's limit (413): Django's DATA_UPLOAD_MAX_MEMORY_SIZE, or for a
  bulk view (`bulk_rows = True`) room for SUPPLYCOORD["MAX_ROWS_PER_SUBMISSION"] rows, so the
  documented row limit can be reached;
- JSON nested deeper than MAX_JSON_DEPTH (400);
- any string, or object key, that breaks the text rule of supplycoord.lib.text (400);
- any number beyond ±SUPPLYCOORD["MAX_QUANTITY"], or not finite (400).

A refusal lists every problem found (up to MAX_REPORTED) in the API's error shape,
`{"errors": [{"row": 3, "field": "note", "path": "rows[3].note", "message": "…"}]}`, where
the index key is the view's `input_error_index` ("row" for the bulk rows, "line" for the
views whose body has `lines`; without it, no index key). Nothing is saved: the view never runs.

Errors Django raises outside DRF (an unknown URL, a body too large for a form, a crash) are
JSON under /api/ too: see the handler400/404/500 views at the end, named in urls.py.
"""

import json
import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser, DataAndFiles, FormParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.utils.json import strict_constant

from .text import field_text_error, number_error, text_error

# Our bodies nest three levels (a list of rows of values; an event with lines); 20 is far
# beyond any real body and far below what would exhaust the parser's stack.
MAX_JSON_DEPTH = 20
# A refusal lists at most this many problems: enough to fix a file, small enough to read.
MAX_REPORTED = 100
# Room per row of a bulk submission: a production-report row (the widest) with every field
# at its longest and pretty-printed is ~350 bytes; 1 KiB also leaves room for a reason of
# ~100 Chinese characters even when sent as \uXXXX escapes (tests/api/test_api_errors.py).
BULK_ROW_BYTES = 1024
# The body around the rows (brackets, a shared reason) and slack for whitespace.
BULK_OVERHEAD_BYTES = 1024 * 1024

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def bulk_body_max_bytes() -> int:
    """The largest body of a bulk submission: MAX_ROWS_PER_SUBMISSION rows of the widest kind."""
    rows = settings.SUPPLYCOORD["MAX_ROWS_PER_SUBMISSION"]
    return max(rows * BULK_ROW_BYTES + BULK_OVERHEAD_BYTES, _default_max_bytes())


def _default_max_bytes() -> int:
    # None in Django's setting means "no limit"; a JSON body still gets one.
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440


def body_max_bytes(view) -> int:
    """The largest JSON body `view` accepts."""
    return bulk_body_max_bytes() if getattr(view, "bulk_rows", False) else _default_max_bytes()


# --- Refusals ---------------------------------------------------------------------------


class InputRefused(APIException):
    """The body breaks the input rules; `problems` are (path, message) pairs."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"

    def __init__(self, problems: list[tuple[tuple, str]]):
        self.problems = problems
        super().__init__(detail="; ".join(message for _path, message in problems))


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"

    def __init__(self, limit: int):
        super().__init__(detail=too_large_message(limit))


def too_large_message(limit: int | None) -> str:
    if not limit:
        return _("The request is too large.")
    return _("The request is larger than %(size)s bytes; split it into smaller submissions.") % {
        "size": f"{limit:,}"
    }


def json_path(path) -> str:
    """("rows", 3, "note") → "rows[3].note"; a key that is no identifier is quoted."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text


def error_entry(path, message, *, index_key=None) -> dict:
    """One problem in the API's shape: the row (or line), the field, the path, the message."""
    field = next((p for p in reversed(path) if isinstance(p, str)), None)
    if field is not None and not _IDENTIFIER.fullmatch(field):
        field = json_path([field])
    entry = {}
    if index_key:
        index = None
        if path and isinstance(path[0], int):
            index = path[0]
        elif len(path) > 1 and path[0] in ("rows", "lines") and isinstance(path[1], int):
            index = path[1]
        entry[index_key] = index
    entry.update(
        {"field": field or "non_field_errors", "path": json_path(path), "message": str(message)}
    )
    return entry


def refusal_body(problems, *, index_key=None) -> dict:
    return {"errors": [error_entry(p, m, index_key=index_key) for p, m in problems]}


# --- Checking parsed data ---------------------------------------------------------------


def input_problems(data) -> list[tuple[tuple, str]]:
    """Every (path, message) of `data` that breaks the rules, in document order (capped)."""
    problems: list[tuple[tuple, str]] = []
    _check(data, [], None, problems)
    return problems


def _too_deep() -> str:
    return _("Nested too deeply (at most %(depth)d levels).") % {"depth": MAX_JSON_DEPTH}


def _check(value, path: list, field: str | None, problems: list) -> None:
    if len(problems) >= MAX_REPORTED:
        return
    if isinstance(value, str):
        message = text_error(value) if field is None else field_text_error(field, value)
        if message:
            problems.append((tuple(path), message))
    elif isinstance(value, dict | list):
        if len(path) >= MAX_JSON_DEPTH:
            problems.append((tuple(path), _too_deep()))
            return
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str):
                message = text_error(key)
                if message:
                    problems.append((tuple(path), message))
                    continue
            path.append(key)
            _check(item, path, key if isinstance(key, str) else field, problems)
            path.pop()
    else:
        message = number_error(value)
        if message:
            problems.append((tuple(path), message))


# --- Parsers ----------------------------------------------------------------------------


class RepeatedKey(Exception):
    def __init__(self, key: str):
        self.key = key


def _object_without_repeated_keys(pairs) -> dict:
    """A JSON object as a dict, refusing a key given twice: `{"prefecture": "620100",
    "prefecture": "620500"}` would otherwise be read silently as the last one."""
    data = {}
    for key, value in pairs:
        if key in data:
            raise RepeatedKey(key)
        data[key] = value
    return data


class StrictJSONParser(BaseParser):
    """JSON with the input rules, read up to the view's own size limit.

    Not a subclass of DRF's JSONParser on purpose: DRF reads a JSONParser's body through
    Django's `request.body`, capped by the global DATA_UPLOAD_MAX_MEMORY_SIZE; this parser
    reads the stream itself so that a bulk view can take more than other views.
    """

    media_type = "application/json"
    renderer_class = JSONRenderer

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        limit = body_max_bytes(parser_context.get("view"))
        request = parser_context.get("request")
        meta = request.META if request is not None else {}
        try:
            declared = int(meta.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            raise BodyTooLarge(limit)
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise BodyTooLarge(limit)
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(
                raw.decode(encoding),
                parse_constant=strict_constant,
                object_pairs_hook=_object_without_repeated_keys,
            )
        except RecursionError:
            raise InputRefused([((), _too_deep())]) from None
        except RepeatedKey as exc:
            message = _("The key “%(key)s” appears twice in one object.") % {"key": exc.key[:100]}
            raise InputRefused([((exc.key,), message)]) from None
        except ValueError as exc:  # also UnicodeDecodeError
            raise ParseError(f"JSON parse error - {exc}") from None
        problems = input_problems(data)
        if problems:
            raise InputRefused(problems)
        return data


def _check_form(data) -> None:
    problems = []
    for key, values in data.lists():
        message = text_error(key)
        if message:
            problems.append(((key,), message))
            continue
        problems.extend(
            ((key,), message)
            for value in values
            if isinstance(value, str) and (message := field_text_error(key, value))
        )
    if problems:
        raise InputRefused(problems[:MAX_REPORTED])


class StrictFormParser(FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        _check_form(data)
        return data


class StrictMultiPartParser(MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        _check_form(parsed.data)
        return DataAndFiles(parsed.data, parsed.files)


STRICT_PARSERS = [StrictJSONParser, StrictFormParser, StrictMultiPartParser]


# --- Answers ----------------------------------------------------------------------------


def api_exception_handler(exc, context):
    """DRF's handler, plus the boundary's refusals and Django's size errors, all as JSON."""
    # Imported here: rest_framework.views reads DEFAULT_PARSER_CLASSES, i.e. this module.
    from rest_framework.views import exception_handler

    view = context.get("view")
    if isinstance(exc, InputRefused):
        index_key = getattr(view, "input_error_index", None)
        return Response(
            refusal_body(exc.problems, index_key=index_key), status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": too_large_message(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return Response(
            {"detail": _("The request has too many fields.")},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    return exception_handler(exc, context)


def is_api_request(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception, *args, **kwargs):
    """handler400: JSON under /api/ (413 for a body too large), Django's page elsewhere."""
    if not is_api_request(request):
        return defaults.bad_request(request, exception, *args, **kwargs)
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse(
            {"detail": too_large_message(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)}, status=413
        )
    if isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        return JsonResponse({"detail": _("The request has too many fields.")}, status=413)
    return JsonResponse({"detail": _("The request is malformed.")}, status=400)


def permission_denied(request, exception, *args, **kwargs):
    if not is_api_request(request):
        return defaults.permission_denied(request, exception, *args, **kwargs)
    return JsonResponse({"detail": str(exception) or _("You may not do this.")}, status=403)


def page_not_found(request, exception, *args, **kwargs):
    if not is_api_request(request):
        return defaults.page_not_found(request, exception, *args, **kwargs)
    return JsonResponse({"detail": _("Not found.")}, status=404)


def server_error(request, *args, **kwargs):
    if not is_api_request(request):
        return defaults.server_error(request, *args, **kwargs)
    return JsonResponse(
        {"detail": _("Something went wrong; the error has been logged. Please try again.")},
        status=500,
    )
