"""Where a webhook may be sent: the request-forgery guard.

Only https:// URLs (http:// when WEBHOOK_ALLOW_INSECURE), and never to a loopback, private,
link-local (the cloud metadata address 169.254.169.254 among them), multicast, reserved or
unspecified address, unless WEBHOOK_ALLOW_PRIVATE_TARGETS (development and tests; production
refuses it). The name is resolved when the endpoint is saved and again at every send, and the
connection goes to the address that was checked (`resolve`), so a name that changes its answer
between the check and the request (DNS rebinding) reaches nothing it was refused.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from .errors import InvalidWebhookUrl, WebhookTargetRefused


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as in the URL (the Host header and TLS name)
    port: int
    path: str  # path and query
    address: str  # the checked address to connect to


def parse(url: str) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidWebhookUrl(details={"url": url}) from None
    allowed = ("https", "http") if settings.WEBHOOK_ALLOW_INSECURE else ("https",)
    if parts.scheme not in allowed or not parts.hostname or parts.username or parts.password:
        raise InvalidWebhookUrl(details={"url": url, "allowed_schemes": list(allowed)})
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def refused_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved
            or ip.is_unspecified or not ip.is_global)


def resolve(url: str) -> Target:
    """The URL's target with the address to connect to; WebhookTargetRefused when any address the
    name resolves to is refused (or it resolves to none)."""
    scheme, host, port, path = parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise WebhookTargetRefused("The URL's host name does not resolve.", details={"host": host}) from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise WebhookTargetRefused("The URL's host name does not resolve.", details={"host": host})
    if not settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        refused = [a for a in addresses if refused_address(a)]
        if refused:
            raise WebhookTargetRefused(details={"host": host, "addresses": refused})
    return Target(scheme, host, port, path, addresses[0])
