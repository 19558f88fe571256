"""Settings shared by every environment.

Everything that differs between machines comes from the environment (or a git-ignored
`.env` file) through django-environ. Unset `DATABASE_URL` means an embedded SQLite file and
unset `REDIS_URL` means in-process cache, channel layer and a filesystem Celery broker, so
`make run` works with nothing but Python installed.
"""

from pathlib import Path
from typing import Any

import environ

from config import log_format

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env(
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, ["localhost", "127.0.0.1", "[::1]", "testserver"]),
    CSRF_TRUSTED_ORIGINS=(list, []),
    API_RATE_LIMIT=(str, "6000/min"),
    LOG_LEVEL=(str, "INFO"),
    MCP_AUTH_DISABLED=(bool, False),
)
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env("DEBUG")
SECRET_KEY = env("SECRET_KEY", default="")
ALLOWED_HOSTS = env("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "config.apps.BackOfficeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",  # its devices are accounts.StaffTOTPDevice and accounts.BackupCodeDevice (secrets protected)
    "auditlog",
    "django_celery_beat",
    "channels",
    "core",
    "accounts",
    "approvals",
    "wallets",
    "payments",
    "subscriptions",
    "compliance",
    "monitoring",
    "webhooks",
    "mcp_gateway",
]

MIDDLEWARE = [
    "core.middleware.RequestContextMiddleware",
    "monitoring.requestlog.RequestLogMiddleware",
    "monitoring.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.CSPMiddleware",
    "core.browser_middleware.SessionMiddleware",  # these four: skipped by sessionless API calls
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "core.browser_middleware.AuthenticationMiddleware",
    "core.browser_middleware.OTPMiddleware",
    "core.browser_middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.auditlog_context.AuditlogMiddleware",  # django-auditlog's, without a signal connected per request
    "core.middleware.ApiErrorMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"
APPEND_SLASH = False

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

# --- Database -----------------------------------------------------------------------------
SQLITE_PATH = BASE_DIR / "var" / "db.sqlite3"
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{SQLITE_PATH}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat) share the file: WAL plus immediate transactions
    # avoid "database is locked" on concurrent writers.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;",
    }
    # models.W040 "SQLite does not support indexes with non-key columns": the INCLUDE columns of the covering
    # indexes (payments, subscriptions, wallets) are a PostgreSQL-only optimisation (index-only scans of the
    # dashboards); SQLite builds the same index on its key columns, which is all it should get. Nothing to fix
    # there, and the warning only buried make run's login banner.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend without the `_like` index beside each indexed text column (core/pgbackend/base.py).
        DATABASES["default"]["ENGINE"] = "core.pgbackend"
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # No JIT compilation: the dashboards' aggregates are estimated above jit_above_cost and spent 0.3-0.65 s
    # compiling for queries that then ran in under a second (docs/dashboards/scale.md); nothing here runs long
    # enough for compiled expressions to pay back.
    # work_mem 32 MB: a month's customers grouped by the dashboards (80,000 groups) hash in memory instead of
    # sorting on disk (4 MB, the default); per sort or hash node, so a few connections stay far below the RAM.
    _pg_options = DATABASES["default"].setdefault("OPTIONS", {})
    _pg_options["options"] = f"{_pg_options.get('options', '')} -c jit=off -c work_mem=32MB".strip()
    # Parameters bound by PostgreSQL, not quoted into the text by psycopg: less Python per statement, and a
    # statement run five times on a connection is prepared (prepare_threshold; Django's default is never), so
    # PostgreSQL stops parsing and planning it (docs/PERFORMANCE.md, "Server-side binding"). core.pgbinding
    # types integer parameters as literals would be. Off for a pooler that cannot keep prepared statements
    # (PgBouncer in transaction mode before 1.21).
    if env.bool("DB_SERVER_SIDE_BINDING", default=True):
        _pg_options.update(server_side_binding=True, prepare_threshold=5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, broker, channel layer -------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
REDIS_KEY_PREFIX = env("REDIS_KEY_PREFIX", default="bo")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_KEY_PREFIX,
            # A Redis outage must not take payments down: throttling and caching degrade.
            "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    }
    DJANGO_REDIS_IGNORE_EXCEPTIONS = True
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    CHANNEL_LAYERS: dict[str, dict[str, Any]] = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": f"{REDIS_KEY_PREFIX}:asgi"},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    # The filesystem transport has no host, but kombu's virtual transports default one ("localhost") and log
    # "No hostname was supplied" each time a connection's info is taken (the worker's banner, every pooled
    # connection a task is sent on) when the URL names none: naming the same default keeps that out of the logs.
    CELERY_BROKER_URL = "filesystem://localhost"
    _broker_dir = BASE_DIR / "var" / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        # Kombu's default is ./control: a stray folder of exchange files in the project's root otherwise.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }

# Live dashboards (monitoring.live): pages open the /ws/dashboard/ socket when they are served over ASGI
# (Daphne: make run, Procfile), or always when this is true (a proxy routes /ws/ to Daphne beside a WSGI
# server: docker-compose's ws service); false never. Unset means "when served over ASGI".
DASHBOARD_LIVE_WEBSOCKET: bool | None = env.bool("DASHBOARD_LIVE_WEBSOCKET", default=None)
DASHBOARD_LIVE_POLL_SECONDS = 1.5

CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Celery logs through our LOGGING (JSON lines with the task id as request id), not its own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Auth and the second factor ---------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "admin:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Idle sessions end after 15 minutes: every request pushes the expiry forward.
SESSION_COOKIE_AGE = 15 * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
LOGIN_LOCKOUT_THRESHOLD = 10
LOGIN_LOCKOUT_MINUTES = 30
OTP_TOTP_ISSUER = "Payments Back-office"
STATIC_BACKUP_CODE_COUNT = 10

# API keys are checked on every request, so the secret is an HMAC (not a slow hash).
API_KEY_HMAC_SECRET = env("API_KEY_HMAC_SECRET", default="") or SECRET_KEY
API_KEY_LAST_USED_RESOLUTION_SECONDS = 60
# Cached API keys with their owners' permissions, and approval thresholds (core.snapshots): with
# Redis a change reaches every process on its next request; with the per-process cache of the
# SQLite quick start other processes see it within SNAPSHOT_LOCAL_SECONDS.
SNAPSHOT_LOCAL_SECONDS = 5
SNAPSHOT_SHARED_SECONDS = 300
# With Redis, a request reads every namespace's version once (one round trip) and relies on it for at most
# this long: a change committed meanwhile applies from the next request on.
SNAPSHOT_SCOPE_SECONDS = 1.0
IDEMPOTENCY_KEY_TTL_HOURS = 24
IDEMPOTENCY_LEASE_SECONDS = 60

# django-auditlog field history: its correlation id is our request id.
AUDITLOG_CID_GETTER = "core.context.current_request_id"

# Request bodies over 1 MiB are 413 `request_too_large` before anything parses them: the same limit
# as /mcp/ (mcp_gateway.rpc.MAX_BODY_BYTES); no REST body or admin form of ours comes near it.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# --- REST ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First, so DRF answers 401 (with WWW-Authenticate) rather than 403.
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_key": env("API_RATE_LIMIT")},
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JsonParser"],
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Payments Back-office API",
    "DESCRIPTION": (
        "REST API of the payments back-office. Authenticate with `Authorization: Bearer <API key>`. "
        "Amounts are decimal strings in major units next to an ISO 4217 `currency`. "
        "Every write accepts an `Idempotency-Key` header."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "APPEND_COMPONENTS": {
        "securitySchemes": {"ApiKey": {"type": "http", "scheme": "bearer"}},
    },
    "SECURITY": [{"ApiKey": []}],
    "AUTHENTICATION_WHITELIST": [],
    # Several models have a `status`; name each enum after its model (add new ones here).
    "ENUM_NAME_OVERRIDES": {
        "CustomerStatusEnum": "accounts.models.Customer.Status",
        "WalletStatusEnum": "wallets.models.Wallet.Status",
        "HoldStatusEnum": "wallets.models.Hold.Status",
        # subscriptions
        "PlanIntervalEnum": "subscriptions.models.Plan.Interval",
        "SubscriptionStatusEnum": "subscriptions.models.Subscription.Status",
        "InvoiceStatusEnum": "subscriptions.models.Invoice.Status",
        "InvoiceBillingReasonEnum": "subscriptions.models.Invoice.Reason",
        # webhooks
        "WebhookDeliveryStatusEnum": "webhooks.models.WebhookDelivery.Status",
        # compliance
        "KycStatusEnum": "accounts.models.Customer.KycStatus",
        "ComplianceExportStatusEnum": "compliance.models.ComplianceExport.Status",
        "PciCheckStatusEnum": ["passed", "failed", "not_applicable"],
        # monitoring: errors (and the compliance export's `kind` keeps the name it had alone)
        "KindEnum": "compliance.models.ComplianceExport.Kind",
        "ErrorGroupKindEnum": "monitoring.models.ErrorGroup.Kind",
        "ErrorGroupLevelEnum": "monitoring.models.ErrorGroup.Level",
    },
    "PREPROCESSING_HOOKS": ["core.rest.schema_without_slashed_aliases"],
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "core.schema.document_currencies_and_headers"],
}

