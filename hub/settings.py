"""Lyceum settings: one module, configured from the environment.

Two run modes share this file (ARCHITECTURE §5):

* embedded (default): SQLite file + in-memory channel layer, nothing else to start;
* services: ``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL`` (channel layer, cache, ranks,
  presence) are set.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LYCEUM_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
SERVICES_MODE = bool(DATABASE_URL and REDIS_URL)
DEBUG = env_bool("DEBUG")
# pytest (>= 8.2) sets PYTEST_VERSION; servers started by tests inherit it.
TESTING = "PYTEST_VERSION" in os.environ or env_bool("LYCEUM_TESTING")


# A SECRET_KEY signs sessions, password-reset links and feed tokens: a short or repetitive one
# can be guessed offline from any signed value. 32 characters from a wide alphabet is ~190 bits;
# Django's own deploy check (security.W009) still asks for 50 and warns below that.
SECRET_KEY_MIN_LENGTH = 32
SECRET_KEY_MIN_UNIQUE = 10
SECRET_KEY_HOWTO = "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"


def secret_key_weakness(key: str) -> str | None:
    """Why ``key`` is too weak to sign a real deployment's data, or None if it will do."""
    if key.startswith("django-insecure-"):
        return "it is a development key (starts with 'django-insecure-')"
    if len(key) < SECRET_KEY_MIN_LENGTH:
        return f"it has {len(key)} characters, at least {SECRET_KEY_MIN_LENGTH} are needed"
    if len(set(key)) < SECRET_KEY_MIN_UNIQUE:
        return (
            f"it has only {len(set(key))} different characters, "
            f"at least {SECRET_KEY_MIN_UNIQUE} are needed"
        )
    return None


def _secret_key() -> str:
    """SECRET_KEY from the environment; embedded development keeps a generated one in var/.

    Against a real database (services mode) a weak key refuses to start.
    """
    key = os.environ.get("SECRET_KEY")
    if key:
        weakness = secret_key_weakness(key) if DATABASE_URL else None
        if weakness:
            raise ImproperlyConfigured(
                f"SECRET_KEY is too weak to run against DATABASE_URL: {weakness}. "
                + SECRET_KEY_HOWTO
            )
        return key
    if DATABASE_URL and not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when running against DATABASE_URL. " + SECRET_KEY_HOWTO
        )
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# The feature apps, each a room of its own (ARCHITECTURE §1-2): hub/urls.py mounts their
# urls.py and seed_demo runs their demo.py.
LYCEUM_FEATURE_APPS = (
    "classrooms",
    "sessions",
    "forums",
    "messaging",
    "leaderboards",
    "calendars",
    "games",
    "levels",
    "grading",
    "paths",
    "certifications",
    "integrations",
    "identity",  # SSO and provisioning (issue 16)
    "skills",
    "lti",  # Lyceum as an LTI 1.3 tool (issue 18)
    "search",  # search across chat, forums, library and courses (issue 22)
    "externaltools",  # Lyceum as an LTI 1.3 platform (issue 18)
    "blogs",  # a person's or a team's blog (issue 22)
)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "notifications",
    "django_tasks",
    "django_tasks_db",
    "hub.apps.HubConfig",
    "hub.accounts.apps.AccountsConfig",
    # -- identity and access (issue 16): the audit log
    "hub.audit.apps.AuditConfig",
    "hub.passkeys.apps.PasskeysConfig",
    "hub.announcements.apps.AnnouncementsConfig",
    "classrooms.apps.ClassroomsConfig",
    "sessions.apps.TrainingSessionsConfig",
    "forums.apps.ForumsConfig",
    "messaging.apps.MessagingConfig",
    "leaderboards.apps.LeaderboardsConfig",
    "calendars.apps.CalendarsConfig",
    "integrations.apps.IntegrationsConfig",
    "identity.apps.IdentityConfig",
    "frontend.apps.FrontendConfig",
    "games.apps.GamesConfig",
    "levels.apps.LevelsConfig",
    "grading.apps.GradingConfig",
    "paths.apps.PathsConfig",
    "certifications.apps.CertificationsConfig",
    "skills.apps.SkillsConfig",
    "lti.apps.LtiConfig",  # Lyceum as an LTI 1.3 tool (issue 18)
    "search.apps.SearchConfig",
    "externaltools.apps.ExternalToolsConfig",  # LTI 1.3 platform (issue 18)
    "blogs.apps.BlogsConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "hub.csp.ContentSecurityPolicyMiddleware",
    # Before the session is loaded: a NUL in a cookie would reach PostgreSQL too.
    "hub.middleware.RejectNulMiddleware",
    # -- LTI (docs/LTI.md): a session opened in a platform's frame keeps working there
    "lti.framing.FramedSessionMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "hub.accounts.middleware.CurrentSpaceMiddleware",
    # -- identity and access (issue 16): staff whose space requires a second factor
    "hub.accounts.middleware.SecondFactorMiddleware",
    # -- design system (docs/INTERFACE.md): dates in the viewer's own time zone
    "hub.accounts.middleware.TimeZoneMiddleware",
]

