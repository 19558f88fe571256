from core.errors import DomainError


class NotAuthenticated(DomainError):
    code = "not_authenticated"
    status = 401
    default_message = "This tool needs an API key: send Authorization: Bearer <API key>."
