from auditlog.registry import auditlog
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete, post_save

from core.snapshots import invalidating

from .models import ApiKey, BackupCodeDevice, Customer, LoginThrottle, StaffTOTPDevice, User

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


# --- Audit of access control changes (PCI DSS 10.2.1.5, 10.2.2) ----------------------------
# Roles and permissions change in Django's own admin forms (users, groups), in services and in a shell:
# the receivers below record each change in the transaction that makes it, as whoever the context
# names (the staff member of the admin request, a task, a command's system actor).
from django.contrib.auth.signals import user_logged_out  # noqa: E402
from django.db.models.signals import pre_delete  # noqa: E402

from core.audit import audit_record  # noqa: E402
from core.audit_tracking import track_changes  # noqa: E402

from .audit import AccountsAction  # noqa: E402
from .roles import SEEDING_ROLES  # noqa: E402

_ACCESS_FLAGS = ("is_active", "is_staff", "is_superuser")


def _user_tracked(user, created, changed) -> None:
    if created:
        return  # staff_user.created (service) or staff_user.added (admin) says who and how
    flags = {name: values for name, values in changed.items() if name in _ACCESS_FLAGS}
    if flags:
        audit_record(action=AccountsAction.STAFF_USER_ACCESS_CHANGED, obj=user, details={"changed": flags})
    if "password" in changed:
        audit_record(action=AccountsAction.STAFF_USER_PASSWORD_CHANGED, obj=user)  # never the hashes


track_changes(User, (*_ACCESS_FLAGS, "password"), _user_tracked, uid="accounts.User")


def _group_tracked(group, created, changed) -> None:
    if SEEDING_ROLES.get():
        return
    audit_record(action=AccountsAction.GROUP_SAVED, obj=group,
                 details={"name": group.name, "created": created, "changed": changed})


track_changes(Group, ("name",), _group_tracked, uid="auth.Group")


def _device_tracked(device, created, changed) -> None:
    audit_record(action=AccountsAction.OTP_DEVICE_SAVED, obj=device,
                 details={"user_id": str(device.user_id), "name": device.name, "confirmed": device.confirmed,
                          "created": created, "changed": sorted(changed)})  # never a key's value


# Verifying a code saves the device's counters (throttling, drift, last_t): those are not recorded.
track_changes(StaffTOTPDevice, ("user", "name", "confirmed", "key"), _device_tracked, uid="accounts.StaffTOTPDevice")
track_changes(BackupCodeDevice, ("user", "name", "confirmed"), _device_tracked, uid="accounts.BackupCodeDevice")


def _deleted(sender, instance, **kwargs) -> None:
    action = {User: AccountsAction.STAFF_USER_DELETED, Group: AccountsAction.GROUP_DELETED,
              StaffTOTPDevice: AccountsAction.OTP_DEVICE_DELETED, BackupCodeDevice: AccountsAction.OTP_DEVICE_DELETED,
              LoginThrottle: AccountsAction.LOGIN_THROTTLE_CHANGED}[sender]
    if sender is User:
        details = {"username": instance.get_username()}
    elif sender is Group:
        details = {"name": instance.name}
    elif sender is LoginThrottle:  # a lockout cleared (admin delete, credentials reset)
        details = {"username": instance.username, "cleared": True, "failures": instance.failures}
    else:
        details = {"user_id": str(instance.user_id), "name": instance.name}
    audit_record(action=action, obj=instance, details=details)


for model in (User, Group, StaffTOTPDevice, BackupCodeDevice, LoginThrottle):
    pre_delete.connect(_deleted, sender=model, weak=False, dispatch_uid=f"audit.delete.{model._meta.label}")


def _names(model, pks) -> list[str]:
    if model is Group:
        return sorted(Group.objects.filter(pk__in=pks).values_list("name", flat=True))
    return sorted(f"{app}.{codename}" for app, codename in
                  model.objects.filter(pk__in=pks).values_list("content_type__app_label", "codename"))


_M2M_ATTRIBUTE = {User.groups.through: "groups", User.user_permissions.through: "user_permissions",
                  Group.permissions.through: "permissions"}


def _m2m_receiver(action_name):
    def receiver(sender, instance, action: str, reverse: bool, model, pk_set, **kwargs) -> None:
        if SEEDING_ROLES.get():
            return
        if reverse:
            # group.user_set.add(user), permission.group_set.remove(group): one event per owner changed.
            if action in ("post_add", "post_remove"):
                verb = "added" if action == "post_add" else "removed"
                for owner in model._default_manager.filter(pk__in=pk_set or ()):
                    audit_record(action=action_name, obj=owner,
                                 details={verb: _names(type(instance), [instance.pk])})
            elif action == "pre_clear":
                # group.user_set.clear(): the group (or permission) was taken from everyone holding it.
                audit_record(action=action_name, obj=instance, details={"removed_from_all": True})
            return
        if action == "pre_clear":
            # Which rows a clear removes is only known before it runs.
            removed = _names(model, getattr(instance, _M2M_ATTRIBUTE[sender]).values_list("pk", flat=True))
            if removed:
                audit_record(action=action_name, obj=instance, details={"removed": removed})
        elif action in ("post_add", "post_remove") and pk_set:
            verb = "added" if action == "post_add" else "removed"
            audit_record(action=action_name, obj=instance, details={verb: _names(model, pk_set)})

    return receiver


for through, action_name in ((User.groups.through, AccountsAction.STAFF_USER_GROUPS_CHANGED),
                             (User.user_permissions.through, AccountsAction.STAFF_USER_PERMISSIONS_CHANGED),
                             (Group.permissions.through, AccountsAction.GROUP_PERMISSIONS_CHANGED)):
    m2m_changed.connect(_m2m_receiver(action_name), sender=through, weak=False,
                        dispatch_uid=f"audit.m2m.{through.__name__}")


def _logged_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        from .services import logout_record

        logout_record(user=user)


user_logged_out.connect(_logged_out, weak=False, dispatch_uid="audit.logout")