ROOT_URLCONF = "hub.urls"
ASGI_APPLICATION = "hub.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "frontend.context_processors.shell",
            ],
        },
    },
]

# --- Data -----------------------------------------------------------------------------------
if DATABASE_URL:
    # Under ASGI every request and gateway action runs its sync code on a pool of threads:
    # persistent connections (CONN_MAX_AGE) would pile up one per thread until PostgreSQL
    # refuses more ("too many clients" in the sessions rush benchmark). A psycopg pool per
    # process instead: connections are borrowed per call and returned. Tests open
    # connections from many threads and drop the test database at the end: no pool there.
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    if not TESTING:
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 2,
            "max_size": int(os.environ.get("DB_POOL_SIZE", "20")),
            "timeout": 30,  # seconds a call waits for a free connection before failing
        }
    DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ.get("TEST_DATABASE_NAME")
    if TESTING:
        # A test database needs no durability: not waiting for the WAL flush on each commit
        # makes the flush between transactional tests (TRUNCATE of every table) much cheaper.
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c synchronous_commit=off"
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(VAR_DIR / "lyceum.sqlite3")),
            "OPTIONS": {
                # WAL lets the server and the task worker read while the other writes;
                # IMMEDIATE takes the write lock at BEGIN so two writers queue, not deadlock.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            "TEST": {"NAME": os.environ.get("SQLITE_TEST_PATH") or None},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# Every Redis key and channel-layer group of this deployment starts with this prefix. Parallel
# test workers (pytest-xdist) share one Redis, so each gets its own unless one is given.
REDIS_PREFIX = os.environ.get("LYCEUM_REDIS_PREFIX") or (
    f"lyceum-test-{os.environ['PYTEST_XDIST_WORKER']}"
    if TESTING and os.environ.get("PYTEST_XDIST_WORKER")
    else "lyceum"
)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_PREFIX,
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            # The pub/sub layer held 200 simultaneous connections where the default
            # RedisChannelLayer dropped a third of them (ARCHITECTURE §5).
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": REDIS_PREFIX,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 10000},
        }
    }

