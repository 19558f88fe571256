"""A payment's ip_country: the client's when given, derived from its address only when a lookup is
configured, never for an address that is not public; the built-in CSV lookup of CIDR ranges."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from payments import ipcountry

CSV = """network,country
# documentation ranges stand in for a real export here
81.2.69.0/24,gb
8.8.8.0/24,US
2001:4860::/32,US
"""


@pytest.fixture
def csv_lookup(settings, tmp_path):
    path = tmp_path / "ranges.csv"
    path.write_text(CSV)
    settings.PAYMENTS_IP_COUNTRY_LOOKUP = "payments.ipcountry.csv_lookup"
    settings.PAYMENTS_IP_COUNTRY_CSV = str(path)
    return path


def test_derived_when_a_lookup_is_configured(pay, csv_lookup):
    assert pay(ip_address="81.2.69.142").ip_country == "GB"
    assert pay(ip_address="2001:4860:4860::8888").ip_country == "US"
    assert pay(ip_address="9.9.9.9").ip_country == ""  # in no range: unknown


def test_a_given_country_is_kept(pay, csv_lookup):
    assert pay(ip_address="81.2.69.142", ip_country="FR").ip_country == "FR"


def test_nothing_derived_without_a_lookup(pay, settings):
    assert settings.PAYMENTS_IP_COUNTRY_LOOKUP == ""
    assert pay(ip_address="81.2.69.142").ip_country == ""


def test_private_and_local_addresses_have_no_country(pay, settings, csv_lookup):
    calls = []
    settings.PAYMENTS_IP_COUNTRY_LOOKUP = "tests.payments.test_ip_country.recording_lookup"
    recording_lookup.calls = calls
    for ip in ("10.1.2.3", "192.168.0.7", "127.0.0.1", "::1", "fe80::1", "100.64.0.1"):
        assert pay(ip_address=ip).ip_country == "", ip
    assert calls == []  # the lookup is never asked about them
    assert pay(ip_address="81.2.69.1").ip_country == "NL"
    assert calls == ["81.2.69.1"]
    assert ipcountry.csv_lookup("10.0.0.1") is None and ipcountry.csv_lookup("::ffff:81.2.69.1") == "GB"


def recording_lookup(ip):
    recording_lookup.calls.append(ip)
    return "nl"


def test_csv_lookup_refuses_overlapping_or_malformed_ranges(tmp_path):
    overlapping = tmp_path / "overlap.csv"
    overlapping.write_text("81.2.69.0/24,GB\n81.2.69.128/25,FR\n")
    with pytest.raises(ImproperlyConfigured, match="line 2 overlaps line 1"):
        ipcountry.load_csv(str(overlapping))
    bad = tmp_path / "bad.csv"
    bad.write_text("81.2.69.0/24,GBR\n")
    with pytest.raises(ImproperlyConfigured, match="line 1: 'GBR' is not a two-letter country code"):
        ipcountry.load_csv(str(bad))
