from core.rest import api_path, operation_view

# --- PCI self-assessment ---------------------------------------------------------------------------
PciView = operation_view("PciComplianceView", get="validate_pci_compliance")

urlpatterns = [
    *api_path("compliance/pci", PciView, "compliance-pci"),
]