# --- Content security policy (django-csp 4) ---------------------------------------------
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
    }
}

# --- Static files --------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "var" / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
# Served by WhiteNoise from STATIC_ROOT, which `collectstatic` fills (make run, make serve, the image):
# content-hashed names, so browsers may cache them for ever, and pre-compressed copies.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="billing@backoffice.local")

# --- MCP ------------------------------------------------------------------------------------
# Only for conformance runs whose clients cannot send a header; production refuses it.
MCP_AUTH_DISABLED = env("MCP_AUTH_DISABLED")
# Browser origins allowed to call /mcp/ besides loopback ones (any port); others get 403.
MCP_ALLOWED_ORIGINS = env.list("MCP_ALLOWED_ORIGINS", default=[])
MCP_TOOLS_PAGE_SIZE = 100  # tools per tools/list page
MCP_APPROVAL_TTL_HOURS = 24  # a held call nobody decided within this expires

# --- Logging: one JSON object per line, each with the request id -------------------------
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    # No card number in any log line (config/log_format.py, shared with the web server's own logging).
    "filters": dict(log_format.FILTERS),
    "formatters": dict(log_format.FORMATTERS),
    "handlers": {
        "console": dict(log_format.CONSOLE_HANDLER),
        # Records at ERROR and above into the error log (monitoring.errorlog): first, so it reads the
        # message template before the console's card-number filter rewrites the record.
        "errorlog": {"()": "monitoring.errorlog_handler.ErrorLogHandler", "level": "ERROR"},
    },
    "root": {"handlers": ["errorlog", "console"], "level": env("LOG_LEVEL")},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "django.db.backends": {"level": "WARNING"},
        # config/daphne.py routes Daphne's access log here (the mask applies); kept at any LOG_LEVEL.
        "daphne.access": {"level": "INFO"},
    },
}

