from django.contrib.admin.apps import AdminConfig


class BackOfficeAdminConfig(AdminConfig):
    default_site = "config.admin_site.BackOfficeAdminSite"

    def ready(self):
        super().ready()  # every app's admin module is registered by now
        from .admin_site import use_money_in_audit_log, use_our_celery_app_for_beat

        use_our_celery_app_for_beat()
        use_money_in_audit_log()
