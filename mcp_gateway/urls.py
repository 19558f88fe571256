from django.urls import path

from .auth import protected_resource_metadata
from .views import mcp_endpoint

# Both spellings answer directly: MCP clients do not follow a redirected POST.
urlpatterns = [
    path("mcp/", mcp_endpoint, name="mcp"),
    path("mcp", mcp_endpoint),
    path(".well-known/oauth-protected-resource", protected_resource_metadata, name="mcp-prm"),
    path(".well-known/oauth-protected-resource/mcp", protected_resource_metadata),
    path(".well-known/oauth-protected-resource/mcp/", protected_resource_metadata),
]
