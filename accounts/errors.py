from core.errors import DomainError


class AccountLocked(DomainError):
    code = "account_locked"
    status = 403
    default_message = "Too many failed attempts; the account is locked for a while."


class InvalidScopes(DomainError):
    code = "invalid_scopes"
    status = 400


class UnknownRole(DomainError):
    code = "unknown_role"
    status = 400


class WeakPassword(DomainError):
    code = "weak_password"
    status = 400


class InvalidRateLimit(DomainError):
    code = "invalid_rate_limit"
    status = 400
    default_message = "A rate limit looks like '600/min' (per s, min, hour or day)."


class InvalidApiKey(DomainError):
    code = "invalid_api_key"
    status = 401
    default_message = "Invalid API key."


class ApiKeyExpired(DomainError):
    code = "api_key_expired"
    status = 401
    default_message = "This API key has expired."


class ApiKeyRevoked(DomainError):
    code = "api_key_revoked"
    status = 401
    default_message = "This API key has been revoked."
