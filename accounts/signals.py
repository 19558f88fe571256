from auditlog.registry import auditlog

from .models import ApiKey, Customer, User

# Field history where it matters; the hot money paths are not registered (see build notes).
auditlog.register(Customer)
auditlog.register(ApiKey, exclude_fields=["secret_hash", "last_used_at"])
auditlog.register(User, exclude_fields=["password", "last_login"], m2m_fields={"groups"})
