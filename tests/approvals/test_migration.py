"""Moving the approval models from mcp_gateway to approvals keeps every row: the tables stay, the
content types (and so the permissions granted on them) move with the models."""

import datetime as dt

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from approvals.models import ApprovalRequest, ApprovalThreshold

BEFORE = [("mcp_gateway", "0002_staff_help_text"), ("approvals", None)]
AFTER = [("mcp_gateway", "0003_approvals_moved_to_their_app"), ("approvals", "0001_initial")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state([t for t in targets if t[1]]).apps


@pytest.mark.django_db(transaction=True)
def test_rows_written_before_the_move_are_read_after_it(make_key):
    key = make_key("*").api_key
    old = migrate(BEFORE)
    OldType = old.get_model("contenttypes", "ContentType")
    OldPermission = old.get_model("auth", "Permission")
    for model in ("approvalthreshold", "approvalrequest"):
        OldType.objects.filter(app_label="approvals", model=model).delete()
        OldType.objects.get_or_create(app_label="mcp_gateway", model=model)
    request_type = OldType.objects.get(app_label="mcp_gateway", model="approvalrequest")
    decide, _ = OldPermission.objects.get_or_create(content_type=request_type, codename="decide_approvalrequest",
                                                    defaults={"name": "Can approve or reject held calls"})
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    threshold = old.get_model("mcp_gateway", "ApprovalThreshold").objects.create(
        id="thr_before", api_key_id=key.pk, operation="refund_payment", currency="USD", amount=50_000,
        created=now, updated=now)
    old.get_model("mcp_gateway", "ApprovalRequest").objects.create(
        id="apr_before", api_key_id=key.pk, operation="refund_payment", arguments={"payment_id": "pay_1"},
        idempotency_key="k1", fingerprint="f" * 64, amount=60_000, currency="USD", threshold_id=threshold.id,
        requested_at=now, expires_at=now + dt.timedelta(hours=24))

    migrate(AFTER)
    ContentType.objects.clear_cache()

    moved = ApprovalRequest.objects.get()
    assert (moved.pk, moved.operation, moved.amount, moved.threshold_id, moved.arguments) == (
        "apr_before", "refund_payment", 60_000, "thr_before", {"payment_id": "pay_1"})
    assert list(ApprovalThreshold.objects.values_list("pk", "amount")) == [("thr_before", 50_000)]
    assert ContentType.objects.get_for_model(ApprovalRequest).pk == request_type.pk
    assert not ContentType.objects.filter(app_label="mcp_gateway", model__startswith="approval").exists()
    from django.contrib.auth.models import Permission

    # The same permission row (and so every grant of it) is now approvals.decide_approvalrequest.
    assert Permission.objects.get(content_type__app_label="approvals", codename="decide_approvalrequest").pk == (
        decide.pk)
