from django.conf import settings
from django.http import JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.shortcuts import render
from django.utils import translation

from supplycoord.lib.api_input import is_api_request, refusal_body
from supplycoord.lib.text import field_text_error, text_error


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    """Pages are in Simplified Chinese unless the user chose another language.

    Django's LocaleMiddleware follows the browser's Accept-Language, so an office PC with an
    English browser would open in English. Here the language switch (a cookie) decides, and
    without it the office's language. API clients may still ask with Accept-Language.
    """

    def process_request(self, request):
        supported = {code for code, _name in settings.LANGUAGES}
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if chosen not in supported:
            chosen = None
        if chosen is None and request.path.startswith("/api/"):
            chosen = translation.get_language_from_request(request)
        translation.activate(chosen or settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = translation.get_language()


FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def reads_its_own_body(view):
    """Marks a view that reads its request body itself (e.g. with its own upload handlers):
    InputGuardMiddleware then leaves the body's fields to the view."""
    view.reads_its_own_body = True
    return view


class InputGuardMiddleware:
    """Refuses, with a 400 naming the field, a request whose URL parts, query parameters or
    form fields break the text rule of supplycoord.lib.text (control characters; line breaks
    outside free text). Nothing reaches a view, a service or the database.

    It runs as a view middleware, after the CSRF check and sign-in. JSON bodies are checked
    by the API's parsers (supplycoord.lib.api_input). Reading a form body here parses it before
    the view runs; a view that sets its own upload handlers must read the body first, so it is
    marked with `reads_its_own_body` and its form fields are left to it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # The admin edits every kind of text field; there every field may span lines.
        anything_multiline = request.path.startswith("/admin/")

        def check(name, value):
            if not isinstance(value, str):
                return None
            if anything_multiline:
                return text_error(value, multiline=True)
            return field_text_error(name, value)

        problems = []
        fields = [(str(i), v) for i, v in enumerate(view_args)] + list(view_kwargs.items())
        fields += [(k, v) for k, values in request.GET.lists() for v in values]
        if (
            request.method == "POST"
            and request.content_type in FORM_CONTENT_TYPES
            and not getattr(view_func, "reads_its_own_body", False)
        ):
            fields += [(k, v) for k, values in request.POST.lists() for v in values]
        for name, value in fields:
            message = text_error(name) or check(name, value)
            if message:
                problems.append((name, message))
        if problems:
            return self.refuse(request, view_func, problems)
        return None

    def refuse(self, request, view_func, problems):
        # A field name that itself breaks the rule is not echoed back.
        shown = [(name if text_error(name) is None else "?", m) for name, m in problems]
        if is_api_request(request):
            index_key = getattr(getattr(view_func, "cls", None), "input_error_index", None)
            body = refusal_body([((name,), m) for name, m in shown], index_key=index_key)
            return JsonResponse(body, status=400)
        return render(request, "400.html", {"problems": shown}, status=400)
