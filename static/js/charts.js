// Draws every <figure data-plotly> from the figure JSON in its <script type="application/json">
// child, in full pages and in htmx swaps alike; keeps each chart as wide as its container.
// Needs htmx and plotly.js loaded before it (both deferred, in order). No inline scripts: CSP.
(function () {
  "use strict";

  // No mode bar: its buttons are focusable inside a chart hidden from screen readers (axe:
  // serious), and every chart has a table alternative anyway.
  var CONFIG = { responsive: true, displaylogo: false, displayModeBar: false };
  var DEFAULT_HEIGHT = 360;

  function whenResized(figure, plot) {
    if (typeof ResizeObserver === "undefined") return;
    var pending = false;
    var observer = new ResizeObserver(function () {
      if (!plot.isConnected) {
        // Swapped out by htmx: stop watching and free what Plotly holds.
        observer.disconnect();
        window.Plotly.purge(plot);
        return;
      }
      // One resize per frame, outside the observer callback (no resize-loop warnings).
      if (pending) return;
      pending = true;
      window.requestAnimationFrame(function () {
        pending = false;
        if (plot.isConnected) window.Plotly.Plots.resize(plot);
      });
    });
    observer.observe(figure);
  }

  function draw(figure) {
    if (figure.hasAttribute("data-plotly-drawn")) return;
    var source = figure.querySelector('script[type="application/json"]');
    if (!source || !window.Plotly) return;
    var spec;
    try {
      spec = JSON.parse(source.textContent);
    } catch (error) {
      console.warn("charts.js: figure JSON does not parse", figure.id, error);
      return;
    }
    figure.setAttribute("data-plotly-drawn", "");
    var plot = document.createElement("div");
    plot.className = "chart-plot";
    // The SVG repeats what the text alternative says; screen readers get the table instead.
    plot.setAttribute("aria-hidden", "true");
    // The figure's height sizes the container and Plotly fills it: Plots.resize autosizes
    // from the container, so a height left in the layout would be lost on the first resize.
    var layout = Object.assign({}, spec.layout || {}, { autosize: true });
    plot.style.height = (layout.height || DEFAULT_HEIGHT) + "px";  // CSSOM: allowed by the CSP
    delete layout.height;
    figure.insertBefore(plot, figure.firstChild);
    var config = Object.assign({}, CONFIG, spec.config || {});
    window.Plotly.newPlot(plot, spec.data || [], layout, config).then(function () {
      whenResized(figure, plot);
    });
  }

  function drawAll(root) {
    if (!root || !root.querySelectorAll) return;
    if (root.matches && root.matches("figure[data-plotly]")) draw(root);
    root.querySelectorAll("figure[data-plotly]").forEach(draw);
  }

  // htmx keeps a copy of the page for the Back button. A drawn chart is SVG full of inline
  // styles, which the CSP refuses when the copy is put back (black blobs over the page): take
  // the charts out before the copy is made, so a restored page has only the figure JSON and
  // onLoad draws it afresh. Charts that stay on the page are drawn again at once.
  function undraw(figure) {
    var plot = figure.querySelector(".chart-plot");
    if (plot) {
      window.Plotly.purge(plot);
      plot.remove();
    }
    figure.removeAttribute("data-plotly-drawn");
  }

  document.body.addEventListener("htmx:beforeHistorySave", function (event) {
    var root = (event.detail && event.detail.historyElt) || document.body;
    if (!window.Plotly) return;
    root.querySelectorAll("figure[data-plotly-drawn]").forEach(undraw);
    // Plotly measures text in a hidden SVG of its own at the end of <body>; it makes a new one
    // when it next needs it.
    var tester = document.getElementById("js-plotly-tester");
    if (tester && root.contains(tester)) tester.remove();
    window.setTimeout(function () { drawAll(document.body); }, 0);
  });

  window.htmx.onLoad(drawAll);
})();
