"""Local development and `make run`: the embedded defaults, a generated SECRET_KEY."""

from .base import *  # noqa: F403
from .base import SECRET_KEY as _SECRET_KEY
from .base import env

DEBUG = env("DEBUG", default=False)
SECRET_KEY = _SECRET_KEY or "dev-only-" + "x" * 60
API_KEY_HMAC_SECRET = env("API_KEY_HMAC_SECRET", default="") or SECRET_KEY
# The demo trains and activates a fraud model (payments/risk/demo.py); its payments are scored by it.
PAYMENTS_RISK_SCORER = env.str("PAYMENTS_RISK_SCORER", default="payments.risk.scorer.model_scorer")