# --- Payments (payments app) ------------------------------------------------------------------
# Named providers: several sandboxes with different behaviour may sit side by side; Stripe is
# added when a key is in the environment (STRIPE_API_KEY, STRIPE_WEBHOOK_SECRET, STRIPE_API_BASE).
PAYMENTS_PROVIDERS: dict[str, dict[str, Any]] = {
    "sandbox": {"type": "sandbox"},
    "sandbox_alt": {"type": "sandbox"},
}
if env("STRIPE_API_KEY", default=""):
    PAYMENTS_PROVIDERS["stripe"] = {"type": "stripe", "api_base": env("STRIPE_API_BASE", default="") or None}
PAYMENTS_DISABLED_PROVIDERS: list[str] = []
PAYMENTS_MAX_ATTEMPTS = 3
PAYMENTS_ROUTING_WINDOW_HOURS = 24
PAYMENTS_ROUTING_LATENCY_PENALTY_PER_SECOND = 0.05
# Each process keeps fee schedules and routing rules this long (a change saved in the admin applies
# to the saving process's next payment, to every other process's within this bound), and reads the
# routing window statistics once per PAYMENTS_ROUTING_STATS_SECONDS (core.localcache).
PAYMENTS_SETTINGS_CACHE_SECONDS = env.float("PAYMENTS_SETTINGS_CACHE_SECONDS", default=5)
PAYMENTS_ROUTING_STATS_SECONDS = env.float("PAYMENTS_ROUTING_STATS_SECONDS", default=10)
# Each process keeps the KYC limits (wallets.KycLimit) this long: an admin change applies to the saving
# process's next transfer at once, to every other process's within this bound (core.localcache).
KYC_LIMITS_CACHE_SECONDS = env.float("KYC_LIMITS_CACHE_SECONDS", default=5)
PAYMENTS_AUTHORISATION_DAYS = 7
PAYMENTS_RISK_SCORER = env.str("PAYMENTS_RISK_SCORER", default="")  # dotted path; empty: the rule set (docs/RISK.md)
# A payment's ip_country from its ip_address when the client gives no country (payments/ipcountry.py):
# a dotted path of a callable ip -> country code or None; empty: nothing is derived. The built-in
# "payments.ipcountry.csv_lookup" reads PAYMENTS_IP_COUNTRY_CSV (network,country lines, docs/RISK.md).
PAYMENTS_IP_COUNTRY_LOOKUP = env.str("PAYMENTS_IP_COUNTRY_LOOKUP", default="")
PAYMENTS_IP_COUNTRY_CSV = env.str("PAYMENTS_IP_COUNTRY_CSV", default="")

