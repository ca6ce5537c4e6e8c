/* Dashboard charts: each <canvas data-chart="key"> draws the chart "key" of the page's
   json_script "dashboard-charts" with Chart.js. Okabe–Ito colours (colour-blind safe); every
   value is written on the chart, so nothing needs hovering. */
(function () {
  "use strict";
  var PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442"];

  function fmt(value, percent) {
    if (value === null || value === undefined) return "";
    if (percent) return value.toFixed(1) + "%";
    return Number.isInteger(value) ? String(value) : value.toFixed(1);
  }

  // Draws each bar's / point's value next to it (a tiny data-label plugin).
  var valueLabels = {
    id: "valueLabels",
    afterDatasetsDraw: function (chart) {
      var ctx = chart.ctx;
      var opts = chart.options.plugins.valueLabels || {};
      ctx.save();
      ctx.font = "12px system-ui, sans-serif";
      ctx.fillStyle = "#1b1f24";
      chart.data.datasets.forEach(function (ds, i) {
        var meta = chart.getDatasetMeta(i);
        if (meta.hidden) return;
        var isLine = (ds.type || chart.config.type) === "line";
        if (ds.target) return;  // targets: named in the legend, their values in the tables beside
        meta.data.forEach(function (el, j) {
          var v = ds.data[j];
          if (v === null || v === undefined || (opts.stacked && v === 0)) return;
          var text = fmt(v, opts.percent);
          var p = el.getProps(["x", "y", "base"], true);
          if (opts.horizontal) {
            ctx.textAlign = opts.stacked ? "center" : "left";
            ctx.textBaseline = "middle";
            ctx.fillText(text, opts.stacked ? (p.x + p.base) / 2 : p.x + 4, p.y);
          } else {
            ctx.textAlign = "center";
            ctx.textBaseline = opts.stacked ? "middle" : "bottom";
            ctx.fillText(text, p.x, opts.stacked && !isLine ? (p.y + p.base) / 2 : p.y - 4);
          }
        });
      });
      ctx.restore();
    }
  };

  function isConstant(data) {
    return data.length > 1 && data.every(function (v) { return v === data[0]; });
  }

  function build(canvas, spec) {
    var datasets = spec.datasets.map(function (ds, i) {
      var color = PALETTE[i % PALETTE.length];
      var line = (ds.type || spec.type) === "line";
      var target = ds.type === "line" && spec.type !== "line";
      var constant = target && isConstant(ds.data);
      // a target: one dashed line when it is the same for every bar, else a mark per bar
      return {
        label: ds.label,
        type: ds.type || spec.type,
        data: ds.data,
        constant: constant,
        target: target,
        showLine: !target || constant,
        backgroundColor: color,
        borderColor: color,
        borderWidth: line ? 2 : 0,
        borderDash: constant ? [6, 4] : [],
        pointStyle: target ? "line" : "circle",
        pointRadius: target ? (constant ? 0 : 22) : (line ? 3 : 0),
        pointBorderWidth: target ? 3 : 1,
        pointHoverRadius: target ? 22 : 4,
        fill: false,
        order: target ? 0 : 1
      };
    });
    var valueAxis = {
      beginAtZero: true,
      stacked: spec.stacked,
      ticks: { precision: spec.percent ? undefined : 0, callback: function (v) { return spec.percent ? v + "%" : v; } }
    };
    if (spec.percent) valueAxis.suggestedMax = 100;
    var categoryAxis = { stacked: spec.stacked };
    var scales = spec.horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis };
    return new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        indexAxis: spec.horizontal ? "y" : "x",
        maintainAspectRatio: false,
        animation: false,
        layout: { padding: { top: 8, right: spec.horizontal ? 48 : 8 } },
        scales: scales,
        plugins: {
          title: { display: !!spec.title, text: spec.title, padding: { top: 4, bottom: 22 } },
          legend: { position: "bottom" },
          valueLabels: { percent: spec.percent, stacked: spec.stacked, horizontal: spec.horizontal },
          tooltip: {
            callbacks: {
              label: function (c) { return c.dataset.label + ": " + fmt(c.parsed[spec.horizontal ? "x" : "y"], spec.percent); }
            }
          }
        }
      },
      plugins: [valueLabels]
    });
  }

  function init() {
    var source = document.getElementById("dashboard-charts");
    if (!source || !window.Chart) return;
    var specs = JSON.parse(source.textContent);
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var spec = specs[canvas.dataset.chart];
      if (spec && spec.labels.length) build(canvas, spec);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
