from core.rest import api_path, operation_view

from .views import ExportFileView

# --- PCI self-assessment ---------------------------------------------------------------------------
PciView = operation_view("PciComplianceView", get="validate_pci_compliance")

# --- exports ---------------------------------------------------------------------------------------
EID = {"export_id": "export_id"}
ExportsView = operation_view("ComplianceExportsView", post="export_compliance_data")
ExportView = operation_view("ComplianceExportView", path_params=EID, get="get_compliance_export")

# --- audit trail and audit report ------------------------------------------------------------------
AuditEventsView = operation_view("AuditEventsView", get="get_audit_trail")
AuditReportView = operation_view("AuditReportView", get="generate_audit_report")

urlpatterns = [
    *api_path("audit-events", AuditEventsView, "audit-events"),
    *api_path("compliance/audit-report", AuditReportView, "compliance-audit-report"),
    *api_path("compliance/pci", PciView, "compliance-pci"),
    *api_path("compliance/exports", ExportsView, "compliance-exports"),
    *api_path("compliance/exports/<str:export_id>", ExportView, "compliance-export"),
    *api_path("compliance/exports/<str:export_id>/file", ExportFileView, "compliance-export-file"),
]
