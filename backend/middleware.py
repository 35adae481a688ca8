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


def client_ip(request) -> str:
    """The client's address as the last trusted proxy saw it (settings.TRUSTED_PROXIES).

    With no trusted proxy it is REMOTE_ADDR and X-Forwarded-For is ignored (a client can write
    anything there). Behind N proxies that each append the address they saw, the client is the
    N-th entry from the right — the same rule as DRF's NUM_PROXIES, so the token endpoint's
    throttle and the lockout count the same client."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = settings.TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    addresses = [a.strip() for a in forwarded.split(",") if a.strip()]
    return addresses[-min(proxies, len(addresses))] if addresses else remote


class SlidingSessionMiddleware:
    """A session in use is renewed (a full SESSION_COOKIE_AGE again) once SESSION_RENEW_AFTER
    seconds have passed since it was last renewed: one write a day per session, and a phone
    that keeps asking for its session (the mobile app does before each send) never expires."""

    KEY = "_renewed_at"

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and session.session_key and session.get("_auth_user_id"):
            import time

            now = int(time.time())
            renewed = session.get(self.KEY)
            if not isinstance(renewed, int) or now - renewed >= settings.SESSION_RENEW_AFTER:
                session[self.KEY] = (
                    now  # modified: SessionMiddleware saves it and re-sends the cookie
                )
        return response


LOCKED_OUT = "登录失败次数过多，请稍后再试 / too many failed sign-ins: try again later."


def lockout_response(request, original_response, credentials):
    """django-axes' answer to a locked-out sign-in (AXES_LOCKOUT_CALLABLE): 429 with Retry-After,
    as JSON for the API and as a short page for the sign-in forms."""
    from django.http import HttpResponse, JsonResponse

    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": LOCKED_OUT, "code": "locked_out"}, status=429)
    else:
        response = HttpResponse(LOCKED_OUT, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(seconds)
    return response


class SecurityHeadersMiddleware:
    """The Content-Security-Policy (settings.CONTENT_SECURITY_POLICY) and Permissions-Policy on
    every answer. The pages load scripts only from our own static files (no inline script, no
    inline event handler); the sockets are same-origin (ws:/wss: of the page's own host, spelled
    out for browsers whose 'self' does not cover them)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            try:
                host = request.get_host()
            except Exception:  # noqa: BLE001 - a disallowed host is answered 400 elsewhere
                host = ""
            sockets = f" ws://{host} wss://{host}" if host else ""
            response["Content-Security-Policy"] = settings.CONTENT_SECURITY_POLICY.replace(
                "connect-src 'self'", "connect-src 'self'" + sockets
            )
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


class RefuseNulMiddleware:
    """A NUL character in the path or the query string is answered 400 before any view runs: it is
    no part of an id, a code or a search, and PostgreSQL refuses it in a text parameter (a 500 on
    PostgreSQL, silently nothing found on SQLite). Open311 answers it in its own error format
    (open311/views.py), so its paths are left to it. Bodies are checked where they are read (DRF's
    fields refuse NUL; cases/text.py strips control characters)."""

    MESSAGE = (
        "请求地址或参数含有 NUL 字符 / the path or a query parameter contains a NUL character."
    )

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if not path.startswith("/open311/") and (
            "\x00" in path or "%00" in request.META.get("QUERY_STRING", "")
        ):
            from django.http import HttpResponseBadRequest, JsonResponse

            if path.startswith("/api/"):
                return JsonResponse({"detail": self.MESSAGE}, status=400)
            return HttpResponseBadRequest(self.MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
