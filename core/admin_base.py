"""Admin pieces shared by every app: read-only bases for records that must not change, and the
loop an admin action runs over the selected objects."""

from django.contrib import admin, messages

from .context import Actor
from .errors import DomainError


def run_for_each(modeladmin, request, objects, label: str, call) -> int:
    """Runs `call(actor, obj)` (a service call) for each object as the signed-in staff member; a
    refusal is reported for its object and the others go on; how many went through is reported once."""
    actor, done = Actor.for_user(request.user), 0
    for obj in objects:
        try:
            call(actor, obj)
        except DomainError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.message} ({exc.code})", messages.ERROR)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, f"{label}: {done} done.", messages.SUCCESS)
    return done


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable; never added, edited or deleted from the admin (actions still call services)."""

    show_full_result_count = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
