from core.rest import api_path, operation_view

RequestLogListView = operation_view("RequestLogListView", get="list_request_logs")
RequestLogView = operation_view("RequestLogView", path_params={"request_log_id": "request_log_id"},
                                get="get_request_log")

urlpatterns = [
    *api_path("request-logs", RequestLogListView, "request-log-list"),
    *api_path("request-logs/<str:request_log_id>", RequestLogView, "request-log-detail"),
]
