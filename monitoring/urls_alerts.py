from core.rest import api_path, operation_view

AID = {"alert_id": "alert_id"}

AlertsView = operation_view("AlertsView", get="list_alerts", post="create_alert")
AlertView = operation_view("AlertView", path_params=AID, get="get_alert")
AcknowledgeView = operation_view("AlertAcknowledgeView", path_params=AID, post="acknowledge_alert")
ResolveView = operation_view("AlertResolveView", path_params=AID, post="resolve_alert")

urlpatterns = [
    *api_path("alerts", AlertsView, "alerts"),
    *api_path("alerts/<str:alert_id>", AlertView, "alert"),
    *api_path("alerts/<str:alert_id>/acknowledge", AcknowledgeView, "alert-acknowledge"),
    *api_path("alerts/<str:alert_id>/resolve", ResolveView, "alert-resolve"),
]
