"""Settings, read from the environment with embedded defaults (see README)."""

import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE

from collab import redis_urls
from collab.env import env_bool, env_float, env_int, env_list, env_str, fail
from collab.llm.base_url import server_url_problem

BASE_DIR = Path(__file__).resolve().parent.parent
RUN_DIR = BASE_DIR / ".run"

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        # A public fallback key would let anyone forge sessions: refuse instead.
        fail("SECRET_KEY", "is not set; with DEBUG off collab needs a long random secret "
             "(`make run` generates one into .run/)")
    SECRET_KEY = "collab-insecure-development-key-change-me-0123456789abcdefghij"  # DEBUG only
# Served over HTTPS (directly or behind a proxy that terminates TLS): cookies only
# over HTTPS, and browsers told to use nothing else (HSTS). See README, Production.
HTTPS = env_bool("COLLAB_HTTPS", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("COLLAB_HSTS_SECONDS", 31_536_000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("COLLAB_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_SSL_REDIRECT = env_bool("COLLAB_SSL_REDIRECT", False)
if env_bool("COLLAB_BEHIND_PROXY", False):
    # Only behind a proxy that sets this header itself: a client could otherwise claim https.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# No inline script, no eval: every script is a file of ours (htmx is configured
# for it in base.html). Inline style attributes stay allowed: role colours are set
# per element. connect-src 'self' covers the websocket on the same host.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Pages on other origins (scheme, host and port) that may open the live socket;
# a page on the socket's own address always may (collab/live/origin.py).
WEBSOCKET_ALLOWED_ORIGINS = env_list("WEBSOCKET_ALLOWED_ORIGINS", CSRF_TRUSTED_ORIGINS)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "servestatic",
    "django_htmx",
    "channels",
    "collab.core",
    "collab.teams",
    "collab.sessions",
    "collab.live",
    "collab.research",
    "axes",
    "csp",
    "collab.courses",
    "collab.experiments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (DEBUG on or off) are served before Django, in collab/http.py; every middleware
    # here must be able to run synchronously: the chain runs in one thread hop (see that module).
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last: it turns a locked-out login into the lockout page
]

ROOT_URLCONF = "collab.urls"
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
            ],
        },
    },
]
WSGI_APPLICATION = None
ASGI_APPLICATION = "collab.asgi.application"

# Database ------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
try:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=0)
except Exception as exc:  # dj_database_url raises several types for bad URLs
    fail("DATABASE_URL", f"not a valid database URL ({exc})")
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions plus a busy timeout: worker threads queue for the
    # write lock instead of failing with "database is locked".
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # The test database must be a file: the Celery worker and daphne run in
    # their own processes and must see what the tests write.
    # One file per test run, so two runs in one checkout never share it.
    _db["TEST"] = {"NAME": str(RUN_DIR / f"test-{os.getpid()}.sqlite3")}
elif _db["ENGINE"] == "django.db.backends.postgresql":
    _db.setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1, "max_size": env_int("COLLAB_DB_POOL_SIZE", 20), "timeout": env_float("COLLAB_DB_POOL_TIMEOUT", 10.0)}
    _db["OPTIONS"]["connect_timeout"] = 5
else:
    fail("DATABASE_URL", f"unsupported database engine {_db['ENGINE']} (use postgres:// or sqlite://)")
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: broker, channel layer and engine control keys on separate DBs --------
REDIS_URL = env_str("REDIS_URL", "")
EMBEDDED_REDIS = not REDIS_URL
if EMBEDDED_REDIS:
    REDIS_URL = f"unix://{RUN_DIR / 'redis.sock'}"
try:
    _scheme, _redis_db = redis_urls.parse(REDIS_URL)
except ValueError as exc:
    fail("REDIS_URL", str(exc))
CELERY_BROKER_URL = redis_urls.celery_broker(REDIS_URL, _redis_db)
CHANNEL_REDIS_URL = redis_urls.with_db(REDIS_URL, _redis_db + 1)
CONTROL_REDIS_URL = redis_urls.with_db(REDIS_URL, _redis_db + 2)

# The pub/sub layer: a group_send is one PUBLISH that each daphne process
# receives once and fans out to its observers in memory, instead of one
# Redis list push per observer. It keeps nothing for absent listeners, which
# the design allows: clients catch up from the database by seq. Pub/sub
# channels ignore Redis DB numbers, so the prefix carries it.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "collab.live.layer.ReconnectingPubSubChannelLayer",  # reconnects after a Redis restart
        "CONFIG": {"hosts": [CHANNEL_REDIS_URL], "prefix": f"collab{_redis_db + 1}"},
    }
}

CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 570
# Well above the hard limit: a redelivered task finds its turn done (or its
# lease held) and returns; the sweeper, not redelivery, recovers dead turns.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ALWAYS_EAGER = False

