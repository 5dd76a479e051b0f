"""Settings for 社区通, read from the environment only (README.md, Configuration).

With DJANGO_DEBUG=true the embedded defaults apply (SQLite, in-memory layers, the
local WeChat stand-in). Without it the process is a production one: every setting
listed in REQUIRED_IN_PRODUCTION must be present and well formed, or start-up stops
with a message that names it.
"""

from __future__ import annotations

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from core.field_ciphers import parse_key as _parse_field_key

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def _bool(name: str, default: bool) -> bool:
    raw = env.str(name, default="")
    if raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


DEBUG = _bool("DJANGO_DEBUG", False)
# Tests run on the embedded defaults too; config/settings_test.py turns this on.
EMBEDDED_DEFAULTS = DEBUG or env.bool("SHEQUTONG_EMBEDDED", default=False)

# Dev-only values: never valid when EMBEDDED_DEFAULTS is off.
_DEV_SECRET_KEY = "dev-only-insecure-key-社区通-do-not-use-in-production"
_DEV_FIELD_KEY = "ZGV2LW9ubHktZmllbGQta2V5LTMyLWJ5dGVzLWxvbmc="  # dev only
_DEV_PUSH_AES_KEY = "ZGV2LW9ubHktcHVzaC1hZXMta2V5LTMyLWJ5dGVzISE"  # 43 chars


def _required(name: str, dev_default: str) -> str:
    value = env.str(name, default="")
    if value:
        return value
    if EMBEDDED_DEFAULTS:
        return dev_default
    raise ImproperlyConfigured(
        f"{name} is required in production (DJANGO_DEBUG is off); set it in the environment"
    )


SECRET_KEY = _required("DJANGO_SECRET_KEY", _DEV_SECRET_KEY)
if not EMBEDDED_DEFAULTS and len(SECRET_KEY) < 40:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 40 characters in production")

ALLOWED_HOSTS = [
    h.strip()
    for h in _required("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver,[::1]").split(",")
    if h.strip()
]

try:
    DATABASES = {"default": env.db_url_config(_required("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"))}
except Exception as exc:  # django-environ raises several kinds for a bad URL
    raise ImproperlyConfigured(f"DATABASE_URL is malformed: {exc}") from exc
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the worker and the server read while the other writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    # Under ASGI each request runs its sync code in a thread of its own (Django's
    # ThreadSensitiveContext), and connections are per thread: persistent connections
    # (CONN_MAX_AGE) would open a new PostgreSQL connection for every request and leave the
    # old ones to the garbage collector. psycopg's pool lends connections across threads.
    # DATABASE_POOL=false for a transaction-mode pgbouncer in front (docs/deployment.md).
    if env.bool("DATABASE_POOL", default=True):
        from psycopg_pool import ConnectionPool

        DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django refuses a pool with persistent connections
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=20),
            # Waiting longer for a connection than a client waits for an answer helps no one.
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=5.0),
            # A connection broken by a database restart is replaced, not handed to a request.
            "check": ConnectionPool.check_connection,
        }
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Behind PgBouncer in transaction mode a server-side cursor (`.iterator()`, which Django opens
    # WITH HOLD outside a transaction) would outlive the transaction that held its server
    # connection: turn them off there and `.iterator()` reads in client-side chunks instead.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool("DATABASE_DISABLE_SERVER_SIDE_CURSORS", default=False)
    # Parameters bound by the server, so that psycopg prepares a statement a connection has run
    # five times and PostgreSQL plans it once (bench/README.md, "Session 9": the queues'
    # planning was most of their SQL time). Off behind a transaction-mode PgBouncer older than
    # 1.21, which cannot carry a prepared statement from one transaction to the next.
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        # Django turns psycopg's preparing off unless a threshold is given.
        DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)

REDIS_URL = env.str("REDIS_URL", default="")
# Budget for one Redis connect or reply. Redis answers in well under a millisecond; a dead or
# stuck one must cost a request this much (twice: one retry), not seconds, before the caller
# degrades (throttles pass, the WeChat token comes from the process's copy, live events are
# skipped) or answers 503 (docs/deployment.md, "When Redis is down").
REDIS_TIMEOUT_SECONDS = env.float("REDIS_TIMEOUT_SECONDS", default=0.5)

