// Draws the page's charts from the figures embedded as JSON (script#pipecast-figures). No inline script:
// the Content-Security-Policy allows scripts from this server only.
(function () {
  "use strict";
  var holder = document.getElementById("pipecast-figures");
  if (!holder || typeof Plotly === "undefined") { return; }
  var specs = JSON.parse(holder.textContent);
  var config = {displayModeBar: false, displaylogo: false, responsive: true};
  Object.keys(specs).forEach(function (id) {
    var target = document.getElementById(id);
    if (target) { Plotly.newPlot(target, specs[id].data, specs[id].layout, config); }
  });
  document.documentElement.setAttribute("data-charts", "drawn");
})();
