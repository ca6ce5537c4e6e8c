"""Settings for Callback Office.

Defaults give the embedded demo (SQLite + a local Redis); production reads everything from the
environment (DATABASE_URL, REDIS_URL, SECRET_KEY, ALLOWED_HOSTS ...).
"""

from pathlib import Path

import dj_database_url

from callback_office import deployment
from callback_office.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CALLBACK_VAR_DIR", str(BASE_DIR / "var")))

PRODUCTION = env_bool("PRODUCTION", default=False)
DEBUG = env_bool("DEBUG", default=False)
# Production refuses to start without a real key (see docs/deployment.md); SECRET_KEY_FALLBACKS
# lets a key be rotated without logging everybody out.
SECRET_KEY = deployment.secret_key(production=PRODUCTION)
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_filters",
    "django_rq",
    "import_export",
    "axes",
    "auditlog",
    "callback_office",
    "admissions",
    "callbacks",
    "supervision",
    "subsidies",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # who changed what: the request's user becomes the actor of audit log entries
    "auditlog.middleware.AuditlogMiddleware",
    # login throttling; last, as django-axes asks
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "callback_office.urls"
WSGI_APPLICATION = "callback_office.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "callback_office.context.navigation",
            ],
        },
    },
]

# SQLite by default (the demo); PostgreSQL by one switch: DATABASE_URL=postgres://...
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'callback_office.sqlite3'}"),
        conn_max_age=env_int("CONN_MAX_AGE", 600),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL + a busy timeout let the web server, the worker and cron share the demo database.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "callback_office.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "callback_office.password_validation.CharacterClassesValidator", "OPTIONS": {"min_classes": 2}},
]
# Set-password links (callbacks/accounts.py) use Django's password-reset tokens: valid this long,
# and only until the password is set.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_LINK_DAYS", 7) * 24 * 3600
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
# Login throttling (django-axes): 5 failures for a username from one address lock that pair out
# for 30 minutes; a successful login resets the count. See callback_office/auth_backends.py.
AUTHENTICATION_BACKENDS = [
    "callback_office.auth_backends.AxesBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 30) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
AXES_VERBOSE = False
# Behind the reverse proxy the client's address is the last one it appended.
AXES_IPWARE_PROXY_COUNT = env_int("AXES_PROXY_COUNT", 1 if PRODUCTION else 0) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if PRODUCTION else ["REMOTE_ADDR"]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
# Uploaded materials and recordings live outside the web root and are served only through
# views that check access.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media-not-served/"
# Recordings past the five-month retention are moved here (a cheaper disk, backed up apart).
RECORDING_ARCHIVE_ROOT = Path(env_str("RECORDING_ARCHIVE_ROOT", str(VAR_DIR / "archive")))
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 30 * 1024 * 1024)
IMPORT_DROP_DIR = Path(env_str("IMPORT_DROP_DIR", str(VAR_DIR / "import-drop")))
# Stored files reach users only through access-checked views: streamed by the app, or (object
# storage only) a redirect to a presigned URL valid this many seconds.
MEDIA_DOWNLOAD_REDIRECT = env_bool("MEDIA_DOWNLOAD_REDIRECT", default=False)
MEDIA_DOWNLOAD_REDIRECT_EXPIRE = env_int("MEDIA_DOWNLOAD_REDIRECT_EXPIRE", 60)

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6390/0")
RQ_QUEUES = {
    name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": timeout}
    for name, timeout in (("default", 600), ("imports", 1800), ("nightly", 3600))
}
RQ_SHOW_ADMIN_LINK = True

# Media: local disk by default, S3-compatible object storage with MEDIA_STORAGE=s3 (AWS_* vars).
# Static: whitenoise, with hashed names (manifest) in production after `collectstatic`.
STORAGES = {
    "default": deployment.media_storage(),
    "archive": deployment.archive_storage(),  # recordings past retention (callback_office/media.py)
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env_bool("USE_MANIFEST_STATIC", default=PRODUCTION)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Production hardening, switched on by PRODUCTION=1 (see README, deployment).
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    # Several web processes share the cache (sessions stay in the database).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "callback_office",
        }
    }
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Load balancers probe the web processes over plain HTTP: no HTTPS redirect for the health check.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Structured logs: LOG_FORMAT=json writes one JSON object per line (see deployment.JsonFormatter).
LOGGING = deployment.logging_config()
# E-mail: EMAIL_URL or EMAIL_HOST/EMAIL_PORT/...; the console without either.
_email = deployment.email_settings()
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"]
EMAIL_PORT = _email["EMAIL_PORT"]
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"]
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"]
EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
DEFAULT_FROM_EMAIL = _email["DEFAULT_FROM_EMAIL"]
SERVER_EMAIL = _email["SERVER_EMAIL"]

# Read replica (DATABASE_REPLICA_URL) for dashboards and exports, only where code opts in with
# callback_office.dbrouting.using_replica() / replica_alias().
_replica = deployment.replica_database(DATABASES["default"])
if _replica is not None:
    DATABASES["replica"] = _replica
    DATABASE_ROUTERS = ["callback_office.dbrouting.ReplicaRouter"]

# Modules whose `seed(season, rng)` the demo generator calls after the core demo data.
DEMO_SEEDERS: list[str] = [
    "callbacks.casework_demo.seed",
    "supervision.demo.seed",
    "reports.demo.seed",
]

# Days a caller has to acknowledge or dispute a supervision finding.
FINDING_DISPUTE_DAYS = env_int("FINDING_DISPUTE_DAYS", 3)
# A follow-up call overdue by more than this surfaces on the team leader's list.
FOLLOWUP_OVERDUE_HOURS = env_int("FOLLOWUP_OVERDUE_HOURS", 24)
# Payout runs for seasons with more callers than this run as background jobs.
SUBSIDY_SYNC_MAX_CALLERS = env_int("SUBSIDY_SYNC_MAX_CALLERS", 2000)
# The office dashboard's season-wide numbers (snapshot rows) are refreshed in the background
# when older than this; 0 recomputes them on every view.
DASHBOARD_CACHE_SECONDS = env_int("DASHBOARD_CACHE_SECONDS", 300)

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The covering index on contacts is a PostgreSQL feature; SQLite builds the plain index.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
