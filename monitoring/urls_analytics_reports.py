from core.rest import api_path, operation_view

CustomReportView = operation_view("CustomReportView", post="generate_custom_report")

urlpatterns = [
    *api_path("analytics/reports", CustomReportView, "analytics-reports"),
]
