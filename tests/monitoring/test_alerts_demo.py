"""The demo's alert part: the default rules, saved through the service, evaluated once; idempotent."""

import io
import random

import pytest

from monitoring import demo_alerts
from monitoring.models import AlertRule

pytestmark = pytest.mark.django_db


def test_seed_creates_one_rule_per_kind_and_evaluates_them_without_failure():
    out = io.StringIO()
    demo_alerts.seed(rng=random.Random(1), stdout=out)
    demo_alerts.seed(rng=random.Random(1), stdout=out)
    assert sorted(AlertRule.objects.values_list("kind", flat=True)) == sorted(AlertRule.Kind.values)
    assert set(AlertRule.objects.values_list("last_error", flat=True)) == {""}
    # (manage.py's stdout adds the newline; a StringIO does not.)
    lines = out.getvalue().split("  alert rules: ")[1:]
    assert len(lines) == 2 and all(line.startswith("8 evaluated, ") for line in lines)
    assert all(line.endswith(" 0 failed") for line in lines)
