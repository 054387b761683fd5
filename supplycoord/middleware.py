from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


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
