/* Draw the balance-history chart of a statement with the vendored Chart.js.
   Data comes from <script type="application/json" id="balance-history">: points of
   {day: "YYYY-MM-DD", balance: subunits}, the currency's subunits per unit, a label, a locale. */
(function () {
  "use strict";
  var source = document.getElementById("balance-history");
  var canvas = document.getElementById("balance-chart");
  if (!source || !canvas || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var units = data.subunits || 1;
  var number = new Intl.NumberFormat(data.locale || undefined, { maximumFractionDigits: 2 });
  new Chart(canvas, {
    type: "line",
    data: {
      labels: data.points.map(function (p) { return p.day; }),
      datasets: [{
        label: data.label,
        data: data.points.map(function (p) { return p.balance / units; }),
        stepped: true,
        borderColor: "#198754",
        backgroundColor: "rgba(25, 135, 84, 0.15)",
        fill: true,
        pointRadius: 2
      }]
    },
    options: {
      animation: false,
      plugins: { legend: { display: false },
                 tooltip: { callbacks: { label: function (c) { return number.format(c.parsed.y); } } } },
      scales: { y: { ticks: { callback: function (v) { return number.format(v); } } } }
    }
  });
})();
