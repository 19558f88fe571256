"""The dashboard pages by name. Page `<name>` lives in `page_<name>.py` and registers itself with
`@register_page`; `load()` imports them all once."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from .charts import Page
from .period import Period

# The URL names, in the order the navigation shows them; "overview" is the admin home.
NAMES = ("revenue", "payments", "customers", "fraud", "wallets", "subscriptions", "monitoring")
OVERVIEW = "overview"


@dataclass(frozen=True)
class PageOption:
    """A page's own query parameter beside the period (e.g. revenue's `interval`): parsed by the view, passed to
    `build` as a keyword, kept in CSV links and shown as a select in the filter form. `parse` raises
    InvalidPeriod (400) for a bad value."""

    name: str
    label: str
    choices: tuple[str, ...]
    parse: Callable[[str | None], str]


@dataclass(frozen=True)
class PageSpec:
    name: str
    title: str
    build: Callable[..., Page]  # build(period, **options)
    # The Django permission a staff user needs to see the page (None: any staff user who passed the second factor)
    permission: str | None = None
    description: str = ""
    options: tuple[PageOption, ...] = ()


_PAGES: dict[str, PageSpec] = {}


def register_page(name: str, title: str, *, permission: str | None = None, description: str = "",
                  options: tuple[PageOption, ...] = ()):
    if name not in (*NAMES, OVERVIEW):
        raise ValueError(f"unknown dashboard page {name!r}")

    def decorate(build: Callable[[Period], Page]) -> Callable[[Period], Page]:
        _PAGES[name] = PageSpec(name, title, build, permission, description, options)
        return build

    return decorate


def load() -> dict[str, PageSpec]:
    if len(_PAGES) < len(NAMES) + 1:
        for name in (OVERVIEW, *NAMES):
            importlib.import_module(f"monitoring.dashboards.page_{name}")
    return _PAGES


def get(name: str) -> PageSpec | None:
    return load().get(name)


def visible(user) -> list[PageSpec]:
    """The pages this user may open, in navigation order."""
    pages = load()
    return [pages[n] for n in NAMES if n in pages and (not pages[n].permission or user.has_perm(pages[n].permission))]
