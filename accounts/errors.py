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