if REDIS_URL:
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # The pub/sub layer sends one PUBLISH per group_send and fans out in each process,
    # instead of one list push per member: bench/README.md measured half the latency at 1,000 sockets.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            # No socket_timeout here: the subscriber's connection waits for messages by design;
            # publishing is bounded by notifications.realtime instead.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_connect_timeout": REDIS_TIMEOUT_SECONDS}]},
        }
    }
    CACHES = {
        "default": {
            # Django's, with one client per process: without it every ASGI request connected anew.
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "stq",
            "OPTIONS": {
                "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
                "socket_timeout": REDIS_TIMEOUT_SECONDS,
                # One retry: the first command on a pooled connection that a Redis restart cut
                # fails, the retry reconnects. redis-py's default is three, with backoff.
                "retry": Retry(NoBackoff(), 1),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "stq"}}

# --- Field encryption (PIPL): newest key first, all keys can decrypt. -------------
# An entry is `<key>` or `fernet:<key>` (Fernet, urlsafe-base64 of 32 bytes) or `sm4:<key>`
# (SM4-GCM, urlsafe-base64 of 16 bytes); the newest key's algorithm writes (core/field_ciphers.py).
FIELD_ENCRYPTION_KEYS = [k.strip() for k in _required("FIELD_ENCRYPTION_KEYS", _DEV_FIELD_KEY).split(",") if k.strip()]
for _i, _key in enumerate(FIELD_ENCRYPTION_KEYS):
    try:
        _parse_field_key(_key)
    except ValueError as _exc:
        raise ImproperlyConfigured(
            f"FIELD_ENCRYPTION_KEYS entry {_i + 1}: {_exc} (make a Fernet key with: "
            "python -c 'import base64,os;print(base64.urlsafe_b64encode(os.urandom(32)).decode())'; "
            "an SM4 one with: python -c 'import base64,os;print(\"sm4:\"+base64.urlsafe_b64encode(os.urandom(16)).decode())')"
        ) from None

# --- WeChat -----------------------------------------------------------------------
WECHAT_APPID = _required("WECHAT_APPID", "wxdev0000000000000")
WECHAT_SECRET = _required("WECHAT_SECRET", "dev-secret")
WECHAT_API_BASE = env.str(
    "WECHAT_API_BASE", default="http://127.0.0.1:8100/" if EMBEDDED_DEFAULTS else "https://api.weixin.qq.com/"
)
if not WECHAT_API_BASE.startswith(("http://", "https://")):
    raise ImproperlyConfigured("WECHAT_API_BASE must be an http(s) URL")
if not WECHAT_API_BASE.endswith("/"):
    WECHAT_API_BASE += "/"
WECHAT_PUSH_TOKEN = _required("WECHAT_PUSH_TOKEN", "devpushtoken")
WECHAT_PUSH_AES_KEY = _required("WECHAT_PUSH_AES_KEY", _DEV_PUSH_AES_KEY)
if len(WECHAT_PUSH_AES_KEY) != 43:
    raise ImproperlyConfigured("WECHAT_PUSH_AES_KEY must be the 43-character EncodingAESKey")
# Total budget for one WeChat call, so that "WeChat down" answers 503 within 5 seconds.
WECHAT_TIMEOUT_SECONDS = env.float("WECHAT_TIMEOUT_SECONDS", default=3.0)
# "release" in production; the stand-in accepts any.
WECHAT_MINIPROGRAM_STATE = env.str("WECHAT_MINIPROGRAM_STATE", default="formal")
# How long a worker holds an outbox row it is sending (notifications/delivery.py): far longer
# than one WeChat call; the fault tests shorten it to see a killed worker's row taken over.
NOTIFICATIONS_OUTBOX_LEASE_SECONDS = env.float("NOTIFICATIONS_OUTBOX_LEASE_SECONDS", default=120.0)

# --- Application ------------------------------------------------------------------
INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our own static files: the docs work offline
    "channels",
    # Before django_tasks_db: core's db_worker (which outlives a database restart) replaces its own.
    "core",
    "django_tasks_db",
    "wechat",
    "images",
    "moderation",
    "privacy",
    "residents",
    "notifications",
    "community",
    "services",
    "deliberation",
    "cases",
    "matters",
    "sensors",
    "open311",
    "console",
]

