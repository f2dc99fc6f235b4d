// Drill-down: a click on a bar or heat-map cell of a <figure data-drilldown> opens the list
// behind it, whose URL the figure builder put in the point's customdata. charts.js draws the
// figures; this file only listens. Loaded after charts.js (deferred, in order), so that its
// htmx.onLoad handler has created each plot before this one looks for it. No inline scripts.
(function () {
  "use strict";

  function target(point) {
    var data = point && point.customdata;
    if (Array.isArray(data)) data = data[0];
    // Only paths of this site: a figure is data, not a place to smuggle a link from.
    if (typeof data !== "string" || data.charAt(0) !== "/" || data.charAt(1) === "/") return null;
    return data;
  }

  function bind(figure, attempt) {
    var plot = figure.querySelector(".chart-plot");
    if (!plot || typeof plot.on !== "function") {
      // Plotly attaches .on while drawing; give it a few frames if it is not there yet.
      if ((attempt || 0) < 20) {
        window.requestAnimationFrame(function () { bind(figure, (attempt || 0) + 1); });
      }
      return;
    }
    if (plot.hasAttribute("data-drilldown-bound")) return;
    plot.setAttribute("data-drilldown-bound", "");
    plot.on("plotly_click", function (event) {
      var url = target(event && event.points && event.points[0]);
      if (url) window.location.assign(url);
    });
  }

  function bindAll(root) {
    if (!root || !root.querySelectorAll) return;
    if (root.matches && root.matches("figure[data-drilldown]")) bind(root, 0);
    root.querySelectorAll("figure[data-drilldown]").forEach(function (f) { bind(f, 0); });
  }

  window.htmx.onLoad(bindAll);
})();
