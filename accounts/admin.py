from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.template.response import TemplateResponse

from core.admin_add import OperationAddMixin, operation_create
from core.admin_base import ReadOnlyInline
from core.admin_ops import OperationActionsMixin, operation_action
from core.audit import audit_record
from core.context import Actor
from core.errors import DomainError
from core.operations import ALL_SCOPES

from . import services
from .audit import AccountsAction
from .models import ApiKey, BackupCodeDevice, Customer, KycReview, LoginThrottle, StaffTOTPDevice, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "roles", "is_active", "is_staff", "last_login")
    list_filter = ("is_active", "is_staff", "groups")

    @admin.display(description="Roles")
    def roles(self, obj):
        return ", ".join(g.name for g in obj.groups.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:  # later changes are recorded field by field (accounts/signals.py)
            audit_record(action=AccountsAction.STAFF_USER_ADDED, actor=Actor.for_user(request.user), obj=obj,
                         details={"username": obj.get_username(), "is_staff": obj.is_staff,
                                  "is_superuser": obj.is_superuser})


class KycReviewInline(ReadOnlyInline):
    """Each KYC decision on the customer, newest first (written by `update_customer_kyc` only)."""

    model = KycReview
    fields = ("created", "from_status", "to_status", "note", "evidence_reference", "actor_label")
    readonly_fields = fields
    ordering = ("-created", "-id")
    verbose_name_plural = "KYC reviews"


@admin.register(Customer)
class CustomerAdmin(OperationAddMixin, OperationActionsMixin, admin.ModelAdmin):
    """A new customer is the `create_customer` operation; changes to a customer are `update_customer`."""

    list_display = ("id", "email", "name", "country", "status", "kyc_status", "created")
    list_filter = ("status", "kyc_status", "country")
    search_fields = ("=id", "email", "name")
    show_full_result_count = False
    fields = ("id", "email", "name", "country", "status", "kyc_status", "metadata", "created", "updated")
    operation_add = operation_create("create_customer")
    operation_actions = (operation_action("update_customer", label="Update", id_field="customer_id"),
                         operation_action("update_customer_kyc", label="Change KYC status", id_field="customer_id"))
    readonly_fields = fields
    inlines = (KycReviewInline,)
    changed_by_operations_only = True

    def has_delete_permission(self, request, obj=None):
        return False


class ApiKeyCreateForm(forms.Form):
    owner = forms.ModelChoiceField(queryset=User.objects.filter(is_active=True, is_staff=True))
    name = forms.CharField(max_length=100)
    scopes = forms.MultipleChoiceField(choices=[(s, s) for s in ALL_SCOPES], widget=forms.CheckboxSelectMultiple)
    expires_days = forms.IntegerField(min_value=1, required=False, help_text="Blank: never expires.")
    # Checked by api_key_create (one rule for every door); its refusal is shown on the form.
    rate_limit = forms.CharField(max_length=20, required=False, help_text="e.g. 600/min. Blank: the default.")


@admin.register(ApiKey)
class ApiKeyAdmin(OperationActionsMixin, admin.ModelAdmin):
    list_display = ("name", "prefix", "owner", "scope_list", "created", "expires_at", "revoked_at", "last_used_at")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "name", "owner__username")
    readonly_fields = ("id", "prefix", "owner", "name", "scopes", "created", "created_by", "expires_at",
                       "revoked_at", "last_used_at", "rate_limit")
    exclude = ("secret_hash",)
    operation_actions = (operation_action("revoke_api_key", label="Revoke", id_field="api_key_id",
                                          when=lambda key: not key.is_revoked),)
    changed_by_operations_only = True

    @admin.display(description="Scopes")
    def scope_list(self, obj):
        return ", ".join(obj.scopes)

    def has_delete_permission(self, request, obj=None):
        return False

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ApiKeyCreateForm(request.POST or None)
        context = {**self.admin_site.each_context(request), "title": "Create API key", "form": form,
                   "opts": self.model._meta}
        if request.method == "POST" and form.is_valid():
            try:
                created = services.api_key_create(
                    actor=Actor.for_user(request.user), owner=form.cleaned_data["owner"],
                    name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"],
                    expires_days=form.cleaned_data["expires_days"],
                    rate_limit=form.cleaned_data["rate_limit"] or "",
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                return render(request, "admin/accounts/apikey/created.html",
                              {**context, "title": "API key created", "created": created})
        return TemplateResponse(request, "admin/accounts/apikey/create.html", context)


@admin.register(LoginThrottle)
class LoginThrottleAdmin(admin.ModelAdmin):
    list_display = ("username", "failures", "last_failure_at", "locked_until")
    search_fields = ("username",)
    readonly_fields = ("username", "failures", "last_failure_at", "locked_until")

    def has_add_permission(self, request):
        return False


# --- The second factor ---------------------------------------------------------------------------
# Devices are made by enrolment (the login flow) and `create_staff_user`; here staff see them, rename,
# unconfirm (the user enrols again at the next login) or delete them, each audited (accounts/signals.py).
# The seed and the codes are never shown: the seed is encrypted, the codes are only digests.


class _DeviceAdmin(admin.ModelAdmin):
    list_display = ["user", "name", "confirmed", "created_at", "last_used_at"]
    list_filter = ("confirmed",)
    search_fields = ("user__username", "name")
    list_select_related = ("user",)
    fields = ["user", "name", "confirmed", "created_at", "last_used_at", "throttling_failure_count",
              "throttling_failure_timestamp"]
    readonly_fields = ["user", "created_at", "last_used_at", "throttling_failure_count",
                       "throttling_failure_timestamp"]

    def has_add_permission(self, request):
        return False


@admin.register(StaffTOTPDevice)
class StaffTOTPDeviceAdmin(_DeviceAdmin):
    pass


@admin.register(BackupCodeDevice)
class BackupCodeDeviceAdmin(_DeviceAdmin):
    list_display = [*_DeviceAdmin.list_display, "codes_left"]
    fields = [*_DeviceAdmin.fields, "codes_left"]
    readonly_fields = [*_DeviceAdmin.readonly_fields, "codes_left"]

    @admin.display(description="Unused codes")
    def codes_left(self, obj):
        return obj.codes.count()
