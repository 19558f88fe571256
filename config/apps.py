from django.contrib.admin.apps import AdminConfig
from django_otp.plugins.otp_static.apps import DefaultConfig as OTPStaticConfig
from django_otp.plugins.otp_totp.apps import DefaultConfig as OTPTOTPConfig


class BackOfficeAdminConfig(AdminConfig):
    default_site = "config.admin_site.BackOfficeAdminSite"

    def ready(self):
        super().ready()  # every app's admin module is registered by now
        from .admin_site import use_money_in_audit_log, use_our_celery_app_for_beat

        use_our_celery_app_for_beat()
        use_money_in_audit_log()


# django-otp's apps as staff read them in the admin (their labels, tables and migrations stay).
class BackupCodesConfig(OTPStaticConfig):
    verbose_name = "Backup codes"


class AuthenticatorAppsConfig(OTPTOTPConfig):
    verbose_name = "Authenticator apps (TOTP)"
