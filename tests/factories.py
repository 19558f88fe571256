import factory
from django.contrib.auth.models import Group

from accounts.models import Customer, User
from core import clock

DEFAULT_PASSWORD = "correct horse battery staple"


class StaffUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@staff.example")
    is_staff = True

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or DEFAULT_PASSWORD)
        obj.save()

    @factory.post_generation
    def role(obj, create, extracted, **kwargs):
        if extracted:
            obj.groups.add(Group.objects.get(name=extracted))


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    name = factory.Sequence(lambda n: f"Customer {n}")
    country = "US"
    # Verified: tests of something else are not held by KYC limits (tests/wallets/test_kyc.py sets others).
    kyc_status = Customer.KycStatus.VERIFIED
    created = factory.LazyFunction(clock.now)
    updated = factory.LazyFunction(clock.now)
