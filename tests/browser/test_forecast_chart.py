"""The Revenue page's forecast chart in Chromium: the 80 % interval is one shaded band between the lower and upper
bounds, under the forecast line, with one legend entry, on a desk and on a phone; no console error."""

import datetime as dt
import random

import pytest

from core import clock
from monitoring.services_revenue import forecast_compute
from tests.dashboards.test_revenue import captured
from tests.factories import CustomerFactory

from .conftest import ARTIFACTS
from .test_admin_pages import log_in_new_staff

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

START = dt.date(2026, 1, 1)
COMPUTED = dt.datetime.combine(START + dt.timedelta(days=60), dt.time(0, 20), tzinfo=dt.UTC)


def noisy(day: int, scale: int) -> int:
    # A level with a wobble of up to +-50 % (the same each run): the forecast is nearly flat and its interval tens of
    # pixels tall, so the band has room inside and outside it (a weekly shape swings the line across the band).
    return (10_000 + random.Random(day).randint(-5_000, 5_000)) // scale


@pytest.fixture
def forecasts(system_actor):
    customer = CustomerFactory()
    for day in range(60):
        when = dt.datetime.combine(START + dt.timedelta(days=day), dt.time(9), tzinfo=dt.UTC)
        captured(customer, when, noisy(day, 1), 0)
        captured(customer, when, noisy(day, 3), 0, currency="EUR")
    with clock.frozen_at(COMPUTED):
        run = forecast_compute(actor=system_actor)
    assert [f.currency for f in run.stored] == ["EUR", "USD"]
    return {f.currency: f for f in run.stored}


# Per currency's panel: the legend, each dataset's label and values, how Chart.js resolved the band's fill, the order
# it draws the datasets in, and canvas pixels sampled inside the band, above it and below it at each forecast day.
PANELS = """() => {
  const panels = window.boDashboardCharts.forecast.panels;
  return Object.fromEntries(Object.entries(panels).map(([currency, chart]) => {
    const datasets = chart.data.datasets, x = chart.scales.x, y = chart.scales.y, area = chart.chartArea;
    const ratio = chart.currentDevicePixelRatio, context = chart.canvas.getContext("2d");
    const index = (label) => datasets.findIndex((d) => d.label === label);
    const [forecast, lower, upper] = ["Forecast", "Lower (80 %)", "Upper (80 %)"].map(index);
    const pixel = (px, py) => [...context.getImageData(Math.round(px * ratio), Math.round(py * ratio), 1, 1).data];
    // Days are a few pixels apart, so a line's segments beside a day run steeply through its column: each sample
    // keeps clear of every line between the day and its neighbours.
    const near = (dataset, i) => [i - 1, i, i + 1].map((j) => datasets[dataset].data[j])
      .filter((value) => value !== null && value !== undefined).map((value) => y.getPixelForValue(value));
    const days = datasets[forecast].data.flatMap((value, i) => value === null ? [] : [i]);
    // The band's first and last columns are its edges: sampled a pixel inside.
    const first = x.getPixelForValue(days[0]) + 1, last = x.getPixelForValue(days[days.length - 1]) - 1;
    const samples = [];
    days.forEach((i) => {
      const px = Math.min(Math.max(x.getPixelForValue(i), first), last), line = Math.min(...near(forecast, i));
      const top = Math.max(...near(upper, i)), bottom = Math.max(...near(lower, i));
      const highest = Math.min(...near(upper, i));
      samples.push({
        inside: line - top >= 10 ? pixel(px, (line + top) / 2) : null,
        above: highest - area.top >= 10 ? pixel(px, highest - 6) : null,
        below: area.bottom - bottom >= 10 ? pixel(px, bottom + 6) : null,
      });
    });
    const filler = chart.getDatasetMeta(upper).$filler;
    return [currency, {
      legend: chart.legend.legendItems.map((item) => item.text),
      labels: datasets.map((d) => d.label),
      data: datasets.map((d) => d.data),
      fill: filler ? {visible: filler.visible, target: filler.fill} : null,
      drawnFirst: chart.getSortedVisibleDatasetMetas().map((meta) => meta.index).reverse(),
      samples,
    }];
  }));
}"""


# What each panel's tooltip says of two forecast values (the browser's locale is Chromium's default, en-US).
TOOLTIPS = """() => Object.fromEntries(Object.entries(window.boDashboardCharts.forecast.panels).map(([currency,
                                                                                                 chart]) => {
  const label = chart.options.plugins.tooltip.callbacks.label;
  const forecast = chart.data.datasets.find((d) => d.label === "Forecast");
  return [currency, [7982.2, 1234].map((y) => label({dataset: forecast, parsed: {y}}))];
}))"""


def band_coloured(rgba):
    # The forecast's pink (255, 99, 132) at the band's low opacity over the transparent canvas, a grid line or the
    # band's faint edge under or beside it: red well above green and blue, neither clear nor opaque as the line is.
    r, g, b, a = rgba
    return 0 < a < 192 and r - g > 80 and r - b > 40


def test_forecast_interval_is_a_shaded_band_under_the_forecast_line(watched_page, system_actor, forecasts):
    watched, page = watched_page, watched_page.page
    log_in_new_staff(watched, system_actor, "forecaster", "admin")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1440, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        watched.goto("/admin/dashboards/revenue/", wait_for="figure[data-chart=forecast] .bo-chart-panel canvas")
        panels = page.evaluate(PANELS)
        assert sorted(panels) == ["EUR", "USD"]
        for currency, panel in panels.items():
            points = forecasts[currency].points
            assert panel["legend"] == ["Actual", "Forecast", "80 % interval"], (width, currency)
            assert panel["labels"] == ["Actual", "Forecast", "Lower (80 %)", "Upper (80 %)"]
            actual, forecast, lower, upper = panel["data"]
            # The band spans the forecast's 30 days exactly, from its lower to its upper bound (major units).
            days = [i for i, value in enumerate(forecast) if value is not None]
            assert len(days) == 30 and days == list(range(days[0], days[0] + 30))
            assert [i for i, value in enumerate(lower) if value is not None] == days
            assert [i for i, value in enumerate(upper) if value is not None] == days
            assert [(lower[i], upper[i]) for i in days] == [(p["lower"] / 100, p["upper"] / 100) for p in points]
            assert all(value is None for value in actual[days[0]:])
            # The upper bound is filled down to the lower one, and drawn before the lines, so under them.
            assert panel["fill"] == {"visible": True, "target": 2}
            assert panel["drawnFirst"] == [3, 2, 1, 0]
            inside = [s["inside"] for s in panel["samples"] if s["inside"]]
            above = [s["above"] for s in panel["samples"] if s["above"]]
            below = [s["below"] for s in panel["samples"] if s["below"]]
            assert len(inside) >= 15 and len(above) >= 15 and len(below) >= 15, (width, currency, panel["samples"])
            assert [p for p in inside if not band_coloured(p)] == [], (width, currency)
            assert [p for p in above + below if band_coloured(p)] == [], (width, currency)
        # A tooltip's amount keeps its currency's two digits, as the table beside the chart: 7,982.20, not 7,982.2.
        assert page.evaluate(TOOLTIPS) == {"EUR": ["Forecast: 7,982.20 EUR", "Forecast: 1,234.00 EUR"],
                                           "USD": ["Forecast: 7,982.20 USD", "Forecast: 1,234.00 USD"]}
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (width, overflow)
        page.locator("figure[data-chart=forecast]").screenshot(path=str(ARTIFACTS / f"forecast-{width}.png"))
    assert watched.problems == []
