"""What a dashboard page is made of: tiles (one number, its change against the previous period, a link), charts
(the table behind them, plotted by Chart.js, downloadable as CSV) and tables.

Rows hold raw values: money in minor units beside a `currency` key, rates as fractions (Decimal or float),
durations in milliseconds. Formatting for people (decimals with their currency, percentages) happens here, once,
for the HTML table, the chart's data and the CSV alike.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.admin.utils import quote
from django.urls import reverse

from core import clock
from core.money import exponent, format_amount, to_decimal

KINDS = ("line", "bar", "stacked", "doughnut", "table")
COLUMN_KINDS = ("text", "int", "money", "rate", "ms", "date", "decimal")
# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"
    # money: the row key holding the currency (the row's "currency" by default)
    currency_key: str = "currency"
    # a row key whose value is a URL: the cell links there (admin pages of the object)
    link_key: str | None = None
    # money whose direction matters (a movement in or out): shown with its sign, "+" too, so that a reader of
    # one cell never takes money out for money in
    signed: bool = False

    def __post_init__(self) -> None:
        if self.kind not in COLUMN_KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")


def admin_url(model_label: str, pk: Any) -> str:
    """The admin change page of an object (`"payments.payment"`, its id): where a table's row links."""
    app_label, model = model_label.split(".")
    return reverse(f"admin:{app_label}_{model}_change", args=[quote(pk)])


def changelist_url(model_label: str, **filters: str) -> str:
    """An admin changelist, filtered by field lookups in its query string: where a tile links."""
    from urllib.parse import urlencode

    app_label, model = model_label.split(".")
    url = reverse(f"admin:{app_label}_{model}_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def _moment_text(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")


def _rate_text(value: Any) -> str:
    return f"{Decimal(str(value)) * 100:.1f} %"


def display(column: Column, row: dict[str, Any]) -> str:
    """A cell as people read it."""
    value = row.get(column.key)
    if value is None or value == "":
        return "-"
    if column.kind == "money":
        currency = row.get(column.currency_key)
        sign = "+" if column.signed and int(value) > 0 else ""
        return f"{sign}{format_amount(int(value), currency)} {currency}" if currency else str(value)
    if column.kind == "rate":
        return _rate_text(value)
    if column.kind == "int":
        return f"{int(value):,}"
    if column.kind == "ms":
        return f"{float(value):,.0f} ms"
    if isinstance(value, dt.datetime):  # "date" columns hold days or moments; moments read in UTC, to the minute
        return _moment_text(value)
    return str(value)


def plain(column: Column, row: dict[str, Any]) -> str:
    """A cell as a CSV file holds it: money as a decimal string (its currency in its own column), rates as
    fractions, text guarded against formula injection."""
    value = row.get(column.key)
    if value is None:
        return ""
    if column.kind == "money":
        currency = row.get(column.currency_key)
        return str(to_decimal(int(value), currency)) if currency else str(value)
    if column.kind == "rate":
        return str(Decimal(str(value)).quantize(Decimal("0.0001")))
    if isinstance(value, dt.datetime):
        return str(clock.isoformat(value))
    text = str(value)
    if column.kind == "text" and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def number(column: Column, row: dict[str, Any]) -> float | None:
    """A cell as a chart plots it: money in major units, rates in percent."""
    value = row.get(column.key)
    if value is None or value == "":
        return None
    if column.kind == "money":
        currency = row.get(column.currency_key)
        return float(to_decimal(int(value), currency)) if currency else float(value)
    if column.kind == "rate":
        return round(float(value) * 100, 2)
    return float(value)


@dataclass(frozen=True)
class Band:
    """Two of a chart's series drawn as one shaded interval around a third (a forecast's bounds): under the lines,
    in the colour of the series it surrounds, one legend entry named `label`."""

    lower: str
    upper: str
    around: str
    label: str


