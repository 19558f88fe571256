"""The one admin site: Django admin behind a second factor (django-otp), with our login flow.

Login is two steps and nobody is logged in before both pass: password, then a TOTP or
backup code. A staff user without a device is led through TOTP enrolment (QR code) and
gets backup codes once. Failed passwords and failed codes both count towards the lockout.
"""

from __future__ import annotations

import functools

from django.contrib.auth import authenticate
from django.contrib.auth import login as auth_login
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.admin import OTPAdminSite
from django_otp.middleware import is_verified

from core.errors import DomainError

PENDING_USER = "bo_2fa_user_id"
PENDING_BACKEND = "bo_2fa_backend"
PENDING_DEVICE = "bo_2fa_enrol_device"
NEXT = "bo_2fa_next"


def method_decorator_never_cache_csrf(fn):
    return method_decorator(csrf_protect)(method_decorator(never_cache)(fn))


class BackOfficeAdminSite(OTPAdminSite):
    site_header = "Payments back-office"
    site_title = "Back-office"
    index_title = "Operations"
    login_form = None
    # No public site behind the back-office: no "View site" link (the bare host leads here).
    site_url = None

    def __init__(self, name: str = "admin"):
        super().__init__(name)

    def get_urls(self):
        custom = [
            path("login/verify/", self.login_verify, name="login_verify"),
            path("login/enroll/", self.login_enroll, name="login_enroll"),
            path("dashboards/<slug:name>/", self.admin_view(self.dashboard), name="dashboard"),
        ]
        return custom + super().get_urls()

    # --- dashboards (monitoring.dashboards): the overview on the home page, one page per area ----------
    def index(self, request, extra_context=None):
        from monitoring.dashboards.views import overview_context

        return super().index(request, {**overview_context(request), **(extra_context or {})})

    def dashboard(self, request, name):
        from monitoring.dashboards.views import dashboard

        return dashboard(request, name)

    # --- step 1: password ---------------------------------------------------------------
    @method_decorator_never_cache_csrf
    def login(self, request, extra_context=None):
        from accounts import services

        if request.method == "GET" and self.has_permission(request):
            return redirect(self._next_url(request))
        context = {**self.each_context(request), "title": "Log in", "error": None,
                   "next": request.GET.get("next", "")}
        if request.method == "POST":
            username = request.POST.get("username", "").strip()
            password = request.POST.get("password", "")
            try:
                services.login_ensure_not_locked(username=username)
            except DomainError as exc:
                context["error"] = exc.message
                return render(request, "admin/bo_login.html", context, status=403)
            user = authenticate(request, username=username, password=password)
            if user is None or not user.is_active or not user.is_staff:
                throttle = services.login_record_failure(username=username, stage="password")
                context["error"] = ("Too many failed attempts; try again later." if throttle.locked_until
                                    else "Please enter the correct username and password for a staff account.")
                context["username"] = username
                return render(request, "admin/bo_login.html", context, status=200)
            request.session.cycle_key()
            request.session[PENDING_USER] = user.pk
            request.session[PENDING_BACKEND] = user.backend
            request.session[NEXT] = request.POST.get("next", "")
            if user_has_device(user):
                return redirect("admin:login_verify")
            return redirect("admin:login_enroll")
        return render(request, "admin/bo_login.html", context)

    # --- step 2: a TOTP or backup code --------------------------------------------------
    @method_decorator_never_cache_csrf
    def login_verify(self, request):
        from accounts import services

        user = self._pending_user(request)
        if user is None:
            return redirect("admin:login")
        context = {**self.each_context(request), "title": "Second factor", "error": None}
        if request.method == "POST":
            try:
                services.login_ensure_not_locked(username=user.get_username())
            except DomainError as exc:
                self._clear_pending(request)
                context["error"] = exc.message
                return render(request, "admin/bo_verify.html", context, status=403)
            device = match_token(user, request.POST.get("otp_token", "").strip())
            if device is None:
                if self._code_refused_locks(request, user):
                    return redirect("admin:login")
                context["error"] = "That code is not valid. Use the current code from your app or a backup code."
                return render(request, "admin/bo_verify.html", context)
            return self._complete_login(request, user, device)
        return render(request, "admin/bo_verify.html", context)

    # --- enrolment for a staff user without a device ------------------------------------
    @method_decorator_never_cache_csrf
    def login_enroll(self, request):
        from accounts import services
        from accounts.models import StaffTOTPDevice

        user = self._pending_user(request)
        if user is None:
            return redirect("admin:login")
        if user_has_device(user):
            return redirect("admin:login_verify")
        device = StaffTOTPDevice.objects.filter(pk=request.session.get(PENDING_DEVICE), user=user,
                                                confirmed=False).first()
        if device is None:
            device = services.totp_enrolment_start(user=user)
            request.session[PENDING_DEVICE] = device.pk
        context = {**self.each_context(request), "title": "Set up your second factor", "error": None,
                   "otpauth_uri": device.config_url, "qr_svg": _qr_svg(device.config_url),
                   "secret": _base32(device.bin_key)}
        if request.method == "POST":
            if not device.verify_token(request.POST.get("otp_token", "").strip()):
                if self._code_refused_locks(request, user):
                    return redirect("admin:login")
                context["error"] = "That code is not valid. Scan the QR code and enter the 6-digit code shown."
                return render(request, "admin/bo_enroll.html", context)
            codes = services.totp_enrolment_confirm(user=user, device=device)
            next_url = self._next_url(request)
            self._complete_login(request, user, device)
            return render(request, "admin/bo_backup_codes.html",
                          {**self.each_context(request), "title": "Your backup codes", "codes": codes,
                           "next": next_url})
        return render(request, "admin/bo_enroll.html", context)

    # --- helpers -------------------------------------------------------------------------
    def _pending_user(self, request):
        from accounts.models import User

        pk = request.session.get(PENDING_USER)
        return User.objects.filter(pk=pk, is_active=True, is_staff=True).first() if pk else None

    def _clear_pending(self, request):
        for key in (PENDING_USER, PENDING_BACKEND, PENDING_DEVICE, NEXT):
            request.session.pop(key, None)

    def _code_refused_locks(self, request, user) -> bool:
        """Counts a wrong second-factor code towards the lockout; when it locks, the pending login
        is dropped (the caller sends the browser back to the password step)."""
        from accounts import services

        throttle = services.login_record_failure(username=user.get_username(), stage="otp")
        if throttle.locked_until:
            self._clear_pending(request)
        return bool(throttle.locked_until)

    def _next_url(self, request):
        candidate = request.session.get(NEXT) or request.GET.get("next") or ""
        if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                                         require_https=request.is_secure()):
            return candidate
        return reverse("admin:index", current_app=self.name)

    def _complete_login(self, request, user, device):
        from accounts import services

        next_url = self._next_url(request)
        backend = request.session.get(PENDING_BACKEND)
        self._clear_pending(request)
        auth_login(request, user, backend=backend)
        otp_login(request, device)
        # OTPMiddleware decorated the user of this request before login replaced it; pages
        # rendered in this same request (the backup codes) ask the new one `is_verified()`.
        request.user.is_verified = functools.partial(is_verified, request.user)
        services.login_record_success(user=user)
        return redirect(next_url)


