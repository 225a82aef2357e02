/* The benchmark page: trends (plotly, served by the app) and the compare table.
 * Every name from the store is set with textContent or passed to plotly with
 * its markup characters as entities (plotly reads <b>, <a> ... in strings). */
(function () {
  "use strict";
  function $(id) { return document.getElementById(id); }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function plain(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  function pct(x) { return (x > 0 ? "+" : "") + (x * 100).toFixed(1) + "%"; }

  function drawChart(series) {
    var traces = [];
    series.forEach(function (s) {
      var name = plain(s.name + " [" + s.unit + "]");
      traces.push({x: s.x, y: s.y, mode: "lines+markers", type: "scatter", name: name,
                   text: s.commits.map(plain),
                   hovertemplate: "%{y:.4g} " + plain(s.unit) + "<br>%{x}<br>commit %{text}<extra>" +
                     plain(s.name) + "</extra>"});
      s.change_points.forEach(function (c) {
        traces.push({x: [s.x[c.position]], y: [c.after], mode: "markers", type: "scatter",
                     showlegend: false, name: "change point " + pct(c.change),
                     marker: {symbol: c.change > 0 ? "triangle-up" : "triangle-down", size: 14,
                              color: c.change > 0 ? "red" : "green"},
                     hovertemplate: "change point " + pct(c.change) + " (p=" + c.p.toPrecision(2) +
                       ")<extra>" + plain(s.name) + "</extra>"});
      });
    });
    return Plotly.newPlot($("chart"), traces, {hovermode: "closest", template: "plotly_white",
      margin: {t: 20}, yaxis: {title: {text: "median"}}}, {responsive: true});
  }

  function listChanges(series) {
    var ul = $("changes");
    series.forEach(function (s) {
      s.change_points.forEach(function (c) {
        ul.appendChild(el("li", s.name + ": change point at run #" + s.x[c.position] + " " +
                                pct(c.change) + " (p=" + c.p.toPrecision(2) + ")"));
      });
    });
    if (!ul.children.length) ul.appendChild(el("li", "no change point", "muted"));
  }

  function fillCompare(cmp) {
    var body = $("compare").querySelector("tbody");
    if (!cmp) {
      $("sides").textContent = "(the store holds a single run: nothing to compare)";
      return;
    }
    $("sides").textContent = "(" + cmp.base + " → " + cmp.new + ")";
    cmp.rows.forEach(function (r) {
      var tr = el("tr", undefined, r.verdict);
      tr.appendChild(el("td", r.name));
      tr.appendChild(el("td", r.base, "num"));
      tr.appendChild(el("td", r.new, "num"));
      tr.appendChild(el("td", r.change, "num"));
      tr.appendChild(el("td", r.verdict + (r.note ? " (" + r.note + ")" : "")));
      var cell = el("td");
      if (r.flame) {
        var a = el("a", "diff flame graph", "flame-link");
        a.href = r.flame;
        cell.appendChild(a);
      } else if (r.profile_note) {
        cell.appendChild(el("span", r.profile_note, "muted"));
      }
      tr.appendChild(cell);
      body.appendChild(tr);
    });
    cmp.notes.forEach(function (n) { $("notes").appendChild(el("li", n, "muted")); });
  }

  function fail(msg) { var e = $("error"); e.textContent = msg; e.hidden = false; }

  fetch("data.json").then(function (r) {
    if (!r.ok) return r.text().then(function (t) { throw new Error(t); });
    return r.json();
  }).then(function (doc) {
    $("store").textContent = doc.store + " (" + doc.runs + " runs)";
    fillCompare(doc.compare);
    listChanges(doc.series);
    if (typeof Plotly === "undefined") { fail("plotly.js did not load"); return; }
    return drawChart(doc.series).then(function () { document.body.dataset.chart = "drawn"; });
  }).catch(function (e) { fail(String(e.message || e)); });
})();
