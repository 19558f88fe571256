from .rest import api_path, operation_view

EventsView = operation_view("EventsView", get="list_events")
EventView = operation_view("EventView", path_params={"event_id": "event_id"}, get="get_event")

urlpatterns = [
    *api_path("events", EventsView, "events"),
    *api_path("events/<str:event_id>", EventView, "event"),
]
