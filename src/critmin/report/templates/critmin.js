/* critmin: draw every figure of the page with Plotly.js (inlined or served locally).
 * Figures are in <script type="application/json" id="critmin-figures">, keyed by div id.
 * Map traces whose geojson is "@world" get the inline country polygons (id "critmin-geo").
 * Each chart div gets data-rendered="true" once drawn; <body> gets data-charts="done". */
(function () {
  "use strict";
  var GEO = null;
  var CONFIG = {
    displaylogo: false, responsive: true,
    modeBarButtonsToRemove: ["lasso2d", "select2d", "autoScale2d"],
    toImageButtonOptions: { format: "png", scale: 2 }
  };

  function worldGeo() {
    if (GEO === null) {
      var el = document.getElementById("critmin-geo");
      GEO = el ? JSON.parse(el.textContent) : { type: "FeatureCollection", features: [] };
    }
    return GEO;
  }

  function render() {
    var holder = document.getElementById("critmin-figures");
    if (!holder || typeof Plotly === "undefined") {
      document.body.setAttribute("data-charts", holder ? "no-plotly" : "none");
      return;
    }
    /* Every map draws its own polygons, so Plotly must not fetch its base-map topology from
       the network: give it an empty one. */
    window.PlotlyGeoAssets = window.PlotlyGeoAssets || { topojson: {} };
    window.PlotlyGeoAssets.topojson = window.PlotlyGeoAssets.topojson || {};
    if (!window.PlotlyGeoAssets.topojson.world_110m) {
      window.PlotlyGeoAssets.topojson.world_110m = { type: "Topology", objects: {}, arcs: [] };
    }
    var figs = JSON.parse(holder.textContent);
    var ids = Object.keys(figs);
    var i = 0;
    function next() {
      if (i >= ids.length) { document.body.setAttribute("data-charts", "done"); return; }
      var id = ids[i++];
      var el = document.getElementById(id);
      if (!el) { next(); return; }
      var fig = figs[id];
      fig.data.forEach(function (t) { if (t.geojson === "@world") { t.geojson = worldGeo(); } });
      function failed(err) {
        el.setAttribute("data-rendered", "error");
        el.textContent = "This chart could not be drawn: " + err;
        setTimeout(next, 0);
      }
      try {
        Plotly.newPlot(el, fig.data, fig.layout, CONFIG).then(
          function () { el.setAttribute("data-rendered", "true"); setTimeout(next, 0); },
          failed);
      } catch (err) {
        failed(err);
      }
    }
    next();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", render);
  } else {
    render();
  }
})();
