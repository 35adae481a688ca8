"""Gridcase settings: one module, driven by environment variables.

Embedded default (no variables set): SQLite in WAL mode under ./var/, the in-memory channel
layer, the in-process scheduler. Scaled: DATABASE_URL=postgres://… and REDIS_URL=redis://….
docs/operations.md lists every variable.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false).")


def _env_number(name: str, default, kind: type, word: str, minimum=None):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not {word}.") from None
    if minimum is not None and not value >= minimum:  # `not >=` also refuses a NaN
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}.")
    return value


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    return _env_number(name, default, int, "an integer", minimum)


def env_float(name: str, default: float, minimum: float | None = None) -> float:
    return _env_number(name, default, float, "a number", minimum)


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# Demo mode creates the demo accounts (password "gridcase-demo") and the demo city.
DEMO = env_bool("GRIDCASE_DEMO", False)
_INSECURE_DEV_KEY = "django-insecure-gridcase-development-key-do-not-use-in-production"
SECRET_KEY = env_str("SECRET_KEY") or _INSECURE_DEV_KEY
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")


def _refuse_insecure_production() -> None:
    """In production (DEBUG off) refuse configurations that are unsafe to serve.

    `check --deploy` does not flag a wildcard ALLOWED_HOSTS, and Channels'
    AllowedHostsOriginValidator *is* ALLOWED_HOSTS: a wildcard would accept WebSocket
    handshakes from any origin (docs/reliability.md §0.2). Demo accounts have a published password.
    """
    if DEBUG:
        return
    problems = []
    if SECRET_KEY == _INSECURE_DEV_KEY or len(SECRET_KEY) < 32:
        problems.append("SECRET_KEY must be set to a random value of at least 32 characters")
    if not ALLOWED_HOSTS:
        problems.append("ALLOWED_HOSTS must list the host names this site is served under")
    if any(host == "*" or host.startswith("*") for host in ALLOWED_HOSTS):
        problems.append(
            "ALLOWED_HOSTS must not contain a wildcard: it would open the WebSocket to any origin"
        )
    if DEMO:
        problems.append("GRIDCASE_DEMO must be off: demo accounts share a published password")
    if problems:
        raise ImproperlyConfigured(
            "Refusing to start in production mode (DEBUG off): " + "; ".join(problems) + "."
        )


_refuse_insecure_production()

INSTALLED_APPS = [
    "daphne",
    "backend.admin_site.GridcaseAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",  # its table only: API tokens are people.ApiToken (expiring, per device)
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "leaflet",
    "django_htmx",  # only its vendored htmx (static), for the unit desk's server-rendered partials
    "people",
    "grids",
    "worktime",
    "cases",
    "open311",
    "alerts",
    "metrics",
    "patrol",
    "reports",
    "campaigns",
    "frontend",
    "backend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "backend.middleware.SecurityHeadersMiddleware",
    "backend.middleware.RefuseNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "backend.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "backend.middleware.SlidingSessionMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into a 429 page on every login form
]

ROOT_URLCONF = "backend.urls"
WSGI_APPLICATION = "backend.wsgi.application"
ASGI_APPLICATION = "backend.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATA_DIR = Path(env_str("GRIDCASE_DATA_DIR", str(BASE_DIR / "var")))
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    import dj_database_url

    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=0)
    if _db["ENGINE"] == "django.db.backends.postgresql":
        # psycopg 3 pool, CONN_MAX_AGE=0 (docs/reliability.md §7).
        if env_bool("DB_POOL", True):
            _db.setdefault("OPTIONS", {})["pool"] = {
                "min_size": 1,
                "max_size": env_int("DB_POOL_MAX", 20),
                "timeout": 10,
            }
        if env_bool(
            "DB_SERVER_SIDE_BINDING", True
        ):  # prepared statements: plans reused (docs/operations.md)
            _db.setdefault("OPTIONS", {})["server_side_binding"] = True
    DATABASES = {"default": _db}
else:
    # The data folder is created wherever it is configured (a new GRIDCASE_DATA_DIR included).
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            # Django's SQLite backend plus a per-process write queue (backend/sqlite/base.py).
            "ENGINE": "backend.sqlite",
            "NAME": DATA_DIR / "gridcase.sqlite3",
            # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue instead of
            # failing with "database is locked"; FULL fsyncs every commit (docs/reliability.md §0.10,
            # R16).
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=20000;"
                ),
            },
            "TEST": {"NAME": env_str("SQLITE_TEST_NAME") or None},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channels -------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            # One PUBLISH per group_send (docs/performance.md); a lost push is replayed from the database.
            "CONFIG": {"hosts": [REDIS_URL], "prefix": env_str("REDIS_PREFIX", "gridcase")},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "backend.layers.SweepingInMemoryChannelLayer"}}

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "people.User"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
if env_bool("GRIDCASE_FAST_HASHER", False):  # the test suite only
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Sign-in lockout (django-axes, docs/security.md): after LOGIN_FAILURE_LIMIT failures in a row an
# account is locked, and separately the client address, for LOGIN_LOCKOUT_MINUTES — on
# /accounts/login/, /admin/login/ and POST /api/auth/token alike.
AUTHENTICATION_BACKENDS = [
    "people.backends.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # failures are recorded; a row per successful sign-in is not needed
AXES_CLIENT_IP_CALLABLE = "backend.middleware.client_ip"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
AXES_LOCKOUT_CALLABLE = "backend.middleware.lockout_response"
# The client address: REMOTE_ADDR, or — behind TRUSTED_PROXIES proxies that each append to
# X-Forwarded-For (nginx: $proxy_add_x_forwarded_for) — the entry the outermost trusted proxy
# added. Anything further left is the client's own claim and ignored.
TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0)
# API tokens (people/tokens.py): valid this long after issue or renewal.
API_TOKEN_TTL_HOURS = env_int("API_TOKEN_TTL_HOURS", 24 * 14)
# Sessions slide: a session used after SESSION_RENEW_AFTER seconds gets a full SESSION_COOKIE_AGE again
# (the mobile app asks for its session before each send, so a phone in use never signs out).
SESSION_RENEW_AFTER = env_int("SESSION_RENEW_AFTER", 60 * 60 * 24)

# --- I18N -----------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "static")))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Serve straight from the app folders when there is no collectstatic output (make run, tests).
WHITENOISE_USE_FINDERS = env_bool("STATIC_FINDERS", DEBUG or not env_bool("STATIC_MANIFEST", True))
WHITENOISE_AUTOREFRESH = DEBUG
FIXTURE_DIRS = [BASE_DIR / "fixtures"]

# Uploads: explicit limits (docs/reliability.md §7). Photos are checked again by content.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# The whole request body: the ASGI server answers 413 above it before reading (backend/bodylimit.py);
# nginx's client_max_body_size is the same 20 MiB (deploy/nginx.conf). 9 photos of a report fit.
MAX_REQUEST_BODY_BYTES = env_int("MAX_REQUEST_BODY_BYTES", 20 * 1024 * 1024)

# --- Security -------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 24 * 30)  # officers stay signed in
# Production (DEBUG off) is HTTPS unless HTTPS=0 says a TLS-less test or lab: secure cookies,
# redirect to https (the health check excepted, for load balancers), HSTS (docs/security.md).
# `manage.py check --deploy` is clean with these (tests/test_security_output.py).
if not DEBUG and env_bool("HTTPS", True):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^api/health$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Scripts only from our own static files; styles may be inline (templates use style attributes);
# images from us, data:/blob: (photo previews) and the tile server if one is configured.
_TILE_ORIGIN = ""
if env_str("GRIDCASE_TILES_URL"):
    from urllib.parse import urlsplit

    _tiles = urlsplit(env_str("GRIDCASE_TILES_URL"))
    _TILE_ORIGIN = (
        f" {_tiles.scheme}://{_tiles.netloc}" if _tiles.scheme in ("http", "https") else ""
    )
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    f"img-src 'self' data: blob:{_TILE_ORIGIN}; font-src 'self' data:; connect-src 'self'; worker-src 'self'; "
    "manifest-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
PERMISSIONS_POLICY = "geolocation=(self), camera=(self), microphone=(), payment=(), usb=()"

# --- Cases ----------------------------------------------------------------------------------
# A request holding an Idempotency-Key that has not finished after this long is taken to have died
# (a killed worker): a retry with the key does the work (cases/idempotency.py).
IDEMPOTENCY_STALE_SECONDS = env_int("IDEMPOTENCY_STALE_SECONDS", 120)

# --- Scheduler (backend/scheduler.py) -------------------------------------------------------
# Seconds between the scheduler's ticks, and how often its two jobs run: the deadline alarms'
# sweep (an alarm fires within this of its moment) and the reports job (reports/jobs.py).
SCHEDULER_TICK = env_float("SCHEDULER_TICK", 5.0, minimum=0.1)
DEADLINE_SWEEP_SECONDS = env_float("DEADLINE_SWEEP_SECONDS", 30.0, minimum=0.1)
REPORTS_JOB_SECONDS = env_float("REPORTS_JOB_SECONDS", 5.0, minimum=0.1)

# --- Open311 (open311/, docs/open311.md) ----------------------------------------------------
_RATE = r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$"
# Requests per period: reads per client address, POSTs per API key (DRF throttle rates).
OPEN311_RATES = {
    "read": env_str("OPEN311_READ_RATE", "600/min"),
    "post": env_str("OPEN311_POST_RATE", "60/min"),
}
for _scope, _rate in OPEN311_RATES.items():
    if not re.match(_RATE, _rate):
        raise ImproperlyConfigured(
            f"OPEN311_{_scope.upper()}_RATE={_rate!r}: use a count per period, e.g. 60/min."
        )
# When set, a request naming another jurisdiction_id is refused with 404.
OPEN311_JURISDICTION_ID = env_str("OPEN311_JURISDICTION_ID")
# What service discovery answers for `contact` and `key_service`.
OPEN311_CONTACT = env_str(
    "OPEN311_CONTACT", "城市管理监督指挥中心 / city management supervision centre"
)
OPEN311_KEY_SERVICE = env_str(
    "OPEN311_KEY_SERVICE",
    "API keys are issued by the supervision centre's administrator (POST only).",
)
# An identical POST from the same sender this soon answers with the case the first one made.
OPEN311_REPEAT_WINDOW = dt.timedelta(
    hours=env_float("OPEN311_REPEAT_WINDOW_HOURS", 24.0, minimum=0)
)

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "people.tokens.ExpiringTokenAuthentication",
    ],
    "NUM_PROXIES": TRUSTED_PROXIES,  # throttles count the address client_ip() would name
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "backend.exceptions.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Gridcase API",
    "DESCRIPTION": "Grid-based urban management: areas, unit grids, cases, metrics.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "backend.openapi.document_refused_nul",
    ],
}

# --- Maps -----------------------------------------------------------------------------------
# No tile layer by default: city networks are often closed, and the grids are the map.
# GRIDCASE_TILES_URL sets an intranet tile server, e.g. http://tiles.local/{z}/{x}/{y}.png
TILES_URL = env_str("GRIDCASE_TILES_URL")
# The tile server draws in GCJ-02 (most Chinese commercial maps): the console shifts its tiles.
GRIDCASE_TILES_GCJ02 = env_bool("GRIDCASE_TILES_GCJ02", False)
LEAFLET_CONFIG = {
    "DEFAULT_CENTER": (31.30, 120.72),
    "DEFAULT_ZOOM": 12,
    "MIN_ZOOM": 8,
    "MAX_ZOOM": 19,
    "TILES": [(_("Base map"), TILES_URL, {"attribution": ""})] if TILES_URL else [],
    "RESET_VIEW": False,
}

# LOG_FORMAT=json: one JSON object per line (backend/jsonlog.py), for a log collector.
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use plain or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "backend.jsonlog.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # WeasyPrint logs every layout step at INFO and fontTools every subset: only their problems.
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

# --- Monitoring (backend/monitoring.py, docs/operations.md) ----------------------------------
# Prometheus metrics at /ops/metrics: django-prometheus counts requests and latencies around every
# other middleware. Readable with `Authorization: Bearer $GRIDCASE_METRICS_TOKEN`, or without a
# token only directly from this machine.
METRICS_TOKEN = env_str("GRIDCASE_METRICS_TOKEN")
# gunicorn: a folder where every worker writes its counters, summed at each scrape. prometheus_client
# reads the variable itself (it must be in the environment); the view asks this setting.
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR")
INSTALLED_APPS += ["django_prometheus"]
MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    *MIDDLEWARE,
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]
