"""The one compliance endpoint that is not an operation: an export's file, streamed.

`GET /api/v1/compliance/exports/{export_id}/file` answers an API key with scope compliance:read, or a staff
session past its second factor (the admin's download link), whose user holds the export permission (and the
personal-data one for an export that includes it), until the export expires (410 `export_expired` after).
Each download is audited (`compliance_export_download`).
"""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from core.errors import InsufficientScope, PermissionDenied
from core.operations import scope_allows
from core.rest import actor_for_request
from core.schema import common_error_responses, error_response, path_id_parameter

from .exports import CONTENT_TYPES
from .services import compliance_export_download

READ_SCOPE = "compliance:read"


class ExportFileView(APIView):
    @extend_schema(operation_id="download_compliance_export", tags=["compliance"],
                   summary="Download a compliance export's file",
                   description=("The export's file (CSV or JSON Lines) as an attachment, while the export is "
                                "succeeded and not expired. Needs scope compliance:read and the "
                                "compliance.export_compliance_data permission (and compliance.export_personal_data "
                                "when the export includes personal data). Errors: not_found, export_not_ready "
                                "(409), export_expired (410), permission_denied, insufficient_scope."),
                   parameters=[path_id_parameter("export_id", "The export (exp_ id).")],
                   responses={
                       **{(200, media_type.split(";")[0]): OpenApiResponse(OpenApiTypes.BINARY,
                                                                           description="The file.")
                          for media_type in CONTENT_TYPES.values()},
                       **dict(sorted({
                           **common_error_responses(READ_SCOPE),
                           404: error_response("No such export (or a wrong id prefix): not_found."),
                           409: error_response("The export is not succeeded (yet): export_not_ready."),
                           410: error_response("The export expired and its file was deleted: export_expired."),
                       }.items()))})
    def get(self, request: Request, export_id: str) -> FileResponse:
        actor = actor_for_request(request)
        if actor.api_key is not None:
            if not scope_allows(actor.api_key.scopes, READ_SCOPE):
                raise InsufficientScope(details={"required_scope": READ_SCOPE})
        elif not (request.user.is_staff and getattr(request.user, "is_verified", lambda: False)()):
            raise PermissionDenied("Sign in to the admin with your second factor to download exports.")
        export, path = compliance_export_download(actor=actor, export_id=export_id)
        response = FileResponse(path.open("rb"), as_attachment=True, filename=path.name,
                                content_type=CONTENT_TYPES[export.format])
        response["Cache-Control"] = "no-store"
        response["X-Content-SHA256"] = export.sha256
        return response
