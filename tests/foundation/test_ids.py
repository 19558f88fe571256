import collections
import re

import pytest
from django.db import connection

from accounts.models import ApiKey, Customer
from core.errors import NotFound
from core.ids import PublicIdField, get_by_public_id, has_prefix, new_id, random_chars


def test_new_id_has_prefix_and_24_random_base62_chars():
    value = new_id("pay")
    assert re.fullmatch(r"pay_[A-Za-z0-9]{24}", value)


@pytest.mark.parametrize("length", [1, 12, 24, 300])
def test_random_chars_gives_exactly_the_length_asked_in_base62(length):
    # 300 often takes a second CSPRNG read: ~3% of bytes are dropped to keep the choice unbiased.
    assert all(re.fullmatch(rf"[A-Za-z0-9]{{{length}}}", random_chars(length)) for _ in range(50))


def test_ids_are_unguessable():
    ids = {new_id("cus") for _ in range(2000)}
    assert len(ids) == 2000
    # Not sequential: no common stem beyond the prefix.
    assert len({i[:8] for i in ids}) > 1000


def test_id_characters_are_uniform_over_the_alphabet():
    # 480,000 characters: 7,742 expected per character, sd ~88. A modulo bias (bytes 248-255
    # folded onto the first 8 characters) would put those 20% above the rest.
    counts = collections.Counter(ch for _ in range(20_000) for ch in new_id("x")[2:])
    expected = 20_000 * 24 / 62
    assert len(counts) == 62
    assert all(abs(n - expected) < 0.06 * expected for n in counts.values()), counts


@pytest.mark.parametrize(("value", "prefix", "expected"), [
    ("cus_abc", "cus", True), ("pay_abc", "cus", False), ("cus", "cus", False), ("cusabc", "cus", False),
    (None, "cus", False), (123, "cus", False), ("cus_" + "a" * 100, "cus", False),
])
def test_has_prefix(value, prefix, expected):
    assert has_prefix(value, prefix) is expected


@pytest.mark.django_db
def test_public_ids_are_primary_keys_and_indexed():
    from tests.factories import CustomerFactory

    customer = CustomerFactory()
    assert re.fullmatch(r"cus_[A-Za-z0-9]{24}", customer.pk)
    for model in (Customer, ApiKey):
        field = model._meta.pk
        assert isinstance(field, PublicIdField)
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
        assert any(c["primary_key"] and c["columns"] == ["id"] for c in constraints.values())


@pytest.mark.django_db
def test_wrong_prefix_is_404(api):
    r = api.get("/api/v1/customers/pay_abcdefghijklmnopqrstuvwx")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


class _GoneCustomer(NotFound):
    default_message = "That customer is gone."


@pytest.mark.django_db
@pytest.mark.parametrize(("object_id", "queries"), [
    ("pay_abcdefghijklmnopqrstuvwx", 0), (None, 0), (42, 0), ("cus_missing", 1)])
def test_get_by_public_id_answers_not_found_naming_the_field(object_id, queries, django_assert_num_queries):
    with django_assert_num_queries(queries), pytest.raises(NotFound) as info:
        get_by_public_id(Customer.objects.all(), object_id, field="customer_id", message="No such customer.")
    assert (info.value.message, info.value.details, info.value.status) == (
        "No such customer.", {"customer_id": object_id}, 404)
    with pytest.raises(_GoneCustomer) as info:
        get_by_public_id(Customer.objects.all(), object_id, field="id", error=_GoneCustomer)
    assert (info.value.message, info.value.details) == ("That customer is gone.", {"id": object_id})


@pytest.mark.django_db
def test_get_by_public_id_returns_the_object_through_the_queryset():
    from tests.factories import CustomerFactory

    customer = CustomerFactory()
    assert get_by_public_id(Customer.objects.all(), customer.pk, field="customer_id") == customer
    with pytest.raises(NotFound):
        get_by_public_id(Customer.objects.exclude(pk=customer.pk), customer.pk, field="customer_id")


@pytest.mark.django_db
def test_fetch_by_public_id_finds_the_row_and_answers_a_wrong_prefix_without_a_query():
    from django.test.utils import CaptureQueriesContext

    from core.ids import fetch_by_public_id
    from tests.factories import CustomerFactory

    customer = CustomerFactory()
    found = fetch_by_public_id(Customer, customer.pk, field="customer_id")
    assert (found.pk, found.email, found.created) == (customer.pk, customer.email, customer.created)
    with CaptureQueriesContext(connection) as queries, pytest.raises(NotFound) as wrong:
        fetch_by_public_id(Customer, "pay_" + customer.pk[4:], field="customer_id", message="No such customer.")
    assert len(queries) == 0
    assert (wrong.value.message, wrong.value.details) == ("No such customer.",
                                                          {"customer_id": "pay_" + customer.pk[4:]})
    with pytest.raises(NotFound):
        fetch_by_public_id(Customer, "cus_" + "0" * 24, field="customer_id")
