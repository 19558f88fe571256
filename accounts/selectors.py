from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Q, QuerySet

from core import clock
from core.ids import fetch_by_public_id
from core.pagination import Page, filter_present, paginate
from core.snapshots import Snapshots

from . import apikeys
from .errors import ApiKeyExpired, ApiKeyRevoked, InvalidApiKey
from .models import ApiKey, Customer

# API keys by prefix, each with its owner and the owner's permissions loaded: what every request
# checks, without SQL (accounts.signals invalidates them).
API_KEYS = Snapshots("api_keys")


# Where django.contrib.auth's ModelBackend keeps a user's permissions once read.
_PERMISSION_CACHES = ("_perm_cache", "_user_perm_cache", "_group_perm_cache")


def _load_api_key(prefix: str) -> ApiKey | None:
    api_key = ApiKey.objects.select_related("owner").filter(prefix=prefix).first()
    if api_key is not None:
        owner = api_key.owner
        owner.get_all_permissions()  # fills the permission caches that `has_perm` reads
        # Frozen: each request's copy of the key then shares them instead of building a few hundred strings again
        # (core.snapshots). Django's backend only reads them once filled.
        for cache_name in _PERMISSION_CACHES:
            if hasattr(owner, cache_name):
                setattr(owner, cache_name, frozenset(getattr(owner, cache_name)))
    return api_key


def api_key_authenticate(*, raw_key: str) -> ApiKey:
    prefix = apikeys.split(raw_key)
    if prefix is None:
        raise InvalidApiKey()
    api_key = API_KEYS.get(prefix, lambda: _load_api_key(prefix))
    if api_key is None or not apikeys.matches(raw_key, api_key.secret_hash):
        raise InvalidApiKey()
    now = clock.now()
    if api_key.revoked_at is not None:
        raise ApiKeyRevoked()
    if api_key.expires_at is not None and api_key.expires_at <= now:
        raise ApiKeyExpired()
    if not api_key.owner.is_active:
        raise InvalidApiKey("The owner of this API key is deactivated.")
    _touch_last_used(api_key, now)
    return api_key


# When this process last wrote each key's `last_used_at` (a cached key's own copy of it is stale).
_last_touched: dict[str, dt.datetime] = {}


def _touch_last_used(api_key: ApiKey, now: dt.datetime) -> None:
    # At most one write a minute per key (and per process: the UPDATE's own condition keeps the
    # column to one change a minute across processes); the check runs on every request.
    threshold = now - dt.timedelta(seconds=settings.API_KEY_LAST_USED_RESOLUTION_SECONDS)
    touched = _last_touched.get(api_key.pk)
    if touched is not None and threshold <= touched <= now:
        api_key.last_used_at = max(api_key.last_used_at or touched, touched)
        return
    if api_key.last_used_at is None or api_key.last_used_at < threshold:
        ApiKey.objects.filter(pk=api_key.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=threshold)
        ).update(last_used_at=now)
        api_key.last_used_at = now
    _last_touched[api_key.pk] = api_key.last_used_at


def customer_get(*, customer_id: str) -> Customer:
    return fetch_by_public_id(Customer, customer_id, field="customer_id", message="No such customer.")


def customer_queryset(*, email: str | None = None, status: str | None = None, country: str | None = None,
                      created_gte: dt.datetime | None = None, created_lte: dt.datetime | None = None,
                      search: str | None = None) -> QuerySet[Customer]:
    qs = filter_present(Customer.objects.all(), email__iexact=email, status=status,
                        country=country.upper() if country else None, created__gte=created_gte,
                        created__lte=created_lte)
    if search:
        qs = qs.filter(Q(email__icontains=search) | Q(name__icontains=search) | Q(id=search))
    return qs


def customer_list(*, limit: int = 20, cursor: str | None = None, **filters) -> Page:
    return paginate(customer_queryset(**filters), limit=limit, cursor=cursor)
