"""Reads for risk analysts and agents: the review queue, a payment's assessment, fraud patterns."""

from __future__ import annotations

import datetime as dt
import math

from django.db.models import Count, Max, Q
from django.db.models.functions import TruncHour

from core import clock
from core.errors import ValidationFailed
from core.pagination import Page, paginate

from . import RiskContext
from .context import payment_context
from .features import LOOKBACK
from .online import from_ms, to_ms

ANALYSES = ("velocity", "shared_devices", "merchant_compromise", "behavioral_anomaly")
DEFAULT_THRESHOLD = {"velocity": 10, "shared_devices": 3, "merchant_compromise": 0.05, "behavioral_anomaly": 50}
ROWS_PER_FINDING = 20


def review_queue_payments(*, currency: str | None = None):
    """The payments waiting for a review decision: held for review, still authorised (one whose authorisation
    failed or was canceled has nothing left to decide)."""
    from payments.models import Payment

    qs = Payment.objects.filter(review_status=Payment.Review.PENDING, status=Payment.Status.REQUIRES_CAPTURE)
    return qs.filter(currency=currency) if currency else qs


def review_queue(*, limit: int | None = None, cursor: str | None = None) -> Page:
    return paginate(review_queue_payments().select_related("customer"), limit=limit, cursor=cursor)


def recent_history(payment, n: int = 10) -> list:
    from payments.models import Payment

    return list(Payment.objects.filter(customer_id=payment.customer_id, created__lt=payment.created)
                .order_by("-created")[:n])


def linked_entities(payment) -> dict:
    """Other customers seen on the same device or the same card fingerprint (provider token)."""
    from payments.models import Payment

    out: dict[str, list[str]] = {}
    for name, field, value in (("same_device", "device_id", payment.device_id),
                               ("same_card", "payment_method", payment.payment_method)):
        if not value:
            out[name] = []
            continue
        out[name] = sorted(Payment.objects.filter(**{field: value}).exclude(customer_id=payment.customer_id)
                           .values_list("customer_id", flat=True).distinct()[:20])
    return out


def assess(*, payment_id: str | None = None, customer_id: str | None = None, amount: int | None = None,
           currency: str = "", method: str = "card", channel: str = "", device_id: str = "", ip_country: str = "",
           merchant_reference: str = "") -> dict:
    """The agent's payment context for a stored payment, or for a proposed one (nothing is stored)."""
    from accounts.selectors import customer_get
    from payments.selectors import payment_get

    from .scorer import model_scorer

    if payment_id:
        p = payment_get(payment_id=payment_id)
        customer = p.customer
        ctx = RiskContext(customer_id=customer.id, customer_status=customer.status, amount=p.amount,
                          currency=p.currency, method=p.method, channel=p.channel, device_id=p.device_id,
                          ip_address=p.ip_address, merchant_reference=p.merchant_reference, ip_country=p.ip_country,
                          card_country=p.card_country, at=p.created, payment_id=p.id)
        at = p.created
    else:
        if customer_id is None or amount is None:  # AssessmentInput requires both without payment_id
            raise ValidationFailed({f: ["Required without payment_id."]
                                    for f, v in (("customer_id", customer_id), ("amount", amount)) if v is None})
        customer = customer_get(customer_id=customer_id)
        at = clock.now()
        ctx = RiskContext(customer_id=customer.id, customer_status=customer.status, amount=amount, currency=currency,
                          method=method, channel=channel, device_id=device_id, merchant_reference=merchant_reference,
                          ip_country=ip_country, at=at)
    result = model_scorer(ctx)
    return payment_context(ctx, result, customer, _history(customer.id, at))


def _history(customer_id: str, at: dt.datetime) -> int:
    from payments.models import Payment

    return Payment.objects.filter(customer_id=customer_id, created__lt=at,
                                  created__gte=from_ms(to_ms(at) - LOOKBACK)).count()


def fraud_patterns(*, analysis_type: str, days: int = 30, threshold: float | None = None) -> dict:
    """Findings of one analysis over the last `days`, each with the payments behind it."""
    from payments.models import Payment

    threshold = DEFAULT_THRESHOLD[analysis_type] if threshold is None else threshold
    since = clock.now() - dt.timedelta(days=days)
    recent = Payment.objects.filter(created__gte=since)
    findings = []
    if analysis_type == "velocity":
        hours = (recent.annotate(hour=TruncHour("created")).values("customer_id", "hour")
                 .annotate(n=Count("pk")).filter(n__gte=_min_count(threshold)).order_by("-n", "customer_id")[:50])
        for h in hours:
            rows = recent.filter(customer_id=h["customer_id"], created__gte=h["hour"],
                                 created__lt=h["hour"] + dt.timedelta(hours=1))
            findings.append(_finding("customer", h["customer_id"], h["n"], rows, hour=clock.isoformat(h["hour"])))
    elif analysis_type == "shared_devices":
        devices = (recent.exclude(device_id="").values("device_id").annotate(customers=Count("customer", distinct=True))
                   .filter(customers__gte=_min_count(threshold)).order_by("-customers", "device_id")[:50])
        for d in devices:
            findings.append(_finding("device", d["device_id"], d["customers"], recent.filter(device_id=d["device_id"])))
    elif analysis_type == "merchant_compromise":
        merchants = (recent.exclude(merchant_reference="").values("merchant_reference")
                     .annotate(labelled=Count("pk", filter=Q(fraud_label__isnull=False)),
                               fraud=Count("pk", filter=Q(fraud_label=True)))
                     .filter(fraud__gte=1).order_by("-fraud", "merchant_reference")[:200])
        for m in merchants:
            rate = m["fraud"] / m["labelled"]
            if rate >= threshold:
                rows = recent.filter(merchant_reference=m["merchant_reference"], fraud_label=True)
                findings.append(_finding("merchant", m["merchant_reference"], m["fraud"], rows,
                                         fraud_rate=round(rate, 4), labelled=m["labelled"]))
    else:  # behavioral_anomaly: payments the model scored at or above the threshold, per customer
        scored = (recent.filter(risk_score__gte=threshold).values("customer_id")
                  .annotate(n=Count("pk"), top=Max("risk_score")).order_by("-top", "-n", "customer_id")[:50])
        for s in scored:
            rows = recent.filter(customer_id=s["customer_id"], risk_score__gte=threshold)
            findings.append(_finding("customer", s["customer_id"], s["n"], rows, top_score=s["top"]))
    return {"analysis_type": analysis_type, "since": clock.isoformat(since), "threshold": threshold,
            "findings": findings[:50]}


def _min_count(threshold: float) -> int:
    """A count is an integer: `count >= threshold` is `count >= ceil(threshold)`, which is what Django
    does with a float compared with an integer field (IntegerFieldFloatRounding); the float is kept."""
    return math.ceil(threshold)


def _finding(kind: str, key: str, count: int, rows, **extra) -> dict:
    ids = list(rows.order_by("-created", "-pk").values_list("pk", flat=True)[:ROWS_PER_FINDING])
    return {"kind": kind, "key": key, "count": count, "payment_ids": ids, **extra}
