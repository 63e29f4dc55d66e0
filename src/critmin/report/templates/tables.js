/* critmin report: the "All N countries" tables are built from the embedded results
 * (id "critmin-results") when their <details> is first opened, so a report of many products
 * stays small. Number formats follow critmin.numbers: pct "+8.54%", usd "1.23 bn" / "45.6 m". */
(function () {
  "use strict";
  var results = null;
  var COLUMNS = [
    ["consumer_price_change_pct", "Consumer price", "pct"],
    ["producer_price_change_pct", "Producer price", "pct"],
    ["supply_change_pct", "Supply", "pct"],
    ["demand_change_pct", "Demand", "pct"],
    ["consumer_surplus_change_usd", "Consumer surplus", "usd+"],
    ["producer_surplus_change_usd", "Producer surplus", "usd+"],
    ["tariff_revenue_change_usd", "Revenue", "usd+"],
    ["quota_rent_usd", "Quota rent", "usd"],
    ["subsidy_cost_usd", "Subsidy", "usd"],
    ["welfare_change_usd", "Welfare", "usd+"]
  ];

  function pct(v) { return v === null || v === undefined ? "-" : (v >= 0 ? "+" : "") + v.toFixed(2) + "%"; }
  function usd(v, signed) {
    if (v === null || v === undefined) { return "-"; }
    var a = Math.abs(v), sign = signed && v > 0 ? "+" : "";
    function fmt(x, d) {
      return x.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
    }
    if (a >= 1e9) { return sign + fmt(v / 1e9, 2) + " bn"; }
    if (a >= 1e6) { return sign + fmt(v / 1e6, 1) + " m"; }
    if (a >= 1e3) { return sign + fmt(v / 1e3, 0) + " k"; }
    return sign + fmt(v, 0);
  }
  function cell(tag, text, cls) {
    var el = document.createElement(tag);
    el.textContent = text;
    if (cls) { el.className = cls; }
    return el;
  }

  function fill(details, names) {
    var pid = details.getAttribute("data-product");
    var product = results.products[pid];
    var holder = details.querySelector("[data-fill]");
    var codes = Object.keys(product.countries);
    codes.sort(function (a, b) { return (names[a] || a).localeCompare(names[b] || b); });
    var table = document.createElement("table");
    var head = document.createElement("tr");
    head.appendChild(cell("th", "Country", "sticky-col"));
    COLUMNS.forEach(function (c) { head.appendChild(cell("th", c[1], "num")); });
    table.appendChild(document.createElement("thead")).appendChild(head);
    var body = table.appendChild(document.createElement("tbody"));
    codes.forEach(function (code) {
      var r = product.countries[code];
      var tr = document.createElement("tr");
      tr.className = r.member ? "member" : (r.watch ? "watch" : "other");
      tr.setAttribute("data-country", code);
      var first = cell("th", (names[code] || code) + " ");  /* the row's heading */
      first.setAttribute("scope", "row");
      first.appendChild(cell("span", code, "muted small"));
      tr.appendChild(first);
      COLUMNS.forEach(function (c) {
        var v = r[c[0]];
        var text = c[2] === "pct" ? pct(v) : usd(v, c[2] === "usd+");
        tr.appendChild(cell("td", text, "num"));
      });
      body.appendChild(tr);
    });
    holder.textContent = "";
    holder.appendChild(table);
    details.setAttribute("data-filled", "true");
  }

  function load() {
    if (results) { return Promise.resolve(results); }
    return window.critminPayload("critmin-results").then(function (text) {
      results = JSON.parse(text);
      return results;
    });
  }

  var names = JSON.parse((document.getElementById("critmin-names") || { textContent: "{}" }).textContent);
  Array.prototype.forEach.call(document.querySelectorAll("details.all-countries[data-product]"), function (d) {
    d.addEventListener("toggle", function () {
      if (!d.open || d.hasAttribute("data-filled")) { return; }
      load().then(function () { fill(d, names); }).catch(function (err) {
        d.querySelector("[data-fill]").textContent = "The table could not be built: " + err.message;
      });
    });
  });
})();