# --- Subscriptions (subscriptions app) --------------------------------------------------------
# Subscriptions renewed (and invoices claimed for collection) per transaction in a billing run.
BILLING_CHUNK_SIZE = 200

# --- Compliance: the sealed audit trail (compliance app, docs/COMPLIANCE.md) ------------------
# Sealed audit events older than AUDIT_ARCHIVE_AFTER_DAYS move to compressed, checksummed archive
# files in AUDIT_ARCHIVE_DIR (daily job); archive files older than AUDIT_RETENTION_DAYS are deleted.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)
AUDIT_ARCHIVE_AFTER_DAYS = env.int("AUDIT_ARCHIVE_AFTER_DAYS", default=90)
AUDIT_ARCHIVE_DIR = env.path("AUDIT_ARCHIVE_DIR", default=BASE_DIR / "var" / "audit-archive")
# Events per archive file (each file is written, read back and its rows deleted in one transaction).
AUDIT_ARCHIVE_FILE_EVENTS = 50_000

# --- Events, outbox, field encryption, webhooks ---------------------------------------------
# Comma-separated keys, each the base64 of 32 random bytes: the first encrypts, all decrypt
# (core.crypto). `make run` writes a development key into .env; production refuses to start without.
FIELD_ENCRYPTION_KEYS = env("FIELD_ENCRYPTION_KEYS", default="")
# Events, delivery logs and sent outbox rows are deleted after this many days (core.purge_events).
EVENT_RETENTION_DAYS = env.int("EVENT_RETENTION_DAYS", default=30)
# Webhook endpoints: plain http:// URLs, and loopback/private/link-local targets, only when allowed
# (development and tests; production refuses the second).
WEBHOOK_ALLOW_INSECURE = env.bool("WEBHOOK_ALLOW_INSECURE", default=False)
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)
WEBHOOK_TIMEOUT_SECONDS = 10
# Retries: exponential from the base, each with up to 25% jitter, capped, given up after the window;
# an endpoint whose deliveries have failed for the whole window is disabled.
WEBHOOK_RETRY_BASE_SECONDS = 30
WEBHOOK_RETRY_MAX_SECONDS = 6 * 3600
WEBHOOK_RETRY_WINDOW_HOURS = 72

