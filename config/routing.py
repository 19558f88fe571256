# WebSocket routes; the monitoring app adds the live feed here.
from django.urls import path

from monitoring.live import DashboardConsumer

websocket_urlpatterns: list = [
    path("ws/dashboard/", DashboardConsumer.as_asgi()),
]
