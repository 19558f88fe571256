"""Seeds the KYC limits of every supported currency (staff edit them afterwards in the admin).

- unverified, pending: no withdrawals; outgoing transfers and conversions at most the equivalent of
  1,000 USD per UTC day, per currency.
- rejected: no withdrawals, transfers or conversions (daily limit 0).
- verified: no KYC limit (no row: the code never gates them).

The equivalent of 1,000 USD is 1,000 × the reference rate below (units of the currency per USD,
illustrative, the same as the demo's rates where both have one), rounded half up to two significant
digits in whole major units: 1,000.00 USD, 920.00 EUR, 790.00 GBP, 150,000 JPY, 310.000 KWD. Frozen here
(a migration never reads code that changes later).
"""

from decimal import ROUND_HALF_UP, Decimal

from django.db import migrations

PER_USD = {
    "AED": "3.6725", "ARS": "900", "AUD": "1.52", "BGN": "1.806", "BHD": "0.376", "BRL": "5.0", "CAD": "1.36",
    "CHF": "0.88", "CLP": "940", "CNY": "7.2", "COP": "3900", "CZK": "23", "DKK": "6.89", "EGP": "48",
    "EUR": "0.9234", "GBP": "0.7891", "HKD": "7.8", "HUF": "360", "IDR": "15800", "ILS": "3.7", "INR": "83",
    "ISK": "138", "JOD": "0.709", "JPY": "151.237", "KES": "130", "KRW": "1350", "KWD": "0.3071", "MAD": "10",
    "MXN": "17", "MYR": "4.7", "NGN": "1500", "NOK": "10.7", "NZD": "1.65", "OMR": "0.385", "PEN": "3.75",
    "PHP": "56", "PKR": "280", "PLN": "4.0", "QAR": "3.64", "RON": "4.6", "RSD": "108", "SAR": "3.75",
    "SEK": "10.5", "SGD": "1.35", "THB": "36", "TND": "3.1", "TRY": "32", "TWD": "32", "UAH": "39",
    "UGX": "3800", "USD": "1", "VND": "25000", "XAF": "605", "XOF": "605", "ZAR": "18.5",
}
EXPONENTS = {"BHD": 3, "CLP": 0, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3, "OMR": 3, "TND": 3, "UGX": 0,
             "VND": 0, "XAF": 0, "XOF": 0}  # every other currency: 2
USD_EQUIVALENT = 1000


def daily_limit_minor(currency: str) -> int:
    """1,000 USD in `currency`, two significant digits (half up), whole major units, in minor units."""
    major = Decimal(USD_EQUIVALENT) * Decimal(PER_USD[currency])
    digits = major.adjusted() + 1  # digits before the point
    rounded = int(major.scaleb(2 - digits).quantize(Decimal(1), rounding=ROUND_HALF_UP).scaleb(digits - 2))
    return rounded * 10 ** EXPONENTS.get(currency, 2)


def seed(apps, schema_editor):
    from django.utils import timezone

    KycLimit = apps.get_model("wallets", "KycLimit")
    now = timezone.now()
    rows = []
    for currency in sorted(PER_USD):
        limit = daily_limit_minor(currency)
        for status, outgoing in (("unverified", limit), ("pending", limit), ("rejected", 0)):
            rows.append(KycLimit(kyc_status=status, currency=currency, daily_outgoing_limit=outgoing,
                                 daily_withdrawal_limit=0, created=now, updated=now))
    KycLimit.objects.bulk_create(rows, ignore_conflicts=True)


def unseed(apps, schema_editor):
    apps.get_model("wallets", "KycLimit").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("wallets", "0006_kyc_limits")]

    operations = [migrations.RunPython(seed, unseed)]
