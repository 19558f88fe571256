"""Domain errors of the compliance app (stable codes)."""

from core.errors import DomainError, InvalidStateTransition, NotFound


# --- exports ---------------------------------------------------------------------------------------
class ExportNotFound(NotFound):
    default_message = "No such compliance export."


class ExportNotReady(InvalidStateTransition):
    code = "export_not_ready"
    default_message = "The export has no file to download (it is pending, running or failed)."


class ExportExpired(DomainError):
    code = "export_expired"
    status = 410
    default_message = "The export's download link has expired; request a new export."
