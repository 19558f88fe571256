"""A payment's `ip_country` when the client gives an IP address but no country: a pluggable lookup.

`settings.PAYMENTS_IP_COUNTRY_LOOKUP` is the dotted path of a callable `ip -> country code | None`
(default empty: nothing is derived). `payment_create` calls it only when `ip_address` is given and
`ip_country` is not; a country the client gives is never replaced. Addresses that are not public
(private, loopback, link-local, reserved...) have no country and never reach the lookup.

The built-in lookup `payments.ipcountry.csv_lookup` reads `settings.PAYMENTS_IP_COUNTRY_CSV`: one
range a line, `network,country` (`81.2.69.0/24,GB`, `2a02:c7f::/32,GB`), IPv4 and IPv6 in CIDR
notation, the country as two letters; a first line `network,...` (a header), empty lines and lines
starting with `#` are skipped, further columns are ignored. Ranges must not overlap (a database
export such as a country "blocks" file joined to its country codes has none); an overlapping or
malformed line is an ImproperlyConfigured error naming the line. The file is read once per process
and read again when its modification time changes.
"""

from __future__ import annotations

import bisect
import csv
import ipaddress
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)
COUNTRY = re.compile(r"[A-Z]{2}")

Lookup = Callable[[str], str | None]
_lookups: dict[str, Lookup] = {}


def public_address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address when it is a valid public (globally routable) one, else None."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:  # not an address at all: it has no country (the doors validate it before us)
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address if address.is_global else None


def derive_country(ip_address: str | None) -> str:
    """The configured lookup's country for a public address, or "" (no lookup configured, not a
    public address, or the lookup does not know it)."""
    path = settings.PAYMENTS_IP_COUNTRY_LOOKUP
    if not path or not ip_address or public_address(ip_address) is None:
        return ""
    lookup = _lookups.get(path)
    if lookup is None:
        lookup = _lookups[path] = import_string(path)
    country = lookup(ip_address)
    if country is None:
        return ""
    country = str(country).upper()
    if not COUNTRY.fullmatch(country):
        # A lookup returning something else than a country code is misconfigured: the payment goes on
        # without a country, and the operators see why.
        logger.warning("ip_country lookup %s returned %r for an address; ignored", path, country)
        return ""
    return country


@dataclass(frozen=True)
class _Table:
    starts: list[int]
    ends: list[int]
    countries: list[str]

    def find(self, value: int) -> str | None:
        i = bisect.bisect_right(self.starts, value) - 1
        return self.countries[i] if i >= 0 and value <= self.ends[i] else None


_tables: dict[str, tuple[float, dict[int, _Table]]] = {}


def load_csv(path: str) -> dict[int, _Table]:
    """{IP version: table of sorted, non-overlapping ranges} from a CSV file in the format above."""
    ranges: dict[int, list[tuple[int, int, str, int]]] = {4: [], 6: []}
    with open(path, newline="", encoding="utf-8") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
                continue
            if number == 1 and row[0].strip().lower() == "network":
                continue
            if len(row) < 2:
                raise ImproperlyConfigured(f"{path} line {number}: expected network,country")
            try:
                network = ipaddress.ip_network(row[0].strip())
            except ValueError as exc:
                raise ImproperlyConfigured(f"{path} line {number}: {exc}") from exc
            country = row[1].strip().upper()
            if not COUNTRY.fullmatch(country):
                raise ImproperlyConfigured(f"{path} line {number}: {row[1]!r} is not a two-letter country code")
            ranges[network.version].append((int(network.network_address), int(network.broadcast_address),
                                            country, number))
    tables = {}
    for version, rows in ranges.items():
        rows.sort()
        for before, after in zip(rows, rows[1:], strict=False):
            if after[0] <= before[1]:
                raise ImproperlyConfigured(f"{path} line {after[3]} overlaps line {before[3]}")
        tables[version] = _Table([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
    return tables


def csv_lookup(ip: str) -> str | None:
    """The built-in lookup: the country of the range of `settings.PAYMENTS_IP_COUNTRY_CSV` holding `ip`."""
    path = settings.PAYMENTS_IP_COUNTRY_CSV
    if not path:
        raise ImproperlyConfigured("PAYMENTS_IP_COUNTRY_LOOKUP is the CSV lookup but PAYMENTS_IP_COUNTRY_CSV is empty")
    address = public_address(ip)
    if address is None:
        return None
    mtime = os.stat(path).st_mtime
    cached = _tables.get(path)
    if cached is None or cached[0] != mtime:
        cached = _tables[path] = (mtime, load_csv(path))
    return cached[1][address.version].find(int(address))
