/* critmin: draw every figure of the page with Plotly.js (inlined or served locally).
 * Figures are in <script id="critmin-figures">, keyed by div id: JSON, or (in reports)
 * gzip + base64 (type "application/gzip-base64"), unpacked with the browser's
 * DecompressionStream; Plotly.js itself may be packed the same way (id "critmin-plotly").
 * Map traces whose geojson is "@world" get the inline country polygons (id "critmin-geo").
 * Charts are drawn when scrolled into view (IntersectionObserver), visible ones first; the rest
 * are drawn one by one in the background. Each chart div gets data-rendered="true" once drawn;
 * <body> gets data-charts="done" when all are. */
(function () {
  "use strict";
  var GEO = null;
  var CONFIG = {
    displaylogo: false, responsive: true,
    /* "sendChartToCloud" (Plotly.js 4's "Share chart...") would upload the chart to Plotly
       Cloud: a Tab stop that does nothing offline and sends data out where it works */
    modeBarButtonsToRemove: ["lasso2d", "select2d", "autoScale2d", "sendChartToCloud"],
    toImageButtonOptions: { format: "png", scale: 2 }
  };
  var PACKED = "application/gzip-base64";

  /* The text of a data element, unpacked when it is gzip + base64. */
  function payload(id) {
    var el = document.getElementById(id);
    if (!el) { return Promise.resolve(null); }
    if (el.getAttribute("type") !== PACKED) { return Promise.resolve(el.textContent); }
    if (typeof DecompressionStream === "undefined") {
      return Promise.reject(new Error("this browser cannot unpack the page (DecompressionStream " +
        "is needed: Chrome/Edge 80+, Firefox 113+, Safari 16.4+)"));
    }
    var bin = atob(el.textContent.trim());
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text();
  }
  window.critminPayload = payload;

  function loadPlotly() {
    if (typeof Plotly !== "undefined") { return Promise.resolve(true); }
    return payload("critmin-plotly").then(function (js) {
      if (js === null) { return false; }
      var s = document.createElement("script");
      s.textContent = js;
      document.head.appendChild(s);
      return typeof Plotly !== "undefined";
    });
  }

  function geoReady() {
    return payload("critmin-geo").then(function (text) {
      GEO = text ? JSON.parse(text) : { type: "FeatureCollection", features: [] };
    });
  }

  /* Plotly does not wrap titles: a chart's title longer than the chart is wide, or an axis
     title longer than its axis, is broken into lines between words (it was cut at the
     chart's edge on a phone, or ran into the chart's title), and the margin makes room. */
  var EM = 0.6;  /* a character's width in ems, a little above the average */
  function wrapWords(text, chars) {
    if (typeof text !== "string" || text.length <= chars || text.indexOf("<br") >= 0) { return text; }
    var lines = [""];
    text.split(" ").forEach(function (word) {
      var last = lines[lines.length - 1];
      if (last && last.length + 1 + word.length > chars) { lines.push(word); }
      else { lines[lines.length - 1] = last ? last + " " + word : word; }
    });
    return lines.join("<br>");
  }
  function wrapTitle(owner, key, room, size) {
    var title = owner[key];
    if (!title) { return 0; }
    if (typeof title === "string") { title = owner[key] = { text: title }; }
    var font = (title.font && title.font.size) || size;
    var wrapped = wrapWords(title.text, Math.max(12, Math.floor(room / (EM * font))));
    if (wrapped === title.text) { return 0; }
    title.text = wrapped;
    return (wrapped.split("<br>").length - 1) * Math.ceil(1.3 * font);
  }
  function wrapTitles(el, fig) {
    var lay = fig.layout, m = lay.margin = lay.margin || {};
    var size = (lay.font && lay.font.size) || 12;
    var width = el.clientWidth || 600, height = lay.height || 450;
    var plotW = width - (m.l === undefined ? 80 : m.l) - (m.r === undefined ? 80 : m.r);
    var plotH = height - (m.t === undefined ? 100 : m.t) - (m.b === undefined ? 80 : m.b);
    var extra = wrapTitle(lay, "title", width - 20, Math.round(1.4 * size));
    if (extra) { m.t = (m.t === undefined ? 100 : m.t) + extra; lay.height = height + extra; }
    Object.keys(lay).forEach(function (key) {
      var axis = lay[key];
      if (!/^[xy]axis[0-9]*$/.test(key) || !axis || !axis.title) { return; }
      var span = axis.domain ? axis.domain[1] - axis.domain[0] : 1;
      var room = (key.charAt(0) === "x" ? plotW : plotH) * span;
      if (wrapTitle(axis, "title", room, size)) { axis.automargin = true; }
    });
  }

  /* On a narrow screen (a phone) the left margin shrinks to what the labels need, a legend
     below the plot gets room for its extra rows, and the two Sankey panels (baseline |
     scenario) are stacked. */
  function narrow(el, fig) {
    if (el.clientWidth >= 640) { return; }
    var lay = fig.layout, m = lay.margin || {};
    if (m.l > 60) { m.l = 60; }
    /* bar values print inside their bars, or not at all when they do not fit (hover has them) */
    fig.data.forEach(function (t) {
      if (t.type === "bar" && t.textposition === "outside") { t.textposition = "inside"; t.insidetextanchor = "middle"; }
    });
    lay.uniformtext = { mode: "hide", minsize: 9 };
    if (lay.meta && lay.meta.narrow === "horizontal") { layDown(fig); }
    if (lay.legend && lay.legend.yref === "container") {
      m.b = (m.b || 50) + 60;
      lay.height = (lay.height || 400) + 60;
      /* the legend's extra rows lift the plot: an x axis title is kept below its ticks */
      Object.keys(lay).forEach(function (key) {
        if (/^xaxis[0-9]*$/.test(key) && lay[key] && lay[key].title) { lay[key].automargin = true; }
      });
    }
    stackPanels(fig);
    var sankeys = fig.data.filter(function (t) { return t.type === "sankey"; });
    if (sankeys.length !== 2) { return; }
    fig.layout.height = 2 * (fig.layout.height || 460);
    sankeys.forEach(function (t, k) {
      var y = t.domain.y, top = k === 0 ? 0.97 : 0.45, span = (y[1] - y[0]) * 0.42;
      t.domain = { x: [0, 1], y: [top - span, top] };
    });
    var titles = (fig.layout.annotations || []).filter(function (a) { return a.y > 1; });
    if (titles.length === 2) {
      titles[0].x = titles[1].x = 0.5;
      titles[0].y = 1.02;
      titles[1].y = 0.5;
    }
  }

  /* A chart of one bar per category (layout.meta.narrow = "horizontal") lies down on a phone:
     the categories are rows, read from the top, every name shown whole (slanted under the
     bars, Plotly dropped every other name that did not fit), the chart as high as its rows. */
  function layDown(fig) {
    var lay = fig.layout, m = lay.margin = lay.margin || {}, rows = 0;
    fig.data.forEach(function (t) {
      var x = t.x;
      t.x = t.y; t.y = x;
      if (t.type === "bar") { t.orientation = "h"; }
      if (t.hovertemplate) {
        t.hovertemplate = t.hovertemplate.replace(/%\{([xy])/g, function (all, axis) {
          return "%{" + (axis === "x" ? "y" : "x");
        });
      }
      rows = Math.max(rows, (t.y || []).length);
    });
    var value = lay.yaxis || {}, cats = lay.xaxis || {};
    delete cats.tickangle;
    cats.autorange = "reversed";
    cats.automargin = true;
    cats.tickmode = "linear";
    cats.dtick = 1;
    lay.xaxis = value;
    lay.yaxis = cats;
    m.b = 50;
    lay.height = Math.max(lay.height || 400, 26 * rows + (m.t || 0) + m.b);
  }

  /* Two panels side by side on one y axis (x | x2) become two stacked panels (y over y2). */
  function stackPanels(fig) {
    var lay = fig.layout;
    if (!lay.xaxis2 || !lay.xaxis || !lay.xaxis.domain || lay.yaxis2) { return; }
    var rows = lay.height || 400;
    lay.height = 2 * rows + 40;
    lay.xaxis.domain = [0, 1];
    lay.xaxis2.domain = [0, 1];
    lay.xaxis2.anchor = "y2";
    lay.yaxis.domain = [0.58, 1];
    lay.yaxis2 = JSON.parse(JSON.stringify(lay.yaxis));
    lay.yaxis2.domain = [0, 0.42];
    lay.xaxis.anchor = "y";
    if (lay.xaxis4) { lay.xaxis4.overlaying = "x2"; }
    fig.data.forEach(function (t) {
      if (t.xaxis === "x2" || t.xaxis === "x4") { t.yaxis = "y2"; }
    });
  }

  /* A chart is a figure to a screen reader (role "figure"), named by its figure's title, else
     by the title or heading above it, and by its card's heading (a product's name) where that
     differs; the tables beside it hold its numbers. Not role "img": an image's children are
     hidden from screen readers, and Plotly.js 4's modebar inside is a toolbar of buttons that
     Tab reaches (they were focusable yet unnamed to a screen reader). The drawing itself
     (Plotly's SVG layers) is hidden from them: the figure's name stands for it (hide()). */
  function label(el, fig) {
    if (el.hasAttribute("aria-label")) { return; }
    function plain(x) { return (x || "").replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim(); }
    var t = fig.layout && fig.layout.title;
    var text = plain(typeof t === "string" ? t : t && t.text);
    if (!text) {
      var prev = el.previousElementSibling;
      while (prev && !(prev.classList.contains("chart-title") || /^H[1-4]$/.test(prev.tagName))) {
        prev = prev.previousElementSibling;
      }
      text = plain(prev && prev.textContent);
    }
    var card = el.closest("section");
    var heading = plain(card && card.querySelector("h2") && card.querySelector("h2").textContent);
    if (heading && heading !== text) { text = text ? text + " (" + heading + ")" : heading; }
    el.setAttribute("role", "figure");
    el.setAttribute("aria-label", text ? "Chart: " + text : "Chart");
  }

  /* Plotly's SVG layers (axes, ticks, hover labels) out of the screen reader's way, once drawn */
  function hide(el) {
    el.querySelectorAll("svg.main-svg").forEach(function (svg) { svg.setAttribute("aria-hidden", "true"); });
  }

  /* Plotly draws a figure's own buttons (layout.updatemenus of type "buttons": the world map's
     consumer price | welfare switch) in SVG, out of reach of the keyboard: no Tab stop, no
     Enter or Space. Each such menu becomes a group of radio buttons above its chart (Tab
     reaches the chosen one, the arrow keys or Space pick another, a focus ring shows where),
     restyling the chart as the buttons did. */
  function switches(el, fig) {
    var lay = fig.layout, keep = [];
    (lay.updatemenus || []).forEach(function (menu, m) {
      var buttons = menu.buttons || [];
      var plain = menu.type === "buttons" && buttons.length > 1 &&
        buttons.every(function (b) { return b.method === "restyle" && b.args; });
      if (!plain) { keep.push(menu); return; }
      var group = document.createElement("fieldset");
      group.className = "chart-switch";
      var legend = document.createElement("legend");
      legend.textContent = "Colour the map by";
      if (!fig.data.some(function (t) { return t.type === "choropleth"; })) { legend.textContent = "Show"; }
      group.appendChild(legend);
      var active = menu.active || 0;
      buttons.forEach(function (b, i) {
        var label = document.createElement("label");
        var input = document.createElement("input");
        input.type = "radio";
        input.name = el.id + "-switch-" + m;
        input.value = String(i);
        input.checked = i === active;
        input.addEventListener("change", function () {
          if (input.checked && el.data) { Plotly.restyle(el, b.args[0], b.args[1]); }
        });
        label.appendChild(input);
        label.appendChild(document.createTextNode(" " + b.label));
        group.appendChild(label);
      });
      el.parentNode.insertBefore(group, el);
    });
    if (lay.updatemenus) { lay.updatemenus = keep; }
  }

  function render(figs) {
    var queue = Object.keys(figs).filter(function (id) { return document.getElementById(id); });
    var total = queue.length, drawn = 0, busy = false;
    function finish() { if (drawn >= total) { document.body.setAttribute("data-charts", "done"); } }
    function draw(id) {
      var el = document.getElementById(id);
      var fig = figs[id];
      fig.data.forEach(function (t) { if (t.geojson === "@world") { t.geojson = GEO; } });
      switches(el, fig);
      narrow(el, fig);
      wrapTitles(el, fig);
      label(el, fig);
      function done(state) {
        el.setAttribute("data-rendered", state);
        drawn += 1; busy = false; finish();
        setTimeout(pump, visibleFirst.length ? 0 : 40);
      }
      try {
        Plotly.newPlot(el, fig.data, fig.layout, CONFIG).then(
          function () { hide(el); done("true"); },
          function (err) { el.textContent = "This chart could not be drawn: " + err; done("error"); });
      } catch (err) {
        el.textContent = "This chart could not be drawn: " + err;
        done("error");
      }
    }
    var visibleFirst = [];
    function pump() {
      if (busy) { return; }
      var id = visibleFirst.length ? visibleFirst.shift() : queue.shift();
      while (id && document.getElementById(id).hasAttribute("data-rendered")) {
        id = visibleFirst.length ? visibleFirst.shift() : queue.shift();
      }
      if (!id) { finish(); return; }
      var i = queue.indexOf(id);
      if (i >= 0) { queue.splice(i, 1); }
      busy = true;
      draw(id);
    }
    if ("IntersectionObserver" in window) {
      var seen = new IntersectionObserver(function (entries) {
        entries.forEach(function (e) {
          if (e.isIntersecting && !e.target.hasAttribute("data-rendered")) {
            visibleFirst.push(e.target.id);
            seen.unobserve(e.target);
          }
        });
        pump();
      }, { rootMargin: "300px 0px" });
      queue.forEach(function (id) { seen.observe(document.getElementById(id)); });
    }
    if (!total) { finish(); }
    setTimeout(pump, 0);
  }

  function start() {
    if (!document.getElementById("critmin-figures")) {
      document.body.setAttribute("data-charts", "none");
      return;
    }
    /* unpack the figures and the map polygons while Plotly.js loads */
    var data = Promise.all([geoReady(), payload("critmin-figures")]);
    data.catch(function () { return null; });  /* reported below, once Plotly is in */
    loadPlotly().then(function (ok) {
      if (!ok) { document.body.setAttribute("data-charts", "no-plotly"); return null; }
      /* Every map draws its own polygons, so Plotly must not fetch its base-map topology from
         the network: give it an empty one. */
      window.PlotlyGeoAssets = window.PlotlyGeoAssets || { topojson: {} };
      window.PlotlyGeoAssets.topojson = window.PlotlyGeoAssets.topojson || {};
      if (!window.PlotlyGeoAssets.topojson.world_110m) {
        window.PlotlyGeoAssets.topojson.world_110m = { type: "Topology", objects: {}, arcs: [] };
      }
      return data.then(function (parts) { render(JSON.parse(parts[1])); });
    }).catch(function (err) {
      document.body.setAttribute("data-charts", "error");
      var note = document.createElement("div");
      note.className = "notice error";
      note.textContent = "The charts could not be drawn: " + err.message;
      var main = document.querySelector("main") || document.body;
      main.insertBefore(note, main.firstChild);
    });
  }

  /* Printing lays the page out at the paper's width, but a chart keeps the width it was drawn
     at on the screen: it stuck out of its card and was cut at the edge on paper. While the
     page is laid out for print each drawn chart is redrawn at its box's width (a Sankey
     diagram, whose links are drawn by a half-second transition that printing does not wait
     for, is shrunk to it instead), and drawn at its own width again after. */
  function fitForPrint(printing) {
    if (typeof Plotly === "undefined") { return; }
    document.querySelectorAll("div.chart[data-rendered=true]").forEach(function (el) {
      var inner = el.firstElementChild;
      if (printing) {
        var width = el.clientWidth, full = el._fullLayout;
        if (!width || !full || !inner || full.width <= width + 1) { return; }
        el.setAttribute("data-print-width", String(width));
        if (el.querySelector(".sankey")) { inner.style.zoom = String(width / full.width); }
        else { Plotly.relayout(el, { width: width }); }
      } else if (el.hasAttribute("data-print-width")) {
        el.removeAttribute("data-print-width");
        if (inner && inner.style.zoom) { inner.style.zoom = ""; }
        else { Plotly.relayout(el, { width: null, autosize: true }); }
      }
    });
  }
  if (window.matchMedia) {
    var printMedia = window.matchMedia("print");
    var onPrint = function (e) { fitForPrint(e.matches); };
    if (printMedia.addEventListener) { printMedia.addEventListener("change", onPrint); }
    else if (printMedia.addListener) { printMedia.addListener(onPrint); }
  }
  window.addEventListener("afterprint", function () { fitForPrint(false); });

  /* A wide table scrolls sideways inside its box (.table-wrap) on a phone, its rows' headings
     kept in view (style.css). While the box overflows it is a Tab stop (the arrow keys scroll
     it, also when it holds no link) named after its table (a region: the heading or summary
     above it, or its data-name), and a line above it says that it scrolls; at a width where
     it fits, neither. Checked again whenever the box changes size (a turned phone, an opened
     <details>, a table filled in by tables.js). */
  function nameOf(wrap) {
    if (wrap.hasAttribute("data-name")) { return wrap.getAttribute("data-name"); }
    for (var e = wrap; e && e !== document.body; e = e.parentElement) {
      for (var p = e.previousElementSibling; p; p = p.previousElementSibling) {
        if (/^(H[1-6]|SUMMARY)$/.test(p.tagName)) { return p.textContent.replace(/\s+/g, " ").trim(); }
      }
    }
    return "Table";
  }
  function scrolls(wrap) {
    var over = wrap.clientWidth > 0 && wrap.scrollWidth > wrap.clientWidth + 1;
    var cue = wrap.previousElementSibling;
    if (!cue || !cue.classList.contains("scroll-cue")) {
      cue = document.createElement("p");
      cue.className = "scroll-cue";
      cue.setAttribute("aria-hidden", "true");  /* the box's name says it */
      cue.textContent = "Scroll sideways for more columns \u2192";
      wrap.parentNode.insertBefore(cue, wrap);
    }
    cue.classList.toggle("scrolls", over);
    if (over && !wrap.hasAttribute("tabindex")) {
      wrap.setAttribute("tabindex", "0");
      wrap.setAttribute("role", "region");
      wrap.setAttribute("aria-label", nameOf(wrap) + ": table, scrolls sideways");
    } else if (!over && wrap.hasAttribute("tabindex")) {
      ["tabindex", "role", "aria-label"].forEach(function (a) { wrap.removeAttribute(a); });
    }
  }
  function scrollBoxes() {
    var boxes = document.querySelectorAll(".table-wrap");
    if ("ResizeObserver" in window) {
      var watch = new ResizeObserver(function (entries) {
        entries.forEach(function (e) { scrolls(e.target); });
      });
      boxes.forEach(function (w) { watch.observe(w); });
    } else {
      boxes.forEach(scrolls);
      window.addEventListener("resize", function () { boxes.forEach(scrolls); });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
    document.addEventListener("DOMContentLoaded", scrollBoxes);
  } else {
    start();
    scrollBoxes();
  }
})();