MIDDLEWARE = [
    # First: the request id, the access line and the latency histogram cover the whole request.
    "core.requestlog.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.RequestBodyLimitMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "core.middleware.ResponseHeadersMiddleware",
    # Inside the header middlewares: the JSON it substitutes still gets their headers.
    "core.middleware.ApiErrorShapeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Before any view reads request.POST (CSRF's token field is left as sent).
    "core.middleware.FormTextMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "residents.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
                # {{ csp_nonce }} for the console's inline <script nonce="...">.
                "django.template.context_processors.csp",
            ]
        },
    }
]

LANGUAGE_CODE = "zh-hans"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").exists() else []
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))

# Media on object storage when several machines serve the API (docs/deployment.md):
# MEDIA_STORAGE=s3 with an S3-compatible bucket (AWS S3, Aliyun OSS, Tencent COS, MinIO).
MEDIA_STORAGE = env.str("MEDIA_STORAGE", default="filesystem")
if MEDIA_STORAGE == "s3":
    STORAGES = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": _required("S3_BUCKET", ""),
                "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
                "region_name": env.str("S3_REGION", default="") or None,
                "access_key": env.str("S3_ACCESS_KEY_ID", default="") or None,
                "secret_key": env.str("S3_SECRET_ACCESS_KEY", default="") or None,
                # A CDN or public bucket domain; without it URLs are signed and expire.
                "custom_domain": env.str("S3_CUSTOM_DOMAIN", default="") or None,
                "querystring_auth": not env.str("S3_CUSTOM_DOMAIN", default=""),
                "querystring_expire": env.int("S3_URL_EXPIRE_SECONDS", default=3600),
                "addressing_style": env.str("S3_ADDRESSING_STYLE", default="virtual"),
                "file_overwrite": False,
                "default_acl": None,
            },
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    if not STORAGES["default"]["OPTIONS"]["bucket_name"]:
        raise ImproperlyConfigured("MEDIA_STORAGE=s3 needs S3_BUCKET")
elif MEDIA_STORAGE != "filesystem":
    raise ImproperlyConfigured(f"MEDIA_STORAGE must be filesystem or s3, got {MEDIA_STORAGE!r}")

LOGIN_URL = "/console/login/"

# Uploads: images are capped by the image pipeline; the body cap stops abuse early.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
MAX_IMAGE_UPLOAD_BYTES = env.int("MAX_IMAGE_UPLOAD_BYTES", default=10 * 1024 * 1024)
# Pixel caps read from the header before decoding (images/pipeline.py): JPEG decodes at reduced
# scale, PNG/WEBP at full size, hence two.
MAX_IMAGE_PIXELS = env.int("MAX_IMAGE_PIXELS", default=50_000_000)
MAX_LOSSLESS_IMAGE_PIXELS = env.int("MAX_LOSSLESS_IMAGE_PIXELS", default=16_000_000)
# Absolute base for URLs that outsiders fetch (WeChat's media check downloads our images from it).
# Required in production: a loopback default would hand WeChat URLs it can never fetch. In
# development it follows PORT, the port `make run` (scripts/run_dev.py) serves on.
PUBLIC_BASE_URL = _required("PUBLIC_BASE_URL", f"http://127.0.0.1:{env.str('PORT', default='8000')}").rstrip("/")
if not PUBLIC_BASE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured("PUBLIC_BASE_URL must be an http(s) URL")

