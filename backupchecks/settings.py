"""Backupchecks settings.

Everything that differs between machines comes from the environment (or a local `.env`, which
`make run` creates with fresh keys on first use). See the configuration table in README.md.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from backupchecks.private_files import private_dir, private_sqlite_file

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Run `make run` once to create a local .env, or set it in the environment."
    )

# Keys for encrypting Autotask secrets at rest. The first key encrypts; every key decrypts, so a new key
# is put first and the old one kept until every value has been re-saved (see docs/operations.md).
FERNET_KEYS = env.list("FERNET_KEYS", default=[])
if not FERNET_KEYS:
    raise ImproperlyConfigured("FERNET_KEYS is not set (comma-separated list; the first key encrypts).")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# A refused form (stale page, cookies off) gets a page in the site layout (backupchecks/errors.py).
CSRF_FAILURE_VIEW = "backupchecks.errors.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_tasks_db",
    "crontask",  # `manage.py crontask`: the scheduler of periodic tasks (docs/deployment.md)
    "axes",
    "backupchecks",
    "customers",
    "runs",
    "integrations.autotask",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "backupchecks.middleware.NoStoreForSignedInUsers",
    "backupchecks.middleware.DatabaseBusyMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "backupchecks.urls"

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
                "django.template.context_processors.csp",  # csp_nonce for {% csp_nonce_attr %}
            ],
        },
    },
]

WSGI_APPLICATION = "backupchecks.wsgi.application"

# var/ holds the SQLite database (password hashes, sessions, encrypted secrets) and the demo logins: owner-only.
private_dir(BASE_DIR / "var")
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    private_sqlite_file(DATABASES["default"]["NAME"])  # 0600 before SQLite creates it (and its -wal, -shm)
    # WAL + a busy timeout let the web server, the simulator's demo and db_worker share one file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    # django-axes first: refuses a locked-out user name or client address before any password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Login throttling (django-axes) on /login/ and /admin/login/ alike: after AXES_FAILURE_LIMIT failures for
# one user name, or from one client address, logging in is refused for AXES_COOLOFF_TIME. Staff unlock in
# the admin (Axes → Access attempts: delete) or with `manage.py axes_reset_username NAME`.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own: per account, and per address
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "backupchecks.auth.client_ip"
AXES_SENSITIVE_PARAMETERS = ["password", "secret", "integration_code"]
AXES_VERBOSE = False

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "runs:run_checks"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Background work: Django's Tasks API on the database backend (`manage.py db_worker`).
TASKS = {"default": {"BACKEND": env.str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend")}}

# Scheduled work (django-crontask; `manage.py crontask` enqueues, `manage.py db_worker` runs). Five-field
# cron text in TIME_ZONE, day of week as a name (Mon..Sun) or *; empty = off. Invalid text fails the system
# checks (autotask.E101) before the scheduler starts. Run exactly ONE scheduler unless CRONTASK_REDIS_URL
# gives crontask a Redis lock (docs/deployment.md).
AUTOTASK_MAPPING_CHECK_SCHEDULE = env.str("AUTOTASK_MAPPING_CHECK_SCHEDULE", default="0 6 * * *")
AUTOTASK_TICKET_SYNC_SCHEDULE = env.str("AUTOTASK_TICKET_SYNC_SCHEDULE", default="*/15 * * * *")
CRONTASK = {"REDIS_URL": env.str("CRONTASK_REDIS_URL", default="") or None}

# Runs ingestion limits (POST /api/runs/).
INGEST_MAX_ITEMS = 500
INGEST_MAX_BODY_BYTES = env.int("INGEST_MAX_BODY_BYTES", default=2 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(INGEST_MAX_BODY_BYTES, 2_621_440)
#: longest accepted `details` text of one run (API and import_runs alike); import_runs also refuses a line
#: longer than INGEST_MAX_BODY_BYTES, the API's body limit
INGEST_MAX_DETAILS_CHARS = env.int("INGEST_MAX_DETAILS_CHARS", default=1_000_000)

# Autotask: zone discovery override (the bundled simulator, or a test server). Empty = the official host.
AUTOTASK_ZONE_INFO_URL = env.str("AUTOTASK_ZONE_INFO_URL", default="")
#: seconds one Autotask HTTP request may take (connect, send, each read)
AUTOTASK_TIMEOUT_SECONDS = env.float("AUTOTASK_TIMEOUT_SECONDS", default=30.0)
#: worker threads of one Autotask bulk job (docs/autotask-bulk.md): more than Autotask's 3 concurrent
#: requests per endpoint, so one thread's database work overlaps the others' requests; the limiter keeps
#: at most 3 in flight per endpoint
AUTOTASK_BULK_CONCURRENCY = env.int("AUTOTASK_BULK_CONCURRENCY", default=6)

# Security. Production-like values (DEBUG=false behind HTTPS) make `check --deploy` silent.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
)
SECURE_CONTENT_TYPE_NOSNIFF = True
# Content-Security-Policy (Django's own): scripts only from our static files — no inline script, no eval.
# Styles only from our static files too: no inline style attribute anywhere, and a style element only with
# this response's nonce (`{% csp_nonce_attr %}`, as Django's admin change list does). The nonce appears in
# the header only when a template used it. htmx's injected indicator style element is turned off in every
# template that loads htmx (`<meta name="htmx-config">`); its rules are in app.css/mapping.css.
# docs/security.md "Content-Security-Policy"; tests/unit/test_templates_have_no_inline_style.py and
# tests/e2e/test_csp_no_inline_style.py.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
# Error reports never show a secret, not even under DEBUG (backupchecks/error_reports.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "backupchecks.error_reports.AlwaysActiveReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "backupchecks.error_reports.SecretScrubbingReporter"
X_FRAME_OPTIONS = "DENY"


def _not_crontask_lock_refresh(record):
    """Drop APScheduler's two INFO lines per crontask lock refresh (every 5 s); real jobs still log."""
    return "crontask.utils.lock.extend" not in record.getMessage()


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {
        "client_errors_without_traceback": {"()": "backupchecks.log_filters.ClientErrorsWithoutTraceback"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
        "not_crontask_lock_refresh": {
            "()": "django.utils.log.CallbackFilter",
            "callback": _not_crontask_lock_refresh,
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["client_errors_without_traceback"],
        },
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # axes: lockouts and failed logins are WARNING/INFO lines of its own; its per-login housekeeping is not.
    "loggers": {
        # Replaces Django's default "django" handlers: with DEBUG its own console handler printed every
        # record a second time next to the root's (a 403 was two tracebacks).
        "django": {"handlers": ["console", "mail_admins"], "level": "INFO", "propagate": False},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "axes.handlers.database": {"level": "WARNING"},
        "apscheduler.executors.default": {"level": "INFO", "filters": ["not_crontask_lock_refresh"]},
    },
}