def _base32(raw: bytes) -> str:
    import base64

    return base64.b32encode(raw).decode().rstrip("=")


def _qr_svg(data: str) -> str:
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return image.to_string(encoding="unicode")



def use_our_celery_app_for_beat(site=None) -> None:
    """The periodic-task form lists the tasks of *our* Celery app.

    django-celery-beat's form and admin read `celery.current_app`, which is per thread: in a
    request thread whose current app is not ours (any code that touched `current_app` before
    `config.celery` made ours the default gets a bare fallback app) the "Task (registered)" list
    is empty. The form here asks our app, after importing every app's tasks module; on an
    existing schedule the list shows its task selected."""
    from django.contrib import admin
    from django_celery_beat import admin as beat_admin
    from django_celery_beat.models import PeriodicTask

    from .celery import app as celery_app

    site = site or admin.site

    class TaskSelect(beat_admin.TaskSelectWidget):
        pass

    TaskSelect.celery_app = celery_app

    class PeriodicTaskForm(beat_admin.PeriodicTaskForm):
        regtask = beat_admin.TaskChoiceField(label=beat_admin.PeriodicTaskForm.base_fields["regtask"].label,
                                             required=False, widget=TaskSelect)

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if self.instance.pk and self.instance.task:
                self.initial.setdefault("regtask", self.instance.task)

    class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin):
        """The bulk actions update without signals: each is audited here, task by task, in the
        transaction of the update (saves and deletes are recorded by core.beat_audit's receivers)."""

        form = PeriodicTaskForm

        def _audited_toggle(self, request, queryset, action):
            from django.db import transaction

            from core.beat_audit import record_enabled

            with transaction.atomic():
                tasks = list(PeriodicTask.objects.filter(pk__in=queryset.values("pk")).order_by("pk")
                             .select_for_update())
                before = {task.pk: task.enabled for task in tasks}
                action(self, request, PeriodicTask.objects.filter(pk__in=before))
                after = dict(PeriodicTask.objects.filter(pk__in=before).values_list("pk", "enabled"))
                record_enabled([t for t in tasks if after.get(t.pk) != before[t.pk]], enabled=after)

        def enable_tasks(self, request, queryset):
            self._audited_toggle(request, queryset, beat_admin.PeriodicTaskAdmin.enable_tasks)

        def disable_tasks(self, request, queryset):
            self._audited_toggle(request, queryset, beat_admin.PeriodicTaskAdmin.disable_tasks)

        def toggle_tasks(self, request, queryset):
            self._audited_toggle(request, queryset, beat_admin.PeriodicTaskAdmin.toggle_tasks)

        def run_tasks(self, request, queryset):
            from django.db import transaction

            from core.beat_audit import record_run_requested

            tasks = list(queryset)
            beat_admin.PeriodicTaskAdmin.run_tasks(self, request, queryset)
            self.celery_app.loader.import_default_modules()
            if all(self.celery_app.tasks.get(task.task) for task in tasks):  # else nothing was sent
                with transaction.atomic():
                    record_run_requested(tasks)

        enable_tasks.short_description = beat_admin.PeriodicTaskAdmin.enable_tasks.short_description
        disable_tasks.short_description = beat_admin.PeriodicTaskAdmin.disable_tasks.short_description
        toggle_tasks.short_description = beat_admin.PeriodicTaskAdmin.toggle_tasks.short_description
        run_tasks.short_description = beat_admin.PeriodicTaskAdmin.run_tasks.short_description

    PeriodicTaskAdmin.celery_app = celery_app
    if site.is_registered(PeriodicTask):
        site.unregister(PeriodicTask)
    site.register(PeriodicTask, PeriodicTaskAdmin)