TASKS = {
    "default": {
        # django-tasks-db's, storing the enqueuing request's id with each task (core/task_backend.py).
        "BACKEND": "core.task_backend.RequestTracingDatabaseBackend",
        "QUEUES": ["default", "wechat"],
    }
}
# run_scheduler (core/scheduler.py): how often it looks for due jobs, and an interval that
# replaces every interval job's own (for tests and demos; 0 keeps each job's interval).
SCHEDULER_TICK_SECONDS = env.float("SCHEDULER_TICK_SECONDS", default=1.0)
SCHEDULER_INTERVAL_SECONDS = env.int("SCHEDULER_INTERVAL_SECONDS", default=0)
if SCHEDULER_TICK_SECONDS <= 0 or SCHEDULER_INTERVAL_SECONDS < 0:
    raise ImproperlyConfigured("SCHEDULER_TICK_SECONDS must be positive, SCHEDULER_INTERVAL_SECONDS not negative")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["residents.auth.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.BoundedJSONParser",
        "core.parsers.SafeMultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.exceptions.api_exception_handler",
    "DATETIME_FORMAT": "iso-8601",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Without this DRF keys anonymous throttles on the whole X-Forwarded-For header,
    # which the client writes: one invented header per request would dodge the limit.
    "NUM_PROXIES": env.int("TRUSTED_PROXY_HOPS", default=0),
    "DEFAULT_THROTTLE_RATES": {
        "login": env.str("THROTTLE_LOGIN", default="30/min"),
        "post": env.str("THROTTLE_POST", default="20/min"),
        "comment": env.str("THROTTLE_COMMENT", default="60/min"),
        "report": env.str("THROTTLE_REPORT", default="30/min"),
        "service_request": env.str("THROTTLE_SERVICE_REQUEST", default="30/min"),
        "matter": env.str("THROTTLE_MATTER", default="10/min"),
        "upload": env.str("THROTTLE_UPLOAD", default="30/min"),
        "topic": env.str("THROTTLE_TOPIC", default="10/min"),
        "vote": env.str("THROTTLE_VOTE", default="60/min"),
        "membership": env.str("THROTTLE_MEMBERSHIP", default="10/min"),
        "open311": env.str("THROTTLE_OPEN311", default="60/min"),
        "sensor_ingest": env.str("THROTTLE_SENSOR_INGEST", default="1200/min"),  # per integration
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "社区通 API",
    "DESCRIPTION": "社区通小程序后端接口。错误统一为 {\"error\": {\"code\", \"message\", \"detail\"}}。",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's bundle from drf-spectacular-sidecar's static files, not a CDN: a district's
    # data centre often has no internet. The split view serves its start-up script as a file,
    # so the docs page needs no inline script either.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # The bearer scheme is declared once, by core/schema.py's authentication extension, and
    # each operation names it from its own authentication classes (none on login).
    # OpenAPI links (POST /posts → GET /posts/{id}, …): config/openapi_links.py. Typed errors
    # (each operation's error statuses and codes, read from the code): config/openapi_errors.py.
    # One tag scheme: config/openapi_tags.py. Request examples: config/openapi_examples.py.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.openapi_links.add_links",
        "config.openapi_errors.add_errors",
        "config.openapi_tags.add_tags",
        "config.openapi_examples.add_examples",
    ],
    # Several models call their status field "status"; name each enum after its model.
    "ENUM_NAME_OVERRIDES": {
        "MembershipStatusEnum": "residents.models.Membership.Status",
        "PartyIdentityStatusEnum": "residents.models.PartyIdentityRequest.Status",
        "RoleKindEnum": "residents.models.Role.Kind",
        "MilestoneStatusEnum": "deliberation.models.Milestone.Status",
        "ServiceRequestStatusEnum": "services.models.ServiceRequest.Status",
        # hide / restore / remove: the feed's comment moderation and 议事's topic and reply moderation.
        "ModerationActionEnum": "deliberation.actions.moderation.MODERATION_ACTIONS",
        "TopicStatusEnum": "deliberation.models.Topic.Status",
    },
}

# The bench app (bench/README.md): the Baoshan-scale generator (manage.py generate_district) and
# the framework-ceiling endpoint bench/load.py measures against (/api/v1/bench/ceiling). Off in
# production: the app sits above every other and no app imports it.
BENCH = _bool("BENCH", False)
if BENCH:
    INSTALLED_APPS.append("bench")

# PIPL retention: health notes and addresses of closed service requests are cleared after this.
SENSITIVE_RETENTION_DAYS = env.int("SENSITIVE_RETENTION_DAYS", default=180)

