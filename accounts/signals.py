from auditlog.registry import auditlog
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete, post_save

from core.snapshots import invalidating

from .models import ApiKey, Customer, User

# Field history where it matters; the hot money paths are not registered (see build notes).
auditlog.register(Customer)
auditlog.register(ApiKey, exclude_fields=["secret_hash", "last_used_at"])
auditlog.register(User, exclude_fields=["password", "last_login"], m2m_fields={"groups"})

# A cached API key carries its owner (active?) and the owner's permissions (selectors.API_KEYS):
# any change to keys, users, groups or their permissions makes every cached key stale.
from .selectors import API_KEYS  # noqa: E402

_stale_keys = invalidating(API_KEYS)


def _user_saved(sender, update_fields=None, **kwargs) -> None:
    # A login saves only `last_login` (django.contrib.auth's update_last_login), which no cached key
    # depends on: each staff login would otherwise make every key read SQL again.
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    _stale_keys()


post_save.connect(_user_saved, sender=User, weak=False, dispatch_uid="api_keys.save.User")
for model in (ApiKey, Group):
    post_save.connect(_stale_keys, sender=model, weak=False, dispatch_uid=f"api_keys.save.{model.__name__}")
for model in (ApiKey, User, Group):
    post_delete.connect(_stale_keys, sender=model, weak=False, dispatch_uid=f"api_keys.delete.{model.__name__}")
for through in (User.groups.through, User.user_permissions.through, Group.permissions.through):
    m2m_changed.connect(_stale_keys, sender=through, weak=False, dispatch_uid=f"api_keys.m2m.{through.__name__}")