@dataclass
class Chart:
    """One chart and the table behind it. `x` is the label column; `series` the plotted columns; with `group`
    (for example "currency") each series is drawn once per value of that column. `band` pairs two of the series
    as an interval around a third."""

    name: str
    title: str
    kind: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    x: str | None = None
    series: list[str] = field(default_factory=list)
    group: str | None = None
    description: str = ""
    empty_text: str = "No data in this period."
    band: Band | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown chart kind {self.kind!r}")
        keys = {c.key for c in self.columns}
        missing = [k for k in [self.x, self.group, *self.series] if k and k not in keys]
        if missing:
            raise ValueError(f"chart {self.name}: columns {missing} are not in its table")
        if self.band and (self.kind != "line" or not {self.band.lower, self.band.upper, self.band.around}
                          <= set(self.series)):
            raise ValueError(f"chart {self.name}: a band is drawn on a line chart, between and around its series")

    @property
    def empty(self) -> bool:
        return not self.rows

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    def table(self) -> dict[str, Any]:
        """Headers and display rows (with links) for the accessible table view."""
        return {
            "headers": [c.label for c in self.columns],
            "rows": [[{"text": display(c, row), "url": row.get(c.link_key) if c.link_key else None,
                       "numeric": c.kind not in ("text", "date")}
                      for c in self.columns] for row in self.rows],
        }

    def payload(self) -> dict[str, Any]:
        """What dashboards.js hands to Chart.js (read from a json_script element; never inline script)."""
        if self.kind == "table" or not self.x:
            return {"name": self.name, "kind": "table"}
        # One pass over the rows: a daily chart over years has thousands of labels and several groups.
        index: dict[str, int] = {}
        placed: list[tuple[int, str | None, dict[str, Any]]] = []
        for row in self.rows:
            position = index.setdefault(str(row.get(self.x)), len(index))
            placed.append((position, None if self.group is None else str(row.get(self.group)), row))
        groups: list[str | None] = [None]
        if self.group:
            groups = [*sorted({g for _p, g, _r in placed if g is not None})]

        def label(text: str, group: str | None) -> str:
            return text if group is None else f"{text} ({group})"

        datasets: list[dict[str, Any]] = []
        for key in self.series:
            column = self.column(key)
            data: dict[str | None, list[float | None]] = {group: [None] * len(index) for group in groups}
            for position, group, row in placed:
                data[group][position] = number(column, row)
            for group in groups:
                dataset: dict[str, Any] = {"label": label(column.label, group), "data": data[group],
                                           "unit": column.kind}
                if self.band and key in (self.band.lower, self.band.upper):
                    # dashboards.js fills from the upper edge down to the lower one of the same series' band
                    dataset["band"] = {"edge": "lower" if key == self.band.lower else "upper",
                                       "label": label(self.band.label, group),
                                       "around": label(self.column(self.band.around).label, group)}
                if column.kind == "money" and group is not None and self.group == column.currency_key:
                    # Amounts in different currencies share no scale: dashboards.js draws each currency on a
                    # chart of its own, its axis named by the currency; its tooltips show the currency's digits.
                    dataset["currency"] = group
                    dataset["digits"] = exponent(group)
                datasets.append(dataset)
        return {"name": self.name, "kind": self.kind, "labels": list(index), "datasets": datasets}

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([c.key for c in self.columns])
        for row in self.rows:
            writer.writerow([plain(c, row) for c in self.columns])
        return out.getvalue()


@dataclass
class Tile:
    """One number on a page. `value` is raw (minor units for money, a fraction for rates); `previous` is the same
    measure over the previous period, from which the change is computed."""

    key: str
    label: str
    value: Any
    kind: str = "int"
    currency: str | None = None
    previous: Any = None
    url: str | None = None
    detail: str = ""
    # True where a rise is bad news (failed payments, review queue, alerts): the change is coloured accordingly
    lower_is_better: bool = False

    @property
    def text(self) -> str:
        return display(Column("value", self.label, self.kind), {"value": self.value, "currency": self.currency})

    @property
    def change_fraction(self) -> Decimal | None:
        """The change against the previous period as a fraction: the difference for rates (points / 100), the
        relative change for counts and money; None without a previous value or from zero."""
        if self.previous is None or self.value is None:
            return None
        value, previous = Decimal(str(self.value)), Decimal(str(self.previous))
        if self.kind == "rate":
            return value - previous
        return None if previous == 0 else (value - previous) / abs(previous)

    @property
    def change(self) -> dict[str, Any] | None:
        """The change as people read it: percent for counts and money, points for rates, "new" from zero."""
        if self.previous is None or self.value is None:
            return None
        fraction = self.change_fraction
        if fraction is None:  # from zero
            direction = "up" if Decimal(str(self.value)) > 0 else "flat"
            return {"text": "new" if direction == "up" else "no change", "direction": direction,
                    "good": self._good(direction)}
        direction = "up" if fraction > 0 else "down" if fraction < 0 else "flat"
        unit = "pts" if self.kind == "rate" else "%"
        return {"text": f"{fraction * 100:+.1f} {unit}", "direction": direction, "good": self._good(direction)}

    def _good(self, direction: str) -> bool | None:
        if direction == "flat":
            return None
        return (direction == "down") if self.lower_is_better else (direction == "up")

    def live(self) -> dict[str, Any]:
        return {"key": self.key, "text": self.text, "value": str(self.value) if self.value is not None else None}


@dataclass
class Section:
    """Tiles under a heading (the overview has one per window: today, 7 days, 30 days)."""

    title: str
    tiles: list[Tile]


@dataclass
class Page:
    title: str
    sections: list[Section] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def chart(self, name: str) -> Chart | None:
        return next((c for c in self.charts if c.name == name), None)
