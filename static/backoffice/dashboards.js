// Draws each dashboard chart from the JSON its page put in a json_script element (no inline script: the
// Content-Security-Policy allows scripts from 'self' only). The table under each chart holds the same data.
(function () {
  "use strict";

  var UNITS = {money: "", rate: " %", ms: " ms", int: "", decimal: ""};

  function chartType(kind) {
    if (kind === "stacked") return "bar";
    return kind;
  }

  // Amounts in different currencies share no scale: a chart whose money series carry a currency is drawn once per
  // currency, each with its own axis named by it. Other series (counts, rates) are drawn on every currency's chart.
  function currenciesOf(payload) {
    var seen = [];
    payload.datasets.forEach(function (d) {
      if (d.currency && seen.indexOf(d.currency) < 0) seen.push(d.currency);
    });
    return seen;
  }

  function datasetsFor(payload, currency) {
    return payload.datasets.filter(function (d) { return !d.currency || d.currency === currency; });
  }

  function withoutCurrency(text, d) {
    // "Gross (EUR)" on the EUR chart is just "Gross": the chart's heading and axis name the currency.
    return d.currency ? text.replace(" (" + d.currency + ")", "") : text;
  }

  // Chart.js's own palette (its Colors plugin), given by hand on a chart with a band: the plugin colours a chart
  // only when none of its datasets has a colour, and the band's colour is the one of the line it surrounds.
  var PALETTE = [[54, 162, 235], [255, 99, 132], [255, 159, 64], [255, 205, 86], [75, 192, 192], [153, 102, 255],
                 [201, 203, 207]];

  function rgba(rgb, alpha) {
    return "rgba(" + rgb.join(", ") + ", " + alpha + ")";
  }

  // What Chart.js draws for the payload's datasets. A band's two edges are faint lines: the upper one is filled (in
  // its background colour) down to the lower one, under every line (order 1 is drawn first), and the legend has one
  // entry for both.
  function chartDatasets(datasets, labelCount) {
    var points = labelCount > 60 ? 0 : 2;
    var drawn = datasets.map(function (d) {
      return {label: withoutCurrency(d.label, d), data: d.data, unit: d.unit, digits: d.digits, spanGaps: true,
              pointRadius: points};
    });
    if (!datasets.some(function (d) { return d.band; })) return drawn;
    var colours = {}, next = 0;
    datasets.forEach(function (d, i) {
      if (d.band) return;
      colours[d.label] = PALETTE[next++ % PALETTE.length];
      drawn[i].borderColor = rgba(colours[d.label], 1);
      drawn[i].backgroundColor = rgba(colours[d.label], 0.5);
    });
    datasets.forEach(function (d, i) {
      if (!d.band) return;
      var colour = colours[d.band.around] || PALETTE[PALETTE.length - 1];
      var lower = datasets.findIndex(function (other) {
        return other.band && other.band.edge === "lower" && other.band.around === d.band.around;
      });
      Object.assign(drawn[i], {
        boBand: {edge: d.band.edge, label: withoutCurrency(d.band.label, d), lower: lower},
        order: 1, borderWidth: 1, borderColor: rgba(colour, 0.35), backgroundColor: rgba(colour, 0.18),
        pointRadius: 0, pointHoverRadius: 0, fill: d.band.edge === "upper" && lower >= 0 ? lower : false
      });
    });
    return drawn;
  }

  // One legend entry for a band (on its upper edge, in the band's fill), none for its lower edge; a click on it
  // shows or hides both edges.
  var bandLegend = {
    generateLabels: function (chart) {
      var datasets = chart.data.datasets;
      return Chart.defaults.plugins.legend.labels.generateLabels(chart).filter(function (item) {
        var band = datasets[item.datasetIndex].boBand;
        return !band || band.edge === "upper";
      }).map(function (item) {
        var d = datasets[item.datasetIndex];
        if (d.boBand) Object.assign(item, {text: d.boBand.label, fillStyle: d.backgroundColor,
                                           strokeStyle: d.borderColor, lineWidth: 1});
        return item;
      });
    },
    onClick: function (event, item, legend) {
      var chart = legend.chart, band = chart.data.datasets[item.datasetIndex].boBand;
      var visible = !chart.isDatasetVisible(item.datasetIndex);
      [item.datasetIndex].concat(band && band.lower >= 0 ? [band.lower] : []).forEach(function (index) {
        chart.setDatasetVisibility(index, visible);
      });
      chart.update();
    }
  };

  function build(canvas, payload, datasets, currency) {
    var stacked = payload.kind === "stacked";
    var many = datasets.length > 1 || payload.kind === "doughnut";
    var drawn = chartDatasets(datasets, payload.labels.length);
    var banded = drawn.some(function (d) { return d.boBand; });
    var options = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: {mode: "index", intersect: false},
      plugins: {
        // Under the plot with small swatches: above it, a dozen entries took half the chart's height.
        legend: {display: many, position: "bottom", labels: {boxWidth: 12, boxHeight: 12, padding: 8, font: {size: 11}}},
        tooltip: {
          callbacks: {
            label: function (item) {
              var money = item.dataset.unit === "money" && currency;
              var unit = money ? " " + currency : (UNITS[item.dataset.unit] || "");
              // An amount keeps its currency's minor digits (7,982.20 USD, 1,000 JPY), as the table beside it.
              var digits = money && item.dataset.digits !== undefined ? item.dataset.digits : null;
              var format = digits === null ? undefined : {minimumFractionDigits: digits, maximumFractionDigits: digits};
              return item.dataset.label + ": " + Number(item.parsed.y !== undefined ? item.parsed.y : item.parsed)
                .toLocaleString(undefined, format) + unit;
            }
          }
        }
      }
    };
    if (banded) {
      options.plugins.legend.onClick = bandLegend.onClick;
      options.plugins.legend.labels.generateLabels = bandLegend.generateLabels;
    }
    if (payload.kind !== "doughnut") {
      options.scales = {x: {stacked: stacked}, y: {stacked: stacked, beginAtZero: true}};
      if (currency) options.scales.y.title = {display: true, text: currency};
    }
    return new Chart(canvas, {type: chartType(payload.kind), options: options,
                              data: {labels: payload.labels, datasets: drawn}});
  }

  function draw(figure) {
    var name = figure.getAttribute("data-chart");
    var dataElement = document.getElementById("chart-" + name + "-data");
    var canvas = figure.querySelector("canvas");
    if (!dataElement || !canvas || typeof Chart === "undefined") return null;
    var payload = JSON.parse(dataElement.textContent);
    if (payload.kind === "table") return null;
    var currencies = currenciesOf(payload);
    if (currencies.length < 2) {
      var chart = build(canvas, payload, payload.datasets, currencies[0] || "");
      // Refreshed with its own currency's series only: a live payload may carry a currency new since.
      chart.boCurrency = currencies[0] || "";
      return chart;
    }
    // One panel per currency in place of the page's single canvas.
    var holder = canvas.parentNode, panels = document.createElement("div"), charts = {};
    panels.className = "bo-chart-panels";
    currencies.forEach(function (currency) {
      var panel = document.createElement("section"), heading = document.createElement("h3");
      var box = document.createElement("div"), own = document.createElement("canvas");
      panel.className = "bo-chart-panel";
      panel.setAttribute("data-currency", currency);
      heading.textContent = currency;
      box.className = "bo-chart-canvas";
      own.setAttribute("role", "img");
      own.setAttribute("aria-label", canvas.getAttribute("aria-label") + ", " + currency);
      box.appendChild(own);
      panel.appendChild(heading);
      panel.appendChild(box);
      panels.appendChild(panel);
    });
    holder.parentNode.replaceChild(panels, holder);
    currencies.forEach(function (currency) {
      var own = panels.querySelector('[data-currency="' + CSS.escape(currency) + '"] canvas');
      charts[currency] = build(own, payload, datasetsFor(payload, currency), currency);
    });
    return {panels: charts};
  }

  window.boDashboardDatasets = function (payload, currency) {
    return currency ? datasetsFor(payload, currency) : payload.datasets;
  };
  window.boDashboardChartDatasets = chartDatasets;

  function drawAll() {
    var charts = {};
    document.querySelectorAll("figure.bo-chart[data-chart]").forEach(function (figure) {
      var chart = draw(figure);
      if (chart) charts[figure.getAttribute("data-chart")] = chart;
    });
    window.boDashboardCharts = charts;
    document.dispatchEvent(new CustomEvent("bo:charts-drawn", {detail: charts}));
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();

// Live updates: the page listens on /ws/dashboard/ (verified staff only) and, a second after an event (then at most
// every MIN_REFRESH_MS), fetches its own numbers again (?format=json, same period) to refresh tiles and charts without a reload.
(function () {
  "use strict";

  // A refresh rebuilds the whole page on the server: one a second after the first event, then at most one every
  // MIN_REFRESH_MS however busy the feed is.
  var DEBOUNCE_MS = 1000, MIN_REFRESH_MS = 5000, MAX_ITEMS = 8, MAX_BACKOFF_MS = 30000;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function start(root) {
    // The server says where its feed is only when it speaks WebSocket (ASGI); otherwise the page stays static.
    var liveUrl = root.getAttribute("data-live-url");
    if (!liveUrl || typeof WebSocket === "undefined" || typeof fetch === "undefined") return;
    var name = root.getAttribute("data-dashboard");
    var panel = el("section", "bo-live");
    panel.setAttribute("aria-labelledby", "bo-live-title");
    var head = el("h2", "bo-live-title", "Live");
    head.id = "bo-live-title";
    var state = el("span", "bo-live-state bo-live-connecting", "connecting");
    state.setAttribute("data-live-state", "connecting");
    head.appendChild(document.createTextNode(" "));
    head.appendChild(state);
    var list = el("ul", "bo-live-list");
    list.setAttribute("aria-live", "polite");
    list.setAttribute("data-live-list", "");
    var empty = el("li", "bo-muted bo-live-empty", "Waiting for new payments, status changes and alerts.");
    list.appendChild(empty);
    panel.appendChild(head);
    panel.appendChild(list);
    var anchor = root.querySelector(".bo-dash-section, .bo-charts");
    if (anchor) root.insertBefore(panel, anchor); else root.appendChild(panel);

    function setState(value) {
      state.textContent = value;
      state.setAttribute("data-live-state", value);
      state.className = "bo-live-state bo-live-" + value;
    }

    function jsonUrl() {
      var params = new URLSearchParams(window.location.search);
      params.delete("chart");
      params.set("format", "json");
      return "/admin/dashboards/" + encodeURIComponent(name) + "/?" + params.toString();
    }

    function flash(tile) {
      tile.classList.remove("bo-tile-live");
      void tile.offsetWidth;  // restart the animation when the same tile changes twice
      tile.classList.add("bo-tile-live");
    }

    function apply(data) {
      Object.keys(data.tiles || {}).forEach(function (key) {
        var tile = root.querySelector('[data-tile="' + CSS.escape(key) + '"]');
        var valueNode = tile && tile.querySelector("[data-tile-value]");
        var text = data.tiles[key].text;
        if (valueNode && valueNode.textContent !== text) {
          valueNode.textContent = text;
          flash(tile);
        }
      });
      var charts = window.boDashboardCharts || {};
      function refreshChart(chart, labels, datasets) {
        chart.data.labels = labels;
        // In place where a dataset was drawn (a series hidden from its legend stays hidden), drawn as at load if new.
        window.boDashboardChartDatasets(datasets, labels.length).forEach(function (d, i) {
          if (chart.data.datasets[i]) {
            chart.data.datasets[i].data = d.data;
            chart.data.datasets[i].label = d.label;
          } else {
            chart.data.datasets.push(d);
          }
        });
        chart.data.datasets.length = datasets.length;
        chart.update();
      }
      Object.keys(data.charts || {}).forEach(function (chartName) {
        var chart = charts[chartName], payload = data.charts[chartName];
        if (!chart || !payload.datasets) return;
        if (chart.panels) {
          // A currency new since the page was drawn shows on the next load; the drawn ones refresh here.
          Object.keys(chart.panels).forEach(function (currency) {
            refreshChart(chart.panels[currency], payload.labels, window.boDashboardDatasets(payload, currency));
          });
        } else {
          refreshChart(chart, payload.labels, window.boDashboardDatasets(payload, chart.boCurrency));
        }
      });
      root.setAttribute("data-live-generated", data.generated_at || "");
    }

    var timer = null, lastRefresh = 0;
    function refresh() {
      timer = null;
      lastRefresh = Date.now();
      fetch(jsonUrl(), {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) { if (data) apply(data); })
        .catch(function () { setState("error"); });
    }

    function show(event) {
      if (empty.parentNode) list.removeChild(empty);
      var item = el("li", "bo-live-item");
      var time = el("time", "bo-muted", (event.created || "").slice(11, 19));
      time.setAttribute("datetime", event.created || "");
      item.appendChild(time);
      item.appendChild(document.createTextNode(" " + (event.summary || event.type) + " "));
      item.appendChild(el("code", "", event.object_id || ""));
      list.insertBefore(item, list.firstChild);
      while (list.children.length > MAX_ITEMS) list.removeChild(list.lastChild);
    }

    var backoff = 1000;
    function connect() {
      var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      var socket = new WebSocket(scheme + window.location.host + liveUrl);
      setState("connecting");
      socket.addEventListener("open", function () { backoff = 1000; setState("live"); });
      socket.addEventListener("message", function (message) {
        var data;
        try { data = JSON.parse(message.data); } catch (e) { return; }
        if (data.type !== "event" || !data.event) return;
        show(data.event);
        if (!timer) timer = setTimeout(refresh, Math.max(DEBOUNCE_MS, lastRefresh + MIN_REFRESH_MS - Date.now()));
      });
      socket.addEventListener("close", function (event) {
        if (event.code === 4403) { setState("refused"); return; }  // not a verified session: don't retry
        setState("offline");
        setTimeout(connect, backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      });
    }
    connect();
  }

  function startAll() {
    document.querySelectorAll("[data-dashboard][data-live-url]").forEach(start);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", startAll);
  } else {
    startAll();
  }
})();
