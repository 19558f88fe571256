"""The shape of the app's services (docs/CONVENTIONS.md, "One way for each thing")."""

import importlib
import inspect
import pkgutil

from subscriptions import services

# Inner helpers that say what they require (`require_transaction()`) instead of being private.
INNER = {"lock_subscription", "lock_invoice", "take_numbers"}
# The services that call a provider between commits, so must never be wrapped in a transaction.
STEPS = {"billing_run", "invoice_pay", "subscription_change", "subscription_create", "subscription_resume"}


def test_every_public_service_is_a_use_case_taking_keyword_arguments_and_an_actor():
    for name in services.__all__:
        service = getattr(services, name)
        assert service.use_case == ("steps" if name in STEPS else "transaction"), name
        parameters = inspect.signature(service).parameters
        assert "actor" in parameters, name
        assert {p.kind for p in parameters.values()} <= {inspect.Parameter.KEYWORD_ONLY,
                                                         inspect.Parameter.VAR_KEYWORD}, name


def test_everything_else_in_the_services_modules_is_private_or_an_inner_helper():
    public = set()
    for module_info in pkgutil.iter_modules(services.__path__):
        module = importlib.import_module(f"{services.__name__}.{module_info.name}")
        public |= {name for name, obj in vars(module).items()
                   if inspect.isfunction(obj) and obj.__module__ == module.__name__ and not name.startswith("_")}
    assert public == set(services.__all__) | INNER