def use_money_in_audit_log(site=None) -> None:
    """django-auditlog's history shows each changed field's stored value: for an amount, minor
    units ("amount: 2700"). Here amounts read as money ("27.00 USD"), for every model whose admin
    declares them (`MoneyAdminMixin.money_fields`)."""
    from auditlog import get_logentry_model
    from auditlog.admin import LogEntryAdmin
    from auditlog.render import render_logentry_changes_html
    from django.contrib import admin

    from core.admin_base import MoneyAdminMixin, money_text

    site = site or admin.site
    log_entry = get_logentry_model()

    def as_money(entry) -> dict:
        changes = entry.changes_dict
        model = entry.content_type.model_class()
        model_admin = site._registry.get(model)
        if not isinstance(model_admin, MoneyAdminMixin) or not isinstance(changes, dict):
            return changes
        currency_field = model_admin.money_currency_field
        currency = _latest(changes.get(currency_field)) or (
            model._default_manager.filter(pk=entry.object_pk).values_list(currency_field, flat=True).first())
        shown = dict(changes)
        for field in model_admin.money_fields:
            values = changes.get(field)
            if currency and isinstance(values, list):
                shown[field] = [money_text(int(v), currency) if _is_int(v) else v for v in values]
        return shown

    class MoneyLogEntryAdmin(LogEntryAdmin):
        @admin.display(description="Changes")
        def msg(self, obj):
            return render_logentry_changes_html(_Changes(obj, as_money(obj)))

    if site.is_registered(log_entry):
        site.unregister(log_entry)
    site.register(log_entry, MoneyLogEntryAdmin)


class _Changes:
    """A log entry seen with other `changes_dict` values (what auditlog's renderer reads)."""

    def __init__(self, entry, changes):
        self._entry, self.changes_dict = entry, changes

    def __getattr__(self, name):
        return getattr(self._entry, name)


def _latest(values):
    if isinstance(values, list):
        for value in reversed(values):
            if value not in (None, "None", ""):
                return value
    return None


def _is_int(value) -> bool:
    return isinstance(value, int) or (isinstance(value, str) and value.lstrip("-").isdigit())
