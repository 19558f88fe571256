# WebSocket routes; the monitoring app adds the live feed here.
websocket_urlpatterns: list = []