# --- Compliance: PCI self-assessment (compliance.pci, docs/COMPLIANCE.md) ------------------------
# The card-number scan reads the newest rows of each table (the evidence states the sample); the log
# scan reads the files of LOGGING's file handlers changed in the last days, at most the last bytes of each.
PCI_SCAN_SAMPLE_ROWS = env.int("PCI_SCAN_SAMPLE_ROWS", default=1000)
PCI_LOG_SCAN_DAYS = env.int("PCI_LOG_SCAN_DAYS", default=7)
PCI_LOG_SCAN_BYTES = 5 * 1024 * 1024
# --- Compliance exports (compliance/exports.py) --------------------------------------------------
# Export files are written here (one file per export, deleted 24 h after it completes).
COMPLIANCE_EXPORT_DIR = env.path("COMPLIANCE_EXPORT_DIR", default=BASE_DIR / "var" / "exports")
COMPLIANCE_EXPORT_MAX_DAYS = 366  # the longest period one export may cover
COMPLIANCE_EXPORT_CHUNK_SIZE = 2000  # rows read per query chunk; progress is saved after each
COMPLIANCE_EXPORT_TTL_HOURS = 24  # the download link's life after the file is written
COMPLIANCE_EXPORT_STALE_HOURS = 6  # an export running longer lost its worker: the hourly job fails it
# --- Compliance: audit report (compliance.selectors.audit_report) ------------------------------
# A refund at or above this amount is a "large refund" exception: major units of the refund's own
# currency (no conversion); "*" applies, in each currency's major units, to currencies not listed.
AUDIT_REPORT_LARGE_REFUND = {"*": "1000", "JPY": "150000", "KRW": "1500000", "CLP": "1000000", "ISK": "150000",
                            "IDR": "15000000"}
# Staff activity outside these UTC hours [start, end) or on other ISO weekdays (1 = Monday) is
# "off-hours staff activity".
AUDIT_REPORT_BUSINESS_HOURS = (7, 19)
AUDIT_REPORT_BUSINESS_DAYS = (1, 2, 3, 4, 5)
# The longest period one report covers, and the events listed per exception (the count is exact).
AUDIT_REPORT_MAX_DAYS = 366
AUDIT_REPORT_EVENTS_PER_EXCEPTION = 50