# LLM providers ---------------------------------------------------------------
OPENAI_API_KEY = env_str("OPENAI_API_KEY", "")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL", "")
if OPENAI_BASE_URL and server_url_problem(OPENAI_BASE_URL):
    fail("OPENAI_BASE_URL", server_url_problem(OPENAI_BASE_URL))
# Unset: the only model a custom OPENAI_BASE_URL lists, else gpt-4o-mini (collab.llm.server.default_model).
OPENAI_MODEL = env_str("OPENAI_MODEL", "")
LLM_TIMEOUT_SECONDS = env_float("COLLAB_LLM_TIMEOUT", 60.0)
LLM_MAX_RETRIES = env_int("COLLAB_LLM_MAX_RETRIES", 3, minimum=0)
LLM_RETRY_BASE_DELAY = env_float("COLLAB_LLM_RETRY_BASE_DELAY", 0.5)
# The configured server's limits: requests at once (0: none; 1 for a one-slot
# llama.cpp server), context in tokens (prompts are sized to it), and how a
# reply's JSON schema is sent (json_schema, json_object or prompt_only).
LLM_MAX_CONCURRENCY = env_int("COLLAB_LLM_MAX_CONCURRENCY", 0, minimum=0)
LLM_CONTEXT_WINDOW = env_int("COLLAB_LLM_CONTEXT_WINDOW", 8192, minimum=512)
LLM_STRUCTURED = env_str("COLLAB_LLM_STRUCTURED", "json_schema")
if LLM_STRUCTURED not in ("json_schema", "json_object", "prompt_only"):
    fail("COLLAB_LLM_STRUCTURED", f"expected json_schema, json_object or prompt_only, got {LLM_STRUCTURED!r}")
# Any model server configured means new sessions may use it; otherwise the
# offline scripted agents run everything.
LLM_CONFIGURED = bool(OPENAI_API_KEY or OPENAI_BASE_URL)

# Engine ----------------------------------------------------------------------
TURN_LEASE_SECONDS = env_int("COLLAB_TURN_LEASE_SECONDS", 30, minimum=2)
TURN_MAX_ATTEMPTS = env_int("COLLAB_TURN_MAX_ATTEMPTS", 3, minimum=1)
SWEEP_INTERVAL_SECONDS = env_float("COLLAB_SWEEP_INTERVAL", 10.0)
SCRIPTED_TOKENS_PER_SECOND = env_float("COLLAB_SCRIPTED_TPS", 50.0)
DELTA_FLUSH_SECONDS = env_float("COLLAB_DELTA_FLUSH", 0.075)
MAX_HUMAN_MESSAGE_CHARS = 8000
MAX_AGENT_MESSAGE_CHARS = 20000
# Transcript imports are validated whole in memory before anything is written.
COLLAB_IMPORT_MAX_BYTES = env_int("COLLAB_IMPORT_MAX_MB", 64, minimum=1) * 1_000_000
COLLAB_IMPORT_MAX_LINE_BYTES = 4_000_000

# Live sockets ----------------------------------------------------------------
# A socket's presence lives this long unless its consumer renews it (every
# third of it): a viewer whose daphne process died drops out within a minute.
PRESENCE_TTL_SECONDS = env_float("COLLAB_PRESENCE_TTL", 40.0)
# A frame larger than this is answered with an error, not parsed.
WS_MAX_FRAME_CHARS = 256_000
# A run whose share of defaulted replies is above this says so and marks its scores unreliable.
DEFAULTED_SHARE_LIMIT = env_float("COLLAB_DEFAULTED_SHARE", 0.2)
# A model's reply as stored for audit (LLMCall.response); longer ones are cut and the cut recorded.
MAX_LLM_RESPONSE_CHARS = 100_000

# Auth, i18n, static ------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
# Login throttling (django-axes): after COLLAB_LOGIN_FAILURE_LIMIT wrong passwords for one
# username from one address, that pair is locked out for COLLAB_LOGIN_COOLOFF_MINUTES.
# A success resets the count; `manage.py axes_reset_username NAME` lifts a lockout early.
AXES_FAILURE_LIMIT = env_int("COLLAB_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("COLLAB_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # one log line per login otherwise
AXES_LOCKOUT_CALLABLE = "collab.core.views.login_locked_out"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / ".run" / "staticfiles"
# Straight from static/ and the apps (no collectstatic step for `make run`); the files are indexed at start-up.
SERVESTATIC_USE_FINDERS = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "stream": sys.stderr}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},  # the openai client's HTTP stack: a line per request otherwise
        "httpcore": {"level": "WARNING"},
        # An unreachable database is reported once, by collab_check or /healthz, not per reconnect attempt.
        "psycopg.pool": {"level": "ERROR"},
        "openai": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # lockouts are warnings; its per-start banner and per-login lines are not
        "daphne": {"level": "WARNING"},
        "django.channels.server": {"level": "WARNING"},
    },
}