TASKS = {
    "default": {
        "BACKEND": os.environ.get("LYCEUM_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

# --- Identity -------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    # Hashing a password costs ~0.3 s by design; tests create many users.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# identity (issue 16): the lockout backend, refusing passwords to the people of an "SSO only" space
AUTHENTICATION_BACKENDS = ["identity.backends.PasswordOrSSOBackend"]
# Sign-in lockout (hub/accounts/lockout.py), on the login page, the admin and the token API:
# ACCOUNT_FAILURES wrong passwords for one username (or ADDRESS_FAILURES from one client
# address, whatever the usernames) within WINDOW seconds lock it out for LOCKOUT seconds.
LYCEUM_LOGIN_LOCKOUT = {
    "ACCOUNT_FAILURES": int(os.environ.get("LYCEUM_LOGIN_ACCOUNT_FAILURES", 5)),
    "ADDRESS_FAILURES": int(os.environ.get("LYCEUM_LOGIN_ADDRESS_FAILURES", 20)),
    "WINDOW": int(os.environ.get("LYCEUM_LOGIN_WINDOW", 15 * 60)),
    "LOCKOUT": int(os.environ.get("LYCEUM_LOGIN_LOCKOUT", 15 * 60)),
}
LOGIN_URL = "login"
# -- identity and access (issue 16) --
# Audit entries older than this are deleted by `manage.py audit_prune` (0 keeps everything).
LYCEUM_AUDIT_RETENTION_DAYS = int(os.environ.get("LYCEUM_AUDIT_RETENTION_DAYS", 365))
# -- end identity and access --
# Due dates (paths, course enrolments, activities: paths/due.py): the reminder goes this many
# days before the due date.
LYCEUM_DUE_REMINDER_DAYS = int(os.environ.get("LYCEUM_DUE_REMINDER_DAYS", 7))
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# --- I18n -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
# Unpacked SCORM/cmi5 packages (integrations/scorm.py): beside MEDIA_ROOT, never under it,
# so /media/ can never serve them; they go out only through the sandboxed package view.
INTEGRATIONS_PACKAGE_ROOT = Path(
    os.environ.get("INTEGRATIONS_PACKAGE_ROOT", MEDIA_ROOT.parent / "packages")
)
# Outbound webhooks may reach loopback / private / link-local addresses (integrations/
# egress.py): off, so a subscription cannot make our workers call the internal network.
INTEGRATIONS_ALLOW_PRIVATE_NETWORKS = env_bool("INTEGRATIONS_ALLOW_PRIVATE_NETWORKS")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and not TESTING
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# A multipart body (file upload) larger than this is refused (413) before it is read
# (hub/bodylimit.py): the largest kind of file (course media, 50 MB) plus the form.
LYCEUM_MAX_UPLOAD_BYTES = int(os.environ.get("LYCEUM_MAX_UPLOAD_BYTES", 51 * 1024 * 1024))
# Images wider x higher than this are refused wherever images are accepted (hub/files.py):
# a 17 KB PNG can declare 144 megapixels and stall every browser that shows it.
LYCEUM_MAX_IMAGE_PIXELS = int(os.environ.get("LYCEUM_MAX_IMAGE_PIXELS", 40_000_000))
# Who sends the bytes of user files once the permission check passed (hub/files.py):
# empty = Lyceum itself; "x-accel-redirect:/protected/" = nginx (an `internal` location
# aliased to MEDIA_ROOT); "x-sendfile" = Apache mod_xsendfile / lighttpd. docs/FILES.md.
LYCEUM_FILE_ACCEL = os.environ.get("LYCEUM_FILE_ACCEL", "")

# --- Email ----------------------------------------------------------------------------------
# Without an SMTP server: embedded mode (development, `make run`) writes each e-mail to a file
# under var/mail/ -- printed to the console, the demo's 26 e-mails pushed the "running at"
# banner out of view -- and services mode prints them to the console (the process logs).
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend"
    if DATABASE_URL
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Lyceum <lyceum@localhost>")

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy of every page (hub/csp.py; Django 6.0's setting name and format).
# Scripts and styles come from our own files only: no inline code, handlers or style
# attributes anywhere (tests/frontend/test_csp.py scans the templates). 'self' also allows
# the realtime WebSocket to the same host (ws:/wss:, CSP Level 3). Images from other sites
# in user content are not loaded (no tracking pixels): upload them instead. Audio and video
# may come from any https address: a media activity links to where its trainer hosts it
# (media cannot run script). Live-class media (getUserMedia, WebRTC) is not governed by CSP.
SECURE_CSP: dict[str, list[str] | bool] = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:", "blob:"],
    "media-src": ["'self'", "blob:", "https:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "worker-src": ["'self'"],
    "manifest-src": ["'self'"],
    "frame-src": ["'none'"],
    "frame-ancestors": ["'none'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
}
if env_bool("LYCEUM_HTTPS"):
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# How many proxies we run in front of daphne (load balancer, CDN). Per-address limits key on
# the client address those proxies report (hub/client_address.py): 0 = the TCP peer, N = the
# Nth entry from the right of X-Forwarded-For. The header as sent by a client is never trusted.
LYCEUM_TRUSTED_PROXIES = int(os.environ.get("LYCEUM_TRUSTED_PROXIES", 0))

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # hub.api.JSONParser bounds a body's size, depth and refuses NUL characters.
    "DEFAULT_PARSER_CLASSES": [
        "hub.api.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "hub.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "hub.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["hub.api.WriteRateThrottle"],
    # DRF's own get_ident reads this; None (its default) keys on X-Forwarded-For as sent.
    "NUM_PROXIES": LYCEUM_TRUSTED_PROXIES,
    "DEFAULT_THROTTLE_RATES": {
        "writes": os.environ.get("LYCEUM_WRITE_RATE", "120/min"),
        "auth": os.environ.get("LYCEUM_AUTH_RATE", "20/min"),
        # Searches per person: results as you type send one per pause (search/api.py).
        "search": os.environ.get("LYCEUM_SEARCH_RATE", "120/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Lyceum API",
    "DESCRIPTION": "REST API of Lyceum, the real-time social and blended-learning hub.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Two choice sets share the field name "reason": name each (else the generated names
    # carry a hash and `check --deploy` warns).
    "ENUM_NAME_OVERRIDES": {
        "PointReasonEnum": "leaderboards.models.Reason",
        "FlagReasonEnum": "forums.models.Flag.Reason",
        # The reaction set of forum posts, library items and blog posts.
        "ForumEmojiEnum": "forums.models.Emoji",
        # A session survey's question kinds (sessions.api.SurveyQuestionSerializer).
        "SurveyQuestionKindEnum": ["rating", "text"],
        # Notification kinds (registered by the apps; read when the schema is built).
        "NotificationKindEnum": "hub.notify.KINDS",
        # Webhook subscriptions and their delivery log (integrations.api).
        "WebhookEventTypeEnum": "integrations.models.WebhookEventType",
        "WebhookDeliveryStatusEnum": "integrations.models.DeliveryStatus",
    },
}

# --- Notifications --------------------------------------------------------------------------
DJANGO_NOTIFICATIONS_CONFIG = {"USE_JSONFIELD": True, "SOFT_DELETE": False}

# --- Real-time gateway (hub/realtime) -------------------------------------------------------
LYCEUM_REALTIME = {
    "MAX_FRAME_BYTES": int(os.environ.get("LYCEUM_WS_MAX_FRAME", 64 * 1024)),
    "MAX_SUBSCRIPTIONS": 200,
    # Each socket's token bucket, in units of one `act`: burst capacity and refill per
    # second. Every op spends from it (a `sub` as much as an `act`, a `ping` or an `unsub`
    # a quarter: hub/realtime/gateway.py OP_COSTS).
    "ACT_BURST": int(os.environ.get("LYCEUM_WS_ACT_BURST", 20)),
    "ACT_RATE": float(os.environ.get("LYCEUM_WS_ACT_RATE", 10)),
    # Bytes of backlog a socket may have replayed (`sub` with `since`): burst, then per
    # second. Past it a `sub` with `since` answers `rate_limited` until the budget refills.
    "REPLAY_BURST_BYTES": int(os.environ.get("LYCEUM_WS_REPLAY_BURST", 512 * 1024)),
    "REPLAY_RATE_BYTES": float(os.environ.get("LYCEUM_WS_REPLAY_RATE", 32 * 1024)),
    # Frames handed to a socket but not yet written; past this the socket is closed (4008).
    "MAX_PENDING_FRAMES": int(os.environ.get("LYCEUM_WS_MAX_PENDING", 1000)),
    "MAX_PENDING_BYTES": int(os.environ.get("LYCEUM_WS_MAX_PENDING_BYTES", 8 * 1024 * 1024)),
    "BACKLOG_LIMIT": 500,
    # The process's gate in front of the gateway's database work (hub/realtime/admission.py):
    # past this many `sub`/`act` waiting for a thread, or once one waited this many seconds
    # (under the browser client's 15 s request timeout), the answer is `overloaded` with
    # `retry_after`, not a reply that comes after the client has given up.
    "MAX_QUEUED": int(os.environ.get("LYCEUM_WS_MAX_QUEUED", 2000)),
    "MAX_QUEUE_WAIT": float(os.environ.get("LYCEUM_WS_MAX_QUEUE_WAIT", 10)),
    "PRESENCE_TTL": 90,
    # Each process checks its channel layer (Redis) with a heartbeat every so many seconds
    # (0: never; the in-memory layer cannot fail); one that fails or is not back within
    # the timeout closes the subscribed sockets with 4503 so their clients resume.
    "LAYER_CHECK_SECONDS": float(os.environ.get("LYCEUM_WS_LAYER_CHECK", 2 if REDIS_URL else 0)),
    "LAYER_TIMEOUT_SECONDS": float(os.environ.get("LYCEUM_WS_LAYER_TIMEOUT", 10)),
}

# --- Live classes (classrooms) ---------------------------------------------------------------
# Participants per room: what one server process relayed with every camera on (bench/liveclass,
# docs/PERFORMANCE.md: 6 in NxN rooms, 32 when only the trainer publishes).
LYCEUM_LIVECLASS_CAPACITY = int(os.environ.get("LYCEUM_LIVECLASS_CAPACITY", 6))
# Class recordings are deleted this many days after they were saved (0: kept), by the job
# ``manage.py recordings_expire`` queues (cron daily; docs/LIVECLASS.md).
LYCEUM_RECORDING_RETENTION_DAYS = int(os.environ.get("LYCEUM_RECORDING_RETENTION_DAYS", 0))

# --- Live-class media (classrooms/media.py) -------------------------------------------------
# BACKEND: the media server behind the live class (dotted path): the built-in aiortc relay,
# or a class that drives an external SFU. MAX_*: what a participant may send; the browser
# captures within them and the server refuses offers above them and scales down frames.
# --- Live-class media on Janus (classrooms/janus.py, docs/LIVECLASS.md) ---------------------
# URLS: the Janus servers' WebSocket APIs (ws://127.0.0.1:8188, comma-separated); when set,
# the live class uses them instead of the built-in relay. CAPACITY: participants per class
# on Janus (what bench/liveclass measured, docs/LIVECLASS.md).
LYCEUM_JANUS = {
    "URLS": env_list("LYCEUM_JANUS_URLS", ""),
    "CAPACITY": int(os.environ.get("LYCEUM_JANUS_CAPACITY", 100)),
    "TIMEOUT": float(os.environ.get("LYCEUM_JANUS_TIMEOUT", 10)),
    # In rooms with more publishers than this, only the last N speakers' cameras are sent
    # to each subscriber (0: everyone's).
    "LAST_N": int(os.environ.get("LYCEUM_JANUS_LAST_N", 0)),
}
# TURN for live-class media (docs/LIVECLASS.md, coturn with use-auth-secret): each page gets
# credentials made for it at join time, valid TTL seconds. URLS: turn:host:3478,...
LYCEUM_TURN = {
    "URLS": env_list("LYCEUM_TURN_URLS", ""),
    "SECRET": os.environ.get("LYCEUM_TURN_SECRET", ""),
    "TTL": int(os.environ.get("LYCEUM_TURN_TTL", 3600)),
}
# --- end of live-class media on Janus ----------------------------------------------------------

LYCEUM_MEDIA = {
    "BACKEND": os.environ.get(
        "LYCEUM_MEDIA_BACKEND",
        "classrooms.janus.JanusBackend" if LYCEUM_JANUS["URLS"] else "classrooms.media.AiortcRelay",
    ),
    "MAX_WIDTH": int(os.environ.get("LYCEUM_MEDIA_MAX_WIDTH", 640)),
    "MAX_HEIGHT": int(os.environ.get("LYCEUM_MEDIA_MAX_HEIGHT", 360)),
    "MAX_FPS": int(os.environ.get("LYCEUM_MEDIA_MAX_FPS", 24)),
    "MAX_BITRATE": int(os.environ.get("LYCEUM_MEDIA_MAX_BITRATE", 600_000)),  # bit/s per track
    "MAX_SDP_BYTES": int(os.environ.get("LYCEUM_MEDIA_MAX_SDP_BYTES", 32_000)),
    # STUN/TURN URLs, comma-separated; none by default (host candidates only, no public STUN).
    "ICE_SERVERS": env_list("LYCEUM_MEDIA_ICE_SERVERS", ""),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # A refused request (403 PermissionDenied, 404) is one warning line, not a traceback.
    "filters": {"client_errors_in_one_line": {"()": "hub.log_filters.ClientErrorsInOneLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"filters": ["client_errors_in_one_line"]},
        # One INFO line per job state (RUNNING, SUCCESSFUL) buried `make run`'s console;
        # failures are logged at ERROR. Services-mode workers keep the job log.
        "django_tasks": {"level": "INFO" if SERVICES_MODE else "WARNING"},
        "django_tasks_db": {"level": "INFO" if SERVICES_MODE else "WARNING"},
        "django.channels.server": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        "aioice": {"level": "WARNING"},
    },
}

# -- offline and push (issue 21; docs/OFFLINE.md) -------------------------------------------
# Push services a subscription may point at (host suffixes; "http://host" only for a test's
# local endpoint): the server posts to them, so nowhere else.
LYCEUM_WEBPUSH_HOSTS = env_list(
    "LYCEUM_WEBPUSH_HOSTS",
    "fcm.googleapis.com,push.services.mozilla.com,notify.windows.com,push.apple.com",
)
LYCEUM_WEBPUSH_CONTACT = os.environ.get("LYCEUM_WEBPUSH_CONTACT", "")  # mailto: or https:
LYCEUM_WEBPUSH_TIMEOUT = float(os.environ.get("LYCEUM_WEBPUSH_TIMEOUT", 5))  # s per device
LYCEUM_WEBPUSH_CONCURRENCY = int(os.environ.get("LYCEUM_WEBPUSH_CONCURRENCY", 8))
# The service worker's version also changes with this (a deploy sets it, or writes the file).
LYCEUM_RELEASE = os.environ.get("LYCEUM_RELEASE", "")
LYCEUM_RELEASE_FILE = os.environ.get("LYCEUM_RELEASE_FILE", str(VAR_DIR / "release"))
# -- end offline and push --
