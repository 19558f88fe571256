from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Compliance"

    def ready(self) -> None:
        from . import audit, operations, pci  # noqa: F401  (pci registers the PCI checks)
