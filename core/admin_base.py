"""Admin bases shared by every app: records that must not change are viewable only."""

from django.contrib import admin


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
