"""`core.admin_base.run_for_each`: the loop every admin action runs over its selected objects."""

from types import SimpleNamespace

import pytest
from django.contrib import messages

from core.admin_base import run_for_each
from core.errors import DomainError


class _Admin:
    def __init__(self):
        self.said = []

    def message_user(self, request, text, level):
        self.said.append((level, text))


@pytest.mark.django_db
def test_refusals_are_reported_per_object_and_the_others_still_run(make_staff):
    staff = make_staff("operator")
    admin, seen = _Admin(), []

    def call(actor, obj):
        if obj == "b":
            raise DomainError("Not today.", code="refused")
        seen.append((actor.kind, actor.id, obj))

    done = run_for_each(admin, SimpleNamespace(user=staff), ["a", "b", "c"], "Archived", call)
    assert done == 2
    assert seen == [("user", str(staff.pk), "a"), ("user", str(staff.pk), "c")]
    assert admin.said == [(messages.ERROR, "b: Not today. (refused)"), (messages.SUCCESS, "Archived: 2 done.")]


@pytest.mark.django_db
def test_nothing_done_reports_only_the_refusals(make_staff):
    admin = _Admin()

    def refuse(actor, obj):
        raise DomainError("No.", code="nope")

    assert run_for_each(admin, SimpleNamespace(user=make_staff("operator")), ["x"], "Voided", refuse) == 0
    assert admin.said == [(messages.ERROR, "x: No. (nope)")]