# Posts one author may create per Shanghai day (deleted ones count). Enforced by the database:
# community.Post's unique (author, author_day, author_day_seq); values above
# community.models.POST_DAILY_CAP_CEILING (the CHECK constraint's literal) are clamped to it.
# 物联感知 (docs/sensors.md): the signed push's replay window, its body cap and batch size, and
# the alarm case's minute deadlines.
SENSOR_REPLAY_WINDOW_SECONDS = env.int("SENSOR_REPLAY_WINDOW_SECONDS", default=300)
SENSOR_INGEST_MAX_BYTES = env.int("SENSOR_INGEST_MAX_BYTES", default=512 * 1024)
SENSOR_INGEST_MAX_EVENTS = env.int("SENSOR_INGEST_MAX_EVENTS", default=1000)
SENSOR_ALARM_ACCEPT_MINUTES = env.int("SENSOR_ALARM_ACCEPT_MINUTES", default=5)
SENSOR_ALARM_RESOLVE_MINUTES = env.int("SENSOR_ALARM_RESOLVE_MINUTES", default=60)
# Raw readings are personal data: kept this long, then folded into per-device daily aggregates
# (sensors.DeviceDayAggregate) and deleted by the daily retention purge (sensors/pipl.py).
SENSOR_RAW_RETENTION_DAYS = env.int("SENSOR_RAW_RETENTION_DAYS", default=90)
# The periodic rules (sensors.actions.rules): daytime hours without motion or door activity before
# a home visit (per home: HomeConsent.inactivity_hours), the quiet hours not counted (local
# "HH:MM-HH:MM"), how long a device may stay silent, the low-battery threshold, and the hours a
# visit / a maintenance task has to be accepted and resolved.
SENSOR_INACTIVITY_HOURS = env.int("SENSOR_INACTIVITY_HOURS", default=8)
SENSOR_QUIET_HOURS = env.str("SENSOR_QUIET_HOURS", default="22:00-07:00")
SENSOR_HEARTBEAT_TIMEOUT_MINUTES = env.int("SENSOR_HEARTBEAT_TIMEOUT_MINUTES", default=360)
SENSOR_BATTERY_LOW_PERCENT = env.int("SENSOR_BATTERY_LOW_PERCENT", default=20)
SENSOR_VISIT_ACCEPT_HOURS = env.int("SENSOR_VISIT_ACCEPT_HOURS", default=1)
SENSOR_VISIT_RESOLVE_HOURS = env.int("SENSOR_VISIT_RESOLVE_HOURS", default=4)
SENSOR_MAINTENANCE_ACCEPT_HOURS = env.int("SENSOR_MAINTENANCE_ACCEPT_HOURS", default=24)
SENSOR_MAINTENANCE_RESOLVE_HOURS = env.int("SENSOR_MAINTENANCE_RESOLVE_HOURS", default=72)
# The MQTT bridge (manage.py mqtt_bridge, sensors/mqtt.py): the broker (mqtt://user:pass@host:port,
# empty = no bridge), its client id (the persistent session's name) and how long the broker keeps
# the session (and the QoS 1 messages queued for it) while the bridge is away.
MQTT_URL = env.str("MQTT_URL", default="")
MQTT_CLIENT_ID = env.str("MQTT_CLIENT_ID", default="stq-bridge")
MQTT_TOPIC_PREFIX = env.str("MQTT_TOPIC_PREFIX", default="stq")
MQTT_SESSION_EXPIRY_SECONDS = env.int("MQTT_SESSION_EXPIRY_SECONDS", default=7 * 24 * 3600)

POST_DAILY_CAP = env.int("POST_DAILY_CAP", default=20)

# 发帖必响应: hours staff have to answer a resident post before the street is told (a section
# in COMMUNITY_SECTIONS may set its own "answer_hours").
COMMUNITY_ANSWER_HOURS = env.float("COMMUNITY_ANSWER_HOURS", default=24.0)

# API tokens
API_TOKEN_TTL_DAYS = env.int("API_TOKEN_TTL_DAYS", default=30)
# How long a process trusts a bearer token it checked without reading anything (0: every request
# reads the database). A logout, ban or erasure on any process is refused everywhere after at most
# this long; with Redis the check after it is one version key, not the database (residents/token_cache.py).
API_TOKEN_CACHE_SECONDS = env.float("API_TOKEN_CACHE_SECONDS", default=1.0)
# How often an open WebSocket reads its token again (0: never). Logout, ban and erasure close
# sockets at once through the channel layer; this bounds how long one lost message matters.
WS_RECHECK_SECONDS = env.float("WS_RECHECK_SECONDS", default=60.0)
# Sockets a server process checks the token of at once; more get HTTP 503 (uvicorn) or close 1013 (notifications/consumers.py).
WS_MAX_PENDING_HANDSHAKES = env.int("WS_MAX_PENDING_HANDSHAKES", default=100)

