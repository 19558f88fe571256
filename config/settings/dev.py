"""Local development and `make run`: the embedded defaults, a generated SECRET_KEY."""

from .base import *  # noqa: F403
from .base import BASE_DIR, env
from .base import SECRET_KEY as _SECRET_KEY

DEBUG = env("DEBUG", default=False)
SECRET_KEY = _SECRET_KEY or "dev-only-" + "x" * 60
API_KEY_HMAC_SECRET = env("API_KEY_HMAC_SECRET", default="") or SECRET_KEY

# The demo sends dozens of e-mails (invoices, dunning): one file each under var/mail/, not a flood
# in the console that hides the login banner and the logs.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "mail"))