# --- monitoring: health (monitoring/health.py, docs/MONITORING.md) ----------------------------------
# Network checks (Redis, the broker) connect and read with this timeout and no retries; database checks
# run under a PostgreSQL statement_timeout of the same bound. A service slower than HEALTH_SLOW_MS is degraded.
HEALTH_CHECK_TIMEOUT_SECONDS = env.float("HEALTH_CHECK_TIMEOUT_SECONDS", default=2.0)
HEALTH_SLOW_MS = 500
# get_system_status answers the last recorded check (the minutely job) when it is at most this old.
HEALTH_STATUS_MAX_AGE_SECONDS = 120
HEALTH_CHECK_RETENTION_DAYS = 7  # recorded checks (one a minute) kept this long
HEALTH_HEARTBEAT_STALE_SECONDS = 180  # a worker whose last heartbeat is older is not taking tasks
HEALTH_BEAT_GRACE_SECONDS = 120  # a schedule this late past its due time is overdue
HEALTH_BROKER_QUEUE_DEGRADED = 1000  # tasks waiting in the broker's default queue
HEALTH_OUTBOX_DEGRADED_DUE = 1000  # outbox rows due and not yet sent
HEALTH_OUTBOX_DEGRADED_SECONDS = 300  # the oldest due outbox row has waited this long: degraded
HEALTH_OUTBOX_DOWN_SECONDS = 1800  # ... this long: down
# The disk holding the data directory (SQLite, broker folder, exports, audit archives).
HEALTH_DISK_PATH = env.path("HEALTH_DISK_PATH", default=BASE_DIR / "var")
HEALTH_DISK_DEGRADED_FREE_PERCENT = env.float("HEALTH_DISK_DEGRADED_FREE_PERCENT", default=15.0)
HEALTH_DISK_DOWN_FREE_PERCENT = env.float("HEALTH_DISK_DOWN_FREE_PERCENT", default=5.0)
# The nightly ledger and audit-chain verifications: a last result older than this is degraded.
HEALTH_VERIFICATION_MAX_AGE_HOURS = 26
# Beat writes each schedule's last_run_at after every task it sends (not every 3 minutes), so the beat
# component's "overdue" is exact.
CELERY_BEAT_SYNC_EVERY = 1
# monitoring: alerts
# Who is e-mailed about an alert raised by hand, or by a rule without recipients of its own.
ALERTS_DEFAULT_RECIPIENTS = env.list("ALERTS_DEFAULT_RECIPIENTS", default=[])
# monitoring: errors and tracing (monitoring/errorlog.py, monitoring/tracing.py, docs/MONITORING.md)
# OpenTelemetry: traces of requests, tasks and queries go over OTLP/HTTP to this endpoint (e.g.
# http://otel-collector:4318); unset, nothing is instrumented. The exporter reads the other standard
# OTEL_EXPORTER_OTLP_* variables itself (headers, timeout, compression).
OTEL_EXPORTER_OTLP_ENDPOINT = env("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
OTEL_SERVICE_NAME = env("OTEL_SERVICE_NAME", default="payments-backoffice")
# monitoring: metrics (monitoring.recorder, monitoring.middleware, /metrics; docs/MONITORING.md "Metrics")
# Per-route and per-tool latency, counted in memory and written once a minute per process.
MONITORING_REQUEST_METRICS = env.bool("MONITORING_REQUEST_METRICS", default=True)
# "background" (a writer thread per process), "inline" (the first request of a new minute writes), "off".
MONITORING_METRICS_FLUSH = env("MONITORING_METRICS_FLUSH", default="background")
# /metrics answers a bearer token equal to METRICS_TOKEN, or a client address in METRICS_ALLOWED_IPS
# (addresses or networks, comma-separated); with neither set it refuses everything.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
# monitoring: request log (monitoring.requestlog, docs/MONITORING.md "Request log")
# Every /api/ request and MCP tool call, bodies redacted; kept REQUEST_LOG_RETENTION_DAYS days (a daily purge).
REQUEST_LOG_ENABLED = env.bool("REQUEST_LOG_ENABLED", default=True)
REQUEST_LOG_RETENTION_DAYS = env.int("REQUEST_LOG_RETENTION_DAYS", default=30)
# Each body is stored up to this many characters of its redacted JSON (then as that text, marked truncated).
REQUEST_LOG_MAX_BODY_CHARS = env.int("REQUEST_LOG_MAX_BODY_CHARS", default=16384)
# Rows are queued in memory and bulk-inserted by a thread per process, every FLUSH_SECONDS or once a batch is
# full; a queue past MAX_PENDING drops entries (and logs how many). Off: written right after each answer.
REQUEST_LOG_BACKGROUND = env.bool("REQUEST_LOG_BACKGROUND", default=True)
REQUEST_LOG_FLUSH_SECONDS = env.float("REQUEST_LOG_FLUSH_SECONDS", default=1.0)
REQUEST_LOG_BATCH_SIZE = 200
# Set by config.serve for its workers: the Unix socket of the writer process it starts (monitoring.logrelay).
REQUEST_LOG_RELAY = env.str("REQUEST_LOG_RELAY", default="")
REQUEST_LOG_MAX_PENDING = 10000
