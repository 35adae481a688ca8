"""Chinese first: the UI is zh-hans unless the person chose another language (cookie set by
/i18n/setlang/). The browser's Accept-Language is not consulted: the phones and desktops of a
city's staff often run English-language systems, and the product's working language is Chinese."""

from __future__ import annotations

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
