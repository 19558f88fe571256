from core.rest import api_path, operation_view

# --- audit trail and audit report (report helper) ----------------------------------------------------
AuditEventsView = operation_view("AuditEventsView", get="get_audit_trail")
AuditReportView = operation_view("AuditReportView", get="generate_audit_report")

urlpatterns = [
    *api_path("audit-events", AuditEventsView, "audit-events"),
    *api_path("compliance/audit-report", AuditReportView, "compliance-audit-report"),
]
