"""Production: refuses to start without a SECRET_KEY, turns on every transport protection."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import FIELD_ENCRYPTION_KEYS, MCP_AUTH_DISABLED, WEBHOOK_ALLOW_PRIVATE_TARGETS, env

SECRET_KEY = env("SECRET_KEY", default="")
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be set to at least 50 random characters in production.")
API_KEY_HMAC_SECRET = env("API_KEY_HMAC_SECRET", default="") or SECRET_KEY
if MCP_AUTH_DISABLED:
    raise ImproperlyConfigured("MCP_AUTH_DISABLED is for conformance runs only and is refused in production.")
if WEBHOOK_ALLOW_PRIVATE_TARGETS:
    raise ImproperlyConfigured("WEBHOOK_ALLOW_PRIVATE_TARGETS is for development and tests and is refused in "
                               "production.")

from core.crypto import parse_keys  # noqa: E402  (the key check needs the settings above, not Django)

if not parse_keys(FIELD_ENCRYPTION_KEYS):
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set in production (base64 of 32 random bytes each).")

DEBUG = False
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Health checks come from the load balancer over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
