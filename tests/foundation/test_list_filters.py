import pytest

from accounts.models import Customer
from accounts.selectors import customer_queryset
from core.pagination import filter_present
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_filter_present_applies_only_given_values():
    gb = CustomerFactory(country="GB", status="active")
    us_blocked = CustomerFactory(country="US", status="blocked")
    CustomerFactory(country="US", status="active")
    assert filter_present(Customer.objects.all(), status=None, country="").count() == 3
    assert list(filter_present(Customer.objects.all(), status="blocked", country=None)) == [us_blocked]
    assert list(customer_queryset(country="gb", status="")) == [gb]
    assert list(customer_queryset(country="us", status="blocked")) == [us_blocked]
