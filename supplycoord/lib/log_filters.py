"""Logging filters named in settings.LOGGING."""

import logging


class PermissionDeniedOneLine(logging.Filter):
    """A refused request (403) is logged as one line: method, path, user id and reason.

    Django logs a view's PermissionDenied on "django.request" with the exception attached, so
    each outsider who follows a link writes a whole traceback to the log, and real errors drown
    in them. A refusal is expected behaviour, not a fault: the reason is all there is to know.
    """

    def filter(self, record):
        if getattr(record, "status_code", None) != 403:
            return True
        request = getattr(record, "request", None)
        reason = ""
        if record.exc_info and record.exc_info[1] is not None:
            reason = str(record.exc_info[1])
        user = getattr(request, "user", None)
        user_id = getattr(user, "pk", None) if getattr(user, "is_authenticated", False) else None
        record.msg = "Forbidden: %s %s user=%s reason=%s"
        # Escaped as Django escapes its own: a path or reason must not start a forged log line.
        record.args = tuple(
            str(value).encode("unicode_escape").decode("ascii")
            for value in (
                getattr(request, "method", "-"),
                getattr(request, "path", "-"),
                user_id if user_id is not None else "-",
                reason or "-",
            )
        )
        record.exc_info = None
        record.exc_text = None
        return True
