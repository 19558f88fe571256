from core.rest import api_path, operation_view

ApprovalView = operation_view("ApprovalView", path_params={"approval_id": "approval_id"}, get="get_approval_status")
urlpatterns = [*api_path("approvals/<str:approval_id>", ApprovalView, "approval")]
