/* results-page charts: reads the json next to the canvases and draws them with the vendored chart.js.
   every arm has its own dash pattern and point marker, so the charts read without colour too.
   chart.js (61 KB compressed, and slow to compile on a phone) is fetched only after the page has painted its
   numbers: its <script> tag names it by content hash in data-chart-src. */
(function () {
  "use strict";

  var chartSrc = document.currentScript && document.currentScript.getAttribute("data-chart-src");
  var loading = false;

  function hexToRgba(hex, alpha) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + alpha + ")";
  }

  // marker sizes per point come with the data (app/domain/results/charts.py: every point of a short series,
  // so a one-point series still shows every arm)
  function lineDataset(arm, data, radius) {
    return {
      label: arm.name,
      data: data,
      borderColor: arm.colour,
      backgroundColor: arm.colour,
      borderDash: arm.dash,
      borderWidth: 2,
      pointStyle: arm.point,
      pointRadius: radius,
      pointHoverRadius: 5,
      spanGaps: true,
      tension: 0.2,
    };
  }

  function percentAxis(title) {
    return { min: 0, max: 100, title: { display: true, text: title }, ticks: { callback: function (v) { return v + "%"; } } };
  }

  function timeAxis() {
    return { ticks: { maxTicksLimit: 6, maxRotation: 0, autoSkip: true } };
  }

  function config(kind, spec) {
    var base = {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: { position: "bottom", labels: { usePointStyle: true, boxWidth: 28, padding: 14 } },
        tooltip: { callbacks: {} },
      },
    };
    if (kind === "density") {
      base.scales = {
        x: { type: "linear", title: { display: true, text: spec.unit === "%" ? "Conversion rate (%)" : "Mean reward" },
             ticks: { maxTicksLimit: 7 } },
        y: { title: { display: true, text: "Density" }, ticks: { display: false }, beginAtZero: true },
      };
      base.interaction = { mode: "nearest", intersect: false };
      base.plugins.tooltip.callbacks.title = function (items) { return items.length ? items[0].parsed.x.toFixed(3) + spec.unit : ""; };
      base.plugins.tooltip.callbacks.label = function (item) { return item.dataset.label; };
      return {
        type: "line",
        data: {
          datasets: spec.arms.map(function (arm, i) {
            var points = spec.x.map(function (x, j) { return { x: x, y: spec.y[i][j] }; });
            var ds = lineDataset(arm, points, spec.radius[i]);
            ds.tension = 0;
            return ds;
          }),
        },
        options: base,
      };
    }
    base.scales = { x: timeAxis() };
    if (kind === "traffic" || kind === "prob_best") {
      base.scales.y = percentAxis(kind === "traffic" ? "Share of visitors" : "Chance to be best");
      base.plugins.tooltip.callbacks.label = function (item) {
        return item.dataset.label + ": " + (item.parsed.y === null ? "—" : item.parsed.y.toFixed(1) + "%");
      };
      return {
        type: "line",
        data: { labels: spec.labels, datasets: spec.arms.map(function (arm, i) { return lineDataset(arm, spec.series[i], spec.radius[i]); }) },
        options: base,
      };
    }
    // cumulative rate (the arm table's rate up to each point): per arm a low edge (hidden), a high edge filled
    // down to it, and the line
    var datasets = [];
    spec.arms.forEach(function (arm, i) {
      datasets.push({ label: arm.name + " low", data: spec.low[i], borderWidth: 0, pointRadius: 0, fill: false, band: true, spanGaps: true });
      datasets.push({ label: arm.name + " 95% band", data: spec.high[i], borderWidth: 0, pointRadius: 0, spanGaps: true,
                      fill: "-1", backgroundColor: hexToRgba(arm.colour, 0.12), band: true });
      datasets.push(lineDataset(arm, spec.series[i], spec.radius[i]));
    });
    base.scales.y = { title: { display: true, text: spec.label || (spec.unit === "%" ? "Conversion rate (%)" : "Mean reward") },
                      ticks: { callback: function (v) { return v + spec.unit; } } };
    base.plugins.legend.labels.filter = function (item, data) { return !data.datasets[item.datasetIndex].band; };
    base.plugins.tooltip.filter = function (item) { return !item.dataset.band; };
    base.plugins.tooltip.callbacks.label = function (item) {
      var arm = Math.floor(item.datasetIndex / 3);
      var lo = spec.low[arm][item.dataIndex], hi = spec.high[arm][item.dataIndex];
      if (item.parsed.y === null) return item.dataset.label + ": —";
      return item.dataset.label + ": " + item.parsed.y.toFixed(2) + spec.unit + " (" + lo.toFixed(2) + "–" + hi.toFixed(2) + spec.unit + ")";
    };
    return { type: "line", data: { labels: spec.labels, datasets: datasets }, options: base };
  }

  // after the next paint: a timeout queued from an animation frame runs once that frame is on screen
  function afterPaint(callback) {
    requestAnimationFrame(function () { setTimeout(callback, 0); });
  }

  function loadChartJs() {
    if (loading || !chartSrc) return;
    loading = true;
    afterPaint(function () {
      var script = document.createElement("script");
      script.src = chartSrc;
      // whatever was swapped in meanwhile is drawn too: draw() skips canvases already drawn
      script.onload = function () { draw(document); };
      document.head.appendChild(script);
    });
  }

  function draw(root) {
    if (typeof Chart === "undefined") {
      if (root.querySelector("canvas[data-chart]")) loadChartJs();
      return;
    }
    var specs = {};
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = canvas.getAttribute("data-source");
      if (!specs[source]) {
        var node = document.getElementById(source);
        if (!node) return;
        specs[source] = JSON.parse(node.textContent);
      }
      var spec = specs[source][canvas.getAttribute("data-chart")];
      if (!spec) return;
      if (Chart.getChart(canvas)) return;
      new Chart(canvas, config(canvas.getAttribute("data-chart"), spec));
      canvas.setAttribute("data-drawn", "1");
    });
  }

  function destroy(root) {
    if (typeof Chart === "undefined") return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var chart = Chart.getChart(canvas);
      if (chart) chart.destroy();
    });
  }

  // levers-results.js swaps parts of the results and redraws only the charts it put in
  window.leversCharts = { draw: draw, destroy: destroy };

  // keep open "show as a table" panels open across an htmx swap
  var openPanels = {};
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (!target) return;
    destroy(target);
    // only the results' own refresh: another fragment's panels are not the results'
    if (target.id !== "results") return;
    openPanels = {};
    target.querySelectorAll("details").forEach(function (d, i) { if (d.open) openPanels[i] = true; });
  });
  document.addEventListener("htmx:afterSettle", function () {
    var results = document.getElementById("results");
    if (!results) return;
    results.querySelectorAll("details").forEach(function (d, i) { if (openPanels[i]) d.open = true; });
    draw(results);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { draw(document); });
  } else {
    draw(document);
  }
})();
