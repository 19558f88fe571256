"""Masking of personal data in exports and reports (`include_pii` off): enough left to tell rows apart
and recognise a known person, not enough to identify a stranger.

mask_email("jane@example.com") -> "j***@e***.com", mask_name("Jane Doe") -> "J*** D***",
mask_ip("203.0.113.7") -> "203.0.113.x" (IPv6: the first four groups, then "x").
"""

from __future__ import annotations

import ipaddress
import re

MASK = "***"
# Bounded runs (RFC 5321 lengths): unbounded ones make the scan quadratic in a long text without '@'.
_EMAIL = re.compile(r"[^\s@<>()\"',;]{1,64}@[^\s@<>()\"',;.]{1,63}(?:\.[^\s@<>()\"',;.]{1,63}){1,8}")


def mask_email(value: str | None) -> str:
    """First letter of the local part, first letter of the domain and its last label:
    "jane@example.com" -> "j***@e***.com". Something that is not an e-mail is masked as a name."""
    if not value:
        return ""
    local, at, domain = value.strip().rpartition("@")
    if not at or not local or not domain:
        return mask_name(value)
    host, dot, tld = domain.rpartition(".")
    if not dot or not host:
        return f"{local[0]}{MASK}@{domain[0]}{MASK}"
    return f"{local[0]}{MASK}@{host[0]}{MASK}.{tld}"


def mask_name(value: str | None) -> str:
    """Each word's first character: "Jane Doe" -> "J*** D***"."""
    if not value:
        return ""
    return " ".join(f"{word[0]}{MASK}" for word in value.split())


def mask_ip(value: str | None) -> str:
    """The host part dropped: "203.0.113.7" -> "203.0.113.x"; IPv6 keeps its /64 network,
    "2001:db8:1:2::5" -> "2001:db8:1:2:x". Not an address: "x"."""
    if not value:
        return ""
    try:
        address = ipaddress.ip_address(str(value).strip())
    except ValueError:
        return "x"
    if isinstance(address, ipaddress.IPv4Address):
        return ".".join(str(address).split(".")[:3]) + ".x"
    groups = address.exploded.split(":")[:4]
    return ":".join(group.lstrip("0") or "0" for group in groups) + ":x"


def mask_emails_in(text: str | None) -> str:
    """Every e-mail address inside free text masked (an actor label "key_ab12 (jane@example.com)")."""
    if not text:
        return ""
    return _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
