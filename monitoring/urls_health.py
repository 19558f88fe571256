from core.rest import api_path, operation_view

HealthView = operation_view("SystemHealthView", get="perform_health_check")
StatusView = operation_view("SystemStatusView", get="get_system_status")

urlpatterns = [
    *api_path("system/health", HealthView, "system-health"),
    *api_path("system/status", StatusView, "system-status"),
]