# Security headers (DEBUG off); HTTPS redirects are the reverse proxy's job.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# A console session is a staff member's working day, not a month.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "core.views.csrf_failure"
if not DEBUG and not EMBEDDED_DEFAULTS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
    # Sent only on HTTPS requests (as the proxy reports them), so harmless behind plain HTTP.
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)

# Content-Security-Policy (Django's built-in middleware) for the console and admin pages.
# Scripts only from this origin or inline with the per-request nonce ({{ csp_nonce }});
# styles may be inline because admin and console templates use style attributes.
from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:", *env.list("CSP_EXTRA_IMG_SRC", default=[])],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# CORS: closed. The mini-program calls the API from WeChat's client, not from a browser
# origin, and the console is same-origin; no Access-Control-* header is ever sent.

# Behind N reverse proxies that append to X-Forwarded-For; 0 = use REMOTE_ADDR only.
TRUSTED_PROXY_HOPS = env.int("TRUSTED_PROXY_HOPS", default=0)

# Admin and console password logins: lock (username, IP) after N failures for M minutes.
AUTHENTICATION_BACKENDS = ["core.lockout.LockoutModelBackend"]
LOGIN_LOCKOUT_ATTEMPTS = env.int("LOGIN_LOCKOUT_ATTEMPTS", default=5)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)

# --- Operations: readiness, logs, metrics, error reporting (docs/deployment.md) ---------
# /readyz (core/health.py) fails when one of these is exceeded.
READINESS_TASK_MAX_WAIT_SECONDS = env.float("READINESS_TASK_MAX_WAIT_SECONDS", default=300.0)
READINESS_WORKER_HEARTBEAT_MAX_AGE_SECONDS = env.float("READINESS_WORKER_HEARTBEAT_MAX_AGE_SECONDS", default=60.0)
READINESS_OUTBOX_MAX_LAG_SECONDS = env.float("READINESS_OUTBOX_MAX_LAG_SECONDS", default=600.0)
READINESS_WECHAT_TOKEN_MAX_AGE_SECONDS = env.float("READINESS_WECHAT_TOKEN_MAX_AGE_SECONDS", default=7200.0)
# How often each db_worker records its heartbeat (core/heartbeat.py).
WORKER_HEARTBEAT_SECONDS = env.float("WORKER_HEARTBEAT_SECONDS", default=15.0)
if WORKER_HEARTBEAT_SECONDS <= 0 or WORKER_HEARTBEAT_SECONDS * 2 > READINESS_WORKER_HEARTBEAT_MAX_AGE_SECONDS:
    raise ImproperlyConfigured(
        "WORKER_HEARTBEAT_SECONDS must be positive and at most half of READINESS_WORKER_HEARTBEAT_MAX_AGE_SECONDS"
    )
# /metrics (core/metrics.py) answers a bearer token equal to METRICS_TOKEN, or a client address
# inside METRICS_ALLOWED_IPS (addresses or CIDR networks); anyone else gets 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
import ipaddress  # noqa: E402  (kept with the block that uses it)

METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"] if EMBEDDED_DEFAULTS else [])
for _net in METRICS_ALLOWED_IPS:
    try:
        ipaddress.ip_network(_net, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {_net!r} is not an address or network") from None
# The staff-screen audit (who did what: residents.SensitiveAccessLog, each case's and request's
# timeline, the `stq.audit` log lines) is kept at least this long; 网络安全法 §21 asks for six months.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=183)
if AUDIT_RETENTION_DAYS < 180:
    raise ImproperlyConfigured("AUDIT_RETENTION_DAYS must be at least 180 (网络安全法 §21: six months)")
# Error reporting (core/errortracking.py): off unless SENTRY_DSN is set.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from core.errortracking import init as _init_error_tracking

    _init_error_tracking(
        SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="development" if DEBUG else "production"),
        release=env.str("SENTRY_RELEASE", default=""),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )
# Log lines: JSON objects, one a line (core/logs.py), or plain text; JSON unless DEBUG.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, got {LOG_FORMAT!r}")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "core.logs.ContextFilter"}},
    "formatters": {
        "plain": {"()": "core.logs.PlainFormatter"},
        "json": {"()": "core.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
