from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Compliance"

    def ready(self) -> None:
        # pci registers the PCI checks; tasks: the outbox runs them by name
        from . import audit, operations, pci, pci_audit, tasks  # noqa: F401
