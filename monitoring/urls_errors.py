from core.rest import api_path, operation_view

ErrorsView = operation_view("ErrorsView", get="get_errors", post="log_error")
ErrorView = operation_view("ErrorView", path_params={"error_id": "error_id"}, get="get_error")
ErrorResolveView = operation_view("ErrorResolveView", path_params={"error_id": "error_id"}, post="resolve_error")

urlpatterns = [
    *api_path("errors", ErrorsView, "errors"),
    *api_path("errors/<str:error_id>", ErrorView, "error"),
    *api_path("errors/<str:error_id>/resolve", ErrorResolveView, "error-resolve"),
]
