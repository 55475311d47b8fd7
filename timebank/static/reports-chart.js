/* Draw the report's charts with the vendored Chart.js. Each chart's data is a
   <script type="application/json" data-chart-for="CANVAS-ID"> block (no inline script: the CSP):
   {labels, datasets: [{label, data, display?}], horizontal, counts, locale}. "display" holds the
   server's formatting of each value (an amount in the currency's own format) for tooltips. */
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var colours = ["#198754", "#0d6efd", "#fd7e14", "#6f42c1"];
  document.querySelectorAll("script[data-chart-for]").forEach(function (source) {
    var canvas = document.getElementById(source.getAttribute("data-chart-for"));
    if (!canvas) { return; }
    var spec = JSON.parse(source.textContent);
    var number = new Intl.NumberFormat(spec.locale || undefined, { maximumFractionDigits: 2 });
    var axis = spec.horizontal ? "x" : "y";
    var scales = {};
    scales[axis] = { beginAtZero: true, ticks: { precision: spec.counts ? 0 : undefined,
                                                 callback: function (v) { return number.format(v); } } };
    canvas.chart = new Chart(canvas, {
      type: "bar",
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (set, index) {
          return { label: set.label, data: set.data, display: set.display, maxBarThickness: 40,
                   backgroundColor: colours[index % colours.length] };
        })
      },
      options: {
        animation: false,
        indexAxis: spec.horizontal ? "y" : "x",
        plugins: {
          legend: { display: spec.datasets.length > 1 },
          tooltip: { callbacks: { label: function (c) {
            var shown = c.dataset.display ? c.dataset.display[c.dataIndex] : number.format(c.raw);
            return c.dataset.label + ": " + shown;
          } } }
        },
        scales: scales
      }
    });
  });
})();
